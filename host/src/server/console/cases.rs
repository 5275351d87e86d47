//! Cases: found by case id or customer id; a case's page is its timeline
//! (the complaint, each decision, lifecycle events, timers due, fired or
//! cancelled) with the offers and authority its decisions granted.

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{Problem, money, ok, problem, time, url_encode};
use crate::server::handlers::store_of;
use crate::server::state::AppState;
use crate::store::{CaseView, TimerState};
use crate::time::Timestamp;

/// Most cases listed for one customer.
const CUSTOMER_CASES: usize = 100;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /console/f/cases?q=ID`: the search form and what it found.
pub async fn search(
    State(state): State<Arc<AppState>>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let store = match store_of(&state) {
        Ok(store) => store,
        Err(refused) => return Problem::from(refused).into_response(),
    };
    let wanted = query
        .ok()
        .and_then(|Query(q)| q.q)
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty());
    let found = match &wanted {
        None => None,
        Some(q) => {
            let case = tokio::task::block_in_place(|| store.case(q));
            let of_customer =
                tokio::task::block_in_place(|| store.cases_of_customer(q, CUSTOMER_CASES));
            match (case, of_customer) {
                (Ok(case), Ok(list)) => Some((case, list)),
                (Err(error), _) | (_, Err(error)) => {
                    return problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string());
                }
            }
        }
    };
    ok(html! {
        h1 { "Cases" }
        form #case-search method="get" action="/console/cases" role="search" {
            label for="q" { "Case id or customer id" }
            input #q name="q" type="search" value=[wanted.as_deref()] required;
            " " button type="submit" { "Find" }
        }
        @if let (Some(q), Some((case, list))) = (&wanted, &found) {
            @if case.is_none() && list.is_empty() {
                p.problem role="status" { "No case and no customer `" (q) "`." }
            }
            @if let Some(case) = case {
                p { "Case " a href=(case_href(&case.id)) { (case.id) } " (" (case.status.as_str()) ", " (case.queue) ")" }
            }
            @if !list.is_empty() {
                h2 { "Cases of customer " (q) }
                div.table { table #customer-cases {
                    thead { tr { th { "Case" } th { "Opened" } th { "Status" } th { "Category" } th { "Queue" } th { "Escalation" } } }
                    tbody { @for summary in list { tr {
                        td { a href=(case_href(&summary.id)) { (summary.id) } }
                        td { (time(summary.opened_at)) }
                        td { (summary.status.as_str()) }
                        td { (summary.category.as_deref().unwrap_or("")) }
                        td { (summary.queue) }
                        td { (summary.escalation_level.as_deref().unwrap_or("")) }
                    } } }
                } }
            }
        }
    })
}

fn case_href(id: &str) -> String {
    format!("/console/cases/{}", url_encode(id))
}

/// `GET /console/f/cases/{id}`: a case's page.
pub async fn case(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return problem(StatusCode::BAD_REQUEST, "the case id is not valid UTF-8");
    };
    let store = match store_of(&state) {
        Ok(store) => store,
        Err(refused) => return Problem::from(refused).into_response(),
    };
    match tokio::task::block_in_place(|| store.case(&id)) {
        Ok(Some(case)) => ok(case_page(&case)),
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("no case `{id}`")),
        Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// One thing on a case's timeline.
struct Moment {
    at: Timestamp,
    class: &'static str,
    body: Markup,
}

fn timeline(case: &CaseView) -> Vec<Moment> {
    let mut moments = Vec::new();
    for event in &case.history {
        moments.push(Moment {
            at: event.at,
            class: "event",
            body: html! {
                strong { (event.kind.replace('_', " ")) }
                @if let Some(data) = &event.data { " " code { (data) } }
            },
        });
    }
    for decision in &case.decisions {
        let d = &decision.decision;
        moments.push(Moment {
            at: decision.decided_at,
            class: "decision",
            body: html! {
                strong { "decision: " (decision.kind.as_str().replace('_', " ")) }
                " (audit entry " (decision.seq) ", rule set " code { (decision.ruleset_version) } ")"
                @if let Some(queue) = d["route"]["queue"].as_str() { br; "routed to " (queue) }
                @if let Some(level) = d["escalation_level"].as_str() { br; "escalated to " (level) }
                @if let Some(level) = d["escalate"].as_str() { br; "escalated to " (level) }
            },
        });
    }
    for timer in &case.timers {
        let kind = timer.kind.as_str().replace('_', " ");
        moments.push(Moment {
            at: timer.due_at,
            class: "timer",
            body: html! {
                strong { (kind) " due" } " "
                span class=(match timer.state { TimerState::Fired => "badge bad", TimerState::Cancelled => "badge", TimerState::Pending => "badge good" }) {
                    (timer.state.as_str())
                }
                @if let Some(fired) = timer.fired_at { " fired at " (time(fired)) }
            },
        });
    }
    moments.sort_by_key(|moment| moment.at.millis());
    moments
}

fn case_page(case: &CaseView) -> Markup {
    let offers: Vec<&serde_json::Value> = case
        .decisions
        .iter()
        .filter_map(|d| d.decision["offers"].as_array())
        .flatten()
        .collect();
    let grants: Vec<&serde_json::Value> = case
        .decisions
        .iter()
        .filter_map(|d| d.decision["authority"].as_array())
        .flatten()
        .collect();
    html! {
        h1 { "Case " (case.id) }
        dl.facts {
            dt { "Status" } dd #case-status { (case.status.as_str()) }
            dt { "Customer" } dd { @if let Some(customer) = &case.customer_id { a href=(format!("/console/cases?q={}", url_encode(customer))) { (customer) } } @else { "unknown" } }
            dt { "Queue" } dd { (case.queue) @if let Some(handler) = &case.handler { ", handler " (handler) } }
            dt { "Escalation" } dd { (case.escalation_level.as_deref().unwrap_or("none")) }
            dt { "Grid cell" } dd {
                (case.category.as_deref().unwrap_or("?")) " × " (case.product_line.as_deref().unwrap_or("?")) " × " (case.tier.as_deref().unwrap_or("?"))
            }
            dt { "Opened" } dd { (time(case.opened_at)) }
            dt { "Last change" } dd { (time(case.updated_at)) }
        }
        h2 { "Timeline" }
        ol.timeline #timeline {
            @for moment in timeline(case) {
                li class=(moment.class) { time datetime=(time(moment.at)) { (time(moment.at)) } (moment.body) }
            }
        }
        h2 { "Timers" }
        @if case.timers.is_empty() { p.muted { "No timers." } } @else {
            div.table { table #timers {
                thead { tr { th { "Timer" } th { "Due" } th { "State" } th { "Fired" } } }
                tbody { @for timer in &case.timers { tr {
                    td { (timer.kind.as_str()) } td { (time(timer.due_at)) } td { (timer.state.as_str()) }
                    td { (timer.fired_at.map(time).unwrap_or_default()) }
                } } }
            } }
        }
        h2 { "Offers" }
        @if offers.is_empty() { p.muted { "No offers." } } @else {
            ul #offers { @for offer in offers {
                li {
                    (offer["kind"].as_str().unwrap_or("?")) ": "
                    (money(offer["value"].as_f64().unwrap_or(0.0), offer["currency"].as_str().unwrap_or("")))
                    @if let Some(source) = offer["source"].as_str() { " (from " code { (source) } ")" }
                }
            } }
        }
        h2 { "Authority granted" }
        @if grants.is_empty() { p.muted { "No authority granted." } } @else {
            ul #authority { @for grant in grants {
                li {
                    (grant["grant"].as_str().unwrap_or("?")) " may bend " code { (grant["policy"].as_str().unwrap_or("?")) }
                    " up to " (money(grant["max_cost"].as_f64().unwrap_or(0.0), grant["currency"].as_str().unwrap_or("")))
                }
            } }
        }
    }
}

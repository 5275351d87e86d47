//! "Try an event": an editable event, decided by the serving rules the way
//! `/v1/simulate` decides (nothing is recorded), shown as the explanation
//! `redress eval --explain` prints, with the decision's JSON one click away.

use std::sync::Arc;
use std::time::Instant;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::html::{Problem, money, ok, problem, time};
use crate::decision::{Decision, TraceLevel};
use crate::server::bodies::BatchItem;
use crate::server::handlers::{on_workers, simulate_all};
use crate::server::state::AppState;

/// The example events, by name, as the repository ships them.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "defective-headphones",
        include_str!("../../../../docs/examples/defective-headphones.json"),
    ),
    (
        "defective-kettle-zh",
        include_str!("../../../../docs/examples/defective-kettle-zh.json"),
    ),
    (
        "miller",
        include_str!("../../../../docs/examples/miller.json"),
    ),
];

#[derive(Debug, Deserialize)]
pub struct ExampleQuery {
    example: Option<String>,
}

/// `GET /console/f/try`: the editor, prefilled with an example.
pub async fn fragment(query: Result<Query<ExampleQuery>, QueryRejection>) -> Response {
    let chosen = query.ok().and_then(|Query(q)| q.example);
    let (name, text) = EXAMPLES
        .iter()
        .find(|(name, _)| Some(*name) == chosen.as_deref())
        .unwrap_or(&EXAMPLES[0]);
    ok(html! {
        h1 { "Try an event" }
        p.hint { "Decided by the serving rules against the store's current counts; nothing is recorded." }
        form #try-form data-post="/console/f/try" data-target="#outcome" {
            label for="example" { "Example" }
            select #example name="example" data-navigate="/console/try" {
                @for (example, _) in EXAMPLES {
                    option value=(example) selected[example == name] { (example) }
                }
            }
            label for="event" { "Event (JSON)" }
            textarea #event name="event" spellcheck="false" rows="16" { (text) }
            div.actions { button #decide type="submit" { "Decide" } }
        }
        section #outcome aria-live="polite" {}
    })
}

#[derive(Debug, Deserialize)]
pub struct EventForm {
    event: String,
}

/// `POST /console/f/try`: decides the event and explains the decision.
pub async fn decide(
    State(state): State<Arc<AppState>>,
    form: Result<Form<EventForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return problem(StatusCode::BAD_REQUEST, "the form needs an `event`");
    };
    let raw = match RawValue::from_string(form.event) {
        Ok(raw) => raw,
        Err(error) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("the event is not JSON: {error}"),
            );
        }
    };
    let _permit = match state.admit() {
        Ok(permit) => permit,
        Err(error) => return Problem::from(error).into_response(),
    };
    let snapshot = state.live.load_full();
    let deadline = Instant::now() + state.config.request_timeout;
    let decided = {
        let (state, snapshot) = (state.clone(), snapshot.clone());
        on_workers(&state.clone(), move || {
            simulate_all(&state, &snapshot, vec![raw], TraceLevel::Full, deadline)
        })
        .await
    };
    match decided.map(|mut items| items.pop()) {
        Ok(Some(BatchItem::Decision(decision))) => {
            let explanation = crate::explain::explain(&decision, &snapshot.ruleset);
            ok(outcome(&decision, &explanation))
        }
        Ok(Some(BatchItem::Error { error })) | Err(error) => Problem::from(error).into_response(),
        Ok(Some(BatchItem::Stored(_)) | None) => {
            problem(StatusCode::INTERNAL_SERVER_ERROR, "no decision came back")
        }
    }
}

fn outcome(decision: &Decision, explanation: &str) -> Markup {
    let json = serde_json::to_string_pretty(decision).unwrap_or_default();
    html! {
        h2 { "Decision" }
        div.cards {
            div.card #route {
                div.muted { "Route" }
                div.value { (decision.route.queue) }
                div { @if let Some(handler) = &decision.route.handler { "handler " (handler) ", " } "by " code { (decision.route.rule) } }
            }
            div.card {
                div.muted { "Escalation" }
                div.value { (decision.escalation_level.as_deref().unwrap_or("none")) }
                @for escalation in &decision.escalations { div { "to " (escalation.to) " by " code { (escalation.rule) } } }
            }
            div.card {
                div.muted { "SLA" }
                @match &decision.sla {
                    Some(sla) => {
                        @if let Some(due) = sla.first_response_due { div { "first response by " (time(due)) } }
                        @if let Some(due) = sla.resolve_due { div { "resolve by " (time(due)) } }
                        @if let Some(after) = sla.follow_up_after { div { "follow up " (after) " after resolution" } }
                    }
                    None => { div.value { "none" } }
                }
            }
            div.card {
                div.muted { "Offers" }
                @if decision.offers.is_empty() { div.value { "none" } }
                @for offer in &decision.offers { div { (offer.kind) ": " (money(offer.value, &offer.currency)) } }
            }
            div.card {
                div.muted { "Authority" }
                @if decision.authority.is_empty() { div.value { "none" } }
                @for grant in &decision.authority {
                    div { (grant.grant) " may bend " code { (grant.policy) } " up to " (money(grant.max_cost, &grant.currency)) }
                }
            }
            div.card {
                div.muted { "Flags and notices" }
                @if decision.flags.is_empty() && decision.notify.is_empty() { div.value { "none" } }
                @for flag in &decision.flags { span.badge { (flag) } " " }
                @for team in &decision.notify { div { "notify " (team) } }
            }
        }
        h2 { "Why" }
        pre #explanation { (explanation) }
        details {
            summary { "The decision as JSON" }
            pre #decision-json { (json) }
        }
    }
}

//! The rule set screen: the serving version and its files, the last
//! reload with every diagnostic, a rule set the gate holds, and the
//! plugins with their digests, calls, failures, fuel and quarantine.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::html::{diagnostics, ok, problem, time};
use crate::reload::ReloadOutcome;
use crate::server::state::AppState;

/// `GET /console/f/ruleset`
pub async fn fragment(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.live.load_full();
    let status = state.reloader.status();
    let held = state.reloader.held();
    let rules_dir = &state.reloader.sources().rules_dir;
    let outcome_class = match status.outcome {
        ReloadOutcome::Failed | ReloadOutcome::Partial | ReloadOutcome::Held => "badge bad",
        ReloadOutcome::Loaded | ReloadOutcome::Unchanged => "badge good",
    };
    let trigger: &'static str = status.trigger.into();
    ok(html! {
        h1 { "Rule set" }
        dl.facts {
            dt { "Serving" } dd { code #serving-version { (snapshot.version) } }
            dt { "Rule set version" } dd { code { (snapshot.ruleset.version) } }
            dt { "Rules" } dd { (snapshot.ruleset.rule_count()) " rules in " (snapshot.ruleset.files.len()) " files in " code { (rules_dir.display()) } }
        }
        h2 { "Last reload" }
        p #last-reload {
            span class=(outcome_class) { (status.outcome.as_str()) }
            " by " (trigger) " at " (time(status.at)) ", in " (format!("{:.1}", status.duration_ms)) " ms; serving " code { (status.serving) }
        }
        @if status.outcome == ReloadOutcome::Failed {
            p.problem { "The files on disk have errors; the version above keeps serving until they are fixed." }
        }
        @if !status.diagnostics.is_empty() {
            (diagnostics(&status.diagnostics, &status.sources))
            @if !status.rendered.is_empty() {
                details {
                    summary { "As " code { "redress check" } " prints them" }
                    pre.check { (status.rendered) }
                }
            }
        }
        @for refused in &status.refused_plugins {
            p.problem { "Plugin " code { (refused.name) } " was refused: " (refused.reason) }
        }
        @if let Some(verdict) = &held {
            section #held {
                h2 { "Held by the reload gate" }
                p { "Version " code { (verdict.version) } " would change more recent decisions than " code { "[reload.gate]" } " allows:" }
                ul { @for exceeded in &verdict.exceeded { li { (exceeded) } } }
                form data-post="/console/f/ruleset/accept" data-target="#accepted" {
                    input type="hidden" name="version" value=(verdict.version);
                    button type="submit" { "Accept and serve it" }
                }
                div #accepted {}
            }
        }
        h2 { "Files" }
        ul.files {
            @for file in snapshot.ruleset.texts.iter() {
                @let name = file.name().display().to_string();
                li { a href=(format!("/console/draft?file={name}")) { (name) } }
            }
        }
        h2 { "Plugins" }
        @if snapshot.plugins.plugins().is_empty() {
            p.muted { "No plugins are loaded." }
        } @else {
            div.table {
                table #plugins {
                    thead { tr {
                        th { "Plugin" } th { "Digest" } th.number { "Calls" } th.number { "Failures" }
                        th.number { "Fuel" } th { "Quarantined" }
                    } }
                    tbody {
                        @for plugin in snapshot.plugins.plugins() {
                            tr {
                                td { (plugin.name) }
                                td { code { (plugin.digest) } }
                                td.number { (plugin.stats.calls.load(Ordering::Relaxed)) }
                                td.number {
                                    (plugin.stats.failures.load(Ordering::Relaxed))
                                    @for (kind, count) in plugin.stats.failures_by_kind() {
                                        " " span.badge { (kind) " " (count) }
                                    }
                                }
                                td.number { (plugin.stats.fuel.load(Ordering::Relaxed)) }
                                td { @if plugin.is_quarantined() { span.badge.bad { "quarantined" } } @else { "no" } }
                            }
                        }
                    }
                }
            }
        }
        details {
            summary { "Worst case this rule set can pay" }
            pre { (crate::bounds::render(&snapshot.worst_case)) }
        }
    })
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    version: String,
}

/// `POST /console/f/ruleset/accept` (admin): serves the held rule set.
pub async fn accept(
    State(state): State<Arc<AppState>>,
    form: Result<Form<AcceptForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return problem(StatusCode::BAD_REQUEST, "the form needs the held `version`");
    };
    match state.reloader.accept(&form.version).await {
        Ok(status) => ok(html! {
            p.ok role="status" { "Accepted: " code { (status.serving) } " serves now." }
        }),
        Err(message) => problem(StatusCode::CONFLICT, message),
    }
}

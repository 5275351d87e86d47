//! "Draft a change": a rule file edited in the browser, checked as it is
//! typed, its effect on past complaints (`/v1/diff`'s report) and its
//! worst case shown; saving writes the file into the rules directory and
//! reloads it the way a save in an editor is reloaded, gate and all.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{Problem, diagnostics, money, ok, problem};
use crate::diagnostic::{Diagnostic, Severity};
use crate::intake::{OverlayError, overlay_outcome};
use crate::reload::{ReloadOutcome, ReloadTrigger};
use crate::replay::DiffReport;
use crate::rules::is_rule_file_name;
use crate::server::handlers::diff_logged;
use crate::server::state::AppState;
use crate::snapshot::SnapshotOutcome;

#[derive(Debug, Deserialize)]
pub struct FileQuery {
    file: Option<String>,
}

/// `GET /console/f/draft?file=NAME`: the editor, holding the serving text
/// of the file (the first one when none is named).
pub async fn fragment(
    State(state): State<Arc<AppState>>,
    query: Result<Query<FileQuery>, QueryRejection>,
) -> Response {
    let snapshot = state.live.load_full();
    let names: Vec<String> = snapshot
        .ruleset
        .texts
        .iter()
        .map(|file| file.name().display().to_string())
        .collect();
    let asked = query.ok().and_then(|Query(q)| q.file);
    let file = match asked {
        Some(name) if !is_rule_file_name(&name) => {
            return problem(
                StatusCode::BAD_REQUEST,
                OverlayError::NotARuleFileName(name).to_string(),
            );
        }
        Some(name) => name,
        None => names
            .first()
            .cloned()
            .unwrap_or_else(|| "10-rules.toml".into()),
    };
    let text = snapshot
        .ruleset
        .texts
        .iter()
        .find(|f| f.name() == Path::new(&file))
        .map(|f| f.text.clone())
        .unwrap_or_default();
    let is_new = !names.contains(&file);
    ok(html! {
        h1 { "Draft a change" }
        p.hint {
            "Nothing is written to disk until you save; saving reloads the rules as an editor's save does, through the reload gate."
        }
        form #new-file-form action="/console/draft" method="get" {
            label for="new-file" { "Start a new rule file" }
            // The name is checked where it is saved (`rules::is_rule_file_name`).
            input #new-file name="file" type="text" required placeholder="80-new-rules.toml";
            button.secondary type="submit" { "Open" }
        }
        form #draft-form data-post="/console/f/draft/check" data-target="#check" {
            label for="file" { "Rule file" }
            select #file name="file" data-navigate="/console/draft" {
                @for name in &names { option value=(name) selected[*name == file] { (name) } }
                @if is_new { option value=(file) selected { (file) " (new)" } }
            }
            label for="text" { "Text of " (file) }
            textarea #text name="text" spellcheck="false" rows="24"
                data-check="/console/f/draft/check" data-target="#check" { (text) }
            div.actions {
                button #check-button type="submit" data-post="/console/f/draft/check" data-target="#check" { "Check" }
                button #effect-button.secondary type="submit" data-post="/console/f/draft/effect" data-target="#effect" { "Effect on past complaints" }
                button #save-button.secondary type="submit" data-post="/console/f/draft/save" data-target="#saved" { "Save and reload" }
            }
        }
        section #check aria-live="polite" {}
        section #effect aria-live="polite" {}
        section #saved aria-live="polite" {}
    })
}

#[derive(Debug, Deserialize)]
pub struct DraftForm {
    file: String,
    text: String,
}

/// The draft over the serving rule set, loaded: compiled and its worst
/// case searched, CPU work that [`draft`] runs with `block_in_place`.
fn load_draft(state: &AppState, form: &DraftForm) -> Result<SnapshotOutcome, Problem> {
    let live = state.live.load_full();
    let rules = BTreeMap::from([(form.file.clone(), form.text.clone())]);
    overlay_outcome(&live, &state.reloader.sources().rules_dir, &rules).map_err(|error| match error
    {
        OverlayError::NotARuleFileName(_) => {
            Problem::new(StatusCode::BAD_REQUEST, error.to_string())
        }
        other => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    })
}

/// The draft a form sends, loaded, off the async workers' turn.
fn draft(
    state: &AppState,
    form: Result<Form<DraftForm>, FormRejection>,
) -> Result<(DraftForm, SnapshotOutcome), Problem> {
    let Ok(Form(form)) = form else {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "the form needs `file` and `text`",
        ));
    };
    let outcome = tokio::task::block_in_place(|| load_draft(state, &form))?;
    Ok((form, outcome))
}

/// `POST /console/f/draft/check`: the draft's diagnostics, each at its
/// line of the draft, and its worst case.
pub async fn check(
    State(state): State<Arc<AppState>>,
    form: Result<Form<DraftForm>, FormRejection>,
) -> Result<Response, Problem> {
    let (form, outcome) = draft(&state, form)?;
    let path = state.reloader.sources().rules_dir.join(&form.file);
    let errors = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = outcome.diagnostics.len() - errors;
    Ok(ok(html! {
        h2 { "Check" }
        @if errors > 0 {
            p.problem #check-summary { (errors) " error(s), " (warnings) " warning(s): this draft would be refused." }
        } @else {
            p.ok #check-summary { "No errors" @if warnings > 0 { ", " (warnings) " warning(s)" } "." }
        }
        (diagnostics(&outcome.diagnostics, &outcome.sources))
        @if !outcome.diagnostics.is_empty() { (numbered(&form.text, &outcome.diagnostics, &path)) }
        @if let Some(worst) = &outcome.worst_case {
            details open[errors == 0] {
                summary { "Worst case of the draft" }
                pre #worst-case { (crate::bounds::render(worst)) }
            }
        }
    }))
}

/// The draft's lines, numbered, with the lines a diagnostic points at
/// marked and the message beside them.
fn numbered(text: &str, found: &[Diagnostic], path: &Path) -> Markup {
    let at_line = |line: usize| {
        found.iter().filter(move |d| {
            d.location
                .as_ref()
                .is_some_and(|l| l.line == line && l.file == path)
        })
    };
    html! {
        details open {
            summary { "The draft, line by line" }
            ol.lines #draft-lines {
                @for (index, line) in text.lines().enumerate() {
                    @let number = index + 1;
                    @let here: Vec<&Diagnostic> = at_line(number).collect();
                    @let class = if here.iter().any(|d| d.severity == Severity::Error) {
                        Some("error")
                    } else if here.is_empty() { None } else { Some("warning") };
                    li class=[class] id=(format!("line-{number}")) {
                        (line)
                        @for diagnostic in here { "\n  ← " (diagnostic.message) }
                    }
                }
            }
        }
    }
}

/// `POST /console/f/draft/effect` (admin): what the draft would change on
/// the complaints of the last 30 days, as `POST /v1/diff` reports it.
pub async fn effect(
    State(state): State<Arc<AppState>>,
    form: Result<Form<DraftForm>, FormRejection>,
) -> Result<Response, Problem> {
    let (_, outcome) = draft(&state, form)?;
    let Some(candidate) = outcome.snapshot else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the draft has errors (see Check); fix them to see its effect",
        ));
    };
    let _permit = state.admit()?;
    let report = diff_logged(&state, &candidate, None, None).await?;
    Ok(ok(effect_of(&report)))
}

fn effect_of(report: &DiffReport) -> Markup {
    html! {
        h2 { "Effect on the last 30 days" }
        p #effect-summary {
            strong { (report.changed) } " of " (report.replayed) " complaints decided again would change"
            @if report.not_replayable_count > 0 { "; " (report.not_replayable_count) " could not be decided again" }
            "."
        }
        @if !report.routes.is_empty() {
            h3 { "Routes" }
            div.table { table #effect-routes {
                thead { tr { th { "From" } th { "To" } th.number { "Complaints" } th { "For example" } } }
                tbody { @for t in &report.routes { tr {
                    td { (t.from) } td { (t.to) } td.number { (t.count) } td { (t.examples.join(", ")) }
                } } }
            } }
        }
        @if !report.compensation.totals.is_empty() {
            h3 { "Compensation" }
            div.table { table {
                thead { tr { th { "Group" } th.number { "Before" } th.number { "After" } } }
                tbody { @for m in report.compensation.totals.iter().chain(&report.compensation.by_kind) { tr {
                    td { @if m.what.is_empty() { "total" } @else { (m.what) } }
                    td.number { (money(m.before, &m.currency)) } td.number { (money(m.after, &m.currency)) }
                } } }
            } }
        }
        details {
            summary { "Everything that changes, as " code { "redress diff" } " prints it" }
            pre { (crate::cli::diff::render(report, std::time::Duration::ZERO)) }
        }
    }
}

/// `POST /console/f/draft/save` (admin): writes the draft into the rules
/// directory (a draft with errors is not written) and reloads.
pub async fn save(
    State(state): State<Arc<AppState>>,
    form: Result<Form<DraftForm>, FormRejection>,
) -> Result<Response, Problem> {
    let (form, outcome) = draft(&state, form)?;
    if outcome.snapshot.is_none() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "not saved: the draft of {} has errors (see Check); the file on disk is unchanged",
                form.file
            ),
        ));
    }
    let rules_dir = state.reloader.sources().rules_dir.clone();
    if let Err(error) = write_atomically(&rules_dir, &form.file, &form.text) {
        return Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "cannot write {}: {error}",
                rules_dir.join(&form.file).display()
            ),
        ));
    }
    let status = state.reloader.reload(ReloadTrigger::Console).await;
    Ok(ok(html! {
        h2 { "Saved" }
        p #save-outcome {
            "Wrote " code { (rules_dir.join(&form.file).display()) } "; the reload: "
            strong { (status.outcome.as_str()) } ", serving " code { (status.serving) } "."
        }
        @match status.outcome {
            ReloadOutcome::Held => {
                p.problem { "The reload gate holds it; accept it on the " a href="/console/ruleset" { "Rule set" } " screen." }
                @if let Some(gate) = &status.gate { ul { @for exceeded in &gate.exceeded { li { (exceeded) } } } }
            }
            ReloadOutcome::Failed => {
                p.problem { "The rules on disk did not load; the version above keeps serving." }
                pre { (status.rendered) }
            }
            _ => {}
        }
    }))
}

/// Writes `text` as `name` in `directory` through a hidden temporary file
/// and a rename, so the reloader never reads half a file.
fn write_atomically(directory: &Path, name: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let temporary = directory.join(format!(".{name}.console-draft"));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, directory.join(name))
}

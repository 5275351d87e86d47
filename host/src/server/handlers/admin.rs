//! The rule set serving, reloading it, and what a change would change
//! (`/v1/diff`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;

use super::simulate::overlay;
use super::translate::{body_error, store_unavailable};
use super::{json, on_workers, store_of};
use crate::reload::{ReloadOutcome, ReloadTrigger};
use crate::replay::DiffReport;
use crate::server::bodies::{
    DiffRequest, PluginOutputView, PluginView, ReloadRequest, RuleFilesView, RulesetView,
};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::snapshot::Snapshot;
use crate::time::Timestamp;

/// `GET /v1/ruleset`
pub async fn ruleset(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.live.load_full();
    let plugins = snapshot
        .plugins
        .plugins()
        .iter()
        .map(|plugin| PluginView {
            name: &plugin.spec.name,
            digest: plugin.digest.clone(),
            order: plugin.spec.order,
            on_error: plugin.spec.on_error,
            isolation: plugin.spec.isolation,
            outputs: plugin
                .spec
                .outputs
                .iter()
                .map(|output| PluginOutputView {
                    key: &output.key,
                    ty: output.ty,
                    range: output.range.map(|(low, high)| [low, high]),
                })
                .collect(),
            quarantined: plugin.is_quarantined(),
            warm_instances: plugin.warm_instances(),
        })
        .collect();
    json(
        StatusCode::OK,
        &RulesetView {
            version: snapshot.version.clone(),
            ruleset_version: snapshot.ruleset.version.clone(),
            rules: RuleFilesView {
                directory: &state.reloader.sources().rules_dir,
                files: &snapshot.ruleset.files,
                rule_count: snapshot.ruleset.rule_count(),
            },
            plugins,
            worst_case: &snapshot.worst_case,
            last_reload: state.reloader.status(),
            held: state.reloader.held(),
        },
    )
}

/// `POST /v1/reload` (admin): reloads now and says how it went.
pub async fn reload(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let request: ReloadRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReloadRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "invalid reload request: {error}; send nothing, or {{\"accept\": \"VERSION\"}}"
                ),
            )
        })?
    };
    if let Some(version) = request.accept {
        return match state.reloader.accept(&version).await {
            Ok(status) => Ok(json(StatusCode::OK, &status)),
            Err(message) => Err(ApiError::new(ErrorCode::NotHeld, message)),
        };
    }
    let status = state.reloader.reload(ReloadTrigger::Api).await;
    if status.outcome == ReloadOutcome::Failed {
        return Err(ApiError::new(
            ErrorCode::ReloadFailed,
            format!(
                "the files on disk have errors; version {} keeps serving",
                status.serving
            ),
        )
        .with_details(serde_json::to_value(&status).unwrap_or_default()));
    }
    Ok(json(StatusCode::OK, &status))
}

/// Most complaints one `POST /v1/diff` decides again.
pub(super) const DIFF_MAX: usize = 100_000;

/// `POST /v1/diff` (admin): what changed rule files would change on the
/// logged complaints, as `redress diff --json` reports it.
pub async fn diff(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let _permit = state.admit()?;
    store_of(&state)?;
    let body = body.map_err(body_error)?;
    let request: DiffRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("invalid diff request: {error}"),
        )
    })?;
    let live = state.live.load_full();
    let candidate = overlay(&state, &live, &request.rules)?;
    let report = diff_logged(&state, &candidate, request.since, request.limit).await?;
    Ok(json(StatusCode::OK, &report))
}

/// What `candidate` would change on the complaints logged since `since`
/// (30 days by default), the latest `limit` of them (10,000 by default, at
/// most [`DIFF_MAX`]): `POST /v1/diff` and the console's draft.
pub(in crate::server) async fn diff_logged(
    state: &AppState,
    candidate: &Snapshot,
    since: Option<Timestamp>,
    limit: Option<usize>,
) -> Result<DiffReport, ApiError> {
    let store = store_of(state)?;
    let since = since.unwrap_or_else(|| Timestamp(state.clock.now().millis() - 30 * 86_400_000));
    let options = crate::replay::DiffOptions {
        candidate: candidate.ruleset.texts.as_ref().clone(),
        query: crate::store::LogQuery {
            since: Some(since),
            last: Some(limit.unwrap_or(10_000).clamp(1, DIFF_MAX)),
            ..crate::store::LogQuery::default()
        },
        plugins: None,
    };
    let store = store.clone();
    on_workers(state, move || crate::replay::diff(store.reader(), &options))
        .await?
        .map_err(|error| store_unavailable(&error.to_string()))
}

//! The rule set serving, reloading it, and what a change would change
//! (`/v1/diff`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::simulate::overlay;
use super::translate::{body_error, store_unavailable};
use super::{json, on_workers, store_of};
use crate::reload::{ReloadOutcome, ReloadTrigger};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::time::Timestamp;

/// `GET /v1/ruleset`
pub async fn ruleset(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.live.load_full();
    let plugins: Vec<serde_json::Value> = snapshot
        .plugins
        .plugins()
        .iter()
        .map(|plugin| {
            serde_json::json!({
                "name": plugin.spec.name,
                "digest": plugin.digest,
                "order": plugin.spec.order,
                "on_error": plugin.spec.on_error,
                "isolation": plugin.spec.isolation,
                "outputs": plugin.spec.outputs.iter().map(|o| serde_json::json!({"key": o.key, "type": o.ty, "range": o.range.map(|(lo, hi)| [lo, hi])})).collect::<Vec<_>>(),
                "quarantined": plugin.is_quarantined(),
                "warm_instances": plugin.warm_instances(),
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "version": snapshot.version,
            "ruleset_version": snapshot.ruleset.version,
            "rules": {
                "directory": state.reloader.sources().rules_dir,
                "files": snapshot.ruleset.files,
                "rule_count": snapshot.ruleset.rule_count(),
            },
            "plugins": plugins,
            "worst_case": &*snapshot.worst_case,
            "last_reload": state.reloader.status(),
            "held": state.reloader.held(),
        }),
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

/// `POST /v1/reload` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadRequest {
    /// Let the rule set the gate holds, of this version, go live.
    accept: Option<String>,
}

/// `POST /v1/diff` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// Rule files to use instead of the serving ones with the same names
    /// (others are kept): file name → text.
    #[serde(default)]
    rules: BTreeMap<String, String>,
    /// Complaints decided at or after. Default: 30 days ago.
    since: Option<Timestamp>,
    /// Only the last this many complaints. Default: 10000.
    limit: Option<usize>,
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
    let candidate_files = candidate.ruleset.texts.as_ref().clone();
    let since = request
        .since
        .unwrap_or_else(|| Timestamp(state.clock.now().millis() - 30 * 86_400_000));
    let options = crate::replay::DiffOptions {
        candidate: candidate_files,
        query: crate::store::LogQuery {
            since: Some(since),
            last: Some(request.limit.unwrap_or(10_000).clamp(1, DIFF_MAX)),
            ..crate::store::LogQuery::default()
        },
        plugins: None,
    };
    let store = state
        .store
        .clone()
        .ok_or_else(|| ApiError::internal("the store went away"))?;
    let report = on_workers(&state, move || {
        crate::replay::diff(store.reader(), &options)
    })
    .await?
    .map_err(|error| store_unavailable(&error.to_string()))?;
    Ok(json(StatusCode::OK, &report))
}

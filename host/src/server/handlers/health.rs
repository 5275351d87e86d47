//! Health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json;
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: a rule set is loaded, the daemon is not shutting down,
/// and the store can record (its last write did not fail, its audit file
/// is intact).
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return ApiError::new(ErrorCode::ShuttingDown, "the daemon is shutting down")
            .into_response();
    }
    if let Some(why) = state
        .store
        .as_ref()
        .and_then(|store| store.metrics())
        .and_then(|metrics| metrics.unavailable())
    {
        return ApiError::new(
            ErrorCode::StoreUnavailable,
            format!("decisions cannot be recorded now: {why}"),
        )
        .into_response();
    }
    let snapshot = state.live.load();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "status": "ready",
            "version": snapshot.version,
            "ruleset_version": snapshot.ruleset.version,
        }),
    )
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.render_metrics();
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The OpenAPI document, checked in at `docs/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../../docs/openapi.json");

/// `GET /v1/openapi.json`
pub async fn openapi() -> Response {
    let mut response = (StatusCode::OK, OPENAPI).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

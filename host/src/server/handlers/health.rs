//! Health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json;
use crate::server::bodies::{Health, Ready};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    json(StatusCode::OK, &Health { status: "ok" })
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
        &Ready {
            status: "ready",
            version: snapshot.version.clone(),
            ruleset_version: snapshot.ruleset.version.clone(),
        },
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

/// `GET /v1/openapi.json`: the document `docs/openapi.json` is a copy of
/// ([`crate::server::openapi`]).
pub async fn openapi() -> Response {
    match crate::server::openapi::document() {
        Ok(text) => {
            let mut response = (StatusCode::OK, text.as_str()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => ApiError::internal(error.to_string()).into_response(),
    }
}

//! Cases and the audit log: lifecycle events, a case, the decisions, the
//! report.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use strum::IntoEnumIterator as _;

use super::translate::{body_error, path_error, query_error, store_unavailable};
use super::{json, store_of};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::store::{DecisionQuery, LifecycleError, LifecycleEvent, LifecycleKind};
use crate::time::Timestamp;

/// `POST /v1/complaints/{id}/events`: something happened to a case.
pub async fn case_event(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let store = store_of(&state)?;
    let body = body.map_err(body_error)?;
    let event: LifecycleEvent = serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(
            ErrorCode::InvalidLifecycleEvent,
            lifecycle_error(&body, &error),
        )
    })?;
    let case = store
        .apply(id, event)
        .await
        .map_err(|_| store_unavailable("the store stopped"))?
        .map_err(|error| match error {
            LifecycleError::NoCase(_) => ApiError::new(ErrorCode::NoCase, error.to_string()),
            LifecycleError::Conflict { .. } => {
                ApiError::new(ErrorCode::Conflict, error.to_string())
            }
            LifecycleError::AuthorityUse(_) => {
                ApiError::new(ErrorCode::InvalidLifecycleEvent, error.to_string())
            }
            other => store_unavailable(&other.to_string()),
        })?;
    Ok(json(StatusCode::OK, &case))
}

/// `GET /v1/cases/{id}`
pub async fn case(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let store = store_of(&state)?;
    let case = tokio::task::block_in_place(|| store.case(&id))
        .map_err(|e| store_unavailable(&e.to_string()))?;
    match case {
        Some(case) => Ok(json(StatusCode::OK, &case)),
        None => Err(ApiError::new(ErrorCode::NoCase, format!("no case `{id}`"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    after: Option<i64>,
    limit: Option<usize>,
    case: Option<String>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

/// `GET /v1/decisions`: the audit log, by cursor.
pub async fn decisions(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DecisionsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let store = store_of(&state)?;
    let Query(query) = query.map_err(query_error)?;
    let query = DecisionQuery {
        after: query.after.unwrap_or(0),
        limit: query.limit.unwrap_or(100),
        case_id: query.case,
        since: query.since,
        until: query.until,
    };
    let page = tokio::task::block_in_place(|| store.decisions(&query))
        .map_err(|e| store_unavailable(&e.to_string()))?;
    Ok(json(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

/// `GET /v1/report`: complaints by category, product line and tier.
pub async fn report(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let store = store_of(&state)?;
    let Query(query) = query.map_err(query_error)?;
    let to = query.to.unwrap_or_else(|| state.clock.now());
    let from = query
        .from
        .unwrap_or(Timestamp(to.millis() - 30 * 86_400_000));
    let report = tokio::task::block_in_place(|| store.report(from, to))
        .map_err(|e| store_unavailable(&e.to_string()))?;
    Ok(json(StatusCode::OK, &report))
}

/// What is wrong with a lifecycle event's body: an unknown `type` is named
/// with the closest known one; any other problem is serde's, with the
/// types listed.
fn lifecycle_error(body: &[u8], error: &serde_json::Error) -> String {
    let kinds: Vec<&str> = LifecycleKind::iter().map(LifecycleKind::as_str).collect();
    let listed = kinds.join(", ");
    let sent_type = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("type")?.as_str().map(str::to_string));
    match sent_type {
        Some(kind) if !kinds.contains(&kind.as_str()) => {
            let suggestion = crate::suggest::did_you_mean(&kind, kinds.iter().copied())
                .map(|hint| format!("; {hint}"))
                .unwrap_or_default();
            format!(
                "invalid lifecycle event: unknown `type` `{kind}`{suggestion}; `type` is one of {listed}"
            )
        }
        _ => format!("invalid lifecycle event: {error}; `type` is one of {listed}"),
    }
}

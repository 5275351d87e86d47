//! `POST /v1/simulate`: deciding without changing any state, against the
//! serving rules or changed files over them ([`intake::overlay`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::value::RawValue;

use super::translate::{body_error, event_error, intake_error, store_unavailable};
use super::{json, on_workers};
use crate::decision::TraceLevel;
use crate::engine::StateView;
use crate::engine::Stateless;
use crate::event::ComplaintEvent;
use crate::intake::{self, OverlayError};
use crate::server::bodies::{BatchItem, SimulateAnswer, SimulateRequest};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::snapshot::Snapshot;

/// `POST /v1/simulate`: decides without changing any state, optionally
/// against changed rules.
pub async fn simulate(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let _permit = state.admit()?;
    let body = body.map_err(body_error)?;
    let request: SimulateRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("invalid simulate request: {error}"),
        )
    })?;
    let live = state.live.load_full();
    let trace = request.trace.unwrap_or(TraceLevel::Full);
    if request.rules_dir.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "`rules_dir` is not accepted: the daemon reads no directory named by a request; send the changed files inline in `rules` (file name → text)",
        ));
    }
    let changed = match &request.rules {
        None => None,
        Some(rules) => Some(overlay(&state, &live, rules)?),
    };
    let snapshot = changed.unwrap_or(live);
    let raw_events: Vec<Box<RawValue>> = match (request.event, request.events) {
        (Some(one), None) => vec![one],
        (None, Some(many)) if !many.is_empty() && many.len() <= state.config.batch_limit => many,
        (None, Some(many)) if many.is_empty() => {
            return Err(ApiError::new(ErrorCode::EmptyBatch, "`events` is empty"));
        }
        (None, Some(_)) => {
            return Err(ApiError::new(ErrorCode::BatchTooLarge, "too many events"));
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give either `event` or `events`",
            ));
        }
    };
    let deadline = Instant::now() + state.config.request_timeout;
    let items = {
        let (state, snapshot) = (state.clone(), snapshot.clone());
        on_workers(&state.clone(), move || {
            simulate_all(&state, &snapshot, raw_events, trace, deadline)
        })
        .await?
    };
    Ok(json(
        StatusCode::OK,
        &SimulateAnswer {
            ruleset_version: snapshot.ruleset.version.clone(),
            decisions: items,
        },
    ))
}

/// The serving snapshot with `rules` in place of its files of the same
/// names ([`intake::overlay`]).
pub(super) fn overlay(
    state: &AppState,
    live: &Snapshot,
    rules: &BTreeMap<String, String>,
) -> Result<Arc<Snapshot>, ApiError> {
    let rules_dir = &state.reloader.sources().rules_dir;
    match intake::overlay(live, rules_dir, rules) {
        Ok(snapshot) => Ok(Arc::new(snapshot)),
        Err(error @ OverlayError::NotARuleFileName(_)) => {
            Err(ApiError::new(ErrorCode::InvalidRequest, error.to_string()))
        }
        Err(OverlayError::Invalid {
            diagnostics,
            sources,
        }) => Err(
            ApiError::new(ErrorCode::InvalidRules, "the rules given have errors").with_details(
                serde_json::json!({
                    "diagnostics": diagnostics,
                    "rendered": crate::diagnostic::render_all(&diagnostics, &sources),
                }),
            ),
        ),
    }
}

/// Decides every event without recording anything: against the store's
/// current state when there is one.
pub(in crate::server) fn simulate_all(
    state: &AppState,
    snapshot: &Snapshot,
    raw_events: Vec<Box<RawValue>>,
    trace: TraceLevel,
    deadline: Instant,
) -> Vec<BatchItem> {
    let mut items = Vec::with_capacity(raw_events.len());
    let mut run = |view: &dyn StateView| {
        for raw in &raw_events {
            if Instant::now() > deadline {
                items.push(BatchItem::Error {
                    error: ApiError::timeout(),
                });
                continue;
            }
            items.push(match ComplaintEvent::from_json(raw.get().as_bytes()) {
                Err(error) => BatchItem::Error {
                    error: event_error(error),
                },
                Ok(event) => {
                    let decided = intake::prepare(
                        snapshot,
                        event,
                        state.clock.now(),
                        Some(&state.config.timestamps),
                        &BTreeMap::new(),
                    )
                    .map(|prepared| prepared.decide(snapshot, view, trace));
                    match decided {
                        Ok(decision) => BatchItem::Decision(Box::new(decision)),
                        Err(error) => BatchItem::Error {
                            error: intake_error(error),
                        },
                    }
                }
            });
        }
    };
    match &state.store {
        Some(store) => {
            if let Err(error) = store.with_view(&mut run) {
                return vec![BatchItem::Error {
                    error: store_unavailable(&error.to_string()),
                }];
            }
        }
        None => run(&Stateless),
    }
    items
}

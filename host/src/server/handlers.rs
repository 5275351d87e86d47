//! The API's handlers: deciding complaints, simulating, the rule set's
//! state, reload, health, readiness, metrics and the OpenAPI document.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::decision::{Decision, TraceLevel};
use crate::engine::Stateless;
use crate::event::{ComplaintEvent, EventError};
use crate::plugin::PluginError;
use crate::rules::{RuleFileText, read_rule_files};
use crate::server::error::ApiError;
use crate::server::state::AppState;
use crate::snapshot::Snapshot;

#[derive(Debug, Deserialize)]
pub struct TraceQuery {
    trace: Option<TraceLevel>,
}

/// `POST /v1/complaints`: one event, or an array of events.
pub async fn complaints(
    State(state): State<Arc<AppState>>,
    Query(query): Query<TraceQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let _permit = state.admit()?;
    let body = body.map_err(body_error)?;
    let trace = query.trace.unwrap_or(state.config.default_trace);
    let snapshot = state.live.load_full();
    match parse_body(&state, &body)? {
        Body::One(event) => {
            let event = (*event).map_err(|error| {
                state
                    .metrics
                    .invalid
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                event_error(error)
            })?;
            // Plugins and rules are CPU work bounded only by the plugins'
            // timeouts: keep it off the async workers' queues so a slow
            // plugin cannot stall accepting or answering other requests.
            let decision =
                tokio::task::block_in_place(|| decide_one(&state, &snapshot, event, trace))
                    .map_err(plugin_rejected)?;
            Ok(json(StatusCode::OK, &decision))
        }
        Body::Many(events) => {
            let items =
                tokio::task::block_in_place(|| decide_many(&state, &snapshot, events, trace));
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "decisions": items }),
            ))
        }
    }
}

/// One item of a batch response: a decision or why there is none.
#[derive(Serialize)]
#[serde(untagged)]
pub enum BatchItem {
    Decision(Box<Decision>),
    Error { error: ApiError },
}

fn decide_many(
    state: &AppState,
    snapshot: &Snapshot,
    events: Vec<Result<ComplaintEvent, EventError>>,
    trace: TraceLevel,
) -> Vec<BatchItem> {
    events
        .into_iter()
        .map(|event| match event {
            Err(error) => {
                state
                    .metrics
                    .invalid
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                BatchItem::Error {
                    error: event_error(error),
                }
            }
            Ok(event) => match decide_one(state, snapshot, event, trace) {
                Ok(decision) => BatchItem::Decision(Box::new(decision)),
                Err(error) => BatchItem::Error {
                    error: plugin_rejected(error),
                },
            },
        })
        .collect()
}

fn decide_one(
    state: &AppState,
    snapshot: &Snapshot,
    mut event: ComplaintEvent,
    trace: TraceLevel,
) -> Result<Decision, PluginError> {
    let started = Instant::now();
    if event.received_at.is_none() {
        event.received_at = Some(state.clock.now());
    }
    let result = snapshot.decide(&event, &BTreeMap::new(), &Stateless, trace);
    match &result {
        Ok(decision) => state.metrics.decided(&decision.route.queue),
        Err(_) => {
            state
                .metrics
                .rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    state.metrics.latency.observe(started.elapsed());
    result
}

enum Body {
    One(Box<Result<ComplaintEvent, EventError>>),
    Many(Vec<Result<ComplaintEvent, EventError>>),
}

/// Reads one event or a batch, parsing the JSON once.
fn parse_body(state: &AppState, body: &[u8]) -> Result<Body, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return Ok(Body::One(Box::new(ComplaintEvent::from_json(body))));
    }
    let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {error}"),
        )
    })?;
    if items.len() > state.config.batch_limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "the batch has {} events; at most {} are accepted (`[limits] batch`)",
                items.len(),
                state.config.batch_limit
            ),
        ));
    }
    if items.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_batch",
            "the batch is empty",
        ));
    }
    Ok(Body::Many(
        items
            .into_iter()
            .map(|raw| ComplaintEvent::from_json(raw.get().as_bytes()))
            .collect(),
    ))
}

fn event_error(error: EventError) -> ApiError {
    let (status, code) = if error.syntax {
        (StatusCode::BAD_REQUEST, "invalid_json")
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_event")
    };
    ApiError::new(status, code, error.to_string()).with_details(serde_json::json!({
        "field": error.field,
        "line": error.line,
        "column": error.column,
    }))
}

fn plugin_rejected(error: PluginError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "plugin_rejected",
        format!("{error}; its manifest says on_error = \"reject\""),
    )
    .with_details(serde_json::json!({ "plugin": error.plugin, "failure": error.failure.kind() }))
}

fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            "the body is larger than the configured limit (`[limits] body`)",
        )
    } else {
        ApiError::new(status, "unreadable_body", rejection.body_text())
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => {
            ApiError::internal(format!("cannot encode the response: {error}")).into_response()
        }
    }
}

/// `POST /v1/simulate` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// One event...
    event: Option<Box<RawValue>>,
    /// ...or several.
    events: Option<Vec<Box<RawValue>>>,
    /// Rule files to use instead of the served ones with the same names
    /// (others are kept): file name → text.
    rules: Option<BTreeMap<String, String>>,
    /// A rules directory on the daemon's machine to use instead.
    rules_dir: Option<std::path::PathBuf>,
    /// Default: `full`.
    trace: Option<TraceLevel>,
}

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
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("invalid simulate request: {error}"),
        )
    })?;
    let live = state.live.load_full();
    let trace = request.trace.unwrap_or(TraceLevel::Full);
    let changed = match (&request.rules, &request.rules_dir) {
        (None, None) => None,
        (rules, dir) => {
            let base = dir
                .clone()
                .unwrap_or_else(|| state.reloader.sources().rules_dir.clone());
            let mut files = read_rule_files(&base).map_err(|d| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_rules",
                    d.one_line(),
                )
            })?;
            for (name, text) in rules.iter().flatten() {
                if name.contains('/') || name.contains('\\') || !name.ends_with(".toml") {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        format!("`{name}` is not a rule file name (`something.toml`)"),
                    ));
                }
                files.retain(|f| f.name() != std::path::Path::new(name));
                files.push(RuleFileText {
                    path: base.join(name),
                    text: text.clone(),
                });
            }
            let outcome = Snapshot::from_rule_files(files, live.plugins.clone());
            match outcome.snapshot {
                Some(snapshot) => Some(Arc::new(snapshot)),
                None => {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_rules",
                        "the rules given have errors",
                    )
                    .with_details(serde_json::json!({
                        "diagnostics": outcome.diagnostics,
                        "rendered": crate::diagnostic::render_all(&outcome.diagnostics, &outcome.sources),
                    })));
                }
            }
        }
    };
    let snapshot = changed.unwrap_or(live);
    let raw_events: Vec<Box<RawValue>> = match (request.event, request.events) {
        (Some(one), None) => vec![one],
        (None, Some(many)) if !many.is_empty() && many.len() <= state.config.batch_limit => many,
        (None, Some(many)) if many.is_empty() => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "empty_batch",
                "`events` is empty",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
                "too many events",
            ));
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "give either `event` or `events`",
            ));
        }
    };
    let items = tokio::task::block_in_place(|| simulate_all(&state, &snapshot, raw_events, trace));
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "ruleset_version": snapshot.ruleset.version, "decisions": items }),
    ))
}

fn simulate_all(
    state: &AppState,
    snapshot: &Snapshot,
    raw_events: Vec<Box<RawValue>>,
    trace: TraceLevel,
) -> Vec<BatchItem> {
    let mut items = Vec::with_capacity(raw_events.len());
    for raw in raw_events {
        items.push(match ComplaintEvent::from_json(raw.get().as_bytes()) {
            Err(error) => BatchItem::Error {
                error: event_error(error),
            },
            Ok(mut event) => {
                if event.received_at.is_none() {
                    event.received_at = Some(state.clock.now());
                }
                match snapshot.decide(&event, &BTreeMap::new(), &Stateless, trace) {
                    Ok(decision) => BatchItem::Decision(Box::new(decision)),
                    Err(error) => BatchItem::Error {
                        error: plugin_rejected(error),
                    },
                }
            }
        });
    }
    items
}

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
                "outputs": plugin.spec.outputs.iter().map(|o| serde_json::json!({"key": o.key, "type": o.ty})).collect::<Vec<_>>(),
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
            "last_reload": state.reloader.status(),
        }),
    )
}

/// `POST /v1/reload` (admin): reloads now and says how it went.
pub async fn reload(State(state): State<Arc<AppState>>) -> Response {
    let status = state.reloader.reload("api").await;
    if status.outcome == "failed" {
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_failed",
            format!(
                "the files on disk have errors; version {} keeps serving",
                status.serving
            ),
        )
        .with_details(serde_json::to_value(&status).unwrap_or_default())
        .into_response();
    }
    json(StatusCode::OK, &status)
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: a rule set is loaded and the daemon is not shutting down.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the daemon is shutting down",
        )
        .into_response();
    }
    json(
        StatusCode::OK,
        &serde_json::json!({ "status": "ready", "version": state.live.load().version }),
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
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// `GET /v1/openapi.json`
pub async fn openapi() -> Response {
    let mut response = (StatusCode::OK, OPENAPI).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

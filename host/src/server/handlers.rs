//! The API's handlers: deciding complaints, simulating, the rule set's
//! state, reload, health, readiness, metrics and the OpenAPI document.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::decision::{Decision, TraceLevel};
use crate::engine::StateView;
use crate::engine::Stateless;
use crate::event::{ComplaintEvent, EventError};
use crate::intake::{self, IntakeError, OverlayError, RecordError};
use crate::plugin::PluginError;
use crate::reload::{ReloadOutcome, ReloadTrigger};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::snapshot::Snapshot;
use crate::store::{DecisionQuery, LifecycleError, LifecycleEvent, Store, StoreError};
use crate::time::Timestamp;

#[derive(Debug, Deserialize)]
pub struct TraceQuery {
    trace: Option<TraceLevel>,
    /// `?import=true`: complaints from history; their SLA timers already
    /// due are recorded as cancelled instead of firing at once.
    #[serde(default)]
    import: bool,
}

/// `POST /v1/complaints`: one event, or an array of events.
pub async fn complaints(
    State(state): State<Arc<AppState>>,
    query: Result<Query<TraceQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let _permit = state.admit()?;
    let started = Instant::now();
    let Query(query) = query.map_err(query_error)?;
    let body = body.map_err(body_error)?;
    let trace = query.trace.unwrap_or(state.config.default_trace);
    let snapshot = state.live.load_full();
    let (events, single) = match parse_body(&state, &body)? {
        Body::One(event) => (vec![*event], true),
        Body::Many(events) => (events, false),
    };
    // Plugins are CPU work bounded only by their timeouts: keep it off the
    // async workers so a slow plugin cannot stall accepting or answering
    // other requests, unless every plugin is declared `inline` and none
    // was slow lately. Rules alone, and inline plugins, take microseconds
    // per event, and handing the worker over costs more than that (with
    // the example plugins, a third of the daemon's throughput: see
    // BENCHMARKS.md), so a small request is then decided in place.
    let deadline = started + state.config.request_timeout;
    let offload = events.len() > DECIDE_IN_PLACE_MAX_EVENTS || !snapshot.plugins.run_inline();
    let prepared: Vec<Prepared> = if offload {
        let (state, snapshot) = (state.clone(), snapshot.clone());
        on_workers(&state.clone(), move || {
            prepare_all(&state, &snapshot, events, deadline)
        })
        .await?
    } else {
        prepare_all(&state, &snapshot, events, deadline)
    };
    let answers = match &state.store {
        Some(store) => {
            let import = query.import.then(|| state.clock.now());
            record(&state, store.as_ref(), &snapshot, prepared, trace, import).await?
        }
        None if prepared.len() > DECIDE_IN_PLACE_MAX_EVENTS => {
            let (state, snapshot) = (state.clone(), snapshot.clone());
            on_workers(&state.clone(), move || {
                decide_without_store(&state, &snapshot, prepared, trace, deadline)
            })
            .await?
        }
        None => decide_without_store(&state, &snapshot, prepared, trace, deadline),
    };
    let elapsed = started.elapsed() / answers.len().max(1) as u32;
    for answer in &answers {
        if answer.is_ok() {
            state.metrics.latency.observe(elapsed);
        }
    }
    if single {
        return match answers.into_iter().next() {
            Some(Ok(answer)) => {
                let mut response = raw_json(StatusCode::OK, answer.json);
                if answer.replayed {
                    response
                        .headers_mut()
                        .insert("redress-replayed", HeaderValue::from_static("true"));
                }
                Ok(response)
            }
            Some(Err(error)) => Err(error),
            None => Err(ApiError::internal("no answer")),
        };
    }
    let items: Vec<BatchItem> = answers
        .into_iter()
        .map(|answer| match answer {
            Ok(answer) => match RawValue::from_string(answer.json) {
                Ok(raw) => BatchItem::Stored(raw),
                Err(error) => BatchItem::Error {
                    error: ApiError::internal(format!("cannot encode a decision: {error}")),
                },
            },
            Err(error) => BatchItem::Error { error },
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "decisions": items }),
    ))
}

/// One event after validation and plugins. Lives only between the two
/// stages of one request; boxing the large variant would cost an allocation
/// per event for nothing.
#[allow(clippy::large_enum_variant)]
enum Prepared {
    Ready(intake::Prepared),
    Refused(ApiError),
}

/// A decision as answered.
struct Answer {
    json: String,
    replayed: bool,
}

/// Most events a request may hold and still be decided (rules and inline
/// plugins) on the async worker itself.
const DECIDE_IN_PLACE_MAX_EVENTS: usize = 16;

/// Runs `work` on the plugin threads, so a slow plugin or a large batch
/// does not hold up an async worker.
async fn on_workers<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    state
        .workers
        .run(work)
        .await
        .map_err(|stopped| ApiError::new(ErrorCode::ShuttingDown, stopped.to_string()))
}

/// Validates and enriches every event, in order; an event not reached by
/// `deadline` (the request's timeout) is refused rather than worked on
/// after its answer was given up.
fn prepare_all(
    state: &AppState,
    snapshot: &Snapshot,
    events: Vec<Result<ComplaintEvent, EventError>>,
    deadline: Instant,
) -> Vec<Prepared> {
    events
        .into_iter()
        .map(|event| {
            if Instant::now() > deadline {
                Prepared::Refused(ApiError::timeout())
            } else {
                prepare(state, snapshot, event)
            }
        })
        .collect()
}

/// Validates an event and runs the plugins on it.
fn prepare(
    state: &AppState,
    snapshot: &Snapshot,
    event: Result<ComplaintEvent, EventError>,
) -> Prepared {
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            state.metrics.invalid();
            return Prepared::Refused(event_error(error));
        }
    };
    match intake::prepare(
        snapshot,
        event,
        state.clock.now(),
        Some(&state.config.timestamps),
        &BTreeMap::new(),
    ) {
        Ok(prepared) => Prepared::Ready(prepared),
        Err(error) => {
            match error {
                IntakeError::Plugin(_) => state.metrics.rejected(),
                IntakeError::OutOfWindow(_) | IntakeError::UnknownCurrency(_) => {
                    state.metrics.invalid()
                }
            }
            Prepared::Refused(intake_error(error))
        }
    }
}

/// Decides and records, durably, the prepared events; refused ones keep
/// their place in the answers.
async fn record(
    state: &AppState,
    store: &dyn Store,
    snapshot: &Arc<Snapshot>,
    prepared: Vec<Prepared>,
    trace: TraceLevel,
    import: Option<Timestamp>,
) -> Result<Vec<Result<Answer, ApiError>>, ApiError> {
    let mut answers: Vec<Option<Result<Answer, ApiError>>> = Vec::with_capacity(prepared.len());
    let mut ready = Vec::new();
    for item in prepared {
        match item {
            Prepared::Refused(error) => answers.push(Some(Err(error))),
            Prepared::Ready(prepared) => {
                ready.push(prepared);
                answers.push(None);
            }
        }
    }
    let mut recorded = intake::record(store, snapshot, ready, trace, import)
        .answers()
        .await
        .map_err(record_error)?
        .into_iter();
    for slot in answers.iter_mut().filter(|a| a.is_none()) {
        *slot = recorded.next().map(|entry| {
            let entry = entry.map_err(record_error)?;
            state.metrics.decided(&entry.queue);
            state.metrics.control_lines(&entry.control_lines);
            Ok(Answer {
                json: entry.json,
                replayed: entry.replayed,
            })
        });
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(record_error(RecordError::MissingAnswer))))
        .collect())
}

fn record_error(error: RecordError) -> ApiError {
    match error {
        RecordError::Store(StoreError::DecisionLost { .. }) => {
            ApiError::new(ErrorCode::DecisionLost, error.to_string())
        }
        RecordError::Store(other) => store_unavailable(&other.to_string()),
        RecordError::StoreStopped => store_unavailable("the store stopped"),
        other => ApiError::internal(other.to_string()),
    }
}

/// Decides without durable state (`[store] enabled = false`).
fn decide_without_store(
    state: &AppState,
    snapshot: &Snapshot,
    prepared: Vec<Prepared>,
    trace: TraceLevel,
    deadline: Instant,
) -> Vec<Result<Answer, ApiError>> {
    prepared
        .into_iter()
        .map(|item| match item {
            Prepared::Refused(error) => Err(error),
            Prepared::Ready(..) if Instant::now() > deadline => Err(ApiError::timeout()),
            Prepared::Ready(prepared) => {
                let decision = prepared.decide(snapshot, &Stateless, trace);
                state.metrics.decided(&decision.route.queue);
                decision
                    .to_json()
                    .map(|json| Answer {
                        json,
                        replayed: false,
                    })
                    .map_err(|e| ApiError::internal(format!("cannot encode a decision: {e}")))
            }
        })
        .collect()
}

fn store_unavailable(message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::StoreUnavailable,
        format!("the decision could not be recorded durably, so it is not given: {message}"),
    )
}

/// One item of a batch response: a decision or why there is none.
#[derive(Serialize)]
#[serde(untagged)]
pub enum BatchItem {
    Decision(Box<Decision>),
    Stored(Box<RawValue>),
    Error { error: ApiError },
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
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {error}"),
        )
    })?;
    if items.len() > state.config.batch_limit {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!(
                "the batch has {} events; at most {} are accepted (`[limits] batch`)",
                items.len(),
                state.config.batch_limit
            ),
        ));
    }
    if items.is_empty() {
        return Err(ApiError::new(ErrorCode::EmptyBatch, "the batch is empty"));
    }
    Ok(Body::Many(
        items
            .into_iter()
            .map(|raw| ComplaintEvent::from_json(raw.get().as_bytes()))
            .collect(),
    ))
}

/// A query string that does not fit the endpoint, e.g. `?trace=al`.
fn query_error(error: QueryRejection) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, error.body_text())
}

/// A path that does not fit the endpoint, e.g. an id that is not UTF-8.
fn path_error(error: PathRejection) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, error.body_text())
}

fn event_error(error: EventError) -> ApiError {
    let code = if error.syntax {
        ErrorCode::InvalidJson
    } else {
        ErrorCode::InvalidEvent
    };
    ApiError::new(code, error.to_string()).with_details(serde_json::json!({
        "field": error.field,
        "line": error.line,
        "column": error.column,
    }))
}

/// Why the intake refused an event, as the API says it.
fn intake_error(error: IntakeError) -> ApiError {
    match error {
        IntakeError::OutOfWindow(error) => {
            ApiError::new(ErrorCode::TimestampOutOfRange, error.to_string())
        }
        IntakeError::UnknownCurrency(error) => {
            ApiError::new(ErrorCode::UnknownCurrency, error.to_string())
        }
        IntakeError::Plugin(error) => plugin_rejected(error),
    }
}

fn plugin_rejected(error: PluginError) -> ApiError {
    ApiError::new(
        ErrorCode::PluginRejected,
        format!("{error}; its manifest says on_error = \"reject\""),
    )
    .with_details(serde_json::json!({ "plugin": error.plugin, "failure": error.failure.kind() }))
}

fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::new(ErrorCode::UnreadableBody, rejection.body_text()).with_status(status)
    }
}

/// A response whose body is already JSON.
fn raw_json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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
    /// Refused with a clear message: a path on the daemon's machine would
    /// let any token read files there (see `invalid_request` below).
    rules_dir: Option<serde::de::IgnoredAny>,
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
        &serde_json::json!({ "ruleset_version": snapshot.ruleset.version, "decisions": items }),
    ))
}

/// The serving snapshot with `rules` in place of its files of the same
/// names ([`intake::overlay`]).
fn overlay(
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
fn simulate_all(
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
        let error = error.to_string();
        // For an unknown `type`, serde's message already lists the types.
        let hint = if error.contains("unknown variant") {
            ""
        } else {
            "; `type` is one of responded, customer_replied, resolved, confirmed, closed, reopened, followed_up, authority_used"
        };
        ApiError::new(ErrorCode::InvalidLifecycleEvent,
            format!("invalid lifecycle event: {error}{hint}"),
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

fn store_of(state: &AppState) -> Result<&dyn Store, ApiError> {
    state.store.as_deref().ok_or_else(|| {
        ApiError::new(ErrorCode::StoreDisabled,
            "durable state is turned off (`[store] enabled = false`), so there are no cases or audit log",
        )
    })
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
const DIFF_MAX: usize = 100_000;

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

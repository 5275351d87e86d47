//! `POST /v1/complaints`: one event or a batch, validated, enriched,
//! decided and recorded (through [`intake::record`]), or decided without
//! the store when it is off.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::translate::{body_error, event_error, intake_error, query_error, record_error};
use super::{json, on_workers, raw_json};
use crate::decision::TraceLevel;
use crate::engine::Stateless;
use crate::event::{ComplaintEvent, EventError};
use crate::intake::{self, IntakeError, RecordError};
use crate::server::bodies::{BatchAnswer, BatchItem};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::snapshot::Snapshot;
use crate::store::{Answered, Store};
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
    Ok(json(StatusCode::OK, &BatchAnswer { decisions: items }))
}

/// One event after validation and plugins. Lives only between the two
/// stages of one request; boxing the large variant would cost an allocation
/// per event for nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Prepared {
    Ready(intake::Prepared),
    Refused(ApiError),
}

/// A decision as answered.
pub(super) struct Answer {
    json: String,
    replayed: bool,
}

/// Most events a request may hold and still be decided (rules and inline
/// plugins) on the async worker itself.
pub(super) const DECIDE_IN_PLACE_MAX_EVENTS: usize = 16;

/// Validates and enriches every event, in order; an event not reached by
/// `deadline` (the request's timeout) is refused rather than worked on
/// after its answer was given up.
pub(super) fn prepare_all(
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
pub(super) fn prepare(
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
pub(super) async fn record(
    state: &AppState,
    store: &dyn Store,
    snapshot: &Arc<Snapshot>,
    prepared: Vec<Prepared>,
    trace: TraceLevel,
    import: Option<Timestamp>,
) -> Result<Vec<Result<Answer, ApiError>>, ApiError> {
    let mut answers: Vec<Option<Result<Answer, ApiError>>> = Vec::with_capacity(prepared.len());
    let mut ready = Vec::new();
    let mut ids = Vec::new();
    for item in prepared {
        match item {
            Prepared::Refused(error) => answers.push(Some(Err(error))),
            Prepared::Ready(prepared) => {
                ids.push(prepared.event.id.clone());
                ready.push(prepared);
                answers.push(None);
            }
        }
    }
    let mut recorded = intake::record(store, snapshot, ready, trace, import)
        .answers()
        .await
        .map_err(record_error)?
        .into_iter()
        .zip(ids);
    for slot in answers.iter_mut().filter(|a| a.is_none()) {
        *slot = recorded.next().map(|(entry, id)| {
            let entry = entry.map_err(record_error)?;
            if entry.answered == Answered::IdReused {
                return Err(ApiError::new(
                    ErrorCode::EventIdReused,
                    format!(
                        "complaint `{id}` was decided before with a different body (audit entry {}); that decision stands and this complaint was not recorded: send it under an id of its own",
                        entry.seq
                    ),
                ));
            }
            state.metrics.decided(&entry.queue);
            if let Some(level) = entry.escalation_level.as_ref().filter(|_| !entry.replayed()) {
                state.metrics.escalated(level);
            }
            state.metrics.control_lines(&entry.control_lines);
            Ok(Answer {
                replayed: entry.replayed(),
                json: entry.json,
            })
        });
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(record_error(RecordError::MissingAnswer))))
        .collect())
}

/// Decides without durable state (`[store] enabled = false`).
pub(super) fn decide_without_store(
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
                if let Some(level) = &decision.escalation_level {
                    state.metrics.escalated(level);
                }
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

pub(super) enum Body {
    One(Box<Result<ComplaintEvent, EventError>>),
    Many(Vec<Result<ComplaintEvent, EventError>>),
}

/// Reads one event or a batch, parsing the JSON once.
pub(super) fn parse_body(state: &AppState, body: &[u8]) -> Result<Body, ApiError> {
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

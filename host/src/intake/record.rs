//! Deciding and recording prepared complaints, durably: each becomes a
//! store [`Intake`] whose `decide` runs the rules against the store's
//! state just before it, and the batch goes to the store's group commit.
//! The answers come back in the order the complaints were given.

use std::sync::Arc;

use crate::decision::TraceLevel;
use crate::intake::pipeline::{Prepared, decide};
use crate::snapshot::Snapshot;
use crate::store::{DecideFn, Intake, Pending, Recorded, Store, StoreError};
use crate::time::Timestamp;

/// Why complaints were not recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// This complaint's event could not be written for the audit log.
    #[error("cannot encode the event for the audit log: {0}")]
    Encode(#[source] StoreError),
    /// The store's writer is gone (the daemon is stopping).
    #[error("the store stopped")]
    StoreStopped,
    /// The batch was not recorded (nothing of it was).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store answered fewer complaints than it was given.
    #[error("the store gave fewer answers than asked")]
    MissingAnswer,
}

/// Decides and records `prepared` in one batch: hands them to the store
/// now, and the answers come from [`Submitted`], awaited by the daemon or
/// waited for by `redress test`'s sequences. `import` is the moment an
/// imported backlog is recorded at (its timers that already lapsed fire
/// from then, not from their past due times).
pub fn record(
    store: &dyn Store,
    snapshot: &Arc<Snapshot>,
    prepared: Vec<Prepared>,
    trace: TraceLevel,
    import: Option<Timestamp>,
) -> Submitted {
    let levels = snapshot.ruleset.settings.level_names();
    let mut intakes = Vec::with_capacity(prepared.len());
    let mut answers = Vec::with_capacity(prepared.len());
    for Prepared {
        event,
        enrichment,
        digest,
    } in prepared
    {
        let snapshot = Arc::clone(snapshot);
        let decide: DecideFn =
            Box::new(move |event, view| decide(&snapshot, event, &enrichment, view, trace));
        match Intake::new(event, decide, levels.clone()) {
            Ok(intake) => {
                let intake = intake.sent_as(digest);
                intakes.push(match import {
                    Some(now) => intake.importing(now),
                    None => intake,
                });
                answers.push(None);
            }
            Err(error) => answers.push(Some(Err(RecordError::Encode(error)))),
        }
    }
    let pending = (!intakes.is_empty()).then(|| store.decide_and_record(intakes));
    Submitted { answers, pending }
}

/// A batch handed to the store, its answers to come (dropping it does not
/// stop the batch; only its answers are lost).
#[must_use = "the store answers through it"]
pub struct Submitted {
    /// One per complaint, in order; `None` until the store answers.
    answers: Vec<Option<Result<Recorded, RecordError>>>,
    pending: Option<Pending<Result<Vec<Recorded>, StoreError>>>,
}

impl Submitted {
    /// The answers, once the batch is durable. The outer error is the
    /// whole batch's; an inner one is that complaint's alone.
    pub async fn answers(mut self) -> Result<Vec<Result<Recorded, RecordError>>, RecordError> {
        let recorded = match self.pending.take() {
            Some(pending) => Some(pending.await.map_err(|_| RecordError::StoreStopped)??),
            None => None,
        };
        Ok(self.merge(recorded))
    }

    /// [`Submitted::answers`], for a caller outside the async runtime.
    pub fn blocking_answers(mut self) -> Result<Vec<Result<Recorded, RecordError>>, RecordError> {
        let recorded = match self.pending.take() {
            Some(pending) => Some(
                pending
                    .blocking_recv()
                    .map_err(|_| RecordError::StoreStopped)??,
            ),
            None => None,
        };
        Ok(self.merge(recorded))
    }

    fn merge(self, recorded: Option<Vec<Recorded>>) -> Vec<Result<Recorded, RecordError>> {
        let mut recorded = recorded.unwrap_or_default().into_iter();
        self.answers
            .into_iter()
            .map(|answer| match answer {
                Some(refused) => refused,
                None => recorded.next().ok_or(RecordError::MissingAnswer),
            })
            .collect()
    }
}

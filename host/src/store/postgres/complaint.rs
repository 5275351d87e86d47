//! Recording a decided complaint on PostgreSQL: answer a retry from the
//! log, or decide it against the state as of now (locked where the rules
//! count), and keep its case, timers, log entry, counts and grants for the
//! batch to write ([`BatchState`]).

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::batch::{BatchState, CaseRow, Decided, DecisionRow, GrantRow};
use super::client::PgConnection;
use super::locks::{self, LockSet};
use super::view::PgView;
use crate::decision::ControlLineStatus;
use crate::engine::group_key;
use crate::store::domain::opening::CaseOpening;
use crate::store::{Answered, Intake, Recorded, StoreError};

/// Decides `intake` (or answers it from the log) and keeps what it writes
/// in `batch`; the new entry's `seq` is set once the batch has written it.
/// The batch's transaction holds its event's and customer's locks (see
/// [`start_keys`]).
pub(super) fn record_complaint(
    connection: &PgConnection,
    locks: &LockSet,
    batch: &RefCell<BatchState>,
    intake: &Intake,
) -> Result<Recorded, StoreError> {
    let Intake {
        event,
        event_json,
        decide,
        levels,
        lapse_before,
        digest,
    } = intake;
    let earlier = batch.borrow_mut().recorded(connection, &event.id)?;
    if let Some(row) = earlier {
        // A decision lost from a data directory's audit file before the
        // store was copied here (`redress store copy`).
        if row.decision == "null" {
            return Err(StoreError::DecisionLost {
                event_id: event.id.clone(),
                seq: row.seq,
            });
        }
        return Recorded::from_log(
            row.seq,
            row.decision,
            digest.as_deref(),
            row.digest.as_deref(),
        );
    }
    let crate::intake::Decided {
        decision,
        recording,
    } = {
        let view = PgView::new(connection, Some(locks)).in_batch(batch);
        let decided = decide(event, &view);
        if let Some(error) = view.failure() {
            return Err(error);
        }
        decided
    };
    let json = decision.to_json()?;
    let replay = serde_json::to_string(&recording)?;
    let opening = CaseOpening::of(&decision, levels, lapse_before.map(|t| t.millis()));
    let breach_notify = opening
        .breach_notify
        .map(serde_json::to_string)
        .transpose()?;
    let control_lines: Vec<(crate::decision::Name, String, i64, bool)> = decision
        .control_lines
        .iter()
        .map(|line| {
            (
                line.rule.clone(),
                group_key(&line.group),
                line.count.unwrap_or_default(),
                line.status == ControlLineStatus::Crossed,
            )
        })
        .collect();
    let digests: BTreeMap<&str, &str> = decision
        .plugins
        .iter()
        .map(|p| (&*p.name, &*p.digest))
        .collect();
    let decided = Decided {
        case: CaseRow {
            id: event.id.clone(),
            customer_id: event.customer.id.clone(),
            opened_at: opening.at,
            category: decision.category.as_deref().map(str::to_string),
            product_line: event.product_line.clone(),
            tier: event.customer.tier.clone(),
            location: event.location.clone(),
            queue: decision.route.queue.to_string(),
            handler: decision.route.handler.as_deref().map(str::to_string),
            escalation_level: decision.escalation_level.as_deref().map(str::to_string),
            escalation_rank: opening.escalation_rank,
            goodwill: opening.goodwill,
            resolve_ms: opening.resolve_ms,
            follow_up_ms: opening.follow_up_ms,
            breach_escalate: opening.breach_escalate.map(str::to_string),
            breach_rank: opening.breach_rank,
            breach_notify,
            currency: opening.currency.map(str::to_string),
        },
        timers: opening
            .timers
            .iter()
            .map(|timer| (timer.kind.as_str(), timer.due_at, timer.state.as_str()))
            .collect(),
        cells: control_lines
            .iter()
            .map(|(rule, key, _, _)| (rule.to_string(), key.clone()))
            .collect(),
        grants: decision
            .authority
            .iter()
            .map(|grant| {
                let budget = grant.budget.as_ref();
                GrantRow {
                    rule: grant.rule.to_string(),
                    policy: grant.policy.to_string(),
                    max_cost: grant.max_cost,
                    scope: budget.map(|b| b.scope.clone()),
                    window: budget.map(|b| b.window.millis()),
                    count: budget.and_then(|b| b.limit_count),
                    amount: budget.and_then(|b| b.limit_amount),
                }
            })
            .collect(),
        entry: DecisionRow {
            decided_at: decision.received_at.millis(),
            ruleset_version: decision.ruleset_version.to_string(),
            plugin_digests: serde_json::to_string(&digests)?,
            event_digest: digest.clone(),
            event: event_json.clone(),
            decision: json.clone(),
            replay,
        },
    };
    batch.borrow_mut().push(decided);
    Ok(Recorded {
        seq: 0,
        json,
        queue: decision.route.queue.clone(),
        escalation_level: decision.escalation_level.clone(),
        answered: Answered::Decided,
        control_lines,
    })
}

/// The locks a batch takes at its start for `intake`: its event id (one
/// decision per complaint) and its customer (their history).
pub(super) fn start_keys(intake: &Intake) -> impl Iterator<Item = i64> + '_ {
    std::iter::once(locks::event(&intake.event.id))
        .chain(intake.event.customer.id.as_deref().map(locks::customer))
}

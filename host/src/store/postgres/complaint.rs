//! Recording a decided complaint on PostgreSQL: answer a retry from the
//! log, or decide it against the state as of now (locked where the rules
//! count), then write its case, timers, decision, counts and grants sent
//! together.

use std::collections::BTreeMap;

use tokio_postgres::types::ToSql;

use super::client::{PgConnection, Write};
use super::locks::{self, LockSet};
use super::view::PgView;
use crate::decision::ControlLineStatus;
use crate::engine::group_key;
use crate::intake::Decided;
use crate::store::domain::opening::CaseOpening;
use crate::store::domain::tally_window::buckets_of;
use crate::store::{Intake, Recorded, StoreError};

const RECORDED: &str =
    "SELECT seq, decision, event_digest FROM decisions WHERE event_id = $1 AND kind = 'complaint'";

const INSERT_CASE: &str = "INSERT INTO cases (id, customer_id, status, opened_at, updated_at, category, product_line, tier, location,
                    queue, handler, escalation_level, escalation_rank, goodwill, resolve_ms, follow_up_ms,
                    breach_escalate, breach_rank, breach_notify, currency)
     VALUES ($1, $2, 'open', $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

/// A timer of a new case (a case's timers are written once, so no
/// conflict is possible here).
pub(super) const INSERT_TIMER: &str =
    "INSERT INTO timers (case_id, kind, due_at, state) VALUES ($1, $2, $3, $4)";

const ADD_TALLY: &str = "INSERT INTO control_tallies (rule, grp, level, bucket, count)
     SELECT $1, $2, u.level, u.bucket, 1 FROM unnest($3::bigint[], $4::bigint[]) AS u(level, bucket)
     ON CONFLICT (rule, grp, level, bucket) DO UPDATE SET count = control_tallies.count + 1";

const KEEP_GRANT: &str = "INSERT INTO case_grants (case_id, rule, policy, max_cost, scope, budget_window, budget_count, budget_amount)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (case_id, policy) DO UPDATE SET rule = excluded.rule, max_cost = excluded.max_cost, scope = excluded.scope,
        budget_window = excluded.budget_window, budget_count = excluded.budget_count, budget_amount = excluded.budget_amount";

const INSERT_DECISION: &str = "INSERT INTO decisions (event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, event_digest, event, decision, replay)
     VALUES ($1, $1, 'complaint', $2, $3, $4, $5, $6, $7, $8) RETURNING seq";

/// Records `intake`; the batch's transaction holds its event's and
/// customer's locks (see [`start_keys`]).
pub(super) fn record_complaint(
    connection: &PgConnection,
    locks: &LockSet,
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
    if let Some(row) = connection.query_opt(RECORDED, &[&event.id])? {
        let seq: i64 = row.try_get(0)?;
        let json: String = row.try_get(1)?;
        let recorded_digest: Option<String> = row.try_get(2)?;
        // A decision lost from a data directory's audit file before the
        // store was copied here (`redress store copy`).
        if json == "null" {
            return Err(StoreError::DecisionLost {
                event_id: event.id.clone(),
                seq,
            });
        }
        return Recorded::from_log(seq, json, digest.as_deref(), recorded_digest.as_deref());
    }
    let Decided {
        decision,
        recording,
    } = {
        let view = PgView::new(connection, Some(locks));
        let decided = decide(event, &view);
        if let Some(error) = view.failure() {
            return Err(error);
        }
        decided
    };
    let json = decision.to_json()?;
    let replay = serde_json::to_string(&recording)?;
    let at = decision.received_at.millis();
    let opening = CaseOpening::of(&decision, levels, lapse_before.map(|t| t.millis()));
    let breach_notify = opening
        .breach_notify
        .map(serde_json::to_string)
        .transpose()?;
    let case_params: [&(dyn ToSql + Sync); 18] = [
        &event.id,
        &event.customer.id,
        &opening.at,
        &decision.category.as_deref(),
        &event.product_line,
        &event.customer.tier,
        &event.location,
        &&*decision.route.queue,
        &decision.route.handler.as_deref(),
        &decision.escalation_level.as_deref(),
        &opening.escalation_rank,
        &opening.goodwill,
        &opening.resolve_ms,
        &opening.follow_up_ms,
        &opening.breach_escalate,
        &opening.breach_rank,
        &breach_notify,
        &opening.currency,
    ];
    let timers: Vec<(&'static str, i64, &'static str)> = opening
        .timers
        .iter()
        .map(|timer| (timer.kind.as_str(), timer.due_at, timer.state.as_str()))
        .collect();
    let timer_params: Vec<[&(dyn ToSql + Sync); 4]> = timers
        .iter()
        .map(|(kind, due_at, state)| -> [&(dyn ToSql + Sync); 4] {
            [&event.id, kind, due_at, state]
        })
        .collect();
    let (levels_of, buckets): (Vec<i64>, Vec<i64>) = buckets_of(at)
        .into_iter()
        .map(|(level, bucket)| (level as i64, bucket))
        .unzip();
    let mut control_lines = Vec::new();
    for line in &decision.control_lines {
        control_lines.push((
            line.rule.clone(),
            group_key(&line.group),
            line.count.unwrap_or_default(),
            line.status == ControlLineStatus::Crossed,
        ));
    }
    let cells: Vec<(&str, &String)> = control_lines
        .iter()
        .map(|(rule, key, _, _)| (&**rule, key))
        .collect();
    let tally_params: Vec<[&(dyn ToSql + Sync); 4]> = cells
        .iter()
        .map(|(rule, key)| -> [&(dyn ToSql + Sync); 4] { [rule, key, &levels_of, &buckets] })
        .collect();
    struct GrantRow<'a> {
        rule: &'a str,
        policy: &'a str,
        max_cost: f64,
        scope: Option<&'a str>,
        window: Option<i64>,
        count: Option<i64>,
        amount: Option<f64>,
    }
    let grants: Vec<GrantRow<'_>> = decision
        .authority
        .iter()
        .map(|grant| {
            let budget = grant.budget.as_ref();
            GrantRow {
                rule: &grant.rule,
                policy: &grant.policy,
                max_cost: grant.max_cost,
                scope: budget.map(|b| b.scope.as_str()),
                window: budget.map(|b| b.window.millis()),
                count: budget.and_then(|b| b.limit_count),
                amount: budget.and_then(|b| b.limit_amount),
            }
        })
        .collect();
    let grant_params: Vec<[&(dyn ToSql + Sync); 8]> = grants
        .iter()
        .map(|g| -> [&(dyn ToSql + Sync); 8] {
            [
                &event.id,
                &g.rule,
                &g.policy,
                &g.max_cost,
                &g.scope,
                &g.window,
                &g.count,
                &g.amount,
            ]
        })
        .collect();
    let mut writes = vec![Write {
        sql: INSERT_CASE,
        params: &case_params,
    }];
    writes.extend(timer_params.iter().map(|params| Write {
        sql: INSERT_TIMER,
        params,
    }));
    writes.extend(tally_params.iter().map(|params| Write {
        sql: ADD_TALLY,
        params,
    }));
    writes.extend(grant_params.iter().map(|params| Write {
        sql: KEEP_GRANT,
        params,
    }));
    let digests: BTreeMap<&str, &str> = decision
        .plugins
        .iter()
        .map(|p| (&*p.name, &*p.digest))
        .collect();
    let digests = serde_json::to_string(&digests)?;
    let row = connection.execute_all_then(
        &writes,
        INSERT_DECISION,
        &[
            &event.id,
            &at,
            &&*decision.ruleset_version,
            &digests,
            digest,
            event_json,
            &json,
            &replay,
        ],
    )?;
    Ok(Recorded {
        seq: row.try_get(0)?,
        json,
        queue: decision.route.queue.clone(),
        replayed: false,
        different_event: false,
        control_lines,
    })
}

/// The locks a batch's transaction takes at its start for `intake`: its
/// event id (a retry on another node waits, then finds the decision) and
/// its customer (the history it reads is the one it adds to).
pub(super) fn start_keys(intake: &Intake) -> impl Iterator<Item = i64> + '_ {
    std::iter::once(locks::event(&intake.event.id))
        .chain(intake.event.customer.id.as_deref().map(locks::customer))
}

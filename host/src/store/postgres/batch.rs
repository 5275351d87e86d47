//! One attempt at a batch on PostgreSQL: what it read for all of its
//! complaints at once, and what it decided but has not written yet.
//!
//! Complaints are decided one after another, each against the state the
//! ones before it left. Asking the server for each value a rule reads, and
//! waiting for each complaint's writes, made the writer spend most of its
//! time waiting for round trips. So an attempt reads its complaints'
//! earlier decisions (retries) and their customers' histories in one
//! statement each, and writes what it decides with one statement per
//! table (cases, timers, tallies, grants, log entries), sent together when
//! the batch ends. What a later read would miss is written first: before
//! a lifecycle event, a timer run or a kept snapshot, and before reading
//! an event id or a customer the batch already wrote. A control-line count
//! adds the batch's own complaints not yet written (the same buckets the
//! database sums), so the cell it counts is exact without a write.
//!
//! Everything read at the start stays exact until the commit: the batch
//! holds its event ids' and customers' locks from the start
//! ([`start_keys`](super::complaint::start_keys)), and a lifecycle event
//! in the batch (which can change a customer's open cases) drops what was
//! read ahead.

use std::collections::{HashMap, HashSet};

use tokio_postgres::types::ToSql;

use super::client::{PgConnection, Sql};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::store::domain::tally_window::{buckets_of, window_spans};
use crate::store::{Intake, StoreError};

const DAY: i64 = 86_400_000;

/// The complaint decisions recorded under any of the ids `$1`.
const RECORDED: &str = "SELECT event_id, seq, decision, event_digest FROM decisions
  WHERE kind = 'complaint' AND event_id = ANY($1::text[])";

/// The history of each complaint `(id, customer, at)` in `$1, $2, $3`:
/// its customer's latest 1,000 cases, its own case (a simulation of a
/// recorded event) left out; goodwill in the currency `$4` (or none).
const HISTORIES: &str = "SELECT u.id, h.open, h.recent, h.goodwill
   FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(id, customer, at)
   CROSS JOIN LATERAL (
     SELECT COUNT(*) FILTER (WHERE status <> 'closed') AS open,
            COUNT(*) FILTER (WHERE opened_at > u.at - $5::BIGINT AND opened_at <= u.at) AS recent,
            COALESCE(SUM(goodwill) FILTER (WHERE opened_at > u.at - $6::BIGINT AND opened_at <= u.at
                                           AND (currency IS NULL OR currency = $4)), 0)::DOUBLE PRECISION AS goodwill
       FROM (SELECT status, opened_at, goodwill, currency FROM cases
              WHERE customer_id = u.customer AND id <> u.id ORDER BY opened_at DESC LIMIT 1000) latest) h";

const INSERT_CASES: &str = "INSERT INTO cases (id, customer_id, status, opened_at, updated_at, category, product_line, tier, location,
                    queue, handler, escalation_level, escalation_rank, goodwill, resolve_ms, follow_up_ms,
                    breach_escalate, breach_rank, breach_notify, currency)
     SELECT id, customer_id, 'open', opened_at, opened_at, category, product_line, tier, location,
            queue, handler, escalation_level, escalation_rank, goodwill, resolve_ms, follow_up_ms,
            breach_escalate, breach_rank, breach_notify, currency
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                   $9::text[], $10::text[], $11::bigint[], $12::float8[], $13::bigint[], $14::bigint[], $15::text[],
                   $16::bigint[], $17::text[], $18::text[])
         AS u(id, customer_id, opened_at, category, product_line, tier, location, queue, handler, escalation_level,
              escalation_rank, goodwill, resolve_ms, follow_up_ms, breach_escalate, breach_rank, breach_notify, currency)";

/// The timers of new cases (a case's timers are written once, so no
/// conflict is possible here).
const INSERT_TIMERS: &str = "INSERT INTO timers (case_id, kind, due_at, state)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])";

/// One row per bucket: PostgreSQL refuses to update a row twice in one
/// statement, so the batch's complaints in a bucket are summed first.
const ADD_TALLIES: &str = "INSERT INTO control_tallies (rule, grp, level, bucket, count)
     SELECT rule, grp, level, bucket, COUNT(*) FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
         AS u(rule, grp, level, bucket)
      GROUP BY rule, grp, level, bucket
     ON CONFLICT (rule, grp, level, bucket) DO UPDATE SET count = control_tallies.count + excluded.count";

const KEEP_GRANTS: &str = "INSERT INTO case_grants (case_id, rule, policy, max_cost, scope, budget_window, budget_count, budget_amount)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::bigint[], $7::bigint[], $8::float8[])
     ON CONFLICT (case_id, policy) DO UPDATE SET rule = excluded.rule, max_cost = excluded.max_cost, scope = excluded.scope,
        budget_window = excluded.budget_window, budget_count = excluded.budget_count, budget_amount = excluded.budget_amount";

/// Log entries in the order decided, so their positions follow it.
const INSERT_DECISIONS: &str = "INSERT INTO decisions (event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, event_digest, event, decision, replay)
     SELECT event_id, event_id, 'complaint', decided_at, ruleset_version, plugin_digests, event_digest, event, decision, replay
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY
         AS u(event_id, decided_at, ruleset_version, plugin_digests, event_digest, event, decision, replay, n)
      ORDER BY n
  RETURNING seq, event_id";

/// A complaint decision found in the log.
#[derive(Debug, Clone)]
pub(super) struct RecordedRow {
    pub seq: i64,
    pub decision: String,
    pub digest: Option<String>,
}

/// A new case's row.
pub(super) struct CaseRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub opened_at: i64,
    pub category: Option<String>,
    pub product_line: Option<String>,
    pub tier: Option<String>,
    pub location: Option<String>,
    pub queue: String,
    pub handler: Option<String>,
    pub escalation_level: Option<String>,
    pub escalation_rank: i64,
    pub goodwill: f64,
    pub resolve_ms: Option<i64>,
    pub follow_up_ms: Option<i64>,
    pub breach_escalate: Option<String>,
    pub breach_rank: Option<i64>,
    pub breach_notify: Option<String>,
    pub currency: Option<String>,
}

/// A grant a new case keeps.
pub(super) struct GrantRow {
    pub rule: String,
    pub policy: String,
    pub max_cost: f64,
    pub scope: Option<String>,
    pub window: Option<i64>,
    pub count: Option<i64>,
    pub amount: Option<f64>,
}

/// A complaint's log entry.
pub(super) struct DecisionRow {
    pub decided_at: i64,
    pub ruleset_version: String,
    pub plugin_digests: String,
    pub event_digest: Option<String>,
    pub event: String,
    pub decision: String,
    pub replay: String,
}

/// Everything one decided complaint writes.
pub(super) struct Decided {
    pub case: CaseRow,
    /// (kind, due at, state).
    pub timers: Vec<(&'static str, i64, &'static str)>,
    /// The control-line cells (rule, group key) it counts in.
    pub cells: Vec<(String, String)>,
    pub grants: Vec<GrantRow>,
    pub entry: DecisionRow,
}

/// What is decided and not yet written.
#[derive(Default)]
struct Pending {
    decided: Vec<Decided>,
    /// Customers with a case among them.
    customers: HashSet<String>,
}

/// One attempt at a batch's decisions.
pub(super) struct BatchState {
    pending: Pending,
    /// The batch's earlier decisions, read at the start; `None` once a
    /// command that is not a decision ran (or never read).
    recorded: Option<HashMap<String, RecordedRow>>,
    /// The ids of the batch's complaints.
    ids: Vec<String>,
    /// (id, customer, at) of the batch's complaints, for reading their
    /// histories together the first time one is asked for.
    wanted: Vec<(String, String, i64)>,
    /// Histories read ahead, by event id, in this currency.
    histories: Option<(String, HashMap<String, CustomerHistory>)>,
    /// Event ids and customers this attempt wrote (or will): what was
    /// read ahead for them is out of date.
    written_events: HashSet<String>,
    written_customers: HashSet<String>,
    /// Positions of the entries written so far, by event id.
    seqs: HashMap<String, i64>,
    /// The currency of the last history asked for.
    asked_currency: Option<String>,
}

impl BatchState {
    /// An attempt at deciding `intakes` (the batch's, in order).
    pub(super) fn new<'a>(intakes: impl Iterator<Item = &'a Intake> + Clone) -> Self {
        let ids = intakes
            .clone()
            .map(|intake| intake.event.id.clone())
            .collect();
        let wanted = intakes
            .filter_map(|intake| {
                let event = &intake.event;
                let customer = event.customer.id.clone()?;
                Some((event.id.clone(), customer, received_millis(event)))
            })
            .collect();
        BatchState {
            pending: Pending::default(),
            recorded: None,
            ids,
            wanted,
            histories: None,
            written_events: HashSet::new(),
            written_customers: HashSet::new(),
            seqs: HashMap::new(),
            asked_currency: None,
        }
    }

    /// Begins the attempt's transaction with `begin`, takes the locks
    /// `keys` and, if `read_ahead`, reads the earlier decisions of the
    /// batch's complaints and (in `currency`, the one the rules asked for
    /// last time, if known) their customers' histories, all in one round
    /// trip.
    pub(super) fn begin(
        &mut self,
        connection: &PgConnection,
        begin: &'static str,
        keys: &[i64],
        read_ahead: bool,
        currency: Option<&str>,
    ) -> Result<(), StoreError> {
        if !read_ahead {
            connection.begin_locked_queries(begin, keys, &[])?;
            return Ok(());
        }
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        let recorded_params: [&(dyn ToSql + Sync); 1] = [&ids];
        let wanted = HistoryParams::of(&self.wanted);
        let history_params;
        let mut queries = vec![Sql {
            sql: RECORDED,
            params: &recorded_params,
        }];
        let currency = currency.filter(|_| !self.wanted.is_empty());
        if let Some(currency) = &currency {
            history_params = wanted.params(currency);
            queries.push(Sql {
                sql: HISTORIES,
                params: &history_params,
            });
        }
        let mut results = connection
            .begin_locked_queries(begin, keys, &queries)?
            .into_iter();
        self.recorded = Some(recorded_from(results.next().unwrap_or_default())?);
        if let (Some(currency), Some(rows)) = (currency, results.next()) {
            self.histories = Some((currency.to_string(), histories_from(rows)?));
            self.wanted.clear();
        }
        Ok(())
    }

    /// The currency the rules asked histories in, if they did.
    pub(super) fn asked_currency(&self) -> Option<&str> {
        self.asked_currency.as_deref()
    }

    /// Drops what was read ahead, after writing what is pending: a command
    /// that is not a decision may change what it said.
    pub(super) fn before_other_command(
        &mut self,
        connection: &PgConnection,
    ) -> Result<(), StoreError> {
        self.flush(connection)?;
        self.recorded = None;
        self.histories = None;
        Ok(())
    }

    /// The decision recorded under `id`, if any.
    pub(super) fn recorded(
        &mut self,
        connection: &PgConnection,
        id: &str,
    ) -> Result<Option<RecordedRow>, StoreError> {
        if self.written_events.contains(id) {
            self.flush(connection)?;
        } else if let Some(recorded) = &self.recorded {
            return Ok(recorded.get(id).cloned());
        }
        Ok(recorded_rows(connection, &[id])?.remove(id))
    }

    /// The history of `event`'s customer (who has an id), with goodwill in
    /// `currency`.
    pub(super) fn history(
        &mut self,
        connection: &PgConnection,
        event: &ComplaintEvent,
        customer: &str,
        currency: &str,
    ) -> Result<CustomerHistory, StoreError> {
        if self.asked_currency.as_deref() != Some(currency) {
            self.asked_currency = Some(currency.to_string());
        }
        if self.written_customers.contains(customer) {
            if self.pending.customers.contains(customer) {
                self.flush(connection)?;
            }
        } else {
            if self.histories.is_none() && !self.wanted.is_empty() {
                let wanted = std::mem::take(&mut self.wanted);
                let read = histories(connection, &wanted, currency)?;
                self.histories = Some((currency.to_string(), read));
            }
            if let Some((read_in, read)) = &self.histories
                && read_in == currency
                && let Some(history) = read.get(&event.id)
            {
                return Ok(history.clone());
            }
        }
        let one = [(
            event.id.clone(),
            customer.to_string(),
            received_millis(event),
        )];
        Ok(histories(connection, &one, currency)?
            .remove(&event.id)
            .unwrap_or_default())
    }

    /// The batch's complaints not yet written that the cell `(rule,
    /// group)` counts in the window `(from, to]` (ms), bucket by bucket as
    /// the database counts them.
    pub(super) fn unwritten_in_cell(&self, rule: &str, group: &str, from: i64, to: i64) -> i64 {
        let spans = window_spans(from, to);
        let mut count = 0;
        for decided in &self.pending.decided {
            if !decided
                .cells
                .iter()
                .any(|(r, g)| r.as_str() == rule && g.as_str() == group)
            {
                continue;
            }
            for (level, bucket) in buckets_of(decided.entry.decided_at) {
                count += spans
                    .iter()
                    .filter(|(l, low, high)| *l == level && (*low..=*high).contains(&bucket))
                    .count() as i64;
            }
        }
        count
    }

    /// Keeps a decided complaint, to be written with the batch.
    pub(super) fn push(&mut self, decided: Decided) {
        self.written_events.insert(decided.case.id.clone());
        if let Some(customer) = &decided.case.customer_id {
            self.written_customers.insert(customer.clone());
            self.pending.customers.insert(customer.clone());
        }
        self.pending.decided.push(decided);
    }

    /// Forgets what was decided since the last write (its savepoint was
    /// rolled back).
    pub(super) fn discard_pending(&mut self) {
        self.pending = Pending::default();
    }

    /// The position of `id`'s entry, once written.
    pub(super) fn seq_of(&self, id: &str) -> Option<i64> {
        self.seqs.get(id).copied()
    }

    /// Writes everything pending, one statement per table, sent together.
    pub(super) fn flush(&mut self, connection: &PgConnection) -> Result<(), StoreError> {
        self.write_pending(connection, None)
    }

    /// Writes everything pending and commits, in one round trip.
    pub(super) fn commit(&mut self, connection: &PgConnection) -> Result<(), StoreError> {
        self.write_pending(connection, Some("COMMIT"))
    }

    fn write_pending(
        &mut self,
        connection: &PgConnection,
        then: Option<&'static str>,
    ) -> Result<(), StoreError> {
        if self.pending.decided.is_empty() {
            if let Some(sql) = then {
                connection.batch(sql)?;
            }
            return Ok(());
        }
        let decided = std::mem::take(&mut self.pending).decided;
        let cases = CaseColumns::of(&decided);
        let timers = TimerColumns::of(&decided);
        let tallies = TallyColumns::of(&decided);
        let grants = GrantColumns::of(&decided);
        let entries = DecisionColumns::of(&decided);
        let case_params = cases.params();
        let timer_params = timers.params();
        let tally_params = tallies.params();
        let grant_params = grants.params();
        let mut writes = vec![Sql {
            sql: INSERT_CASES,
            params: &case_params,
        }];
        if !timers.case_id.is_empty() {
            writes.push(Sql {
                sql: INSERT_TIMERS,
                params: &timer_params,
            });
        }
        if !tallies.rule.is_empty() {
            writes.push(Sql {
                sql: ADD_TALLIES,
                params: &tally_params,
            });
        }
        if !grants.case_id.is_empty() {
            writes.push(Sql {
                sql: KEEP_GRANTS,
                params: &grant_params,
            });
        }
        let rows = connection.execute_all_then_query(
            &writes,
            INSERT_DECISIONS,
            &entries.params(),
            then,
        )?;
        for row in rows {
            let seq: i64 = row.try_get(0)?;
            let id: String = row.try_get(1)?;
            self.seqs.insert(id, seq);
        }
        Ok(())
    }
}

fn received_millis(event: &ComplaintEvent) -> i64 {
    event.received_at.map_or(0, |at| at.millis())
}

fn recorded_rows(
    connection: &PgConnection,
    ids: &[&str],
) -> Result<HashMap<String, RecordedRow>, StoreError> {
    recorded_from(connection.query(RECORDED, &[&ids])?)
}

fn recorded_from(
    rows: Vec<tokio_postgres::Row>,
) -> Result<HashMap<String, RecordedRow>, StoreError> {
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        found.insert(
            row.try_get(0)?,
            RecordedRow {
                seq: row.try_get(1)?,
                decision: row.try_get(2)?,
                digest: row.try_get(3)?,
            },
        );
    }
    Ok(found)
}

/// The parameters of [`HISTORIES`] for `(id, customer, at)`.
struct HistoryParams<'a> {
    ids: Vec<&'a str>,
    customers: Vec<&'a str>,
    ats: Vec<i64>,
}

const THIRTY_DAYS: i64 = 30 * DAY;
const A_YEAR: i64 = 365 * DAY;

impl<'a> HistoryParams<'a> {
    fn of(wanted: &'a [(String, String, i64)]) -> Self {
        HistoryParams {
            ids: wanted.iter().map(|(id, _, _)| id.as_str()).collect(),
            customers: wanted
                .iter()
                .map(|(_, customer, _)| customer.as_str())
                .collect(),
            ats: wanted.iter().map(|(_, _, at)| *at).collect(),
        }
    }

    fn params<'p>(&'p self, currency: &'p &str) -> [&'p (dyn ToSql + Sync); 6] {
        [
            &self.ids,
            &self.customers,
            &self.ats,
            currency,
            &THIRTY_DAYS,
            &A_YEAR,
        ]
    }
}

/// The histories of `(id, customer, at)`, by id.
pub(super) fn histories(
    connection: &PgConnection,
    of: &[(String, String, i64)],
    currency: &str,
) -> Result<HashMap<String, CustomerHistory>, StoreError> {
    let params = HistoryParams::of(of);
    histories_from(connection.query(HISTORIES, &params.params(&currency))?)
}

fn histories_from(
    rows: Vec<tokio_postgres::Row>,
) -> Result<HashMap<String, CustomerHistory>, StoreError> {
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        found.insert(
            row.try_get(0)?,
            CustomerHistory {
                open_cases: row.try_get(1)?,
                complaints_30d: row.try_get(2)?,
                goodwill_365d: row.try_get(3)?,
            },
        );
    }
    Ok(found)
}

/// The columns of [`INSERT_CASES`].
struct CaseColumns<'a> {
    id: Vec<&'a str>,
    customer_id: Vec<Option<&'a str>>,
    opened_at: Vec<i64>,
    category: Vec<Option<&'a str>>,
    product_line: Vec<Option<&'a str>>,
    tier: Vec<Option<&'a str>>,
    location: Vec<Option<&'a str>>,
    queue: Vec<&'a str>,
    handler: Vec<Option<&'a str>>,
    escalation_level: Vec<Option<&'a str>>,
    escalation_rank: Vec<i64>,
    goodwill: Vec<f64>,
    resolve_ms: Vec<Option<i64>>,
    follow_up_ms: Vec<Option<i64>>,
    breach_escalate: Vec<Option<&'a str>>,
    breach_rank: Vec<Option<i64>>,
    breach_notify: Vec<Option<&'a str>>,
    currency: Vec<Option<&'a str>>,
}

impl<'a> CaseColumns<'a> {
    fn of(decided: &'a [Decided]) -> Self {
        let cases = || decided.iter().map(|d| &d.case);
        CaseColumns {
            id: cases().map(|c| c.id.as_str()).collect(),
            customer_id: cases().map(|c| c.customer_id.as_deref()).collect(),
            opened_at: cases().map(|c| c.opened_at).collect(),
            category: cases().map(|c| c.category.as_deref()).collect(),
            product_line: cases().map(|c| c.product_line.as_deref()).collect(),
            tier: cases().map(|c| c.tier.as_deref()).collect(),
            location: cases().map(|c| c.location.as_deref()).collect(),
            queue: cases().map(|c| c.queue.as_str()).collect(),
            handler: cases().map(|c| c.handler.as_deref()).collect(),
            escalation_level: cases().map(|c| c.escalation_level.as_deref()).collect(),
            escalation_rank: cases().map(|c| c.escalation_rank).collect(),
            goodwill: cases().map(|c| c.goodwill).collect(),
            resolve_ms: cases().map(|c| c.resolve_ms).collect(),
            follow_up_ms: cases().map(|c| c.follow_up_ms).collect(),
            breach_escalate: cases().map(|c| c.breach_escalate.as_deref()).collect(),
            breach_rank: cases().map(|c| c.breach_rank).collect(),
            breach_notify: cases().map(|c| c.breach_notify.as_deref()).collect(),
            currency: cases().map(|c| c.currency.as_deref()).collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        [
            &self.id,
            &self.customer_id,
            &self.opened_at,
            &self.category,
            &self.product_line,
            &self.tier,
            &self.location,
            &self.queue,
            &self.handler,
            &self.escalation_level,
            &self.escalation_rank,
            &self.goodwill,
            &self.resolve_ms,
            &self.follow_up_ms,
            &self.breach_escalate,
            &self.breach_rank,
            &self.breach_notify,
            &self.currency,
        ]
    }
}

/// The columns of [`INSERT_TIMERS`].
struct TimerColumns<'a> {
    case_id: Vec<&'a str>,
    kind: Vec<&'static str>,
    due_at: Vec<i64>,
    state: Vec<&'static str>,
}

impl<'a> TimerColumns<'a> {
    fn of(decided: &'a [Decided]) -> Self {
        let mut columns = TimerColumns {
            case_id: Vec::new(),
            kind: Vec::new(),
            due_at: Vec::new(),
            state: Vec::new(),
        };
        for d in decided {
            for (kind, due_at, state) in &d.timers {
                columns.case_id.push(&d.case.id);
                columns.kind.push(kind);
                columns.due_at.push(*due_at);
                columns.state.push(state);
            }
        }
        columns
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.case_id, &self.kind, &self.due_at, &self.state]
    }
}

/// The columns of [`ADD_TALLIES`]: a row per bucket each complaint adds
/// one to.
struct TallyColumns<'a> {
    rule: Vec<&'a str>,
    grp: Vec<&'a str>,
    level: Vec<i64>,
    bucket: Vec<i64>,
}

impl<'a> TallyColumns<'a> {
    fn of(decided: &'a [Decided]) -> Self {
        let mut columns = TallyColumns {
            rule: Vec::new(),
            grp: Vec::new(),
            level: Vec::new(),
            bucket: Vec::new(),
        };
        for d in decided {
            for (rule, group) in &d.cells {
                for (level, bucket) in buckets_of(d.entry.decided_at) {
                    columns.rule.push(rule);
                    columns.grp.push(group);
                    columns.level.push(level as i64);
                    columns.bucket.push(bucket);
                }
            }
        }
        columns
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.rule, &self.grp, &self.level, &self.bucket]
    }
}

/// The columns of [`KEEP_GRANTS`]; of two grants of one policy to one
/// case, the later is kept.
struct GrantColumns<'a> {
    case_id: Vec<&'a str>,
    rule: Vec<&'a str>,
    policy: Vec<&'a str>,
    max_cost: Vec<f64>,
    scope: Vec<Option<&'a str>>,
    window: Vec<Option<i64>>,
    count: Vec<Option<i64>>,
    amount: Vec<Option<f64>>,
}

impl<'a> GrantColumns<'a> {
    fn of(decided: &'a [Decided]) -> Self {
        let mut columns = GrantColumns {
            case_id: Vec::new(),
            rule: Vec::new(),
            policy: Vec::new(),
            max_cost: Vec::new(),
            scope: Vec::new(),
            window: Vec::new(),
            count: Vec::new(),
            amount: Vec::new(),
        };
        for d in decided {
            for (n, grant) in d.grants.iter().enumerate() {
                if d.grants[n + 1..]
                    .iter()
                    .any(|later| later.policy == grant.policy)
                {
                    continue;
                }
                columns.case_id.push(&d.case.id);
                columns.rule.push(&grant.rule);
                columns.policy.push(&grant.policy);
                columns.max_cost.push(grant.max_cost);
                columns.scope.push(grant.scope.as_deref());
                columns.window.push(grant.window);
                columns.count.push(grant.count);
                columns.amount.push(grant.amount);
            }
        }
        columns
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.case_id,
            &self.rule,
            &self.policy,
            &self.max_cost,
            &self.scope,
            &self.window,
            &self.count,
            &self.amount,
        ]
    }
}

/// The columns of [`INSERT_DECISIONS`].
struct DecisionColumns<'a> {
    event_id: Vec<&'a str>,
    decided_at: Vec<i64>,
    ruleset_version: Vec<&'a str>,
    plugin_digests: Vec<&'a str>,
    event_digest: Vec<Option<&'a str>>,
    event: Vec<&'a str>,
    decision: Vec<&'a str>,
    replay: Vec<&'a str>,
}

impl<'a> DecisionColumns<'a> {
    fn of(decided: &'a [Decided]) -> Self {
        let entries = || decided.iter().map(|d| (&d.case.id, &d.entry));
        DecisionColumns {
            event_id: entries().map(|(id, _)| id.as_str()).collect(),
            decided_at: entries().map(|(_, e)| e.decided_at).collect(),
            ruleset_version: entries().map(|(_, e)| e.ruleset_version.as_str()).collect(),
            plugin_digests: entries().map(|(_, e)| e.plugin_digests.as_str()).collect(),
            event_digest: entries().map(|(_, e)| e.event_digest.as_deref()).collect(),
            event: entries().map(|(_, e)| e.event.as_str()).collect(),
            decision: entries().map(|(_, e)| e.decision.as_str()).collect(),
            replay: entries().map(|(_, e)| e.replay.as_str()).collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.event_id,
            &self.decided_at,
            &self.ruleset_version,
            &self.plugin_digests,
            &self.event_digest,
            &self.event,
            &self.decision,
            &self.replay,
        ]
    }
}

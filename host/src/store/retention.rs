//! Retention: how long the store keeps what it no longer needs to decide
//! (`[store.retention]`, docs/retention.md), and the background task that
//! prunes it in small steps.
//!
//! What a rule may still read is never pruned, whatever the settings say:
//! open cases, pending timers, closed cases within the customer-history
//! window, control-line counts within the longest control-line window and
//! authority uses within the longest budget window of the serving rule set.
//! The task asks the serving rule set for those windows at every run, so
//! a reload that lengthens a window keeps more from then on (what was
//! pruned before stays pruned).

use std::sync::Arc;

use serde::Serialize;

use crate::rules::RuleSet;
use crate::store::{Store, StoreError};
use crate::time::{Clock, Duration, Timestamp};

/// The customer-history window: `customer.goodwill_365d` reads a year of
/// cases, so closed cases are kept at least that long after they opened.
pub const CUSTOMER_HISTORY_WINDOW: Duration = Duration::from_millis(365 * 86_400_000);

/// Slack added to every rule window, so a count at a window's edge is
/// never cut by a step that runs while a decision reads it.
const WINDOW_SLACK: Duration = Duration::from_millis(86_400_000);

/// What `[store.retention]` says.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionOptions {
    /// Whether the store prunes and archives at all.
    pub enabled: bool,
    /// How long entries stay in the live audit log before their segment is
    /// archived.
    pub decisions: Duration,
    /// How long a closed case (with its history, timers and grants) is
    /// kept after it closed.
    pub closed_cases: Duration,
    /// How long control-line counts are kept.
    pub tallies: Duration,
    /// How long uses of authority are kept.
    pub authority_uses: Duration,
    /// How often the background task runs.
    pub every: std::time::Duration,
    /// Most rows one step deletes from each table.
    pub step_rows: usize,
}

impl Default for RetentionOptions {
    fn default() -> Self {
        const DAY: i64 = 86_400_000;
        RetentionOptions {
            enabled: true,
            decisions: Duration::from_millis(180 * DAY),
            closed_cases: Duration::from_millis(400 * DAY),
            tallies: Duration::from_millis(400 * DAY),
            authority_uses: Duration::from_millis(400 * DAY),
            every: std::time::Duration::from_secs(60),
            step_rows: 500,
        }
    }
}

/// The longest windows a rule set reads durable state over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleWindows {
    pub control_line: Duration,
    pub budget: Duration,
}

impl RuleWindows {
    /// The windows of `ruleset`'s control lines and authority budgets.
    pub fn of(ruleset: &RuleSet) -> Self {
        let longest = |windows: &mut dyn Iterator<Item = Duration>| {
            windows.max().unwrap_or(Duration::from_millis(0))
        };
        RuleWindows {
            control_line: longest(
                &mut ruleset
                    .control_lines
                    .rules
                    .iter()
                    .map(|rule| rule.body.window),
            ),
            budget: longest(
                &mut ruleset
                    .authorities
                    .rules
                    .iter()
                    .filter_map(|rule| rule.body.budget.as_ref().map(|budget| budget.window)),
            ),
        }
    }
}

/// Where one run of pruning cuts: what lies before each moment goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Cutoffs {
    pub now: Timestamp,
    /// Sealed audit segments whose last entry is older are archived.
    pub decisions_before: Timestamp,
    /// Closed cases that closed, and opened, before.
    pub cases_closed_before: Timestamp,
    pub cases_opened_before: Timestamp,
    pub tallies_before: Timestamp,
    pub authority_uses_before: Timestamp,
    pub step_rows: usize,
}

impl Cutoffs {
    /// The cutoffs of `options` at `now`, never inside `windows` or the
    /// customer-history window.
    pub fn at(now: Timestamp, options: &RetentionOptions, windows: RuleWindows) -> Self {
        let before =
            |keep: Duration| Timestamp::from_millis(now.millis().saturating_sub(keep.millis()));
        let at_least = |keep: Duration, window: Duration| {
            keep.max(Duration::from_millis(
                window.millis().saturating_add(WINDOW_SLACK.millis()),
            ))
        };
        Cutoffs {
            now,
            decisions_before: before(options.decisions),
            cases_closed_before: before(options.closed_cases),
            cases_opened_before: before(at_least(options.closed_cases, CUSTOMER_HISTORY_WINDOW)),
            tallies_before: before(at_least(options.tallies, windows.control_line)),
            authority_uses_before: before(at_least(options.authority_uses, windows.budget)),
            step_rows: options.step_rows.max(1),
        }
    }
}

/// What one run pruned.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PruneReport {
    /// Audit segments compressed into the archive.
    pub segments_archived: usize,
    /// Live segment files removed (archived, and their entries gone from
    /// the database).
    pub segments_removed: usize,
    /// Rows removed from the live audit log (their entries are archived).
    pub entries: usize,
    pub cases: usize,
    pub tallies: usize,
    pub authority_uses: usize,
    /// A step stopped at its row limit: there is more to prune now.
    pub more: bool,
}

impl PruneReport {
    pub fn add(&mut self, other: &PruneReport) {
        self.segments_archived += other.segments_archived;
        self.segments_removed += other.segments_removed;
        self.entries += other.entries;
        self.cases += other.cases;
        self.tallies += other.tallies;
        self.authority_uses += other.authority_uses;
        self.more = other.more;
    }

    pub fn pruned_anything(&self) -> bool {
        self.segments_archived
            + self.segments_removed
            + self.entries
            + self.cases
            + self.tallies
            + self.authority_uses
            > 0
    }
}

/// Pause between two steps of one run, so the writer's batches come
/// between them.
const BETWEEN_STEPS: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs retention every `options.every`, starting after one period, with
/// the windows of the rule set `serving` gives at that moment. A run takes
/// steps until nothing is left to prune; a failed run is logged and tried
/// again at the next period.
pub fn spawn_retention(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: RetentionOptions,
    serving: impl Fn() -> RuleWindows + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(options.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let mut total = PruneReport::default();
            loop {
                let cutoffs = Cutoffs::at(clock.now(), &options, serving());
                let step = {
                    let store = Arc::clone(&store);
                    tokio::task::spawn_blocking(move || store.prune(&cutoffs)).await
                };
                match step {
                    Ok(Ok(report)) => {
                        total.add(&report);
                        if !report.more {
                            break;
                        }
                        tokio::time::sleep(BETWEEN_STEPS).await;
                    }
                    Ok(Err(error)) => {
                        tracing::error!(%error, "retention: pruning failed; trying again at the next period");
                        break;
                    }
                    Err(_) => return,
                }
            }
            if total.pruned_anything() {
                tracing::info!(
                    segments_archived = total.segments_archived,
                    segments_removed = total.segments_removed,
                    entries = total.entries,
                    cases = total.cases,
                    tallies = total.tallies,
                    authority_uses = total.authority_uses,
                    "retention: pruned"
                );
            }
        }
    })
}

/// A store's answer to [`Store::prune`] when it does not prune.
pub(in crate::store) fn keeps_everything() -> Result<PruneReport, StoreError> {
    Ok(PruneReport::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_never_reach_into_a_window_a_rule_reads() {
        let day = 86_400_000;
        let now = Timestamp(1_000 * day);
        let options = RetentionOptions {
            decisions: Duration::from_millis(10 * day),
            closed_cases: Duration::from_millis(30 * day),
            tallies: Duration::from_millis(7 * day),
            authority_uses: Duration::from_millis(day),
            ..RetentionOptions::default()
        };
        let windows = RuleWindows {
            control_line: Duration::from_millis(30 * day),
            budget: Duration::from_millis(7 * day),
        };
        let cut = Cutoffs::at(now, &options, windows);
        assert_eq!(cut.decisions_before, Timestamp(990 * day));
        assert_eq!(cut.cases_closed_before, Timestamp(970 * day));
        assert_eq!(
            cut.cases_opened_before,
            Timestamp(634 * day),
            "a year and a day of history"
        );
        assert_eq!(
            cut.tallies_before,
            Timestamp(969 * day),
            "the 30-day window and a day"
        );
        assert_eq!(
            cut.authority_uses_before,
            Timestamp(992 * day),
            "the 7-day budget and a day"
        );
    }
}

//! The test file's format, as written by hand (and given to JSON Schema).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::time::Duration;

/// One test file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Redress rule tests")]
pub struct TestFile {
    /// The cases, as `[[case]]` tables.
    #[serde(default)]
    pub case: Vec<TestCase>,
    /// The sequences, as `[[sequence]]` tables.
    #[serde(default)]
    pub sequence: Vec<Sequence>,
}

/// One case: an event and what its decision must contain.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Name of the case, unique in its file.
    pub name: String,
    /// What the case shows. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// The complaint event, as TOML (same fields as the JSON event).
    /// `received_at` defaults to `2026-01-01T00:00:00Z`.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub event: toml::Table,
    /// Plugin outputs to use instead of running the plugin:
    /// plugin name → output name → value. Default: run the plugins.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")]
    pub plugins: BTreeMap<String, toml::Table>,
    /// The customer's history, as the store would report it. Default: no
    /// history (as without the daemon's store).
    #[serde(default)]
    pub history: Option<HistoryStub>,
    /// Fragments the decision must contain. Tables match the keys they
    /// list; arrays must match element by element, with the same length.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub expect: toml::Table,
    /// Decision fields that must be empty: null, `[]` or absent.
    /// Default: `[]`.
    #[serde(default)]
    pub expect_empty: Vec<String>,
}

/// The customer history a case pretends the store has.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryStub {
    #[serde(default)]
    pub open_cases: i64,
    #[serde(default)]
    pub complaints_30d: i64,
    #[serde(default)]
    pub goodwill_365d: f64,
}

/// A series of steps over time against a fresh store: complaints,
/// lifecycle events and moves of the clock, each with expectations.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    /// Name of the sequence, unique in its file.
    pub name: String,
    /// What the sequence shows. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// When the clock starts (a TOML datetime or an RFC 3339 string).
    /// Default: `2026-01-01T00:00:00Z`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub start: Option<toml::Value>,
    /// Plugin outputs for every complaint of the sequence (a step's own
    /// `plugins` replace a plugin's outputs for that step). Default: run
    /// the plugins.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")]
    pub plugins: BTreeMap<String, toml::Table>,
    /// The steps, as `[[sequence.step]]` tables, run in order.
    pub step: Vec<Step>,
}

/// One step of a sequence. It first moves the clock (`after` or `at`) and
/// fires the timers due by then, as the daemon's scheduler would; then it
/// decides a complaint (`event`), applies a lifecycle event to a case
/// (`case` and `lifecycle`), or looks at a case (`case` alone).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in failures. Default: `step N`.
    #[serde(default)]
    pub name: Option<String>,
    /// Move the clock forward by this much first, e.g. `"24h"`.
    /// Default: `"0s"`.
    #[serde(default)]
    pub after: Option<Duration>,
    /// Set the clock to this moment first (never backwards). Default: the
    /// clock stays where it is.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub at: Option<toml::Value>,
    /// A complaint received at the clock's time (same fields as the JSON
    /// event, without `received_at`).
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub event: Option<toml::Table>,
    /// Decide the complaint this many times, with ids `ID-1` … `ID-N`;
    /// expectations are checked on the last one. Default: 1 (the id as
    /// written).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// The clock moves this much between repeated complaints.
    /// Default: `"0s"`.
    #[serde(default)]
    pub every: Option<Duration>,
    /// Plugin outputs for this step's complaint. Default: the sequence's.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")]
    pub plugins: BTreeMap<String, toml::Table>,
    /// The case (the id of the complaint that opened it) a `lifecycle`
    /// event applies to, or whose state `expect` checks.
    #[serde(default)]
    pub case: Option<String>,
    /// A lifecycle event, as `POST /v1/complaints/{id}/events` takes it:
    /// `{ type = "responded" }`; `at` defaults to the clock's time.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub lifecycle: Option<toml::Table>,
    /// Fragments the step's result must contain: the decision for an
    /// `event`, the case (as `GET /v1/cases/{id}` shows it) for `case`.
    /// Default: nothing checked.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub expect: Option<toml::Table>,
    /// Fields of the result that must be empty. Default: `[]`.
    #[serde(default)]
    pub expect_empty: Vec<String>,
    /// The timers the clock's move fired, in order, as fragments
    /// (`{ case_id, timer, due_at, escalate }`); `[]` for none. Default:
    /// not checked.
    #[serde(default)]
    #[schemars(with = "Option<Vec<BTreeMap<String, serde_json::Value>>>")]
    pub expect_fired: Option<Vec<toml::Table>>,
    /// The lifecycle event must be refused with a message containing this
    /// text. Default: it must be accepted.
    #[serde(default)]
    pub expect_error: Option<String>,
}

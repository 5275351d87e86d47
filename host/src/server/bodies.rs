//! The bodies the API takes and answers that are not a type of the layers
//! below. They are types, not `json!` literals, so that the OpenAPI
//! document's components are generated from exactly what is sent
//! ([`crate::server::openapi`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::annotation::AnnotationType;
use crate::bounds::WorstCase;
use crate::decision::{Decision, Name, TraceLevel};
use crate::event::ComplaintEvent;
use crate::plugin::manifest::{Isolation, OnError};
use crate::reload::{GateVerdict, ReloadStatus};
use crate::server::error::ApiError;
use crate::time::Timestamp;

/// Every error the API answers: `{"error": {...}}`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorEnvelope<'a> {
    pub error: &'a ApiError,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `GET /readyz` when ready.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ready {
    /// Always `ready`.
    pub status: &'static str,
    /// The serving snapshot (rules and plugins).
    pub version: Name,
    /// The serving rule set alone.
    pub ruleset_version: Name,
}

/// One item of a batch: a decision, or why there is none.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Decision(Box<Decision>),
    /// A decision already recorded, answered as it was stored (the same
    /// shape as `Decision`).
    #[schemars(skip)]
    Stored(Box<RawValue>),
    Error {
        error: ApiError,
    },
}

/// `POST /v1/complaints` with an array: the decisions in the events' order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchAnswer {
    pub decisions: Vec<BatchItem>,
}

/// `POST /v1/simulate` body: `event` or `events`, optionally with changed
/// rule files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// One event...
    #[schemars(with = "Option<ComplaintEvent>")]
    pub event: Option<Box<RawValue>>,
    /// ...or several (at most `[limits] batch`).
    #[schemars(with = "Option<Vec<ComplaintEvent>>")]
    pub events: Option<Vec<Box<RawValue>>>,
    /// Rule files to use instead of the served ones with the same names
    /// (others are kept): file name (`10-routing.toml`) → text.
    pub rules: Option<BTreeMap<String, String>>,
    /// Refused with a clear message: a path on the daemon's machine would
    /// let any token read files there.
    #[schemars(skip)]
    pub rules_dir: Option<serde::de::IgnoredAny>,
    /// How much of the trace to return. Default: `full`.
    pub trace: Option<TraceLevel>,
}

/// `POST /v1/simulate` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SimulateAnswer {
    /// The rule set that decided (the serving one, or the changed one).
    pub ruleset_version: Name,
    /// One per event, in order.
    pub decisions: Vec<BatchItem>,
}

/// `POST /v1/reload` body (or none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReloadRequest {
    /// Let the rule set the gate holds, of this version, go live.
    pub accept: Option<String>,
}

/// `POST /v1/diff` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// Rule files to use instead of the serving ones with the same names
    /// (others are kept): file name → text.
    #[serde(default)]
    pub rules: BTreeMap<String, String>,
    /// Complaints decided at or after. Default: 30 days ago.
    pub since: Option<Timestamp>,
    /// Only the last this many complaints. Default: 10000; at most 100000.
    pub limit: Option<usize>,
}

/// `GET /v1/ruleset`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RulesetView<'a> {
    /// The serving snapshot (rules and plugins).
    pub version: Name,
    /// The serving rule set alone.
    pub ruleset_version: Name,
    pub rules: RuleFilesView<'a>,
    pub plugins: Vec<PluginView<'a>>,
    /// What `redress check --json` prints: bounds per complaint and per
    /// authority budget window, each with its rules and a witness event
    /// (docs/worst-case.md).
    pub worst_case: &'a WorstCase,
    pub last_reload: ReloadStatus,
    /// The rule set the reload gate holds, if any.
    pub held: Option<GateVerdict>,
}

/// The serving rule files.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RuleFilesView<'a> {
    pub directory: &'a PathBuf,
    pub files: &'a [PathBuf],
    pub rule_count: usize,
}

/// One loaded plugin.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PluginView<'a> {
    pub name: &'a str,
    /// sha256 of its wasm file.
    pub digest: Name,
    pub order: i32,
    pub on_error: OnError,
    pub isolation: Isolation,
    pub outputs: Vec<PluginOutputView<'a>>,
    /// Refused calls after repeated failures, until it cools down.
    pub quarantined: bool,
    /// Instances kept ready.
    pub warm_instances: usize,
}

/// One output a plugin declares.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PluginOutputView<'a> {
    pub key: &'a str,
    #[serde(rename = "type")]
    pub ty: AnnotationType,
    /// `[low, high]`, when declared.
    pub range: Option<[f64; 2]>,
}

//! The decision: what Redress decided for one complaint, and why. Field
//! names are stable; the same event with the same rule set and plugins
//! always serializes to the same bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

use crate::annotation::AnnotationValue;
use crate::rule_kind::RuleKind;
use crate::time::{Duration, Timestamp};

/// A name shared with the compiled rule set (rule names, queues, kinds):
/// putting it in a decision does not copy it.
pub type Name = Arc<str>;

/// Plugin outputs: plugin name → output name → value.
pub type Annotations = BTreeMap<String, BTreeMap<String, AnnotationValue>>;

/// Everything decided for one complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub event_id: String,
    /// Version (content hash) of the rule set that decided.
    pub ruleset_version: Name,
    pub received_at: Timestamp,
    /// The plugins that ran, with the digest of their code.
    pub plugins: Arc<Vec<PluginRun>>,
    /// The complaint's category: sent with it, or filled by a plugin.
    pub category: Option<String>,
    pub route: RouteDecision,
    /// The highest escalation level reached, if any.
    pub escalation_level: Option<Name>,
    pub escalations: Vec<EscalationDecision>,
    /// Teams to notify.
    pub notify: Vec<Name>,
    pub sla: Option<SlaDecision>,
    pub flags: Vec<Name>,
    /// Offers after caps.
    pub offers: Vec<OfferDecision>,
    /// Offers a cap cut to nothing, in the order they were made: `value`
    /// is 0 and `capped` says what they were worth and which cap removed
    /// them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_offers: Vec<OfferDecision>,
    /// Policies the handler may bend for this customer.
    pub authority: Vec<GrantDecision>,
    pub control_lines: Vec<ControlLineOutcome>,
    /// Plugin outputs: plugin name → output name → value.
    pub annotations: Arc<Annotations>,
    /// The event's amount was in another currency than the rule set's:
    /// how it was converted before the rules saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<Conversion>,
    /// Why: rule by rule.
    pub trace: Vec<TraceEntry>,
}

/// How an event's amount in a foreign currency became the rule set's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Conversion {
    /// The event's currency.
    pub from: Name,
    /// The rule set's currency, which every amount of the decision is in.
    pub to: Name,
    /// The event's amount, as sent.
    pub amount: Option<f64>,
    /// `to` per one `from` (`[ruleset.rates]`); absent when the rule set
    /// has no rate, and the rules then saw no amount.
    pub rate: Option<f64>,
}

impl Decision {
    /// The decision as answered: JSON text, written into a buffer sized for
    /// a typical decision so that it is not grown three times on the way.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut buffer = Vec::with_capacity(TYPICAL_DECISION_JSON);
        serde_json::to_writer(&mut buffer, self)?;
        // serde_json writes only valid UTF-8.
        String::from_utf8(buffer).map_err(|error| serde::ser::Error::custom(error.to_string()))
    }
}

/// Bytes of a decision's JSON without trace: 700 to 800 for the default rules.
const TYPICAL_DECISION_JSON: usize = 1024;

/// A plugin that ran for this complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PluginRun {
    pub name: Name,
    /// sha256 of the plugin's wasm file.
    pub digest: Name,
    pub outcome: PluginOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where the complaint goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouteDecision {
    pub queue: Name,
    pub handler: Option<Name>,
    /// The route rule that matched.
    pub rule: Name,
}

/// One escalation that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EscalationDecision {
    pub to: Name,
    pub rule: Name,
    pub reason: Option<Name>,
}

/// Time commitments on the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SlaDecision {
    pub rule: Name,
    pub first_response_due: Option<Timestamp>,
    pub resolve_due: Option<Timestamp>,
    /// How long after resolution to call the customer back.
    pub follow_up_after: Option<Duration>,
    pub on_breach: Option<BreachDecision>,
}

/// What a missed commitment triggers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BreachDecision {
    pub escalate: Option<Name>,
    pub notify: Vec<Name>,
}

/// One offer to the customer, after caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OfferDecision {
    pub kind: Name,
    pub value: f64,
    pub currency: Name,
    pub note: Option<Name>,
    /// Deliver by this time.
    pub due: Option<Timestamp>,
    /// The rule (`rule`) or plugin (`plugin:name`) that proposed it.
    pub source: Name,
    /// Set when a cap reduced the offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capped: Option<Capped>,
}

/// How a cap reduced an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Capped {
    /// The value before the cap.
    pub from: f64,
    /// The cap rule that bound it.
    pub by: Name,
}

/// A policy the handler may bend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GrantDecision {
    pub policy: Name,
    /// The role that may bend it.
    pub grant: Name,
    pub max_cost: f64,
    pub currency: Name,
    pub rule: Name,
    /// The budget the grant counts against, if it has one.
    pub budget: Option<BudgetStatus>,
}

/// Where a grant stands against its budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BudgetStatus {
    /// What the budget is counted per, and for which value
    /// (`location:branch-12`).
    pub scope: String,
    pub window: Duration,
    pub status: BudgetState,
    pub used_count: Option<i64>,
    pub limit_count: Option<i64>,
    pub used_amount: Option<f64>,
    pub limit_amount: Option<f64>,
}

/// The state of one control line for this complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ControlLineOutcome {
    pub rule: Name,
    /// The grid cell: `group_by` field → value.
    pub group: BTreeMap<Name, String>,
    pub status: ControlLineStatus,
    /// Complaints in the window including this one.
    pub count: Option<i64>,
    /// The line: the most complaints allowed in the window.
    pub limit: Option<f64>,
}

/// One rule's part in the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceEntry {
    /// The rule's kind.
    pub kind: RuleKind,
    #[schemars(with = "String")]
    pub rule: Name,
    pub matched: bool,
    /// The values the condition read, by field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub inputs: BTreeMap<Name, serde_json::Value>,
    /// Why it did or did not apply, when there is more to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a plugin's run went.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PluginOutcome {
    /// Its outputs are in the decision.
    Ok,
    /// It failed; its outputs were dropped (`on_error = "skip"`).
    Skipped,
    /// It failed; its declared defaults stand in (`on_error = "default"`).
    Defaults,
    /// A rule test gave its outputs.
    Stubbed,
}

/// Where a grant stands against its budget.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BudgetState {
    /// Counted by the store, and there is room.
    Within,
    /// No store to count against (`redress eval`, `redress test`).
    Unchecked,
}

/// The state of a control line for one complaint.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ControlLineStatus {
    /// This complaint goes over the line.
    Crossed,
    /// Counted, and under the line.
    Within,
    /// Not counted: no store, or the volume could not be computed.
    NotEvaluated,
}

impl PluginOutcome {
    /// The name as decisions write it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl BudgetState {
    /// The name as decisions write it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl ControlLineStatus {
    /// The name as decisions write it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How much of the rule-by-rule account to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceLevel {
    /// No trace (benchmarks).
    None,
    /// Every rule that was evaluated, with its inputs.
    #[default]
    Compact,
    /// Also the rules the index ruled out and the rules not reached.
    Full,
}

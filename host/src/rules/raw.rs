//! The rule-file format as written: serde structs with
//! `deny_unknown_fields`, documented for the JSON Schema editors use.
//! `compile` turns them into the trusted [`RuleSet`](super::RuleSet).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::rule_kind::RuleKind;
use crate::time::Duration;

/// A value that remembers where in the file it was written.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Located<T>(pub Spanned<T>);

impl<T> Located<T> {
    pub fn get(&self) -> &T {
        self.0.get_ref()
    }

    pub fn span(&self) -> std::ops::Range<usize> {
        self.0.span()
    }
}

/// One entry of `[conditions]`: its name and its condition's text, each
/// with its place in the file.
#[derive(Debug)]
pub struct RawCondition {
    pub name: Located<String>,
    pub when: Located<String>,
}

// By hand: the derive (with `#[schemars(with = "T")]`) names a schema
// `Located`, `Located2`, ... per wrapped type and refers to those, where
// an editor should see the wrapped value's own schema in place.
impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// One rule file. Every `*.toml` in the rules directory is one part of one
/// rule set; each may hold any of these tables.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Redress rule file")]
pub struct RawRuleFile {
    /// Settings for the whole rule set. At most one file may have it.
    #[serde(default)]
    pub ruleset: Option<RawSettings>,
    /// Named conditions: `name = 'condition'`, usable by name in any rule's
    /// `when` (and in other named conditions) of every file of the rule
    /// set. Names are identifiers, unique across files, and may not be a
    /// field's name. Default: none.
    #[serde(default)]
    pub conditions: BTreeMap<String, String>,
    /// Where a complaint goes. First match wins; the rule set needs a
    /// fallback route without `when`.
    #[serde(default)]
    pub route: Vec<RawRoute>,
    /// Who must see it. Every match applies; the highest level wins.
    #[serde(default)]
    pub escalate: Vec<RawEscalate>,
    /// Commitments on the case (first response, resolution, follow-up).
    /// First match wins.
    #[serde(default)]
    pub sla: Vec<RawSla>,
    /// Counts of matching complaints per group over a window; crossing the
    /// line flags and escalates (needs the daemon's store).
    #[serde(default)]
    pub control_line: Vec<RawControlLine>,
    /// What to offer. Every match adds its offers; caps apply last.
    #[serde(default)]
    pub compensate: Vec<RawCompensate>,
    /// Limits on the value of offers. Every match applies; the lowest
    /// limit wins.
    #[serde(default)]
    pub cap: Vec<RawCap>,
    /// Which policy the handler may bend, for whom, up to what cost.
    /// Every match grants.
    #[serde(default)]
    pub authority: Vec<RawAuthority>,
}

/// `[ruleset]`: settings for the whole rule set.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// Escalation levels from lowest to highest. `escalate.to` and
    /// `on_breach.escalate` must name one of them.
    /// Default: `["front_line", "supervisor", "manager", "director", "executive"]`.
    #[serde(default)]
    pub escalation_levels: Option<Vec<String>>,
    /// Currency of offer values and costs when the event has none.
    /// Default: `"USD"`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Fixed conversion rates into `currency`: code → units of `currency`
    /// per one unit of it, e.g. `{ CNY = 0.14, PHP = 0.018 }`. An event in
    /// a listed currency has its amount converted before the rules see it
    /// (the decision says so); an event in any other currency is refused.
    /// Default: `{}` (only events in `currency`, or with none).
    #[serde(default)]
    pub rates: BTreeMap<String, f64>,
    /// Offer kinds allowed besides the built-in ones (apology, explanation,
    /// discount, coupon, gift, points, replacement, repair, refund,
    /// callback). Default: `[]`.
    #[serde(default)]
    pub offer_kinds: Vec<String>,
    /// The values a numeric input can take, `[lowest, highest]`, for the
    /// worst case `redress check` computes (docs/worst-case.md): e.g.
    /// `amount = [0, 100000]`. Keys are field paths as conditions write
    /// them (`amount`, `customer.lifetime_value`, `plugins.x.score`).
    /// Default: none; money and counts are at least 0 and have no upper
    /// bound, plugin outputs have the `range` their manifest declares.
    #[serde(default)]
    pub ranges: BTreeMap<String, [f64; 2]>,
    /// The most the offers one complaint receives may be worth after caps.
    /// A rule set whose worst case is higher (or unbounded) is refused.
    /// Default: none (no limit).
    #[serde(default)]
    pub max_payout: Option<f64>,
    /// The most one offer kind may be worth on one complaint, e.g.
    /// `{ refund = 500 }`; refused like `max_payout`. Default: `{}`.
    #[serde(default)]
    pub max_payout_per_kind: BTreeMap<String, f64>,
    /// The most the `max_cost` of every authority granted on one complaint
    /// may add up to; refused like `max_payout`. Default: none (no limit).
    #[serde(default)]
    pub max_authority_per_complaint: Option<f64>,
    /// The most one authority rule may spend in one budget scope per its
    /// budget window, by rule name, e.g. `{ parking-stamp = 250 }`; a rule
    /// without a budget has no such bound and is refused when named here.
    /// Default: `{}`.
    #[serde(default)]
    pub max_authority_per_window: BTreeMap<String, f64>,
}

/// Declares a rule kind's raw struct with the keys every rule has
/// (`name`, `description`, `when`, `priority`, `enabled`, `flags`) followed
/// by the kind's own keys. (Not `#[serde(flatten)]`: that would lose both
/// `deny_unknown_fields` and the positions of values.)
macro_rules! rule_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Unique name across the rule set: letters, digits, `-` and `_`
            /// (required).
            pub name: Located<String>,
            /// What the rule is for, shown in explanations. Default: none.
            #[serde(default)]
            pub description: Option<String>,
            /// Condition in CEL syntax. Default: `true` (always applies).
            #[serde(default)]
            pub when: Option<Located<String>>,
            /// Higher runs first; equal priorities keep file order (files
            /// sorted by name). Default: `0`.
            #[serde(default)]
            pub priority: i32,
            /// `false` keeps the rule in the file but out of the rule set.
            /// Default: `true`.
            #[serde(default = "yes")]
            pub enabled: bool,
            /// Flags added to the decision when the rule applies.
            /// Default: `[]`.
            #[serde(default)]
            pub flags: Vec<String>,
            $($body)*
        }

        impl RawRule for $name {
            fn common(&self) -> Common<'_> {
                Common {
                    name: &self.name,
                    description: self.description.as_deref(),
                    when: self.when.as_ref(),
                    priority: self.priority,
                    enabled: self.enabled,
                    flags: &self.flags,
                }
            }
        }
    };
}

/// The keys every rule has, borrowed from a raw rule.
#[derive(Debug, Clone, Copy)]
pub struct Common<'r> {
    pub name: &'r Located<String>,
    pub description: Option<&'r str>,
    pub when: Option<&'r Located<String>>,
    pub priority: i32,
    pub enabled: bool,
    pub flags: &'r [String],
}

/// Access to the keys every rule kind shares.
pub trait RawRule {
    fn common(&self) -> Common<'_>;
}

fn yes() -> bool {
    true
}

rule_struct! {
    /// `[[route]]`: where a complaint goes.
    pub struct RawRoute {
        /// The queue or team that owns the case (required).
        pub queue: String,
        /// The rank of who should answer (seed 003: rank shows respect), e.g.
        /// `manager`. Default: none (whoever takes the queue).
        #[serde(default)]
        pub handler: Option<String>,
    }
}

rule_struct! {
    /// `[[escalate]]`: report upward.
    pub struct RawEscalate {
        /// The escalation level, one of `ruleset.escalation_levels` (required).
        pub to: Located<String>,
        /// Why, in words shown to the handler. Default: the rule's description.
        #[serde(default)]
        pub reason: Option<String>,
        /// Teams to notify. Default: `[]`.
        #[serde(default)]
        pub notify: Vec<String>,
    }
}

/// What happens when an SLA commitment is missed.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBreach {
    /// Escalation level to raise the case to. Default: none.
    #[serde(default)]
    pub escalate: Option<Located<String>>,
    /// Teams to notify. Default: `[]`.
    #[serde(default)]
    pub notify: Vec<String>,
}

rule_struct! {
    /// `[[sla]]`: time commitments on the case.
    pub struct RawSla {
        /// Time from receipt to the first response. Default: none.
        #[serde(default)]
        pub first_response: Option<Located<Duration>>,
        /// Time from receipt to resolution. Default: none.
        #[serde(default)]
        pub resolve: Option<Located<Duration>>,
        /// Time after resolution to call the customer back (seed 000).
        /// Default: none.
        #[serde(default)]
        pub follow_up: Option<Located<Duration>>,
        /// What a missed commitment triggers. Default: nothing.
        #[serde(default)]
        pub on_breach: Option<RawBreach>,
    }
}

/// What crossing a control line triggers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawControlAction {
    /// Escalation level. Default: none.
    #[serde(default)]
    pub escalate: Option<Located<String>>,
    /// Teams to notify, e.g. `product-department`. Default: `[]`.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Flag added to the decision. Default: `"control_line_exceeded"`.
    #[serde(default)]
    pub flag: Option<String>,
}

rule_struct! {
    /// `[[control_line]]`: seed 001's anomaly detection per grid cell.
    pub struct RawControlLine {
        /// Fields whose values form the group (grid cell) that is counted,
        /// e.g. `["category", "product_line"]`. Default: `[]` (one group).
        #[serde(default)]
        pub group_by: Vec<Located<String>>,
        /// The sliding window counted over (required), e.g. `"30d"`.
        pub window: Located<Duration>,
        /// Complaints allowed in the window; the one after the limit crosses
        /// the line. Required unless `max_rate` is given.
        #[serde(default)]
        pub limit: Option<Located<i64>>,
        /// Complaints per unit of `volume` allowed, e.g. `0.002` for 2 per
        /// 1,000 units sold. Default: none.
        #[serde(default)]
        pub max_rate: Option<f64>,
        /// Number expression giving the volume for `max_rate`, e.g.
        /// `"attrs.units_sold"`. Required with `max_rate`.
        #[serde(default)]
        pub volume: Option<Located<String>>,
        /// What crossing the line triggers. Default: the flag only.
        #[serde(default)]
        pub then: Option<RawControlAction>,
    }
}

/// A number, or a CEL expression giving a number.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawAmount {
    /// A fixed amount.
    Number(f64),
    /// An expression, e.g. `"min(amount, 100)"` or
    /// `"customer.lifetime_value * 0.02"`.
    Expression(String),
}

/// One offer in `compensate.offers`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOffer {
    /// apology, explanation, discount, coupon, gift, points, replacement,
    /// repair, refund, callback, or a kind added in `ruleset.offer_kinds`
    /// (required).
    pub kind: Located<String>,
    /// Value in the rule set's currency. Default: `0` (e.g. an apology).
    #[serde(default)]
    pub value: Option<Located<RawAmount>>,
    /// Words for the handler, e.g. "a new unit, never the returned one".
    /// Default: none.
    #[serde(default)]
    pub note: Option<String>,
    /// Deliver within this time of receipt, e.g. `"8h"` for same-day
    /// replacement. Default: none.
    #[serde(default)]
    pub within: Option<Located<Duration>>,
}

rule_struct! {
    /// `[[compensate]]`: remedies to offer.
    pub struct RawCompensate {
        /// The offers this rule adds (required, at least one).
        pub offers: Vec<RawOffer>,
    }
}

rule_struct! {
    /// `[[cap]]`: limits on offers.
    pub struct RawCap {
        /// Most the offers may be worth together. Default: no limit.
        #[serde(default)]
        pub max_total: Option<Located<RawAmount>>,
        /// Most each kind may be worth, e.g. `{ refund = 100 }`.
        /// Default: no limits.
        #[serde(default)]
        pub per_kind: BTreeMap<String, Located<RawAmount>>,
    }
}

/// How much of a grant may be used, and by whom.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// What the budget is counted per: `location`, `handler`, `customer` or
    /// `global`. Default: `"global"`.
    #[serde(default)]
    pub per: Option<Located<String>>,
    /// The window the budget covers (required), e.g. `"1d"`.
    pub window: Located<Duration>,
    /// Most uses in the window. Default: no count limit.
    #[serde(default)]
    pub count: Option<i64>,
    /// Most total cost in the window. Default: no amount limit.
    #[serde(default)]
    pub amount: Option<f64>,
}

rule_struct! {
    /// `[[authority]]`: bounded discretion (seed 002's parking ticket).
    pub struct RawAuthority {
        /// The policy that may be bent, e.g. `parking-validation` (required).
        pub policy: String,
        /// The role that may bend it, e.g. `teller` (required).
        pub grant: String,
        /// Most a single use may cost. Default: `0`.
        #[serde(default)]
        pub max_cost: Option<Located<RawAmount>>,
        /// Limits on uses over time. Default: none.
        #[serde(default)]
        pub budget: Option<RawBudget>,
    }
}

/// The keys a rule of `kind` accepts, the common ones first, in the order
/// its raw struct declares them. Read from the struct's `Deserialize`
/// (the field list serde checks unknown keys against), so the list cannot
/// drift from the format.
pub fn known_keys(kind: RuleKind) -> &'static [&'static str] {
    use serde_aux::serde_introspection::serde_introspect;
    match kind {
        RuleKind::Route => serde_introspect::<RawRoute>(),
        RuleKind::Escalate => serde_introspect::<RawEscalate>(),
        RuleKind::Sla => serde_introspect::<RawSla>(),
        RuleKind::ControlLine => serde_introspect::<RawControlLine>(),
        RuleKind::Compensate => serde_introspect::<RawCompensate>(),
        RuleKind::Cap => serde_introspect::<RawCap>(),
        RuleKind::Authority => serde_introspect::<RawAuthority>(),
    }
}

/// The top-level tables of a rule file: `ruleset`, `conditions` and one
/// array per rule kind.
pub fn file_tables() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<RawRuleFile>()
}

/// Built-in offer kinds (seed 000, 002: apology, explanation, discount,
/// coupon, free gift, points, replacement, refund).
pub const OFFER_KINDS: [&str; 10] = [
    "apology",
    "explanation",
    "discount",
    "coupon",
    "gift",
    "points",
    "replacement",
    "repair",
    "refund",
    "callback",
];

/// Default escalation levels, lowest first.
pub const DEFAULT_LEVELS: [&str; 5] = [
    "front_line",
    "supervisor",
    "manager",
    "director",
    "executive",
];

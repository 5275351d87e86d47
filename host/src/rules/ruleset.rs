//! The compiled rule set: validated rules with compiled conditions, in
//! evaluation order, with an index per kind. Immutable once built; the
//! daemon swaps whole rule sets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::decision::Name;
use crate::diagnostic::Location;
use crate::expr::Expression;
use crate::rule_kind::RuleKind;
use crate::rules::index::RuleIndex;
use crate::time::Duration;

/// Settings that apply to the whole rule set.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Escalation levels, lowest first.
    pub levels: Vec<String>,
    /// The rule set's currency: of thresholds, offers, caps and costs.
    pub currency: Name,
    /// `[ruleset] rates`: units of `currency` per one unit of another.
    pub rates: BTreeMap<Name, f64>,
    /// Every offer kind allowed: built-in plus `offer_kinds`.
    pub offer_kinds: Vec<String>,
    /// `[ruleset.ranges]`: declared `[lowest, highest]` of numeric inputs.
    pub ranges: BTreeMap<String, (f64, f64)>,
    /// The worst-case limits the rule set declares.
    pub limits: DeclaredLimits,
}

impl Settings {
    /// The escalation levels as the store takes them (each intake carries
    /// them, so breaches only ever raise a case).
    pub fn level_names(&self) -> Vec<Name> {
        self.levels.iter().map(|l| Name::from(l.as_str())).collect()
    }
}

/// `max_payout`, `max_payout_per_kind`, `max_authority_per_complaint`,
/// `max_authority_per_window`, and where they were written.
#[derive(Debug, Clone, Default)]
pub struct DeclaredLimits {
    pub payout: Option<f64>,
    pub payout_per_kind: BTreeMap<Name, f64>,
    pub authority_per_complaint: Option<f64>,
    pub authority_per_window: BTreeMap<Name, f64>,
    /// The `[ruleset]` table that declared them.
    pub declared_at: Option<Location>,
}

impl DeclaredLimits {
    pub fn is_empty(&self) -> bool {
        self.payout.is_none()
            && self.payout_per_kind.is_empty()
            && self.authority_per_complaint.is_none()
            && self.authority_per_window.is_empty()
    }
}

/// One compiled rule of kind `K`.
#[derive(Debug)]
pub struct Rule<K> {
    pub name: Name,
    pub description: Option<String>,
    /// The file it came from, as it was given to the loader.
    pub file: PathBuf,
    /// 1-based line of its `name`.
    pub line: usize,
    /// Where its `name` is written.
    pub location: Location,
    pub when: Expression,
    pub flags: Vec<Name>,
    pub body: K,
}

/// What every rule has, whatever its kind, borrowed from the rule set.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo<'r> {
    pub kind: RuleKind,
    pub name: &'r Name,
    pub description: Option<&'r str>,
    pub file: &'r Path,
    pub line: usize,
    pub location: &'r Location,
    pub when: &'r Expression,
}

impl<K> Rule<K> {
    /// The parts of this rule every kind has.
    pub fn info(&self, kind: RuleKind) -> RuleInfo<'_> {
        RuleInfo {
            kind,
            name: &self.name,
            description: self.description.as_deref(),
            file: &self.file,
            line: self.line,
            location: &self.location,
            when: &self.when,
        }
    }
}

/// The rules of one kind in evaluation order, with their index.
#[derive(Debug)]
pub struct RuleList<K> {
    pub rules: Vec<Rule<K>>,
    pub index: RuleIndex,
}

impl<K> RuleList<K> {
    pub fn new(rules: Vec<Rule<K>>) -> Self {
        let index = RuleIndex::build(rules.iter().map(|r| &r.when));
        RuleList { rules, index }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// `[[route]]`
#[derive(Debug)]
pub struct Route {
    pub queue: Name,
    pub handler: Option<Name>,
}

/// `[[escalate]]`
#[derive(Debug)]
pub struct Escalate {
    pub to: Name,
    /// Position of `to` in the escalation levels (higher is more senior).
    pub level: usize,
    pub reason: Option<Name>,
    pub notify: Vec<Name>,
}

/// What a missed commitment triggers.
#[derive(Debug, Clone)]
pub struct Breach {
    pub escalate: Option<Name>,
    pub notify: Vec<Name>,
}

/// `[[sla]]`
#[derive(Debug)]
pub struct Sla {
    pub first_response: Option<Duration>,
    pub resolve: Option<Duration>,
    pub follow_up: Option<Duration>,
    pub on_breach: Option<Breach>,
}

/// What crossing a control line triggers.
#[derive(Debug, Clone)]
pub struct ControlAction {
    pub escalate: Option<Name>,
    pub notify: Vec<Name>,
    pub flag: Name,
}

/// How a control line's limit is expressed.
#[derive(Debug)]
pub enum ControlLimit {
    /// At most this many complaints in the window.
    Count(i64),
    /// At most `max_rate` complaints per unit of volume.
    Rate { max_rate: f64, volume: Expression },
}

/// `[[control_line]]`
#[derive(Debug)]
pub struct ControlLine {
    /// Paths and readers of the grouping fields.
    pub group_by: Vec<(Name, Expression)>,
    pub window: Duration,
    pub limit: ControlLimit,
    pub then: ControlAction,
}

/// One offer a `[[compensate]]` rule makes.
#[derive(Debug)]
pub struct OfferTemplate {
    pub kind: Name,
    pub value: Expression,
    pub note: Option<Name>,
    pub within: Option<Duration>,
}

/// `[[compensate]]`
#[derive(Debug)]
pub struct Compensate {
    pub offers: Vec<OfferTemplate>,
}

/// `[[cap]]`
#[derive(Debug)]
pub struct Cap {
    pub max_total: Option<Expression>,
    pub per_kind: BTreeMap<Name, Expression>,
}

/// What an authority budget is counted per.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum BudgetScope {
    Location,
    Handler,
    Customer,
    Global,
}

impl BudgetScope {
    /// The scope's name in rule files: `location`, `handler`, ….
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Limits on uses of a grant over time.
#[derive(Debug, Clone)]
pub struct Budget {
    pub per: BudgetScope,
    pub window: Duration,
    pub count: Option<i64>,
    pub amount: Option<f64>,
}

/// `[[authority]]`
#[derive(Debug)]
pub struct Authority {
    pub policy: Name,
    pub grant: Name,
    pub max_cost: Expression,
    pub budget: Option<Budget>,
}

/// A complete, validated rule set.
#[derive(Debug)]
pub struct RuleSet {
    /// Content hash of the rule files: the rule set's version.
    pub version: Name,
    /// The files it was built from, relative to the rules directory.
    pub files: Vec<PathBuf>,
    /// Their texts, as they were read: what the version hashes, and what a
    /// simulation with changed files starts from.
    pub texts: std::sync::Arc<Vec<crate::rules::RuleFileText>>,
    pub settings: Settings,
    /// The names of its `[conditions]`, each after those it uses.
    pub conditions: Vec<Name>,
    pub routes: RuleList<Route>,
    pub escalations: RuleList<Escalate>,
    pub slas: RuleList<Sla>,
    pub control_lines: RuleList<ControlLine>,
    pub compensations: RuleList<Compensate>,
    pub caps: RuleList<Cap>,
    pub authorities: RuleList<Authority>,
}

/// A kind's rules, whatever their body: what [`RuleSet`] answers about
/// every kind through one `match`.
trait KindRules {
    fn len(&self) -> usize;
    fn info(&self, index: usize, kind: RuleKind) -> RuleInfo<'_>;
}

impl<K> KindRules for RuleList<K> {
    fn len(&self) -> usize {
        self.rules.len()
    }

    fn info(&self, index: usize, kind: RuleKind) -> RuleInfo<'_> {
        self.rules[index].info(kind)
    }
}

impl RuleSet {
    fn list(&self, kind: RuleKind) -> &dyn KindRules {
        match kind {
            RuleKind::Route => &self.routes,
            RuleKind::Escalate => &self.escalations,
            RuleKind::Sla => &self.slas,
            RuleKind::ControlLine => &self.control_lines,
            RuleKind::Compensate => &self.compensations,
            RuleKind::Cap => &self.caps,
            RuleKind::Authority => &self.authorities,
        }
    }

    /// What every rule of `kind` has, in evaluation order.
    pub fn rules_of(&self, kind: RuleKind) -> impl Iterator<Item = RuleInfo<'_>> {
        let list = self.list(kind);
        (0..list.len()).map(move |index| list.info(index, kind))
    }

    /// The rule of `kind` named `name`.
    pub fn find(&self, kind: RuleKind, name: &str) -> Option<RuleInfo<'_>> {
        self.rules_of(kind).find(|rule| &**rule.name == name)
    }

    /// How many rules of `kind` the rule set has.
    pub fn count(&self, kind: RuleKind) -> usize {
        self.list(kind).len()
    }

    /// Rules of each kind, in pipeline order.
    pub fn rule_counts(&self) -> Vec<(RuleKind, usize)> {
        RuleKind::all()
            .map(|kind| (kind, self.count(kind)))
            .collect()
    }

    /// `kind name` of every rule, by the file (name) it is in.
    pub fn rule_names_by_file(&self) -> BTreeMap<PathBuf, Vec<String>> {
        let mut names: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for kind in RuleKind::all() {
            for rule in self.rules_of(kind) {
                let file = rule
                    .file
                    .file_name()
                    .map_or_else(|| rule.file.to_path_buf(), PathBuf::from);
                names
                    .entry(file)
                    .or_default()
                    .push(format!("{kind} {}", rule.name));
            }
        }
        names
    }

    /// Number of rules of every kind.
    pub fn rule_count(&self) -> usize {
        RuleKind::all().map(|kind| self.count(kind)).sum()
    }
}

//! The worst case a rule set can pay, computed from the rules alone: the
//! most one complaint can receive in offers after caps (per customer tier
//! the rules name, and per offer kind), the most authority one complaint
//! can be granted, and what each authority rule can spend per budget
//! window. By interval analysis over the conditions and value
//! expressions (`eval`), splitting the input space where a rule's
//! condition is undecided (`search`); every finite bound comes with a
//! witness complaint that is decided for real (`witness`). See
//! docs/worst-case.md.

mod domain;
mod eval;
mod interval;
mod limits;
mod report;
mod search;
mod witness;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use interval::Interval;
pub use limits::check_limits;
pub use report::render;
pub use witness::Witness;

use crate::bounds::domain::{FieldState, Region, Texts};
use crate::bounds::eval::{Atom, Context, read_paths};
use crate::bounds::search::{Found, Model, Objective, Part, RuleRef, RuleValues};
use crate::decision::Name;
use crate::expr::Env;
use crate::rule_kind::RuleKind;
use crate::rules::RuleSet;

/// A bound reached by a witness within this fraction counts as reached.
const REACHED_WITHIN: f64 = 0.01;

/// Everything `redress check` says about the worst case.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorstCase {
    /// Offers and costs are in the event's currency; this one when it has
    /// none.
    pub currency: Name,
    /// Offers after caps, per complaint, for each segment.
    pub payout: Vec<SegmentBound>,
    /// The largest of `payout`.
    pub payout_overall: Bound,
    /// Each offer kind after caps, per complaint.
    pub payout_per_kind: BTreeMap<Name, Bound>,
    /// The `max_cost` of every grant on one complaint, for each segment.
    pub authority: Vec<SegmentBound>,
    pub authority_overall: Bound,
    /// Each authority rule: per complaint, and per budget scope and window.
    pub grants: Vec<GrantBound>,
    /// False when a search gave up splitting (the bounds still hold, but
    /// may be looser than the rules allow).
    pub exact: bool,
    /// Regions assessed, over every search.
    pub regions: usize,
}

/// A bound for the complaints of one segment.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SegmentBound {
    /// `customer.tier == "key"`, or `other tiers` / `every complaint`.
    pub segment: String,
    #[serde(flatten)]
    pub bound: Bound,
}

/// An upper bound and what makes it up.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Bound {
    /// `None`: no upper bound.
    pub value: Option<f64>,
    pub rules: Vec<RuleMention>,
    /// For an unbounded value, the inputs it grows with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grows_with: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Witness>,
    /// The witness decides to the bound (within 1%).
    pub reached: bool,
}

/// A rule that takes part in a bound, and how.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct RuleMention {
    /// A rule kind (`compensate`, `cap`, `authority`), or `plugin`.
    pub kind: &'static str,
    pub name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<crate::diagnostic::Location>,
    /// e.g. `offers up to 150.00 (refund)`.
    pub role: String,
}

/// One authority rule's worst case.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GrantBound {
    pub rule: Name,
    pub location: crate::diagnostic::Location,
    pub per_complaint: Bound,
    /// `location per 1d` and the like; `None` without a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    /// The most it can spend in one budget scope per window; `None`:
    /// unbounded (no budget, or a count budget with an unbounded cost).
    pub per_window: Option<f64>,
    /// How `per_window` comes about: `50 uses × 5.00`, `amount budget`.
    pub per_window_how: String,
}

/// Computes the worst case of `ruleset` as compiled against `env`.
pub fn analyze(ruleset: &RuleSet, env: &Env) -> WorstCase {
    let mut ranges: BTreeMap<String, Interval> = BTreeMap::new();
    for (path, field) in env.fields() {
        if let Some((lo, hi)) = field.range {
            ranges.insert(path.to_string(), Interval::new(lo, hi));
        }
    }
    for (path, (lo, hi)) in &ruleset.settings.ranges {
        // A declared range narrows the natural one.
        let declared = Interval::new(*lo, *hi);
        let natural = ranges.get(path).copied().unwrap_or(Interval::ALL);
        ranges.insert(
            path.clone(),
            natural.intersect(&declared).unwrap_or(declared),
        );
    }
    let model = Model::new(ruleset, Context::new(env, ranges));
    let mut analysis = Analysis {
        model: &model,
        exact: true,
        regions: 0,
    };
    let segments = segments(&model);
    let payout: Vec<SegmentBound> = segments
        .iter()
        .map(|(segment, region)| SegmentBound {
            segment: segment.clone(),
            bound: analysis.bound(region.clone(), &Objective::Payout),
        })
        .collect();
    let authority: Vec<SegmentBound> = segments
        .iter()
        .map(|(segment, region)| SegmentBound {
            segment: segment.clone(),
            bound: analysis.bound(region.clone(), &Objective::Authority),
        })
        .collect();
    let mut kinds: BTreeSet<Name> = BTreeSet::new();
    for (_, rule) in &model.rules {
        if let RuleValues::Offers(offers) = &rule.values {
            kinds.extend(offers.iter().map(|(kind, _)| kind.clone()));
        }
    }
    kinds.extend(model.proposals.iter().map(|(_, kind)| kind.clone()));
    let mut payout_per_kind = BTreeMap::new();
    for kind in kinds {
        let bound = analysis.bound(Region::default(), &Objective::Kind(kind.clone()));
        if bound.value != Some(0.0) {
            payout_per_kind.insert(kind, bound);
        }
    }
    let grants = ruleset
        .authorities
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let per_complaint = analysis.bound(Region::default(), &Objective::Grant(i));
            let (budget, per_window, per_window_how) = per_window(rule, &per_complaint);
            GrantBound {
                rule: rule.name.clone(),
                location: rule.location.clone(),
                per_complaint,
                budget,
                per_window,
                per_window_how,
            }
        })
        .collect();
    WorstCase {
        currency: ruleset.settings.currency.clone(),
        payout_overall: largest(&payout),
        payout,
        payout_per_kind,
        authority_overall: largest(&authority),
        authority,
        grants,
        exact: analysis.exact,
        regions: analysis.regions,
    }
}

/// `12.50`, or `no upper bound`.
fn money(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "no upper bound".to_string()
    }
}

fn largest(segments: &[SegmentBound]) -> Bound {
    segments
        .iter()
        .max_by(|a, b| {
            let value = |s: &SegmentBound| s.bound.value.unwrap_or(f64::INFINITY);
            value(a).total_cmp(&value(b))
        })
        .map(|s| s.bound.clone())
        .unwrap_or(Bound {
            value: Some(0.0),
            rules: Vec::new(),
            grows_with: Vec::new(),
            witness: None,
            reached: true,
        })
}

/// The most an authority rule can spend in one budget scope per window.
fn per_window(
    rule: &crate::rules::Rule<crate::rules::Authority>,
    per_complaint: &Bound,
) -> (Option<String>, Option<f64>, String) {
    let Some(budget) = &rule.body.budget else {
        return (None, None, "no budget".to_string());
    };
    let scope = format!("{} per {}", budget.per.name(), budget.window);
    let by_count = match (budget.count, per_complaint.value) {
        (Some(count), Some(cost)) => {
            Some((count as f64 * cost, format!("{count} uses × {cost:.2}")))
        }
        _ => None,
    };
    let by_amount = budget.amount.map(|a| (a, "amount budget".to_string()));
    let best = match (by_count, by_amount) {
        (Some(c), Some(a)) => Some(if c.0 <= a.0 { c } else { a }),
        (c, a) => c.or(a),
    };
    match best {
        Some((value, how)) => (Some(scope), Some(value), how),
        None => (
            Some(scope),
            None,
            "a count budget, but `max_cost` has no upper bound".to_string(),
        ),
    }
}

/// The segments bounds are given for: each customer tier a relevant rule
/// compares with, and every other tier (or no tier); one segment when no
/// rule names a tier.
fn segments(model: &Model<'_>) -> Vec<(String, Region)> {
    const TIER: &str = "customer.tier";
    let mut tiers: BTreeSet<String> = BTreeSet::new();
    for (_, rule) in &model.rules {
        for atom in &rule.atoms {
            if let Atom::Texts { path, values } = atom
                && path == TIER
            {
                tiers.extend(values.iter().cloned());
            }
        }
    }
    if tiers.is_empty() {
        return vec![("every complaint".to_string(), Region::default())];
    }
    let base = model.context.default_state(TIER);
    let mut segments: Vec<(String, Region)> = tiers
        .iter()
        .map(|tier| {
            let state = FieldState {
                may_be_unset: false,
                text: Texts::one(tier),
                ..base.clone()
            };
            (tier.clone(), region_with(TIER, state))
        })
        .collect();
    let rest = FieldState {
        text: Texts::AnyBut(std::sync::Arc::new(tiers.clone())),
        ..base
    };
    segments.push(("other tiers".to_string(), region_with(TIER, rest)));
    segments
}

fn region_with(path: &str, state: FieldState) -> Region {
    let mut region = Region::default();
    region.fields.insert(path.to_string(), state);
    region
}

struct Analysis<'m, 'r> {
    model: &'m Model<'r>,
    exact: bool,
    regions: usize,
}

impl Analysis<'_, '_> {
    fn bound(&mut self, root: Region, objective: &Objective) -> Bound {
        let found = self.model.maximize(root, objective);
        self.exact &= found.exact;
        self.regions += found.regions;
        let witness = witness::find(self.model, &found.region, objective);
        let value = found.value.is_finite().then_some(found.value);
        let reached =
            value.is_some_and(|v| witness.decides_to >= v * (1.0 - REACHED_WITHIN) - 0.005);
        Bound {
            value,
            rules: self.mentions(&found),
            grows_with: if value.is_none() {
                self.grows_with(&found)
            } else {
                Vec::new()
            },
            witness: Some(witness),
            reached,
        }
    }

    fn mentions(&self, found: &Found) -> Vec<RuleMention> {
        let ruleset = self.model.ruleset;
        let mut mentions = Vec::new();
        for part in &found.parts {
            let (rule, role) = match part {
                Part::Offer { rule, kind, upto } => {
                    (*rule, format!("offers {kind} worth up to {}", money(*upto)))
                }
                Part::Cap { rule, kind, upto } => {
                    let what = match kind {
                        Some(kind) => kind.to_string(),
                        None => "the total".to_string(),
                    };
                    let role = if upto.is_finite() {
                        format!("caps {what} at {upto:.2}")
                    } else {
                        format!("caps {what}, but has no upper bound itself")
                    };
                    (*rule, role)
                }
                Part::Grant { rule, upto } => (*rule, format!("grants up to {}", money(*upto))),
                Part::Proposal { plugin, kind } => {
                    mentions.push(RuleMention {
                        kind: "plugin",
                        name: Name::from(plugin.as_str()),
                        location: None,
                        role: format!("may propose {kind} offers, limited only by caps"),
                    });
                    continue;
                }
            };
            let (kind, name, location) = match rule {
                RuleRef::Compensate(i) => {
                    let r = &ruleset.compensations.rules[i];
                    (
                        RuleKind::Compensate.name(),
                        r.name.clone(),
                        r.location.clone(),
                    )
                }
                RuleRef::Cap(i) => {
                    let r = &ruleset.caps.rules[i];
                    (RuleKind::Cap.name(), r.name.clone(), r.location.clone())
                }
                RuleRef::Authority(i) => {
                    let r = &ruleset.authorities.rules[i];
                    (
                        RuleKind::Authority.name(),
                        r.name.clone(),
                        r.location.clone(),
                    )
                }
            };
            let mention = RuleMention {
                kind,
                name,
                location: Some(location),
                role,
            };
            if !mentions.contains(&mention) {
                mentions.push(mention);
            }
        }
        mentions
    }

    /// The inputs without an upper bound read by the rules that make the
    /// bound unbounded.
    fn grows_with(&self, found: &Found) -> Vec<String> {
        let mut paths = BTreeSet::new();
        // Proposals grow without bound only where no total cap applies.
        let capped = found
            .parts
            .iter()
            .any(|p| matches!(p, Part::Cap { kind: None, .. }));
        for part in &found.parts {
            let rule = match part {
                Part::Offer { rule, .. } | Part::Cap { rule, .. } | Part::Grant { rule, .. } => {
                    *rule
                }
                Part::Proposal { plugin, kind } => {
                    if !capped {
                        paths.insert(format!("`{kind}` offers plugin `{plugin}` proposes"));
                    }
                    continue;
                }
            };
            let Some((_, model)) = self.model.rules.iter().find(|(r, _)| *r == rule) else {
                continue;
            };
            let trees: Vec<_> = match &model.values {
                RuleValues::Offers(offers) => offers.iter().map(|(_, t)| t).collect(),
                RuleValues::Cap { total, per_kind } => total
                    .iter()
                    .chain(per_kind.iter().map(|(_, t)| t))
                    .collect(),
                RuleValues::Grant(cost) => vec![cost],
            };
            for tree in trees.into_iter().filter_map(|t| t.syntax()) {
                let mut read = BTreeSet::new();
                read_paths(tree, &mut read);
                for path in read {
                    let state = self.model.context.state(&found.region, &path);
                    if state.number.hi == f64::INFINITY
                        && matches!(
                            self.model.context.kind(&path),
                            Some(eval::FieldKind::Number { .. })
                        )
                    {
                        paths.insert(path);
                    }
                }
            }
        }
        paths.into_iter().collect()
    }
}

#[cfg(test)]
mod tests;

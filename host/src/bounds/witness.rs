//! Witnesses: a concrete complaint (event, plugin outputs, customer
//! history, proposals) inside the region a bound comes from, searched for
//! the one that decides closest to the bound, and decided for real.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::annotation::AnnotationValue;
use crate::bounds::domain::{Region, Texts};
use crate::bounds::eval::{FieldKind, numeric_literals, read_paths};
use crate::bounds::search::{Model, Objective, RuleValues};
use crate::decision::{Decision, Name, TraceLevel};
use crate::engine::{BudgetUse, Enrichment, Group, Proposal, StateView, decide};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::time::{Duration, Timestamp};

/// The value an input without an upper bound is given in a witness: large
/// enough to show how a bound grows with it.
pub const LARGE: f64 = 1_000_000.0;

/// Passes over the inputs when looking for a better witness.
const PASSES: usize = 3;

/// A complaint that reaches (or approaches) a bound.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Witness {
    pub event: ComplaintEvent,
    /// Plugin outputs the complaint was decided with, by plugin.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, BTreeMap<String, AnnotationValue>>,
    /// The customer history the store would report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<CustomerHistory>,
    /// Offers plugins proposed, (kind, value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<(Name, f64)>,
    /// What deciding it gave for the bound's measure.
    pub decides_to: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Choice {
    Unset,
    Number(f64),
    Text(String),
    Flag(bool),
}

/// State as a witness needs it: its history, nothing counted yet.
struct WitnessState(Option<CustomerHistory>);

impl StateView for WitnessState {
    fn history(&self, _: &ComplaintEvent, _: &str) -> Option<CustomerHistory> {
        self.0.clone()
    }

    fn control_line_count(&self, _: &str, _: &Group, _: Duration, _: Timestamp) -> Option<i64> {
        Some(0)
    }

    fn budget_use(&self, _: &str, _: &str, _: Duration, _: Timestamp) -> Option<BudgetUse> {
        Some(BudgetUse::default())
    }
}

/// What a decision gives for `objective`.
pub fn measure(decision: &Decision, objective: &Objective, model: &Model<'_>) -> f64 {
    let total: f64 = match objective {
        Objective::Payout => decision.offers.iter().map(|o| o.value).sum(),
        Objective::Kind(kind) => decision
            .offers
            .iter()
            .filter(|o| o.kind == *kind)
            .map(|o| o.value)
            .sum(),
        Objective::Authority => decision.authority.iter().map(|g| g.max_cost).sum(),
        Objective::Grant(i) => {
            let name = &model.ruleset.authorities.rules[*i].name;
            decision
                .authority
                .iter()
                .filter(|g| g.rule == *name)
                .map(|g| g.max_cost)
                .sum()
        }
    };
    // An empty sum of f64 is -0.0, which would print as `-0.00`.
    total + 0.0
}

/// Looks for the complaint in `region` that decides highest for
/// `objective`, by coordinate ascent over candidate values of each input.
pub fn find(model: &Model<'_>, region: &Region, objective: &Objective) -> Witness {
    let mut paths = BTreeSet::new();
    let mut literals = Vec::new();
    for (_, rule) in &model.rules {
        let mut trees = vec![&rule.when];
        match &rule.values {
            RuleValues::Offers(offers) => trees.extend(offers.iter().map(|(_, t)| t)),
            RuleValues::Cap { total, per_kind } => {
                trees.extend(total.iter());
                trees.extend(per_kind.iter().map(|(_, t)| t));
            }
            RuleValues::Grant(cost) => trees.push(cost),
        }
        for tree in trees.into_iter().filter_map(|t| t.syntax()) {
            read_paths(tree, &mut paths);
            numeric_literals(tree, &mut literals);
        }
    }
    let mut inputs: Vec<(String, Vec<Choice>)> = paths
        .into_iter()
        .filter_map(|path| {
            let choices = candidates(model, region, &path, &literals);
            (!choices.is_empty()).then_some((path, choices))
        })
        .collect();
    // Each kind a plugin may propose is an input too: a large proposal of
    // that kind, or none.
    for (_, kind) in &model.proposals {
        inputs.push((
            format!("{PROPOSAL}{kind}"),
            vec![Choice::Flag(true), Choice::Unset],
        ));
    }
    let mut assignment: Vec<usize> = vec![0; inputs.len()];
    let score = |assignment: &[usize]| {
        let witness = build(&inputs, assignment);
        let decision = decide_witness(model, &witness);
        measure(&decision, objective, model)
    };
    let mut best = score(&assignment);
    for _ in 0..PASSES {
        let mut improved = false;
        for input in 0..inputs.len() {
            for choice in 0..inputs[input].1.len() {
                if choice == assignment[input] {
                    continue;
                }
                let mut trial = assignment.clone();
                trial[input] = choice;
                let value = score(&trial);
                if value > best {
                    best = value;
                    assignment = trial;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    // Shrink: each input at its plainest value (unset, lowest) when that
    // decides as high, so the witness shows only what matters.
    for input in 0..inputs.len() {
        let choices = &inputs[input].1;
        let mut plainest: Vec<usize> = (0..choices.len()).collect();
        plainest.sort_by(|a, b| plainness(&choices[*a]).total_cmp(&plainness(&choices[*b])));
        for choice in plainest {
            if choice == assignment[input] {
                break;
            }
            let mut trial = assignment.clone();
            trial[input] = choice;
            if score(&trial) >= best {
                assignment = trial;
                break;
            }
        }
    }
    let mut witness = build(&inputs, &assignment);
    witness.decides_to = measure(&decide_witness(model, &witness), objective, model);
    witness
}

/// Values of `path` inside `region` worth trying, the likeliest maximum
/// first.
fn candidates(model: &Model<'_>, region: &Region, path: &str, literals: &[f64]) -> Vec<Choice> {
    let context = &model.context;
    let Some(kind) = context.kind(path) else {
        return Vec::new();
    };
    let state = context.state(region, path);
    let mut choices = Vec::new();
    if state.may_be_set {
        match kind {
            FieldKind::Number { int } => {
                let range = state.number;
                // Whole numbers for ints, whole cents for money when that
                // stays inside the region (a bound below 500 is 499.99).
                let fit = |v: f64| {
                    if int {
                        v.floor()
                    } else {
                        let cents = (v * 100.0).floor() / 100.0;
                        if range.contains(cents) { cents } else { v }
                    }
                };
                let mut points = Vec::new();
                points.push(if range.hi.is_finite() {
                    range.hi
                } else {
                    LARGE.max(range.lo)
                });
                if range.lo.is_finite() {
                    points.push(range.lo);
                }
                let mut inside: Vec<f64> = literals
                    .iter()
                    .copied()
                    .filter(|v| range.contains(*v))
                    .collect();
                inside.sort_by(|a, b| b.total_cmp(a));
                points.extend(inside);
                let mut seen = Vec::new();
                for point in points {
                    let value = fit(point);
                    let value = if range.contains(value) { value } else { point };
                    if seen.last() != Some(&value) && !seen[..seen.len().min(2)].contains(&value) {
                        seen.push(value);
                        choices.push(Choice::Number(value));
                    }
                }
            }
            FieldKind::Text => match &state.text {
                Texts::Only(values) => choices.extend(values.iter().cloned().map(Choice::Text)),
                Texts::AnyBut(excluded) => {
                    let mut fresh = "other".to_string();
                    while excluded.contains(&fresh) {
                        fresh.push('_');
                    }
                    choices.push(Choice::Text(fresh));
                }
            },
            FieldKind::Flag => {
                if state.flag.yes {
                    choices.push(Choice::Flag(true));
                }
                if state.flag.no {
                    choices.push(Choice::Flag(false));
                }
            }
            FieldKind::Other => {}
        }
    }
    if state.may_be_unset && kind != FieldKind::Other {
        choices.push(Choice::Unset);
    }
    choices
}

/// Unset first, then small numbers.
fn plainness(choice: &Choice) -> f64 {
    match choice {
        Choice::Unset => f64::NEG_INFINITY,
        Choice::Number(n) => n.abs(),
        Choice::Text(_) | Choice::Flag(_) => 0.0,
    }
}

/// Inputs named so are proposals of the kind that follows.
const PROPOSAL: &str = "proposal:";

fn build(inputs: &[(String, Vec<Choice>)], assignment: &[usize]) -> Witness {
    let mut event = ComplaintEvent::received("worst-case", Timestamp(0));
    let mut plugins: BTreeMap<String, BTreeMap<String, AnnotationValue>> = BTreeMap::new();
    let mut history: Option<CustomerHistory> = None;
    for ((path, choices), &index) in inputs.iter().zip(assignment) {
        let choice = &choices[index];
        let number = match choice {
            Choice::Number(n) => Some(*n),
            _ => None,
        };
        let text = match choice {
            Choice::Text(t) => Some(t.clone()),
            _ => None,
        };
        let customer = &mut event.customer;
        match path.as_str() {
            "channel" => event.channel = text,
            "location" => event.location = text,
            "language" => event.language = text,
            "category" => event.category = text,
            "product_line" => event.product_line = text,
            "currency" => event.currency = text,
            "status" => event.status = text,
            "text" => event.text = text.unwrap_or_default(),
            "amount" => event.amount = number,
            "customer.id" => customer.id = text,
            "customer.tier" => customer.tier = text,
            "customer.lifetime_value" => customer.lifetime_value = number.unwrap_or(0.0),
            "customer.deposits" => customer.deposits = number.unwrap_or(0.0),
            "customer.prior_goodwill" => customer.prior_goodwill = number.unwrap_or(0.0),
            "customer.tenure_days" => customer.tenure_days = number.unwrap_or(0.0) as i64,
            "customer.prior_complaints" => customer.prior_complaints = number.unwrap_or(0.0) as i64,
            "customer.open_cases" | "customer.complaints_30d" | "customer.goodwill_365d" => {
                if let Some(n) = number {
                    let h = history.get_or_insert_with(CustomerHistory::default);
                    match path.as_str() {
                        "customer.open_cases" => h.open_cases = n as i64,
                        "customer.complaints_30d" => h.complaints_30d = n as i64,
                        _ => h.goodwill_365d = n,
                    }
                }
            }
            other => {
                if let Some(rest) = other.strip_prefix("plugins.")
                    && let Some((plugin, key)) = rest.split_once('.')
                {
                    let value = match choice {
                        Choice::Number(n) => Some(AnnotationValue::Number(*n)),
                        Choice::Text(t) => Some(AnnotationValue::Text(t.clone())),
                        Choice::Flag(b) => Some(AnnotationValue::Flag(*b)),
                        Choice::Unset => None,
                    };
                    if let Some(value) = value {
                        plugins
                            .entry(plugin.to_string())
                            .or_default()
                            .insert(key.to_string(), value);
                    }
                }
            }
        }
    }
    let proposals = inputs
        .iter()
        .zip(assignment)
        .filter_map(|((path, choices), &index)| {
            let kind = path.strip_prefix(PROPOSAL)?;
            (choices[index] != Choice::Unset).then(|| (Name::from(kind), LARGE))
        })
        .collect();
    Witness {
        event,
        plugins,
        history,
        proposals,
        decides_to: 0.0,
    }
}

/// Decides a witness with the rule set, as the daemon would with these
/// plugin outputs and this history.
pub fn decide_witness(model: &Model<'_>, witness: &Witness) -> Decision {
    let env = model.context.env();
    let mut slots = Vec::new();
    for (plugin, outputs) in &witness.plugins {
        for (key, value) in outputs {
            if let Some(slot) = env
                .field(&format!("plugins.{plugin}.{key}"))
                .and_then(|f| f.slot)
            {
                if slots.len() <= slot {
                    slots.resize(slot + 1, None);
                }
                slots[slot] = Some(value.clone());
            }
        }
    }
    let proposals = witness
        .proposals
        .iter()
        .map(|(kind, value)| {
            let plugin = model
                .proposals
                .iter()
                .find(|(_, k)| k == kind)
                .map_or("plugin", |(p, _)| p.as_str());
            Proposal {
                plugin: Name::from(plugin),
                source: Name::from(format!("plugin:{plugin}")),
                kind: kind.clone(),
                value: *value,
                note: None,
            }
        })
        .collect();
    let enrichment = Enrichment {
        slots,
        by_plugin: Arc::new(Default::default()),
        category: None,
        proposals,
        runs: Arc::new(Vec::new()),
    };
    decide(
        model.ruleset,
        &witness.event,
        &enrichment,
        &WitnessState(witness.history.clone()),
        TraceLevel::None,
    )
}

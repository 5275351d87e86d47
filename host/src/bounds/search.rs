//! Branch and bound over regions of the input space: a region's bound
//! holds for every complaint in it; a region whose bound could still be
//! the largest is split on a comparison one of its undecided rules makes,
//! until every rule that matters is decided or the bound cannot win.

use std::collections::BTreeMap;

use cel::common::ast::IdedExpr;

use crate::bounds::domain::{Abstract, Outcome, Region};
use crate::bounds::eval::{Atom, Context};
use crate::decision::Name;
use crate::engine::round_cents;
use crate::expr::{Expression, syntax_tree};
use crate::rules::RuleSet;

/// Regions one search may assess before it settles for the bound of the
/// regions left (still an upper bound, only a looser one).
const MAX_REGIONS: usize = 20_000;

/// A condition or value expression, parsed once for the analysis.
pub struct Tree {
    /// `None` when it could not be read again (never for a compiled rule
    /// set): then it may be anything.
    tree: Option<IdedExpr>,
    always_true: bool,
}

impl Tree {
    fn of(expression: &Expression) -> Self {
        Tree {
            tree: syntax_tree(expression.analysis_source()),
            always_true: expression.is_always_true(),
        }
    }

    pub fn syntax(&self) -> Option<&IdedExpr> {
        self.tree.as_ref()
    }

    fn eval(&self, context: &Context<'_>, region: &Region) -> Abstract {
        if self.always_true {
            return Abstract::truth(crate::bounds::domain::Truth::exactly(true));
        }
        match &self.tree {
            Some(tree) => context.eval(tree, region),
            None => Abstract::top(),
        }
    }
}

/// One rule as the analysis reads it.
pub struct RuleModel {
    pub when: Tree,
    pub atoms: Vec<Atom>,
    pub values: RuleValues,
}

/// The money a rule speaks of.
pub enum RuleValues {
    Offers(Vec<(Name, Tree)>),
    Cap {
        total: Option<Tree>,
        per_kind: Vec<(Name, Tree)>,
    },
    Grant(Tree),
}

/// Where a rule sits: which kind, and its position in that kind's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleRef {
    Compensate(usize),
    Cap(usize),
    Authority(usize),
}

/// What is maximized.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// All offers of one complaint, after caps.
    Payout,
    /// One offer kind, after caps.
    Kind(Name),
    /// The `max_cost` of every grant on one complaint.
    Authority,
    /// One authority rule's `max_cost`.
    Grant(usize),
}

/// What makes up a region's bound.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Offer {
        rule: RuleRef,
        kind: Name,
        upto: f64,
    },
    Proposal {
        plugin: String,
        kind: Name,
    },
    /// A cap that matches every complaint of the region and binds.
    Cap {
        rule: RuleRef,
        kind: Option<Name>,
        upto: f64,
    },
    Grant {
        rule: RuleRef,
        upto: f64,
    },
}

/// The bound of one region and what it is made of.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub value: f64,
    pub parts: Vec<Part>,
}

/// The largest bound over the regions searched.
#[derive(Debug, Clone)]
pub struct Found {
    pub value: f64,
    pub parts: Vec<Part>,
    /// The region the bound comes from: where witnesses are sought.
    pub region: Region,
    /// False when the search stopped at [`MAX_REGIONS`].
    pub exact: bool,
    pub regions: usize,
}

/// A region with what is already known of each rule in it.
#[derive(Clone)]
struct Node {
    region: Region,
    outcomes: Vec<Outcome>,
}

/// The rule set as the analysis reads it.
pub struct Model<'r> {
    pub ruleset: &'r RuleSet,
    pub context: Context<'r>,
    pub rules: Vec<(RuleRef, RuleModel)>,
    /// (plugin, kind) of every proposal a plugin may make that the rule
    /// set accepts.
    pub proposals: Vec<(String, Name)>,
}

impl<'r> Model<'r> {
    pub fn new(ruleset: &'r RuleSet, context: Context<'r>) -> Self {
        let mut rules = Vec::new();
        let model = |when: &Expression, values: RuleValues, context: &Context<'_>| {
            let when = Tree::of(when);
            let mut atoms = Vec::new();
            if let Some(tree) = when.syntax() {
                context.atoms(tree, &mut atoms);
            }
            RuleModel {
                when,
                atoms,
                values,
            }
        };
        for (i, rule) in ruleset.compensations.rules.iter().enumerate() {
            let offers = rule
                .body
                .offers
                .iter()
                .map(|o| (o.kind.clone(), Tree::of(&o.value)))
                .collect();
            rules.push((
                RuleRef::Compensate(i),
                model(&rule.when, RuleValues::Offers(offers), &context),
            ));
        }
        for (i, rule) in ruleset.caps.rules.iter().enumerate() {
            let values = RuleValues::Cap {
                total: rule.body.max_total.as_ref().map(Tree::of),
                per_kind: rule
                    .body
                    .per_kind
                    .iter()
                    .map(|(kind, value)| (kind.clone(), Tree::of(value)))
                    .collect(),
            };
            rules.push((RuleRef::Cap(i), model(&rule.when, values, &context)));
        }
        for (i, rule) in ruleset.authorities.rules.iter().enumerate() {
            let values = RuleValues::Grant(Tree::of(&rule.body.max_cost));
            rules.push((RuleRef::Authority(i), model(&rule.when, values, &context)));
        }
        let proposals = context
            .env()
            .proposals()
            .iter()
            .filter(|(_, kind)| ruleset.settings.offer_kinds.contains(kind))
            .map(|(plugin, kind)| (plugin.clone(), Name::from(kind.as_str())))
            .collect();
        Model {
            ruleset,
            context,
            rules,
            proposals,
        }
    }

    fn relevant(&self, objective: &Objective, rule: RuleRef) -> bool {
        match (objective, rule) {
            (Objective::Payout | Objective::Kind(_), RuleRef::Compensate(_) | RuleRef::Cap(_)) => {
                true
            }
            (Objective::Authority, RuleRef::Authority(_)) => true,
            (Objective::Grant(i), RuleRef::Authority(j)) => *i == j,
            _ => false,
        }
    }

    fn node(&self, region: Region, parent: Option<&[Outcome]>, objective: &Objective) -> Node {
        let outcomes = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, (rule, model))| match parent.map(|p| p[i]) {
                // A narrower region keeps what was decided.
                Some(outcome @ (Outcome::Always | Outcome::Never)) => outcome,
                _ if !self.relevant(objective, *rule) => Outcome::Maybe,
                _ => model.when.eval(&self.context, &region).outcome(),
            })
            .collect();
        Node { region, outcomes }
    }

    /// The largest `objective` over `root`.
    pub fn maximize(&self, root: Region, objective: &Objective) -> Found {
        let mut stack = vec![self.node(root, None, objective)];
        let mut best: Option<Found> = None;
        let mut regions = 0;
        let mut exact = true;
        while let Some(node) = stack.pop() {
            let assessment = self.assess(&node, objective);
            if best.as_ref().is_some_and(|b| assessment.value <= b.value) {
                continue;
            }
            regions += 1;
            let children = if regions < MAX_REGIONS {
                self.split(&node, objective)
            } else {
                exact = false;
                None
            };
            match children {
                Some(children) => stack.extend(
                    children
                        .into_iter()
                        .map(|r| self.node(r, Some(&node.outcomes), objective)),
                ),
                None => {
                    best = Some(Found {
                        value: assessment.value,
                        parts: assessment.parts,
                        region: node.region,
                        exact: true,
                        regions: 0,
                    })
                }
            }
        }
        let mut found = best.unwrap_or(Found {
            value: 0.0,
            parts: Vec::new(),
            region: Region::default(),
            exact: true,
            regions: 0,
        });
        found.exact = exact;
        found.regions = regions;
        found
    }

    /// Splits on the first atom of an undecided rule that matters and
    /// that the region does not decide yet.
    fn split(&self, node: &Node, objective: &Objective) -> Option<Vec<Region>> {
        for (i, (rule, model)) in self.rules.iter().enumerate() {
            if node.outcomes[i] != Outcome::Maybe || !self.relevant(objective, *rule) {
                continue;
            }
            for atom in &model.atoms {
                if let Some(parts) = self.context.split(&node.region, atom) {
                    return Some(parts);
                }
            }
        }
        None
    }

    fn assess(&self, node: &Node, objective: &Objective) -> Assessment {
        match objective {
            Objective::Payout | Objective::Kind(_) => self.payout(node, objective),
            Objective::Authority | Objective::Grant(_) => self.grants(node, objective),
        }
    }

    /// The most a value expression can be, as the engine uses it (rounded
    /// to the cent, never below zero); `None` when it is never a number.
    fn upper(&self, tree: &Tree, region: &Region) -> Option<f64> {
        let value = tree.eval(&self.context, region);
        value.number.map(|n| round_cents(n.hi.max(0.0)))
    }

    fn payout(&self, node: &Node, objective: &Objective) -> Assessment {
        let mut sums: BTreeMap<Name, f64> = BTreeMap::new();
        let mut parts = Vec::new();
        let mut any_cap = false;
        let mut total_limit: Option<(f64, RuleRef)> = None;
        let mut kind_limits: BTreeMap<Name, (f64, RuleRef)> = BTreeMap::new();
        for (i, (rule, model)) in self.rules.iter().enumerate() {
            let outcome = node.outcomes[i];
            if outcome == Outcome::Never {
                continue;
            }
            match &model.values {
                RuleValues::Offers(offers) => {
                    for (kind, value) in offers {
                        let Some(upto) = self.upper(value, &node.region) else {
                            continue;
                        };
                        if upto > 0.0 {
                            *sums.entry(kind.clone()).or_default() += upto;
                            parts.push(Part::Offer {
                                rule: *rule,
                                kind: kind.clone(),
                                upto,
                            });
                        }
                    }
                }
                RuleValues::Cap { total, per_kind } => {
                    any_cap = true;
                    // Only a cap that applies to every complaint of the
                    // region limits its worst case. A value that cannot
                    // be computed allows nothing, as the engine does.
                    if outcome != Outcome::Always {
                        continue;
                    }
                    let limit = |tree: &Tree| self.upper(tree, &node.region).unwrap_or(0.0);
                    if let Some(tree) = total {
                        let value = limit(tree);
                        if total_limit.is_none_or(|(current, _)| value < current) {
                            total_limit = Some((value, *rule));
                        }
                    }
                    for (kind, tree) in per_kind {
                        let value = limit(tree);
                        if kind_limits
                            .get(kind)
                            .is_none_or(|(current, _)| value < *current)
                        {
                            kind_limits.insert(kind.clone(), (value, *rule));
                        }
                    }
                }
                RuleValues::Grant(_) => {}
            }
        }
        if any_cap {
            for (plugin, kind) in &self.proposals {
                sums.insert(kind.clone(), f64::INFINITY);
                parts.push(Part::Proposal {
                    plugin: plugin.clone(),
                    kind: kind.clone(),
                });
            }
        }
        // Every cap that applies is named, binding or not: an unbounded
        // cap explains an unbounded payout.
        let mut after: BTreeMap<Name, f64> = BTreeMap::new();
        for (kind, sum) in &sums {
            let value = match kind_limits.get(kind) {
                Some((limit, rule)) => {
                    parts.push(Part::Cap {
                        rule: *rule,
                        kind: Some(kind.clone()),
                        upto: *limit,
                    });
                    sum.min(*limit)
                }
                None => *sum,
            };
            after.insert(kind.clone(), value);
        }
        let value = match objective {
            Objective::Kind(kind) => after.get(kind).copied().unwrap_or(0.0),
            // An empty sum of f64 is -0.0, which would print as `-0.00`.
            _ => after.values().fold(0.0, |sum, value| sum + value),
        };
        let value = match total_limit {
            Some((limit, rule)) => {
                parts.push(Part::Cap {
                    rule,
                    kind: None,
                    upto: limit,
                });
                value.min(limit)
            }
            None => value,
        };
        if let Objective::Kind(kind) = objective {
            parts.retain(|part| match part {
                Part::Offer { kind: k, .. } | Part::Proposal { kind: k, .. } => k == kind,
                Part::Cap { kind: k, .. } => k.as_ref().is_none_or(|k| k == kind),
                Part::Grant { .. } => false,
            });
        }
        Assessment { value, parts }
    }

    fn grants(&self, node: &Node, objective: &Objective) -> Assessment {
        let mut value = 0.0;
        let mut parts = Vec::new();
        for (i, (rule, model)) in self.rules.iter().enumerate() {
            if node.outcomes[i] == Outcome::Never || !self.relevant(objective, *rule) {
                continue;
            }
            if let RuleValues::Grant(cost) = &model.values
                && let Some(upto) = self.upper(cost, &node.region)
            {
                value += upto;
                parts.push(Part::Grant { rule: *rule, upto });
            }
        }
        Assessment { value, parts }
    }
}

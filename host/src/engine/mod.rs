//! The rules stage: from an event and its plugin enrichment to a decision.
//!
//! Order: route (first match) → escalate (all matches) → SLA (first match)
//! → control lines (all matches, counted by the store) → compensate (all
//! matches) and plugin proposals → caps → authority (all matches, within
//! budget). Every rule consulted leaves a trace entry with the values its
//! condition read.
//!
//! `decide` runs one function per stage (`stages/`, a file per rule kind)
//! over one [`run::Run`], the decision under construction.

mod currency;
mod enrichment;
mod money;
mod offers;
mod run;
mod stages;
mod state;

pub use currency::{CurrencyError, as_plugins_see, check_currency, convert};
pub use enrichment::{Enrichment, Proposal};
pub use money::{budget_allows, round_cents, within};
pub use offers::{Limits, apply_caps};
pub use state::{BudgetUse, Group, StateView, Stateless, group_key};

use crate::decision::{Decision, Name, TraceLevel};
use crate::event::ComplaintEvent;
use crate::expr::Facts;
use crate::rule_kind::RuleKind;
use crate::rules::RuleSet;
use crate::time::Timestamp;

/// Decides one complaint. `event.received_at` must be set (intake fills it
/// in); if it is not, the Unix epoch is used so the call stays
/// deterministic.
pub fn decide(
    ruleset: &RuleSet,
    event: &ComplaintEvent,
    enrichment: &Enrichment,
    state: &dyn StateView,
    trace_level: TraceLevel,
) -> Decision {
    let converted = currency::convert(&ruleset.settings, event);
    let (event, conversion) = match &converted {
        Some((event, conversion)) => (event, Some(conversion.clone())),
        None => (event, None),
    };
    let history = state.history(event, &ruleset.settings.currency);
    let category = event.category.as_deref().or(enrichment.category.as_deref());
    let facts = Facts {
        event,
        category,
        annotations: &enrichment.slots,
        history: history.as_ref(),
    };
    let received_at = event.received_at.unwrap_or(Timestamp(0));
    let currency: Name = match &event.currency {
        Some(code) => Name::from(code.as_str()),
        None => ruleset.settings.currency.clone(),
    };
    let mut run = run::Run::new(&facts, trace_level, received_at, currency);

    // Every kind's rules are named here, so a kind added to the rule set
    // without a stage is an unused variable, not a silent no-op.
    let RuleSet {
        routes,
        escalations,
        slas,
        control_lines,
        compensations,
        caps,
        authorities,
        settings,
        version,
        files: _,
        texts: _,
        conditions: _,
    } = ruleset;
    let route = stages::route(&mut run, routes);
    stages::escalate(&mut run, escalations);
    let sla = stages::sla(&mut run, slas);
    let control_lines = stages::control_lines(&mut run, control_lines, &settings.levels, state);
    let mut offers = stages::compensate(&mut run, compensations);
    let limits = stages::caps(&mut run, caps);
    let left_out = stages::proposals(&run, &enrichment.proposals, settings, &limits, &mut offers);
    let removed_offers = stages::cut_by_caps(&mut run, &mut offers, &limits);
    for note in left_out {
        run.note_unattributed(RuleKind::Cap, note);
    }
    let authority = stages::authority(&mut run, authorities, event, &route, state);

    // Highest level first; among equals, rule order.
    let mut escalations = std::mem::take(&mut run.escalations);
    escalations.sort_by_key(|(level, _)| std::cmp::Reverse(*level));
    let escalation_level = escalations.first().map(|(_, e)| e.to.clone());
    let mut flags = std::mem::take(&mut run.flags);
    flags.sort();
    flags.dedup();
    let mut notify = std::mem::take(&mut run.notify);
    notify.sort();
    notify.dedup();

    Decision {
        event_id: event.id.clone(),
        ruleset_version: version.clone(),
        received_at,
        plugins: enrichment.runs.clone(),
        category: category.map(str::to_string),
        route,
        escalation_level,
        escalations: escalations.into_iter().map(|(_, e)| e).collect(),
        notify,
        sla,
        flags,
        offers,
        removed_offers,
        authority,
        control_lines,
        annotations: enrichment.by_plugin.clone(),
        conversion,
        trace: run.trace,
    }
}

#[cfg(test)]
mod tests;

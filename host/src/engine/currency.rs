//! One currency per rule set: thresholds, caps, offers and costs are in
//! `[ruleset] currency`, so an event's amount in another currency is
//! converted at a declared rate before any rule compares it, and an event
//! in a currency without a rate is refused at intake rather than compared
//! raw (200 CNY is not 200 USD).

use std::borrow::Cow;

use crate::decision::{Conversion, Name};
use crate::engine::money::round_cents;
use crate::event::ComplaintEvent;
use crate::rules::Settings;

/// An event in a currency the rule set cannot convert.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "complaint `{event_id}` is in {from}, but the rule set decides in {to} and has no rate for {from}: add `{from} = <{to} per {from}>` to `[ruleset] rates`, or send the amount in {to}"
)]
pub struct CurrencyError {
    pub event_id: String,
    pub from: String,
    pub to: Name,
}

/// Refuses an event whose currency the rule set can neither use nor
/// convert.
pub fn check_currency(settings: &Settings, event: &ComplaintEvent) -> Result<(), CurrencyError> {
    match &event.currency {
        Some(code)
            if code.as_str() != &*settings.currency
                && !settings.rates.contains_key(code.as_str()) =>
        {
            Err(CurrencyError {
                event_id: event.id.clone(),
                from: code.clone(),
                to: settings.currency.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// The event as the rules see it when its currency is not the rule set's:
/// the amount converted (or, without a rate, removed: never compared raw),
/// and how. `None` when the event is already in the rule set's currency.
pub fn convert(
    settings: &Settings,
    event: &ComplaintEvent,
) -> Option<(ComplaintEvent, Conversion)> {
    let from = event.currency.as_deref()?;
    if from == &*settings.currency {
        return None;
    }
    let rate = settings.rates.get(from).copied();
    let mut converted = event.clone();
    converted.amount = match rate {
        Some(rate) => event.amount.map(|amount| round_cents(amount * rate)),
        None => None,
    };
    converted.currency = Some(settings.currency.to_string());
    Some((
        converted,
        Conversion {
            from: Name::from(from),
            to: settings.currency.clone(),
            amount: event.amount,
            rate,
        },
    ))
}

/// The event as plugins see it: in the rule set's currency, converted as
/// the rules see it, so that an offer a plugin computes from `amount` is in
/// the currency the caps and the report count it in.
pub fn as_plugins_see<'e>(
    settings: &Settings,
    event: &'e ComplaintEvent,
) -> Cow<'e, ComplaintEvent> {
    match convert(settings, event) {
        Some((converted, _)) => Cow::Owned(converted),
        None => Cow::Borrowed(event),
    }
}

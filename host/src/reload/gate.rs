//! The reload gate: before a changed rule set goes live, the last N logged
//! complaints are decided again with it ([`crate::replay::diff`]); if more
//! would change than the operator allows, the new rule set is held (the
//! last good one keeps serving) until an admin accepts exactly that version
//! (`POST /v1/reload {"accept": "VERSION"}`). It runs in the reload, off
//! the request path: decisions never wait for it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::replay::DiffReport;

/// `[reload.gate]` as written.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Logged complaints (the most recent) to decide again with a changed
    /// rule set before it goes live; `0` turns the gate off. Default: `0`.
    pub replay: Option<usize>,
    /// Most share of those decisions that may change, from `0.0` to `1.0`
    /// (`0.05`: 5%). Default: no limit.
    pub max_changed: Option<f64>,
    /// Most of those complaints that may go to another queue. Default: no
    /// limit.
    pub max_route_changes: Option<u64>,
    /// Most the total compensation offered to those complaints may grow, in
    /// any one currency: a share as text (`"10%"`) or an amount (`500.0`).
    /// Default: no limit.
    pub max_payout_increase: Option<PayoutLimit>,
    /// Hold a rule set that removes a whole rule file, or every rule of a
    /// kind, whatever its diff. Default: `true` when the gate is on.
    pub hold_removals: Option<bool>,
}

/// A limit on the growth of compensation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(with = "serde_json::Value")]
pub enum PayoutLimit {
    /// A share of the total before (`"10%"` is `0.10`).
    Share(f64),
    /// An amount, in the currency of the offers.
    Amount(f64),
}

impl<'de> Deserialize<'de> for PayoutLimit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Amount(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Amount(amount) if amount >= 0.0 => Ok(PayoutLimit::Amount(amount)),
            Raw::Amount(amount) => Err(serde::de::Error::custom(format!(
                "`max_payout_increase` of {amount} is negative"
            ))),
            Raw::Text(text) => text
                .trim()
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|n| *n >= 0.0)
                .map(|n| PayoutLimit::Share(n / 100.0))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "invalid `max_payout_increase` `{text}`: write a share such as \"10%\" or an amount such as 500.0"
                    ))
                }),
        }
    }
}

/// The gate with its defaults applied; `None` when off.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub replay: usize,
    pub max_changed: Option<f64>,
    pub max_route_changes: Option<u64>,
    pub max_payout_increase: Option<PayoutLimit>,
    pub hold_removals: bool,
}

impl RawGate {
    pub fn gate(&self) -> Option<Gate> {
        let replay = self.replay.unwrap_or(0);
        (replay > 0).then(|| Gate {
            replay,
            max_changed: self.max_changed,
            max_route_changes: self.max_route_changes,
            max_payout_increase: self.max_payout_increase,
            hold_removals: self.hold_removals.unwrap_or(true),
        })
    }
}

impl Gate {
    /// The limits `report` exceeds, each said in words.
    pub fn exceeded(&self, report: &DiffReport) -> Vec<String> {
        let mut exceeded = Vec::new();
        if let Some(max) = self.max_changed
            && report.changed_share() > max
        {
            exceeded.push(format!(
                "{} of {} decisions would change ({:.1}%), over max_changed = {:.1}%",
                report.changed,
                report.replayed,
                report.changed_share() * 100.0,
                max * 100.0
            ));
        }
        if let Some(max) = self.max_route_changes
            && report.route_changes() > max
        {
            exceeded.push(format!(
                "{} complaints would go to another queue, over max_route_changes = {max}",
                report.route_changes()
            ));
        }
        if let Some(limit) = self.max_payout_increase {
            for total in &report.compensation.totals {
                let increase = total.after - total.before;
                let over = match limit {
                    PayoutLimit::Amount(max) => increase > max + 0.005,
                    PayoutLimit::Share(max) => {
                        increase > 0.005 && (total.before <= 0.0 || increase / total.before > max)
                    }
                };
                if over {
                    exceeded.push(format!(
                        "compensation in {} would grow from {:.2} to {:.2} (+{:.2}), over max_payout_increase = {}",
                        total.currency,
                        total.before,
                        total.after,
                        increase,
                        match limit {
                            PayoutLimit::Amount(max) => format!("{max}"),
                            PayoutLimit::Share(max) => format!("{}%", max * 100.0),
                        }
                    ));
                }
            }
        }
        exceeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payout_limits_read_as_shares_or_amounts() {
        let gate: RawGate = toml::from_str("replay = 100\nmax_payout_increase = \"10%\"").unwrap();
        assert_eq!(
            gate.gate().unwrap().max_payout_increase,
            Some(PayoutLimit::Share(0.1))
        );
        let gate: RawGate = toml::from_str("replay = 100\nmax_payout_increase = 500.0").unwrap();
        assert_eq!(
            gate.gate().unwrap().max_payout_increase,
            Some(PayoutLimit::Amount(500.0))
        );
        let error = toml::from_str::<RawGate>("max_payout_increase = \"lots\"").unwrap_err();
        assert!(
            error.to_string().contains("write a share such as"),
            "{error}"
        );
        assert!(RawGate::default().gate().is_none(), "off by default");
    }
}

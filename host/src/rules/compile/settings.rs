//! `[ruleset]`: the escalation levels, the currency and its rates, offer
//! kinds, the declared input ranges and worst-case limits.

use std::collections::BTreeMap;
use std::ops::Range;

use super::Checker;
use crate::decision::Name;
use crate::diagnostic::Diagnostic;
use crate::rules::parse::Parsed;
use crate::rules::raw::{DEFAULT_LEVELS, OFFER_KINDS, RawSettings};
use crate::rules::ruleset::{DeclaredLimits, Settings};
use crate::suggest::did_you_mean;

impl Checker<'_> {
    /// The rule set's settings: the defaults, changed by the one
    /// `[ruleset]` table (a second one is an error).
    pub(super) fn settings(&mut self, tables: &[Parsed<(RawSettings, Range<usize>)>]) -> Settings {
        let mut settings = Settings {
            levels: DEFAULT_LEVELS.iter().map(|s| s.to_string()).collect(),
            currency: Name::from("USD"),
            rates: BTreeMap::new(),
            offer_kinds: OFFER_KINDS.iter().map(|s| s.to_string()).collect(),
            ranges: BTreeMap::new(),
            limits: DeclaredLimits::default(),
        };
        for (position, parsed) in tables.iter().enumerate() {
            let (raw_settings, span) = &parsed.raw;
            if position > 0 {
                let first = self.location(tables[0].file, tables[0].raw.1.clone());
                self.diagnostics.push(
                    Diagnostic::error("`[ruleset]` is given more than once")
                        .at(self.location(parsed.file, span.clone()))
                        .with_help(format!(
                            "keep one `[ruleset]` table; the first is at {}:{}",
                            first.file.display(),
                            first.line
                        )),
                );
                continue;
            }
            if let Some(levels) = &raw_settings.escalation_levels {
                let mut seen = std::collections::HashSet::new();
                if levels.is_empty()
                    || levels
                        .iter()
                        .any(|l| l.trim().is_empty() || !seen.insert(l))
                {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        "`escalation_levels` must list distinct, non-empty level names, lowest first",
                        None,
                    );
                }
                settings.levels = levels.clone();
            }
            if let Some(currency) = &raw_settings.currency {
                if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`currency` `{currency}` is not an ISO 4217 code"),
                        Some("write a code such as `USD`, `CNY` or `PHP`".into()),
                    );
                }
                settings.currency = Name::from(currency.as_str());
            }
            for (code, rate) in &raw_settings.rates {
                if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())) {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`rates`: `{code}` is not an ISO 4217 code"),
                        Some("write a code such as `CNY` or `PHP`".into()),
                    );
                } else if !(rate.is_finite() && *rate > 0.0) {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`rates.{code}` must be a positive number, not {rate}"),
                        Some(format!(
                            "a rate is how many {} one {code} is worth",
                            settings.currency
                        )),
                    );
                } else if code.as_str() == &*settings.currency {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`rates.{code}`: `{code}` is the rule set's own currency"),
                        None,
                    );
                } else {
                    settings.rates.insert(Name::from(code.as_str()), *rate);
                }
            }
            settings
                .offer_kinds
                .extend(raw_settings.offer_kinds.iter().cloned());
            self.ranges(parsed.file, span, raw_settings, &mut settings);
            self.limits(parsed.file, span, raw_settings, &mut settings);
        }
        settings
    }

    /// `[ruleset.ranges]`: numeric fields, `[lowest, highest]`, finite.
    fn ranges(
        &mut self,
        file: usize,
        span: &Range<usize>,
        raw: &RawSettings,
        settings: &mut Settings,
    ) {
        for (path, [lo, hi]) in &raw.ranges {
            let numeric = self.env.field(path).is_some_and(|f| f.ty.is_numeric());
            if !numeric {
                let numbers: Vec<&str> = self
                    .env
                    .fields()
                    .filter(|(_, f)| f.ty.is_numeric())
                    .map(|(p, _)| p)
                    .collect();
                let help = did_you_mean(path, numbers.iter().copied())
                    .unwrap_or_else(|| format!("numeric fields: {}", numbers.join(", ")));
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`ranges.{path}`: `{path}` is not a numeric field"),
                    Some(help),
                );
                continue;
            }
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`ranges.{path}` must be `[lowest, highest]` with lowest <= highest"),
                    Some(format!("e.g. `{path} = [0, 100000]`")),
                );
                continue;
            }
            settings.ranges.insert(path.clone(), (*lo, *hi));
        }
    }

    /// The declared worst-case limits: non-negative numbers, known kinds.
    fn limits(
        &mut self,
        file: usize,
        span: &Range<usize>,
        raw: &RawSettings,
        settings: &mut Settings,
    ) {
        let mut check = |key: &str, value: f64| {
            let ok = value.is_finite() && value >= 0.0;
            if !ok {
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`{key}` must be a number of at least 0, not {value}"),
                    None,
                );
            }
            ok
        };
        let mut limits = DeclaredLimits {
            payout: raw.max_payout.filter(|v| check("max_payout", *v)),
            authority_per_complaint: raw
                .max_authority_per_complaint
                .filter(|v| check("max_authority_per_complaint", *v)),
            ..DeclaredLimits::default()
        };
        for (kind, value) in &raw.max_payout_per_kind {
            if check(&format!("max_payout_per_kind.{kind}"), *value) {
                limits
                    .payout_per_kind
                    .insert(Name::from(kind.as_str()), *value);
            }
        }
        for (rule, value) in &raw.max_authority_per_window {
            if check(&format!("max_authority_per_window.{rule}"), *value) {
                limits
                    .authority_per_window
                    .insert(Name::from(rule.as_str()), *value);
            }
        }
        for kind in raw.max_payout_per_kind.keys() {
            if !settings.offer_kinds.contains(kind) {
                let help = did_you_mean(kind, settings.offer_kinds.iter().map(String::as_str));
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`max_payout_per_kind.{kind}`: `{kind}` is not an offer kind"),
                    help,
                );
            }
        }
        if !limits.is_empty() {
            limits.declared_at = Some(self.location(file, span.clone()));
        }
        settings.limits = limits;
    }
}

//! `[[cap]]`: a total limit, limits per offer kind, or both.

use std::collections::BTreeMap;

use super::Checker;
use crate::decision::Name;
use crate::diagnostic::Diagnostic;
use crate::rules::raw::RawCap;
use crate::rules::ruleset::{Cap, Settings};
use crate::suggest::did_you_mean;

impl Checker<'_> {
    pub(super) fn cap(&mut self, file: usize, r: &RawCap, settings: &Settings) -> Option<Cap> {
        if r.max_total.is_none() && r.per_kind.is_empty() {
            self.error_at(
                file,
                r.name.span(),
                "this cap limits nothing",
                Some("give `max_total` or `per_kind`".into()),
            );
        }
        let max_total = match &r.max_total {
            Some(amount) => Some(self.amount(file, amount)?),
            None => None,
        };
        let mut per_kind = BTreeMap::new();
        for (kind, amount) in &r.per_kind {
            if !settings.offer_kinds.contains(kind) {
                let help = did_you_mean(kind, settings.offer_kinds.iter().map(String::as_str));
                self.diagnostics.push(
                    Diagnostic::error(format!("unknown offer kind `{kind}` in `per_kind`"))
                        .at(self.location(file, amount.span()))
                        .with_help_opt(help),
                );
            }
            per_kind.insert(Name::from(kind.as_str()), self.amount(file, amount)?);
        }
        Some(Cap {
            max_total,
            per_kind,
        })
    }
}

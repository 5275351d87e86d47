//! `[[sla]]`: at least one positive commitment, and what a breach raises.

use super::{Checker, names};
use crate::decision::Name;
use crate::rules::raw::RawSla;
use crate::rules::ruleset::{Breach, Settings, Sla};

impl Checker<'_> {
    pub(super) fn sla(&mut self, file: usize, r: &RawSla, settings: &Settings) -> Option<Sla> {
        if r.first_response.is_none() && r.resolve.is_none() && r.follow_up.is_none() {
            self.error_at(
                file,
                r.name.span(),
                "this SLA makes no commitment",
                Some("give at least one of `first_response`, `resolve`, `follow_up`".into()),
            );
        }
        let first_response = self.positive(file, r.first_response.as_ref());
        let resolve = self.positive(file, r.resolve.as_ref());
        let follow_up = self.positive(file, r.follow_up.as_ref());
        let on_breach = match &r.on_breach {
            Some(breach) => Some(Breach {
                escalate: match &breach.escalate {
                    Some(level) => {
                        self.level(file, level, settings)?;
                        Some(Name::from(level.get().as_str()))
                    }
                    None => None,
                },
                notify: names(&breach.notify),
            }),
            None => None,
        };
        Some(Sla {
            first_response,
            resolve,
            follow_up,
            on_breach,
        })
    }
}

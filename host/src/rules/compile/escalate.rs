//! `[[escalate]]`: a known level, the reason, who to notify.

use super::{Checker, names};
use crate::decision::Name;
use crate::rules::raw::RawEscalate;
use crate::rules::ruleset::{Escalate, Settings};

impl Checker<'_> {
    pub(super) fn escalate(
        &mut self,
        file: usize,
        r: &RawEscalate,
        settings: &Settings,
    ) -> Option<Escalate> {
        let level = self.level(file, &r.to, settings)?;
        Some(Escalate {
            to: Name::from(r.to.get().as_str()),
            level,
            reason: r
                .reason
                .as_deref()
                .or(r.description.as_deref())
                .map(Name::from),
            notify: names(&r.notify),
        })
    }
}

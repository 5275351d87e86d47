//! `[[route]]`: a queue and, optionally, the rank of who answers.

use super::Checker;
use crate::decision::Name;
use crate::rules::raw::RawRoute;
use crate::rules::ruleset::Route;

impl Checker<'_> {
    pub(super) fn route(&mut self, file: usize, r: &RawRoute) -> Option<Route> {
        if r.queue.trim().is_empty() {
            self.error_at(file, r.name.span(), "`queue` must not be empty", None);
        }
        Some(Route {
            queue: Name::from(r.queue.as_str()),
            handler: r.handler.as_deref().map(Name::from),
        })
    }
}

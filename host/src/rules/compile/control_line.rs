//! `[[control_line]]`: the group, a window in whole minutes, a count
//! limit or a rate over a volume, what crossing triggers.

use super::{Checker, DEFAULT_CONTROL_FLAG, names};
use crate::decision::Name;
use crate::expr::Expect;
use crate::rules::raw::RawControlLine;
use crate::rules::ruleset::{ControlAction, ControlLimit, ControlLine, Settings};

impl Checker<'_> {
    pub(super) fn control_line(
        &mut self,
        file: usize,
        r: &RawControlLine,
        settings: &Settings,
    ) -> Option<ControlLine> {
        let mut group_by = Vec::new();
        for path in &r.group_by {
            let expression = self.expression(file, path, Expect::Any, "")?;
            group_by.push((Name::from(path.get().as_str()), expression));
        }
        let window = self.positive(file, Some(&r.window))?;
        if window.millis() % 60_000 != 0 {
            self.error_at(
                file,
                r.window.span(),
                "a control line's `window` must be a whole number of minutes",
                Some("the store counts control lines in minute buckets; e.g. `\"30m\"`, `\"24h\"`, `\"30d\"`".to_string()),
            );
            return None;
        }
        let limit = match (&r.limit, r.max_rate, &r.volume) {
            (Some(limit), None, None) => {
                if *limit.get() < 0 {
                    self.error_at(file, limit.span(), "`limit` must be zero or more", None);
                    return None;
                }
                ControlLimit::Count(*limit.get())
            }
            (None, Some(max_rate), Some(volume)) => {
                if !max_rate.is_finite() || max_rate < 0.0 {
                    self.error_at(
                        file,
                        r.name.span(),
                        "`max_rate` must be a finite number, zero or more",
                        None,
                    );
                    return None;
                }
                let volume = self.expression(file, volume, Expect::Number, "")?;
                ControlLimit::Rate { max_rate, volume }
            }
            (None, Some(_), None) => {
                self.error_at(
                    file,
                    r.name.span(),
                    "`max_rate` needs `volume`",
                    Some("e.g. `volume = \"attrs.units_sold\"`".into()),
                );
                return None;
            }
            (Some(limit), Some(_), _) => {
                self.error_at(
                    file,
                    limit.span(),
                    "give either `limit` or `max_rate`, not both",
                    None,
                );
                return None;
            }
            _ => {
                self.error_at(
                    file,
                    r.name.span(),
                    "a control line needs `limit` (a count) or `max_rate` with `volume`",
                    Some("e.g. `limit = 5`".into()),
                );
                return None;
            }
        };
        let then = match &r.then {
            Some(action) => {
                if let Some(level) = &action.escalate {
                    self.level(file, level, settings)?;
                }
                ControlAction {
                    escalate: action
                        .escalate
                        .as_ref()
                        .map(|l| Name::from(l.get().as_str())),
                    notify: names(&action.notify),
                    flag: Name::from(action.flag.as_deref().unwrap_or(DEFAULT_CONTROL_FLAG)),
                }
            }
            None => ControlAction {
                escalate: None,
                notify: Vec::new(),
                flag: Name::from(DEFAULT_CONTROL_FLAG),
            },
        };
        Some(ControlLine {
            group_by,
            window,
            limit,
            then,
        })
    }
}

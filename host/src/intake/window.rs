//! The timestamps the daemon accepts: within a window around its own
//! clock. An event dated year 9999 would arm SLA timers due in year 10000,
//! which RFC 3339 cannot write and which no consumer reads; one dated
//! decades back is a mistake more often than history. Both are refused
//! with the window named, and the window is configurable
//! (`[limits] timestamp_past`, `timestamp_future`).

use crate::event::ComplaintEvent;
use crate::time::{Duration, Timestamp};

/// How far before and after the daemon's clock an event's timestamps may
/// lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub past: Duration,
    pub future: Duration,
}

impl TimeWindow {
    /// Ten years back (imports of history) and a day ahead (senders whose
    /// clocks run fast).
    pub const DEFAULT: TimeWindow = TimeWindow {
        past: Duration::from_hours(3650 * 24),
        future: Duration::from_hours(24),
    };

    /// Refuses the first of `received_at` and `occurred_at` outside the
    /// window around `now`.
    pub fn check(&self, event: &ComplaintEvent, now: Timestamp) -> Result<(), OutOfWindow> {
        let earliest = Timestamp::from_millis(now.millis().saturating_sub(self.past.millis()));
        let latest = Timestamp::from_millis(now.millis().saturating_add(self.future.millis()));
        for (field, value) in [
            ("received_at", event.received_at),
            ("occurred_at", event.occurred_at),
        ] {
            if let Some(at) = value
                && (at < earliest || at > latest)
            {
                return Err(OutOfWindow {
                    field,
                    at,
                    now,
                    earliest,
                    latest,
                    window: *self,
                });
            }
        }
        Ok(())
    }
}

/// A timestamp outside the accepted window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{field}` {at} is outside the window the daemon accepts around its clock ({now}): from {earliest} ({past} before) to {latest} ({future} after); set `[limits] timestamp_past` or `timestamp_future` to widen it",
    past = window.past,
    future = window.future
)]
pub struct OutOfWindow {
    pub field: &'static str,
    pub at: Timestamp,
    pub now: Timestamp,
    pub earliest: Timestamp,
    pub latest: Timestamp,
    pub window: TimeWindow,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> ComplaintEvent {
        ComplaintEvent::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn timestamps_far_from_the_clock_are_refused_with_the_window() {
        let now = "2026-12-03T12:00:00Z".parse::<Timestamp>().unwrap();
        let window = TimeWindow::DEFAULT;
        assert!(
            window
                .check(&event(r#"{"id": "a", "received_at": "2026-12-04T11:59:00Z", "occurred_at": "2017-01-01T00:00:00Z"}"#), now)
                .is_ok()
        );
        let error = window
            .check(
                &event(r#"{"id": "b", "received_at": "9999-12-31T23:59:59Z"}"#),
                now,
            )
            .unwrap_err();
        assert_eq!(error.field, "received_at");
        let text = error.to_string();
        assert!(
            text.contains("9999-12-31T23:59:59Z")
                && text.contains("to 2026-12-04T12:00:00Z (24h after)"),
            "{text}"
        );
        let error = window
            .check(
                &event(r#"{"id": "c", "occurred_at": "1900-01-01T00:00:00Z"}"#),
                now,
            )
            .unwrap_err();
        assert_eq!(error.field, "occurred_at");
    }
}

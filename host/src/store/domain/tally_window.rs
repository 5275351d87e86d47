//! The buckets control-line counts are kept in, whatever the backend.
//!
//! Each complaint a control line counts adds one to three buckets of its
//! cell: its minute, its hour and its day. A window is then summed from
//! whole days in the middle, whole hours next to them and single minutes at
//! the edges: at most 2 x 59 minute rows, 2 x 23 hour rows and one row per
//! day, however many complaints the cell holds. Windows are counted in
//! whole minutes: a complaint counts while its minute lies in the window.

const MINUTE: i64 = 60_000;
const MINUTES_PER_HOUR: i64 = 60;
const HOURS_PER_DAY: i64 = 24;

/// Bucket sizes, smallest first; the level is the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Minute = 0,
    Hour = 1,
    Day = 2,
}

/// The buckets a complaint at `at` (ms) adds one to: (level, bucket).
pub fn buckets_of(at: i64) -> [(Level, i64); 3] {
    let minute = at.div_euclid(MINUTE);
    let hour = minute.div_euclid(MINUTES_PER_HOUR);
    let day = hour.div_euclid(HOURS_PER_DAY);
    [
        (Level::Minute, minute),
        (Level::Hour, hour),
        (Level::Day, day),
    ]
}

/// The bucket ranges, (level, first, last), that count the complaints
/// whose minute lies after `from`'s minute and up to `to`'s (both ms).
pub fn window_spans(from: i64, to: i64) -> Vec<(Level, i64, i64)> {
    spans(from.div_euclid(MINUTE) + 1, to.div_euclid(MINUTE))
}

/// Splits the minutes `first..=last` into the fewest bucket ranges: whole
/// days, then whole hours, then minutes.
fn spans(first: i64, last: i64) -> Vec<(Level, i64, i64)> {
    let mut spans = Vec::with_capacity(5);
    if first > last {
        return spans;
    }
    // Whole hours inside the minutes: [hour_from, hour_to).
    let hour_from = ceil_div(first, MINUTES_PER_HOUR);
    let hour_to = (last + 1).div_euclid(MINUTES_PER_HOUR);
    if hour_from >= hour_to {
        spans.push((Level::Minute, first, last));
        return spans;
    }
    push(
        &mut spans,
        Level::Minute,
        first,
        hour_from * MINUTES_PER_HOUR - 1,
    );
    push(&mut spans, Level::Minute, hour_to * MINUTES_PER_HOUR, last);
    // Whole days inside those hours: [day_from, day_to).
    let day_from = ceil_div(hour_from, HOURS_PER_DAY);
    let day_to = hour_to.div_euclid(HOURS_PER_DAY);
    if day_from >= day_to {
        push(&mut spans, Level::Hour, hour_from, hour_to - 1);
        return spans;
    }
    push(
        &mut spans,
        Level::Hour,
        hour_from,
        day_from * HOURS_PER_DAY - 1,
    );
    push(&mut spans, Level::Hour, day_to * HOURS_PER_DAY, hour_to - 1);
    push(&mut spans, Level::Day, day_from, day_to - 1);
    spans
}

fn push(spans: &mut Vec<(Level, i64, i64)>, level: Level, low: i64, high: i64) {
    if low <= high {
        spans.push((level, low, high));
    }
}

fn ceil_div(value: i64, by: i64) -> i64 {
    -(-value).div_euclid(by)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MINUTES: i64 = MINUTES_PER_HOUR * HOURS_PER_DAY;

    fn minutes_covered(spans: &[(Level, i64, i64)]) -> Vec<i64> {
        let mut minutes: Vec<i64> = spans
            .iter()
            .flat_map(|&(level, low, high)| {
                let size = match level {
                    Level::Minute => 1,
                    Level::Hour => MINUTES_PER_HOUR,
                    Level::Day => DAY_MINUTES,
                };
                (low * size)..((high + 1) * size)
            })
            .collect();
        minutes.sort_unstable();
        minutes
    }

    #[test]
    fn spans_cover_every_minute_once() {
        for (first, last) in [
            (0, 0),
            (5, 4),
            (1, 59),
            (59, 61),
            (0, 59),
            (-90, 30),
            (10, DAY_MINUTES * 3 + 17),
            (DAY_MINUTES - 1, DAY_MINUTES * 31),
            (-DAY_MINUTES * 2 - 5, 7),
            (12_345, 12_345 + 30 * DAY_MINUTES),
        ] {
            let spans = spans(first, last);
            let expected: Vec<i64> = (first..=last).collect();
            assert_eq!(
                minutes_covered(&spans),
                expected,
                "{first}..={last}: {spans:?}"
            );
            assert!(spans.len() <= 5);
        }
    }

    #[test]
    fn a_thirty_day_window_reads_few_rows() {
        let spans = spans(100, 100 + 30 * DAY_MINUTES);
        let rows: i64 = spans.iter().map(|&(_, low, high)| high - low + 1).sum();
        assert!(rows < 2 * 59 + 2 * 23 + 31, "{rows} rows: {spans:?}");
    }
}

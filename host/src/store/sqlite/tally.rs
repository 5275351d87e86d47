//! Control-line counts over sliding windows, at a cost that does not grow
//! with the number of complaints counted.
//!
//! Each complaint a control line counts adds one to three buckets of its
//! cell: its minute, its hour and its day. A window is then summed from
//! whole days in the middle, whole hours next to them and single minutes at
//! the edges: at most 2 x 59 minute rows, 2 x 23 hour rows and one row per
//! day, however many complaints the cell holds. Windows are counted in
//! whole minutes: a complaint counts while its minute lies in the window.

use rusqlite::{Connection, params};

use crate::store::StoreError;

const MINUTE: i64 = 60_000;
const MINUTES_PER_HOUR: i64 = 60;
const HOURS_PER_DAY: i64 = 24;

/// Bucket sizes, smallest first; the level is the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Minute = 0,
    Hour = 1,
    Day = 2,
}

/// Counts one complaint at `at` (ms) in the cell `(rule, group)`.
pub(in crate::store) fn add(
    connection: &Connection,
    rule: &str,
    group: &str,
    at: i64,
) -> Result<(), StoreError> {
    let minute = at.div_euclid(MINUTE);
    let hour = minute.div_euclid(MINUTES_PER_HOUR);
    let day = hour.div_euclid(HOURS_PER_DAY);
    let mut statement = connection.prepare_cached(
        "INSERT INTO control_tallies (rule, grp, level, bucket, count) VALUES (?1, ?2, ?3, ?4, 1)
         ON CONFLICT (rule, grp, level, bucket) DO UPDATE SET count = count + 1",
    )?;
    for (level, bucket) in [
        (Level::Minute, minute),
        (Level::Hour, hour),
        (Level::Day, day),
    ] {
        statement.execute(params![rule, group, level as i64, bucket])?;
    }
    Ok(())
}

/// Complaints counted in the cell whose minute lies after `from`'s minute
/// and up to `to`'s minute (both ms).
pub(in crate::store) fn count(
    connection: &Connection,
    rule: &str,
    group: &str,
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    let first = from.div_euclid(MINUTE) + 1;
    let last = to.div_euclid(MINUTE);
    let mut statement = connection.prepare_cached(
        "SELECT COALESCE(SUM(count), 0) FROM control_tallies
         WHERE rule = ?1 AND grp = ?2 AND level = ?3 AND bucket BETWEEN ?4 AND ?5",
    )?;
    let mut total = 0;
    for (level, low, high) in spans(first, last) {
        total += statement.query_row(params![rule, group, level as i64, low, high], |row| {
            row.get::<_, i64>(0)
        })?;
    }
    Ok(total)
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

    #[test]
    fn counts_follow_the_window() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE control_tallies (rule TEXT, grp TEXT, level INTEGER, bucket INTEGER, count INTEGER,
                 PRIMARY KEY (rule, grp, level, bucket)) WITHOUT ROWID",
            )
            .unwrap();
        let day = 86_400_000;
        let start = 1_790_000_000_000_i64;
        for n in 0..40 {
            add(&connection, "r", "g", start + n * day / 2).unwrap();
        }
        add(&connection, "r", "other", start).unwrap();
        let now = start + 39 * day / 2;
        // 30 days back from the last complaint: the complaints of the last
        // 30 days, one every 12 hours, the last one included.
        assert_eq!(
            count(&connection, "r", "g", now - 30 * day, now).unwrap(),
            40
        );
        assert_eq!(
            count(&connection, "r", "g", now - 10 * day, now).unwrap(),
            20
        );
        assert_eq!(count(&connection, "r", "g", now - day, now).unwrap(), 2);
        assert_eq!(count(&connection, "r", "g", now, now).unwrap(), 0);
        assert_eq!(
            count(&connection, "r", "other", now - 30 * day, now).unwrap(),
            1
        );
        assert_eq!(
            count(&connection, "r", "g", now + day, now + 31 * day).unwrap(),
            0
        );
    }
}

//! Control-line counts over sliding windows in SQLite, in the buckets
//! [`tally_window`](crate::store::domain::tally_window) lays out.

use rusqlite::{Connection, params};

use crate::store::StoreError;

use crate::store::domain::tally_window::{buckets_of, window_spans};

/// Counts one complaint at `at` (ms) in the cell `(rule, group)`.
pub(in crate::store) fn add(
    connection: &Connection,
    rule: &str,
    group: &str,
    at: i64,
) -> Result<(), StoreError> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO control_tallies (rule, grp, level, bucket, count) VALUES (?1, ?2, ?3, ?4, 1)
         ON CONFLICT (rule, grp, level, bucket) DO UPDATE SET count = count + 1",
    )?;
    for (level, bucket) in buckets_of(at) {
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
    let mut statement = connection.prepare_cached(
        "SELECT COALESCE(SUM(count), 0) FROM control_tallies
         WHERE rule = ?1 AND grp = ?2 AND level = ?3 AND bucket BETWEEN ?4 AND ?5",
    )?;
    let mut total = 0;
    for (level, low, high) in window_spans(from, to) {
        total += statement.query_row(params![rule, group, level as i64, low, high], |row| {
            row.get::<_, i64>(0)
        })?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

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

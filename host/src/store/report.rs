//! The monthly report to decision makers (seed 001): complaints by
//! category, product line and customer tier over a period, with SLA
//! breaches, follow-ups and compensation.

use std::fmt::Write as _;

use serde::Serialize;

use crate::time::Timestamp;

/// One cell of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub category: Option<String>,
    pub product_line: Option<String>,
    pub tier: Option<String>,
    pub complaints: i64,
    /// Cases resolved, confirmed or closed.
    pub resolved: i64,
    /// Cases escalated beyond the front line.
    pub escalated: i64,
    /// SLA commitments missed (first response or resolution).
    pub sla_breaches: i64,
    pub follow_ups_scheduled: i64,
    pub follow_ups_done: i64,
    /// Worth of the offers made.
    pub compensation: f64,
}

/// The report over `[from, to)`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: Timestamp,
    pub to: Timestamp,
    pub rows: Vec<ReportRow>,
    pub totals: ReportRow,
}

impl Report {
    pub fn new(from: Timestamp, to: Timestamp, rows: Vec<ReportRow>) -> Self {
        let mut totals = ReportRow {
            category: None,
            product_line: None,
            tier: None,
            complaints: 0,
            resolved: 0,
            escalated: 0,
            sla_breaches: 0,
            follow_ups_scheduled: 0,
            follow_ups_done: 0,
            compensation: 0.0,
        };
        for row in &rows {
            totals.complaints += row.complaints;
            totals.resolved += row.resolved;
            totals.escalated += row.escalated;
            totals.sla_breaches += row.sla_breaches;
            totals.follow_ups_scheduled += row.follow_ups_scheduled;
            totals.follow_ups_done += row.follow_ups_done;
            totals.compensation += row.compensation;
        }
        Report {
            from,
            to,
            rows,
            totals,
        }
    }

    /// The report as a table for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Complaints from {} to {}", self.from, self.to);
        let _ = writeln!(
            out,
            "\n{:<22} {:<14} {:<10} {:>10} {:>9} {:>10} {:>9} {:>11} {:>13}",
            "category",
            "product line",
            "tier",
            "complaints",
            "resolved",
            "escalated",
            "breaches",
            "follow-ups",
            "compensation"
        );
        let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
        for row in self.rows.iter().chain(std::iter::once(&self.totals)) {
            let is_total = std::ptr::eq(row, &self.totals);
            let _ = writeln!(
                out,
                "{:<22} {:<14} {:<10} {:>10} {:>9} {:>10} {:>9} {:>11} {:>13.2}",
                if is_total {
                    "total".to_string()
                } else {
                    text(&row.category)
                },
                if is_total {
                    String::new()
                } else {
                    text(&row.product_line)
                },
                if is_total {
                    String::new()
                } else {
                    text(&row.tier)
                },
                row.complaints,
                row.resolved,
                row.escalated,
                row.sla_breaches,
                format!("{}/{}", row.follow_ups_done, row.follow_ups_scheduled),
                row.compensation
            );
        }
        out.push_str("\nfollow-ups: done / scheduled after resolution\n");
        out
    }
}

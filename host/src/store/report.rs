//! The monthly report to decision makers (seed 001): complaints by
//! category, product line and customer tier over a period, with SLA
//! breaches, follow-ups and compensation.

use std::fmt::Write as _;

use serde::Serialize;

use crate::time::Timestamp;

/// One cell of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
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
    /// Worth of the offers made, one amount per currency (largest first),
    /// never added across currencies.
    pub compensation: Vec<Amount>,
}

/// One cell of the grid, as the report's rows name it (`None`: not set).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GridCell {
    pub category: Option<String>,
    pub product_line: Option<String>,
    pub tier: Option<String>,
}

impl ReportRow {
    /// The grid cell this row counts.
    pub fn cell(&self) -> GridCell {
        GridCell {
            category: self.category.clone(),
            product_line: self.product_line.clone(),
            tier: self.tier.clone(),
        }
    }
}

/// A sum of money in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Amount {
    /// ISO 4217 code; `None` for cases opened before the store recorded
    /// their currency (schema version 7).
    pub currency: Option<String>,
    pub amount: f64,
}

impl Amount {
    fn render(&self) -> String {
        match &self.currency {
            Some(code) => format!("{:.2} {code}", self.amount),
            None => format!("{:.2} (currency not recorded)", self.amount),
        }
    }
}

/// Adds `amount` to the entry of its currency in `sums`.
pub(super) fn add_amount(sums: &mut Vec<Amount>, currency: Option<String>, amount: f64) {
    match sums.iter_mut().find(|sum| sum.currency == currency) {
        Some(sum) => sum.amount += amount,
        None => sums.push(Amount { currency, amount }),
    }
}

/// Largest first, then by code: a stable order for tables and JSON.
fn sort_amounts(sums: &mut [Amount]) {
    sums.sort_by(|a, b| {
        b.amount
            .total_cmp(&a.amount)
            .then_with(|| a.currency.cmp(&b.currency))
    });
}

/// The report over `[from, to)`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub from: Timestamp,
    pub to: Timestamp,
    pub rows: Vec<ReportRow>,
    pub totals: ReportRow,
}

impl Report {
    pub fn new(from: Timestamp, to: Timestamp, mut rows: Vec<ReportRow>) -> Self {
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
            compensation: Vec::new(),
        };
        for row in &mut rows {
            sort_amounts(&mut row.compensation);
            totals.complaints += row.complaints;
            totals.resolved += row.resolved;
            totals.escalated += row.escalated;
            totals.sla_breaches += row.sla_breaches;
            totals.follow_ups_scheduled += row.follow_ups_scheduled;
            totals.follow_ups_done += row.follow_ups_done;
            for sum in &row.compensation {
                add_amount(&mut totals.compensation, sum.currency.clone(), sum.amount);
            }
        }
        sort_amounts(&mut totals.compensation);
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
            "\n{:<22} {:<14} {:<10} {:>10} {:>9} {:>10} {:>9} {:>11}  compensation",
            "category",
            "product line",
            "tier",
            "complaints",
            "resolved",
            "escalated",
            "breaches",
            "follow-ups",
        );
        let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
        for row in self.rows.iter().chain(std::iter::once(&self.totals)) {
            let is_total = std::ptr::eq(row, &self.totals);
            let _ = writeln!(
                out,
                "{:<22} {:<14} {:<10} {:>10} {:>9} {:>10} {:>9} {:>11}  {}",
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
                render_amounts(&row.compensation)
            );
        }
        out.push_str("\nfollow-ups: done / scheduled after resolution\n");
        out.push_str("compensation: per currency, never added across currencies\n");
        out
    }
}

fn render_amounts(sums: &[Amount]) -> String {
    if sums.is_empty() {
        return "-".to_string();
    }
    sums.iter()
        .map(Amount::render)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(category: &str, compensation: Vec<Amount>) -> ReportRow {
        ReportRow {
            category: Some(category.to_string()),
            product_line: None,
            tier: None,
            complaints: 1,
            resolved: 0,
            escalated: 0,
            sla_breaches: 0,
            follow_ups_scheduled: 0,
            follow_ups_done: 0,
            compensation,
        }
    }

    fn amount(currency: Option<&str>, amount: f64) -> Amount {
        Amount {
            currency: currency.map(str::to_string),
            amount,
        }
    }

    #[test]
    fn totals_are_per_currency_and_never_one_sum() {
        let report = Report::new(
            Timestamp(0),
            Timestamp(1),
            vec![
                row("a", vec![amount(Some("USD"), 10.0)]),
                row(
                    "b",
                    vec![amount(Some("CNY"), 200.0), amount(Some("USD"), 5.0)],
                ),
                row("c", vec![amount(None, 3.0)]),
            ],
        );
        assert_eq!(
            report.totals.compensation,
            vec![
                amount(Some("CNY"), 200.0),
                amount(Some("USD"), 15.0),
                amount(None, 3.0)
            ]
        );
        let table = report.render();
        let total = table.lines().find(|l| l.starts_with("total")).unwrap();
        assert!(
            total.ends_with("200.00 CNY, 15.00 USD, 3.00 (currency not recorded)"),
            "{total}"
        );
        assert!(
            !table.contains("215.00") && !table.contains("218.00"),
            "{table}"
        );
    }
}

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
    /// SLA commitments missed (first response or resolution): every
    /// breach that fired, also one before the case was reopened.
    pub sla_breaches: i64,
    /// Cases a follow-up was scheduled for after resolution (once per
    /// case).
    pub follow_ups_scheduled: i64,
    /// Follow-ups recorded (`followed_up` events).
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

/// The cases of one cell in one currency (`None`: no offers, or opened
/// before the store recorded currencies), as a backend's report query
/// groups them: `cell`'s figures without its compensation, and the worth
/// of their offers.
pub(super) struct CellPart {
    pub cell: ReportRow,
    pub currency: Option<String>,
    pub goodwill: f64,
}

/// The report's rows from a backend's parts: each cell's parts added up,
/// its compensation per currency (none for a currency nothing was offered
/// in), most complaints first, then by cell.
pub(super) fn cells_of(parts: &mut [CellPart]) -> Vec<ReportRow> {
    parts.sort_by(|a, b| cell_of(&a.cell).cmp(&cell_of(&b.cell)));
    let mut rows: Vec<ReportRow> = Vec::new();
    for part in parts.iter_mut() {
        let same_cell = rows
            .last()
            .is_some_and(|row| cell_of(row) == cell_of(&part.cell));
        if !same_cell {
            rows.push(ReportRow {
                compensation: Vec::new(),
                ..part.cell.clone()
            });
        } else if let Some(row) = rows.last_mut() {
            row.complaints += part.cell.complaints;
            row.resolved += part.cell.resolved;
            row.escalated += part.cell.escalated;
            row.sla_breaches += part.cell.sla_breaches;
            row.follow_ups_scheduled += part.cell.follow_ups_scheduled;
            row.follow_ups_done += part.cell.follow_ups_done;
        }
        if part.goodwill != 0.0
            && let Some(row) = rows.last_mut()
        {
            add_amount(&mut row.compensation, part.currency.take(), part.goodwill);
        }
    }
    rows.sort_by(|a, b| {
        b.complaints
            .cmp(&a.complaints)
            .then_with(|| cell_of(a).cmp(&cell_of(b)))
    });
    rows
}

/// A row's cell, borrowed (for sorting without copies).
fn cell_of(row: &ReportRow) -> (&Option<String>, &Option<String>, &Option<String>) {
    (&row.category, &row.product_line, &row.tier)
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

    #[test]
    fn a_cells_parts_in_several_currencies_make_one_row() {
        let part =
            |category: &str, complaints: i64, currency: Option<&str>, goodwill: f64| CellPart {
                cell: ReportRow {
                    complaints,
                    sla_breaches: 1,
                    ..row(category, Vec::new())
                },
                currency: currency.map(str::to_string),
                goodwill,
            };
        let rows = cells_of(&mut [
            part("b", 1, Some("USD"), 5.0),
            part("a", 2, None, 0.0),
            part("b", 2, Some("CNY"), 20.0),
            part("c", 3, None, 0.0),
        ]);
        let summary: Vec<(&str, i64, i64, Vec<Amount>)> = rows
            .iter()
            .map(|r| {
                (
                    r.category.as_deref().unwrap(),
                    r.complaints,
                    r.sla_breaches,
                    r.compensation.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "b",
                    3,
                    2,
                    vec![amount(Some("USD"), 5.0), amount(Some("CNY"), 20.0)]
                ),
                ("c", 3, 1, vec![]),
                ("a", 2, 1, vec![]),
            ],
            "most complaints first, ties by cell; no amount where nothing was offered"
        );
    }
}

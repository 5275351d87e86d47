//! The report screen: seed 001's grid (category × product line × tier) as
//! a heat map for one month, and for a chosen cell its complaints in each
//! day's window against the control lines that count that grid, as a
//! control chart. Both are SVG drawn here; a table carries the same
//! numbers for screen readers and copying.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{Problem, ok, problem, url_encode};
use crate::rules::ControlLimit;
use crate::server::handlers::store_of;
use crate::server::state::AppState;
use crate::store::{GridCell, Report, Store};
use crate::time::Timestamp;

const DAY_MS: i64 = 86_400_000;
/// The grid's fields, as control lines name them in `group_by`.
const GRID: [&str; 3] = ["category", "product_line", "customer.tier"];

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    month: Option<String>,
    category: Option<String>,
    product_line: Option<String>,
    tier: Option<String>,
}

/// The report screen of `month` with `cell`'s control chart.
fn cell_href(cell: &GridCell, month: &str) -> String {
    let part = |key: &str, value: &Option<String>| {
        value
            .as_ref()
            .map(|v| format!("&{key}={}", url_encode(v)))
            .unwrap_or_default()
    };
    format!(
        "/console/report?month={month}{}{}{}",
        part("category", &cell.category),
        part("product_line", &cell.product_line),
        part("tier", &cell.tier)
    )
}

/// A heat map column's label: product line · tier.
fn cell_column(cell: &GridCell) -> String {
    format!("{} · {}", shown(&cell.product_line), shown(&cell.tier))
}

fn shown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

/// The first moment of `month` (`YYYY-MM`) and of the month after it.
fn month_bounds(month: &str) -> Option<(NaiveDate, Timestamp, Timestamp)> {
    let (year, number) = month.split_once('-')?;
    let first = NaiveDate::from_ymd_opt(year.parse().ok()?, number.parse().ok()?, 1)?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    let at = |date: NaiveDate| {
        Some(Timestamp(
            Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)
                .timestamp_millis(),
        ))
    };
    Some((first, at(first)?, at(next)?))
}

/// `GET /console/f/report?month=YYYY-MM[&category=..&product_line=..&tier=..]`
pub async fn fragment(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the report takes `month` (YYYY-MM), and `category`, `product_line`, `tier` for one cell",
        );
    };
    let store = match store_of(&state) {
        Ok(store) => store.as_ref(),
        Err(refused) => return Problem::from(refused).into_response(),
    };
    let month = query.month.clone().unwrap_or_else(|| {
        chrono::DateTime::from_timestamp_millis(state.clock.now().millis())
            .map(|at| at.format("%Y-%m").to_string())
            .unwrap_or_default()
    });
    let Some((first_day, from, to)) = month_bounds(&month) else {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("`{month}` is not a month: give it as YYYY-MM"),
        );
    };
    let report = match tokio::task::block_in_place(|| store.report(from, to)) {
        Ok(report) => report,
        Err(error) => return problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    };
    let chosen = (query.category.is_some() || query.product_line.is_some() || query.tier.is_some())
        .then(|| GridCell {
            category: query.category.clone(),
            product_line: query.product_line.clone(),
            tier: query.tier.clone(),
        });
    let chart = match &chosen {
        None => html! {},
        Some(cell) => {
            let lines = control_lines(&state);
            let window = lines
                .iter()
                .map(|l| l.window_ms)
                .max()
                .unwrap_or(30 * DAY_MS);
            // Days still to come have no count yet.
            let now = state.clock.now().millis();
            let until = Timestamp(to.millis().min(now - now.rem_euclid(DAY_MS) + DAY_MS));
            let days = ((to.millis() - from.millis()) / DAY_MS) as usize;
            match tokio::task::block_in_place(|| daily_windows(store, cell, from, until, window)) {
                Ok(points) => control_chart(cell, first_day, days, &points, &lines, window),
                Err(error) => return problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            }
        }
    };
    let previous = first_day
        .checked_sub_months(chrono::Months::new(1))
        .map(|d| d.format("%Y-%m").to_string());
    let next = first_day
        .checked_add_months(chrono::Months::new(1))
        .map(|d| d.format("%Y-%m").to_string());
    ok(html! {
        h1 { "Report" }
        form #report-month method="get" action="/console/report" {
            label for="month" { "Month" }
            input #month name="month" type="month" value=(month) required;
            " " button type="submit" { "Show" }
            @if let Some(previous) = &previous { " " a href=(format!("/console/report?month={previous}")) { "← " (previous) } }
            @if let Some(next) = &next { " " a href=(format!("/console/report?month={next}")) { (next) " →" } }
        }
        p { (report.totals.complaints) " complaints opened in " (month) ", " (report.totals.sla_breaches) " SLA breaches, " (report.totals.escalated) " escalated." }
        (heat_map(&report, &month, chosen.as_ref()))
        (chart)
        (cell_table(&report, &month))
    })
}

/// Complaints opened per grid cell as coloured squares: categories down,
/// product line · tier across; each square links to its control chart.
fn heat_map(report: &Report, month: &str, chosen: Option<&GridCell>) -> Markup {
    if report.rows.is_empty() {
        return html! { p.muted #heat-map-empty { "No complaints were opened in " (month) "." } };
    }
    let categories: Vec<Option<String>> = report
        .rows
        .iter()
        .map(|r| r.category.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let columns: Vec<(Option<String>, Option<String>)> = report
        .rows
        .iter()
        .map(|r| (r.product_line.clone(), r.tier.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let most = report
        .rows
        .iter()
        .map(|r| r.complaints)
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_width, header, size) = (170.0, 110.0, 46.0);
    // Room on the right for the last column's slanted label.
    let width = label_width + size * columns.len() as f64 + header;
    let height = header + size * categories.len() as f64 + 10.0;
    html! {
        h2 { "Complaints by cell" }
        svg #heat-map viewBox=(format!("0 0 {width} {height}")) width=(width) role="img"
            aria-label=(format!("Heat map of complaints in {month}: {} categories by {} product lines and tiers", categories.len(), columns.len())) {
            @for (x, (line, tier)) in columns.iter().enumerate() {
                @let cx = label_width + size * x as f64 + size / 2.0;
                text x=(cx) y=(header - 6.0) transform=(format!("rotate(-45 {cx} {})", header - 6.0)) {
                    (shown(line)) " · " (shown(tier))
                }
            }
            @for (y, category) in categories.iter().enumerate() {
                @let top = header + size * y as f64;
                text x=(label_width - 6.0) y=(top + size / 2.0 + 4.0) text-anchor="end" { (shown(category)) }
                @for (x, (line, tier)) in columns.iter().enumerate() {
                    @let cell = GridCell { category: category.clone(), product_line: line.clone(), tier: tier.clone() };
                    @let count = report.rows.iter().find(|r| r.cell() == cell).map_or(0, |r| r.complaints);
                    @let left = label_width + size * x as f64;
                    a href=(cell_href(&cell, month)) aria-label=(format!("{} × {}: {count}", shown(category), cell_column(&cell))) {
                        rect.cell x=(left + 1.0) y=(top + 1.0) width=(size - 2.0) height=(size - 2.0)
                            fill=(heat(count, most))
                            stroke=(if chosen == Some(&cell) { "#f2b705" } else { "#ffffff" })
                            stroke-width=(if chosen == Some(&cell) { 3 } else { 1 }) {}
                        text x=(left + size / 2.0) y=(top + size / 2.0 + 4.0) text-anchor="middle"
                            fill=(if count * 2 > most { "#ffffff" } else { "#1d232b" }) { (count) }
                    }
                }
            }
        }
    }
}

/// White to dark blue as `count` nears `most`.
fn heat(count: i64, most: i64) -> String {
    let share = count as f64 / most as f64;
    let blend = |from: f64, to: f64| (from + (to - from) * share).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        blend(243.0, 31.0),
        blend(245.0, 77.0),
        blend(247.0, 140.0)
    )
}

fn cell_table(report: &Report, month: &str) -> Markup {
    html! {
        details {
            summary { "The cells as a table" }
            div.table { table #report-cells {
                thead { tr {
                    th { "Category" } th { "Product line" } th { "Tier" } th.number { "Complaints" }
                    th.number { "Resolved" } th.number { "Escalated" } th.number { "SLA breaches" }
                } }
                tbody { @for row in &report.rows { tr {
                    td { a href=(cell_href(&row.cell(), month)) { (shown(&row.category)) } }
                    td { (shown(&row.product_line)) } td { (shown(&row.tier)) }
                    td.number { (row.complaints) } td.number { (row.resolved) }
                    td.number { (row.escalated) } td.number { (row.sla_breaches) }
                } } }
            } }
        }
    }
}

/// A control line that counts seed 001's grid.
struct GridLine {
    name: String,
    limit: i64,
    window_ms: i64,
}

/// The serving control lines grouped by exactly the grid's fields, with a
/// count limit (a rate limit has no single line to draw).
fn control_lines(state: &AppState) -> Vec<GridLine> {
    let snapshot = state.live.load_full();
    snapshot
        .ruleset
        .control_lines
        .rules
        .iter()
        .filter_map(|rule| {
            let fields: Vec<&str> = rule.body.group_by.iter().map(|(path, _)| &**path).collect();
            match rule.body.limit {
                ControlLimit::Count(limit) if fields == GRID => Some(GridLine {
                    name: rule.name.to_string(),
                    limit,
                    window_ms: rule.body.window.millis(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// For each day of `[from, to)`: the complaints of `cell` opened in the
/// `window` that ends with that day, as the control line counts them.
fn daily_windows(
    store: &dyn Store,
    cell: &GridCell,
    from: Timestamp,
    to: Timestamp,
    window: i64,
) -> Result<Vec<i64>, crate::store::StoreError> {
    let days_before = ((window + DAY_MS - 1) / DAY_MS).max(1);
    let start = from.millis() - days_before * DAY_MS;
    let days = ((to.millis() - start + DAY_MS - 1) / DAY_MS).max(0) as usize;
    let mut per_day = vec![0; days];
    for (day, count) in store.complaints_per_day(cell, Timestamp(start), to)? {
        if let Some(slot) = usize::try_from((day.millis() - start) / DAY_MS)
            .ok()
            .and_then(|index| per_day.get_mut(index))
        {
            *slot += count;
        }
    }
    let before = days_before as usize;
    Ok((before..per_day.len())
        .map(|end| per_day[end + 1 - before..=end].iter().sum())
        .collect())
}

/// The cell's count in each day's window, with each control line's limit.
fn control_chart(
    cell: &GridCell,
    first_day: NaiveDate,
    days: usize,
    points: &[i64],
    lines: &[GridLine],
    window: i64,
) -> Markup {
    let (width, height, left, bottom) = (640.0, 240.0, 40.0, 30.0);
    let top_value = points
        .iter()
        .copied()
        .chain(lines.iter().map(|l| l.limit))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.15;
    let plot_height = height - bottom - 10.0;
    let step = (width - left - 10.0) / days.max(points.len()).max(1) as f64;
    let y = |value: f64| 10.0 + plot_height - value / top_value * plot_height;
    let x = |day: usize| left + step * day as f64 + step / 2.0;
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(day, count)| format!("{:.1},{:.1}", x(day), y(*count as f64)))
        .collect();
    let title = format!(
        "{} × {} × {}",
        shown(&cell.category),
        shown(&cell.product_line),
        shown(&cell.tier)
    );
    html! {
        h2 { "Control chart: " (title) }
        p.hint { "Each day: the complaints of this cell opened in the " (window / DAY_MS) " days ending that day." }
        svg #control-chart viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-label=(format!("Control chart of {title} in {}", first_day.format("%Y-%m"))) {
            line x1=(left) y1=(y(0.0)) x2=(width - 10.0) y2=(y(0.0)) stroke="#5b6673" {}
            line x1=(left) y1="10" x2=(left) y2=(y(0.0)) stroke="#5b6673" {}
            text x=(left - 6.0) y=(y(0.0) + 4.0) text-anchor="end" { "0" }
            text x=(left - 6.0) y=(y(top_value / 1.15) + 4.0) text-anchor="end" { (format!("{:.0}", top_value / 1.15)) }
            @for control in lines {
                line.limit x1=(left) y1=(y(control.limit as f64)) x2=(width - 10.0) y2=(y(control.limit as f64))
                    stroke="#a1261b" stroke-dasharray="6 4" stroke-width="2" {}
                text x=(width - 12.0) y=(y(control.limit as f64) - 4.0) text-anchor="end" fill="#a1261b" {
                    (control.name) " limit " (control.limit)
                }
            }
            polyline points=(path.join(" ")) fill="none" stroke="#1f5fa8" stroke-width="2" {}
            @for (day, count) in points.iter().enumerate() {
                @let over = lines.iter().any(|l| *count > l.limit);
                circle cx=(x(day)) cy=(y(*count as f64)) r="3" fill=(if over { "#a1261b" } else { "#1f5fa8" }) {
                    title { (first_day + chrono::Days::new(day as u64)) ": " (count) }
                }
            }
            @for day in (0..days).step_by(5) {
                text x=(x(day)) y=(height - 10.0) text-anchor="middle" { ((first_day + chrono::Days::new(day as u64)).format("%d")) }
            }
        }
        @if lines.is_empty() {
            p.muted { "No serving control line counts this grid (category, product_line, customer.tier) with a count limit." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_bounded_at_midnight_utc() {
        let (first, from, to) = month_bounds("2026-12").unwrap();
        assert_eq!(first.to_string(), "2026-12-01");
        assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00Z");
        assert_eq!(to.to_rfc3339(), "2027-01-01T00:00:00Z");
        assert!(month_bounds("2026-13").is_none());
        assert!(month_bounds("december").is_none());
    }

    #[test]
    fn the_heat_runs_from_pale_to_dark() {
        assert_eq!(heat(0, 10), "#f3f5f7");
        assert_eq!(heat(10, 10), "#1f4d8c");
    }
}

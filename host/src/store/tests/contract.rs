//! What every backend promises, written against the [`Store`] trait: each
//! test below runs once per backend in [`backends`].

use super::*;

/// A `#[test]` per name, running the function of that name on a fresh
/// fixture of every backend, and saying which backend failed.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod on_every_backend {
            $(
                #[test]
                fn $name() {
                    for backend in super::backends() {
                        let fixture = super::fixture_on(backend);
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            super::$name(fixture)
                        }));
                        if let Err(panic) = result {
                            eprintln!("failed on the {} backend", backend.name());
                            std::panic::resume_unwind(panic);
                        }
                    }
                }
            )*
        }
    };
}

on_every_backend!(
    a_missed_first_response_escalates_once,
    a_timely_response_means_no_breach,
    a_follow_up_is_due_after_resolution,
    lifecycle_conflicts_are_refused,
    a_control_line_of_five_flags_the_sixth_not_the_fifth,
    authority_budgets_are_enforced_and_uses_recorded,
    returning_customers_are_seen_in_history,
    a_retried_event_is_not_decided_twice,
    a_different_complaint_under_a_recorded_id_is_not_recorded,
    timers_survive_a_restart_and_overdue_ones_fire_once,
    the_audit_log_pages_by_cursor_and_the_report_sums_up,
    simulating_a_recorded_complaint_leaves_its_own_case_out_of_history,
    many_due_timers_fire_a_thousand_a_run_and_none_is_lost,
    a_reopened_case_breaches_its_new_resolve_time_not_the_old_one,
    cases_and_histories_are_found_after_a_restart,
    complaints_in_one_batch_see_the_ones_before_them,
    a_use_stamped_later_than_a_decision_still_counts_against_its_budget,
    a_customers_cases_are_listed_newest_first,
    a_cells_complaints_are_counted_per_day,
    the_report_counts_every_breach_and_follow_up_of_a_case,
);

fn a_use_stamped_later_than_a_decision_still_counts_against_its_budget(f: Fixture) {
    let later = f.clock.now().checked_add("1h".parse().unwrap()).unwrap();
    for n in 1..=2 {
        let id = format!("s-{n}");
        f.complain(serde_json::json!({"id": id, "location": "branch-7"}));
        f.store
            .apply(
                id,
                LifecycleEvent {
                    kind: LifecycleKind::AuthorityUsed,
                    at: Some(later),
                    by: Some("teller-1".into()),
                    note: None,
                    policy: Some("parking-validation".into()),
                    cost: Some(1.0),
                },
            )
            .blocking_recv()
            .unwrap()
            .unwrap();
    }
    // Decided at a moment before both uses' stamps: the budget of two a
    // day is used up all the same, on every backend.
    let (_, third) = f.complain(serde_json::json!({"id": "s-3", "location": "branch-7"}));
    assert_eq!(third["authority"], serde_json::json!([]), "{third}");
}

fn complaints_in_one_batch_see_the_ones_before_them(f: Fixture) {
    let complaint = |id: &str| {
        f.intake(serde_json::json!({"id": id, "customer": {"id": "cust-b"}, "category": "product_quality", "product_line": "kettles"}))
    };
    let recorded = f
        .store
        .decide_and_record(vec![
            complaint("b-1"),
            complaint("b-2"),
            complaint("b-1"),
            complaint("b-3"),
        ])
        .blocking_recv()
        .unwrap()
        .unwrap();
    let decisions: Vec<serde_json::Value> = recorded
        .iter()
        .map(|r| serde_json::from_str(&r.json).unwrap())
        .collect();
    let counts: Vec<&serde_json::Value> = decisions
        .iter()
        .map(|d| &d["control_lines"][0]["count"])
        .collect();
    assert_eq!(
        counts,
        [1, 2, 1, 3],
        "each counts the cell's complaints before it"
    );
    assert!(recorded[2].replayed(), "the retry in the same batch");
    assert_eq!(recorded[2].seq, recorded[0].seq);
    assert_eq!(recorded[2].json, recorded[0].json);
    assert!(recorded[0].seq < recorded[1].seq && recorded[1].seq < recorded[3].seq);
    let escalated: Vec<bool> = decisions
        .iter()
        .map(|d| d["escalation_level"] == "manager")
        .collect();
    assert_eq!(
        escalated,
        [false, false, false, true],
        "the third complaint of the customer sees the two before it"
    );
    let log: Vec<String> = f.log_after(0).into_iter().map(|d| d.event_id).collect();
    assert_eq!(log, ["b-1", "b-2", "b-3"]);
}

fn a_missed_first_response_escalates_once(f: Fixture) {
    f.complain(serde_json::json!({"id": "c-1"}));
    f.advance("23h");
    assert!(f.tick().is_empty(), "not yet due");
    f.advance("2h");
    let fired = f.tick();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].timer, TimerKind::FirstResponse);
    assert_eq!(fired[0].escalate.as_deref(), Some("supervisor"));
    assert!(f.tick().is_empty(), "fired once");
    let case = f.store.case("c-1").unwrap().unwrap();
    assert_eq!(case.escalation_level.as_deref(), Some("supervisor"));
    let breach = case
        .decisions
        .iter()
        .find(|d| d.kind == DecisionKind::SlaBreach)
        .unwrap();
    assert_eq!(breach.decision["notify"], serde_json::json!(["quality"]));
    assert_eq!(
        breach.ruleset_version, case.decisions[0].ruleset_version,
        "a breach answers to the ruleset that made the commitment"
    );
}

fn a_timely_response_means_no_breach(f: Fixture) {
    f.complain(serde_json::json!({"id": "c-2"}));
    f.advance("3h");
    f.apply("c-2", LifecycleKind::Responded).unwrap();
    f.advance("30h");
    let fired = f.tick();
    assert!(fired.is_empty(), "{fired:?}");
    let case = f.store.case("c-2").unwrap().unwrap();
    assert_eq!(case.status, Status::Responded);
    let first = case
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::FirstResponse)
        .unwrap();
    assert_eq!(first.state, TimerState::Cancelled);
}

fn a_follow_up_is_due_after_resolution(f: Fixture) {
    f.complain(serde_json::json!({"id": "c-3"}));
    f.advance("2h");
    f.apply("c-3", LifecycleKind::Responded).unwrap();
    f.advance("10h");
    let case = f.apply("c-3", LifecycleKind::Resolved).unwrap();
    let follow_up = case
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::FollowUp)
        .unwrap();
    assert_eq!(
        follow_up.due_at,
        start()
            .checked_add("12h".parse().unwrap())
            .unwrap()
            .checked_add("3d".parse().unwrap())
            .unwrap()
    );
    f.advance("2d");
    assert!(f.tick().is_empty());
    f.advance("1d");
    let fired = f.tick();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].timer, TimerKind::FollowUp);
    f.apply("c-3", LifecycleKind::FollowedUp).unwrap();
    f.apply("c-3", LifecycleKind::Confirmed).unwrap();
    let case = f.apply("c-3", LifecycleKind::Closed).unwrap();
    let kinds: Vec<&str> = case.history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "responded",
            "resolved",
            "follow_up_due",
            "followed_up",
            "confirmed",
            "closed"
        ]
    );
}

fn lifecycle_conflicts_are_refused(f: Fixture) {
    f.complain(serde_json::json!({"id": "c-4"}));
    let error = f.apply("c-4", LifecycleKind::Confirmed).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`confirmed` is not possible now"),
        "{error}"
    );
    assert!(matches!(
        f.apply("nope", LifecycleKind::Responded),
        Err(LifecycleError::NoCase(_))
    ));
    f.apply("c-4", LifecycleKind::Closed).unwrap();
    assert!(f.apply("c-4", LifecycleKind::Responded).is_err());
    let reopened = f.apply("c-4", LifecycleKind::Reopened).unwrap();
    assert_eq!(reopened.status, Status::Open);
    let resolve = reopened
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::Resolve)
        .unwrap();
    assert_eq!(resolve.state, TimerState::Pending);
}

fn a_control_line_of_five_flags_the_sixth_not_the_fifth(f: Fixture) {
    for n in 1..=6 {
        let (recorded, decision) = f.complain(serde_json::json!({"id": format!("q-{n}"), "category": "product_quality", "product_line": "kettles"}));
        let line = &decision["control_lines"][0];
        assert_eq!(line["count"], n);
        let crossed = line["status"] == "crossed";
        assert_eq!(crossed, n == 6, "complaint {n}: {line}");
        assert_eq!(recorded.control_lines[0].3, n == 6);
        if n == 6 {
            assert_eq!(
                decision["flags"],
                serde_json::json!(["control_line_exceeded"])
            );
            assert_eq!(
                decision["notify"],
                serde_json::json!(["product-department"])
            );
        }
        f.advance("1d");
    }
    // Another product line is another cell.
    let (_, other) = f.complain(serde_json::json!({"id": "q-other", "category": "product_quality", "product_line": "irons"}));
    assert_eq!(other["control_lines"][0]["count"], 1);
    // A month later the window has moved on.
    f.advance("31d");
    let (_, later) = f.complain(serde_json::json!({"id": "q-later", "category": "product_quality", "product_line": "kettles"}));
    assert_eq!(later["control_lines"][0]["count"], 1);
}

fn authority_budgets_are_enforced_and_uses_recorded(f: Fixture) {
    let use_parking = |case: &str, cost: f64| f.use_parking(case, cost);
    for n in 1..=2 {
        let (_, decision) =
            f.complain(serde_json::json!({"id": format!("p-{n}"), "location": "branch-1"}));
        assert_eq!(
            decision["authority"][0]["budget"]["status"], "within",
            "{decision}"
        );
        use_parking(&format!("p-{n}"), 2.0).unwrap();
    }
    let error = use_parking("p-1", 9.0).unwrap_err();
    assert!(error.to_string().contains("up to 5"), "{error}");
    let (_, third) = f.complain(serde_json::json!({"id": "p-3", "location": "branch-1"}));
    assert_eq!(third["authority"], serde_json::json!([]));
    let note = third["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rule"] == "parking")
        .unwrap()["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.contains("budget for location:branch-1 used up"),
        "{note}"
    );
    // Another branch has its own budget; tomorrow the budget is back.
    let (_, elsewhere) = f.complain(serde_json::json!({"id": "p-4", "location": "branch-2"}));
    assert_eq!(elsewhere["authority"][0]["policy"], "parking-validation");
    f.advance("25h");
    let (_, tomorrow) = f.complain(serde_json::json!({"id": "p-5", "location": "branch-1"}));
    assert_eq!(tomorrow["authority"][0]["budget"]["used_count"], 0);
}

fn returning_customers_are_seen_in_history(f: Fixture) {
    for n in 1..=3 {
        let (_, decision) =
            f.complain(serde_json::json!({"id": format!("h-{n}"), "customer": {"id": "cust-9"}}));
        let escalated = decision["escalation_level"] == "manager";
        assert_eq!(
            escalated,
            n == 3,
            "complaint {n}: complaints_30d = {}",
            n - 1
        );
        f.advance("1d");
    }
}

fn a_retried_event_is_not_decided_twice(f: Fixture) {
    let (first, _) = f.complain(
        serde_json::json!({"id": "r-1", "category": "product_quality", "product_line": "tv"}),
    );
    f.advance("1h");
    let (again, _) = f.complain(
        serde_json::json!({"id": "r-1", "category": "product_quality", "product_line": "tv"}),
    );
    assert!(again.replayed());
    assert_eq!(again.seq, first.seq);
    assert_eq!(again.json, first.json);
    let page = f.log_after(0);
    assert_eq!(page.len(), 1);
}

fn a_different_complaint_under_a_recorded_id_is_not_recorded(f: Fixture) {
    let (first, _) = f.complain(serde_json::json!({"id": "r-2", "product_line": "tv"}));
    assert_eq!(first.answered, Answered::Decided);
    let (other, _) = f.complain(serde_json::json!({"id": "r-2", "product_line": "radio"}));
    assert_eq!(other.answered, Answered::IdReused);
    assert_eq!(other.seq, first.seq, "names the recorded entry");
    let (retry, _) = f.complain(serde_json::json!({"id": "r-2", "product_line": "tv"}));
    assert_eq!(retry.answered, Answered::FromLog);
    assert_eq!(f.log_after(0).len(), 1);
    let case = f.store.case("r-2").unwrap().unwrap();
    assert_eq!(case.product_line.as_deref(), Some("tv"));
}

fn timers_survive_a_restart_and_overdue_ones_fire_once(f: Fixture) {
    f.complain(serde_json::json!({"id": "t-1"}));
    let clock = f.clock.clone();
    let f = f.reopen(|_| clock.advance("5d".parse().unwrap())).unwrap();
    let fired = f.tick();
    let timers: Vec<&str> = fired.iter().map(|t| t.timer.as_str()).collect();
    assert_eq!(timers, ["first_response", "resolve"]);
    assert!(f.tick().is_empty());
}

fn the_audit_log_pages_by_cursor_and_the_report_sums_up(f: Fixture) {
    for n in 0..5 {
        f.complain(serde_json::json!({"id": format!("a-{n}"), "category": if n % 2 == 0 { "product_quality" } else { "price_billing" }, "product_line": "tv", "customer": {"tier": "ordinary"}}));
    }
    let first = f
        .store
        .decisions(&DecisionQuery {
            limit: 2,
            ..DecisionQuery::default()
        })
        .unwrap();
    assert_eq!(first.decisions.len(), 2);
    let second = f
        .store
        .decisions(&DecisionQuery {
            limit: 2,
            after: first.next.unwrap(),
            ..DecisionQuery::default()
        })
        .unwrap();
    assert_eq!(second.decisions[0].event_id, "a-2");
    f.apply("a-0", LifecycleKind::Resolved).unwrap();
    f.advance("2d");
    f.tick();
    let report = f.store.report(start(), f.clock.now()).unwrap();
    assert_eq!(report.totals.complaints, 5);
    let quality = report
        .rows
        .iter()
        .find(|r| r.category.as_deref() == Some("product_quality"))
        .unwrap();
    assert_eq!(quality.complaints, 3);
    assert_eq!(quality.resolved, 1);
    assert_eq!(quality.follow_ups_scheduled, 1);
    assert_eq!(
        report.totals.sla_breaches, 4,
        "first responses of the four unresolved cases"
    );
    assert!(report.render().contains("product_quality"));
}

fn simulating_a_recorded_complaint_leaves_its_own_case_out_of_history(f: Fixture) {
    f.complain(serde_json::json!({"id": "s-1", "customer": {"id": "cust-s"}}));
    f.advance("1h");
    f.complain(serde_json::json!({"id": "s-2", "customer": {"id": "cust-s"}}));
    let history = f.history(serde_json::json!({"id": "s-2", "customer": {"id": "cust-s"}}));
    assert_eq!(history.complaints_30d, 1, "{history:?}");
    assert_eq!(history.open_cases, 1, "{history:?}");
}

fn many_due_timers_fire_a_thousand_a_run_and_none_is_lost(f: Fixture) {
    let pending: Vec<_> = (0..600)
        .map(|i| {
            let intake = f.intake(serde_json::json!({"id": format!("many-{i}")}));
            f.store.decide_and_record(vec![intake])
        })
        .collect();
    for pending in pending {
        pending.blocking_recv().unwrap().unwrap();
    }
    f.advance("5d");
    let runs: Vec<usize> = (0..3).map(|_| f.tick().len()).collect();
    assert_eq!(runs, [1000, 200, 0], "two timers for each of 600 cases");
}

fn a_reopened_case_breaches_its_new_resolve_time_not_the_old_one(f: Fixture) {
    f.complain(serde_json::json!({"id": "again-1"}));
    f.apply("again-1", LifecycleKind::Responded).unwrap();
    f.apply("again-1", LifecycleKind::Resolved).unwrap();
    f.advance("1d");
    f.apply("again-1", LifecycleKind::Reopened).unwrap();
    // The first resolve time has passed, the new one (a full SLA from the
    // reopening) has not.
    f.advance("2d");
    let fired: Vec<String> = f.tick().into_iter().map(|t| t.timer.to_string()).collect();
    assert!(!fired.contains(&"resolve".to_string()), "{fired:?}");
    f.advance("5d");
    let fired: Vec<String> = f.tick().into_iter().map(|t| t.timer.to_string()).collect();
    assert!(fired.contains(&"resolve".to_string()), "{fired:?}");
    assert!(f.tick().is_empty());
}

fn the_report_counts_every_breach_and_follow_up_of_a_case(f: Fixture) {
    let figures = |f: &Fixture| {
        let report = f.store.report(start(), f.clock.now()).unwrap();
        let t = report.totals;
        (t.sla_breaches, t.follow_ups_scheduled, t.follow_ups_done)
    };
    f.complain(serde_json::json!({"id": "r-1"}));
    f.advance("25h");
    f.tick();
    assert_eq!(figures(&f), (1, 0, 0), "the first response was missed");
    f.apply("r-1", LifecycleKind::Responded).unwrap();
    f.apply("r-1", LifecycleKind::Resolved).unwrap();
    f.advance("3d");
    f.tick();
    assert_eq!(figures(&f), (1, 1, 0), "a follow-up due is not a breach");
    f.apply("r-1", LifecycleKind::FollowedUp).unwrap();
    f.apply("r-1", LifecycleKind::Reopened).unwrap();
    f.advance("73h");
    f.tick();
    assert_eq!(
        figures(&f),
        (2, 1, 1),
        "the reopened case missed its resolve time"
    );
    // Reopening again re-arms the resolve timer that fired: its breach
    // stays counted. Resolving again schedules the same follow-up.
    f.apply("r-1", LifecycleKind::Resolved).unwrap();
    f.apply("r-1", LifecycleKind::Reopened).unwrap();
    f.apply("r-1", LifecycleKind::Resolved).unwrap();
    assert_eq!(figures(&f), (2, 1, 1));
}

fn cases_and_histories_are_found_after_a_restart(f: Fixture) {
    for i in 0..3 {
        f.complain(serde_json::json!({"id": format!("h-{i}"), "customer": {"id": "cust-h"}}));
        f.advance("1h");
    }
    f.apply("h-0", LifecycleKind::Closed).unwrap();
    let history_now =
        |f: &Fixture| f.history(serde_json::json!({"id": "h-next", "customer": {"id": "cust-h"}}));
    let before = history_now(&f);
    assert_eq!((before.open_cases, before.complaints_30d), (2, 3));
    let f = f.reopen(|_| {}).unwrap();
    assert_eq!(
        history_now(&f),
        before,
        "the history is rebuilt from the cases"
    );
    assert_eq!(f.store.case("h-2").unwrap().unwrap().id, "h-2");
    let (again, _) = f.complain(serde_json::json!({"id": "h-1", "customer": {"id": "cust-h"}}));
    assert!(again.replayed());
}

fn a_customers_cases_are_listed_newest_first(f: Fixture) {
    for (id, customer) in [("l-1", "cust-l"), ("l-2", "cust-other"), ("l-3", "cust-l")] {
        f.complain(serde_json::json!({"id": id, "customer": {"id": customer}}));
        f.advance("1h");
    }
    f.apply("l-1", LifecycleKind::Closed).unwrap();
    let listed = f.store.cases_of_customer("cust-l", 10).unwrap();
    let ids: Vec<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["l-3", "l-1"]);
    assert_eq!(listed[1].status, Status::Closed);
    assert_eq!(f.store.cases_of_customer("cust-l", 1).unwrap().len(), 1);
    assert!(f.store.cases_of_customer("nobody", 10).unwrap().is_empty());
}

fn a_cells_complaints_are_counted_per_day(f: Fixture) {
    let tv = serde_json::json!({"category": "product_quality", "product_line": "tv", "customer": {"tier": "ordinary"}});
    let complain = |id: &str, event: &serde_json::Value| {
        let mut event = event.clone();
        event["id"] = id.into();
        f.complain(event);
    };
    complain("d-1", &tv);
    complain("d-2", &tv);
    complain(
        "d-other",
        &serde_json::json!({"category": "price_billing", "product_line": "tv"}),
    );
    f.advance("1d");
    complain("d-3", &tv);
    let cell = GridCell {
        category: Some("product_quality".into()),
        product_line: Some("tv".into()),
        tier: Some("ordinary".into()),
    };
    let day = 86_400_000;
    let from = Timestamp(start().millis() - start().millis() % day);
    let counts = f
        .store
        .complaints_per_day(&cell, from, Timestamp(from.millis() + 3 * day))
        .unwrap();
    let counts: Vec<i64> = counts.iter().map(|(_, count)| *count).collect();
    assert_eq!(counts, [2, 1]);
    let none = GridCell {
        category: Some("price_billing".into()),
        product_line: Some("tv".into()),
        tier: None,
    };
    let counted = f
        .store
        .complaints_per_day(&none, from, Timestamp(from.millis() + 3 * day))
        .unwrap();
    assert_eq!(
        counted.len(),
        1,
        "a cell without a tier is its own: {counted:?}"
    );
}

//! Fires SLA breaches and follow-ups when their time comes. After a
//! restart, timers that fell due while the daemon was down fire at the
//! first tick, once: the store marks a timer fired in the same transaction
//! that records its decision.

use std::sync::Arc;

use crate::store::{Fired, Store};
use crate::time::Clock;

/// Checks for due timers every `every`, starting at once; `fired` hears of
/// each time-based decision.
pub fn spawn_scheduler(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    every: std::time::Duration,
    fired: impl Fn(&Fired) + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.fire_due_timers(clock.now()).await {
                Ok(Ok(list)) => {
                    for timer in &list {
                        tracing::info!(case = %timer.case_id, timer = %timer.timer, due = %timer.due_at, escalate = timer.escalate.as_deref().unwrap_or("-"), "timer fired");
                        fired(timer);
                    }
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, "firing timers failed; retrying at the next tick")
                }
                Err(_) => return,
            }
        }
    })
}

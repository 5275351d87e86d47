//! How many requests are being handled, bounded by `[limits] max_in_flight`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Requests in flight. A counter rather than a semaphore: nothing waits for
/// a place (a request over the bound is refused at once), and a semaphore's
/// release takes a lock that every core shares.
#[derive(Debug)]
pub struct InFlight {
    count: AtomicUsize,
    max: usize,
}

/// A request's place among those in flight, given back when dropped.
#[derive(Debug)]
pub struct Admitted<'a> {
    count: &'a AtomicUsize,
}

impl InFlight {
    pub fn new(max: usize) -> Self {
        InFlight {
            count: AtomicUsize::new(0),
            max,
        }
    }

    /// A place for one more request, or `None` when `max` are in flight.
    pub fn try_admit(&self) -> Option<Admitted<'_>> {
        // A compare-and-swap, not an add undone on refusal: the count never
        // shows more than `max`, even for a moment.
        self.count
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |count| {
                (count < self.max).then_some(count + 1)
            })
            .ok()?;
        Some(Admitted { count: &self.count })
    }

    /// Requests in flight now.
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_bound_and_again_once_a_place_is_given_back() {
        let in_flight = InFlight::new(2);
        let first = in_flight.try_admit().expect("first");
        let second = in_flight.try_admit().expect("second");
        assert!(in_flight.try_admit().is_none(), "a third is refused");
        assert_eq!(in_flight.current(), 2, "a refusal takes no place");
        drop(first);
        let third = in_flight.try_admit().expect("a place was given back");
        drop((second, third));
        assert_eq!(in_flight.current(), 0);
    }

    #[test]
    fn concurrent_requests_never_exceed_the_bound() {
        let in_flight = InFlight::new(3);
        let holding = AtomicUsize::new(0);
        let (peak_holding, peak_shown) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        peak_shown.fetch_max(in_flight.current(), Ordering::Relaxed);
                        if let Some(place) = in_flight.try_admit() {
                            let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                            peak_holding.fetch_max(now, Ordering::Relaxed);
                            holding.fetch_sub(1, Ordering::SeqCst);
                            drop(place);
                        }
                    }
                });
            }
        });
        assert!(peak_holding.load(Ordering::Relaxed) <= 3);
        assert!(peak_shown.load(Ordering::Relaxed) <= 3);
        assert_eq!(in_flight.current(), 0);
    }
}

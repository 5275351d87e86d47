//! Deciding logged complaints on every core: one thread reads the log (the
//! store's connection is not shared) and hands batches of entries to
//! workers, each with its own state, which the caller then merges. The
//! merge must not depend on which worker took what: callers order by the
//! log's position.

use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use crate::store::StoreError;

/// Entries handed over at a time.
const BATCH: usize = 128;

/// Threads to use: one per CPU.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `produce` on this thread, which feeds items; `work` handles each
/// on one of `workers` threads, into that thread's state (`init`). Returns
/// every thread's state.
pub fn fan_out<I, S>(
    workers: usize,
    produce: impl FnOnce(&mut dyn FnMut(I)) -> Result<(), StoreError>,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, I) + Sync,
) -> Result<Vec<S>, StoreError>
where
    I: Send,
    S: Send,
{
    if workers <= 1 {
        let mut state = init();
        produce(&mut |item| work(&mut state, item))?;
        return Ok(vec![state]);
    }
    let (sender, receiver) = sync_channel::<Vec<I>>(workers * 2);
    // Held only to take one batch; released before it is worked on.
    let receiver = Mutex::new(receiver);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    loop {
                        let batch = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = batch else { break };
                        for item in batch {
                            work(&mut state, item);
                        }
                    }
                    state
                })
            })
            .collect();
        let mut batch = Vec::with_capacity(BATCH);
        let produced = produce(&mut |item| {
            batch.push(item);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                let _ = sender.send(full);
            }
        });
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
        drop(sender);
        let states: Vec<S> = handles
            .into_iter()
            .filter_map(|handle| handle.join().ok())
            .collect();
        produced.map(|()| states)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_worked_on_once() {
        for workers in [1, 3] {
            let states = fan_out(
                workers,
                |feed| {
                    for i in 0..1000u64 {
                        feed(i);
                    }
                    Ok(())
                },
                Vec::new,
                |seen: &mut Vec<u64>, i| seen.push(i),
            )
            .unwrap();
            let mut all: Vec<u64> = states.into_iter().flatten().collect();
            all.sort();
            assert_eq!(all, (0..1000).collect::<Vec<_>>());
        }
    }
}

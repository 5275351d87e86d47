//! The threads that run plugins (and large batches) off the async workers.
//!
//! A fixed number of threads, `[limits] plugin_threads`, take jobs from one
//! queue. Fixed, rather than a thread per waiting request: everything a
//! plugin call makes the host hold (the guest's memory, what crosses the
//! boundary, its log lines, the allocator's per-thread caches) exists once
//! per call running at once, so the number of threads bounds the memory
//! plugins can cost the daemon, however many requests arrive together
//! (docs/plugins.md, "Host memory"). Requests over that wait in the queue,
//! which `[limits] max_in_flight` bounds.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

/// One unit of work.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool; dropping it lets the threads finish their jobs and stop.
pub struct Workers {
    /// `None` once stopping. Held only to send; never across an await.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    size: usize,
}

/// The pool stopped before it ran the job.
#[derive(Debug, thiserror::Error)]
#[error("the plugin threads have stopped")]
pub struct Stopped;

impl Workers {
    /// Starts `size` threads (at least one).
    pub fn start(size: usize) -> std::io::Result<Self> {
        let size = size.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut threads = Vec::with_capacity(size);
        for index in 0..size {
            let receiver = receiver.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("redress-plugins-{index}"))
                    .spawn(move || {
                        loop {
                            // Held only to take one job; released before it runs.
                            let job = match receiver.lock() {
                                Ok(queue) => queue.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    })?,
            );
        }
        Ok(Workers {
            queue: Mutex::new(Some(sender)),
            threads: Mutex::new(threads),
            size,
        })
    }

    /// Threads in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `work` on one of the threads and waits for its result without
    /// holding up an async worker. If the waiting request is dropped (its
    /// timeout passed), the job still runs to its end: `work` should check
    /// its own deadline between steps.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Stopped> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        {
            let queue = self.queue.lock().map_err(|_| Stopped)?;
            queue
                .as_ref()
                .ok_or(Stopped)?
                .send(job)
                .map_err(|_| Stopped)?;
        }
        answer.await.map_err(|_| Stopped)
    }

    /// Stops taking jobs; the threads finish the queued ones and end.
    /// Does not wait for them (see [`Workers::join`]).
    pub fn stop(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
    }

    /// Waits for the threads to end, up to `grace`; returns whether they
    /// all did.
    pub fn join(&self, grace: std::time::Duration) -> bool {
        self.stop();
        let deadline = std::time::Instant::now() + grace;
        let threads = match self.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(_) => return false,
        };
        let mut all = true;
        for thread in threads {
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                all = false;
            }
        }
        all
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_jobs_on_at_most_size_threads() {
        let workers = Arc::new(Workers::start(3).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut waits = Vec::new();
        for i in 0..20 {
            let (workers, running, peak) = (workers.clone(), running.clone(), peak.clone());
            waits.push(tokio::spawn(async move {
                workers
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i * 2
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut results = Vec::new();
        for wait in waits {
            results.push(wait.await.unwrap());
        }
        assert_eq!(results, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(workers.join(std::time::Duration::from_secs(5)));
        assert!(
            workers.run(|| 1).await.is_err(),
            "a stopped pool refuses jobs"
        );
    }
}

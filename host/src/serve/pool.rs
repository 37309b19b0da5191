//! The run pool: a fixed number of worker threads fed by a bounded queue.
//!
//! Runs are CPU-bound and blocking (Wasm, SQLite, fsync), so they never execute on the I/O runtime. A job
//! is accepted only if the queue has room ([`Pool::submit`] never waits): a full queue is answered at once
//! with 503 by the caller — back-pressure, not collapse. Owns the queue-depth and in-flight gauges.
//!
//! It must never drop an accepted job: once [`Pool::submit`] returned `Ok`, the job runs, even during
//! shutdown ([`Pool::close_and_join`] lets the workers drain the queue), and a job that panics does not take
//! its worker down.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::metrics::Metrics;
use crate::Failure;

/// One unit of work (a run and the sending of its answer). It receives the run's [`InFlight`] mark and
/// drops it just before handing its answer over, so that a client holding its answer never sees its own
/// run still counted as in flight.
pub type Job = Box<dyn FnOnce(InFlight) + Send + 'static>;

/// Why a job was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every worker is busy and the queue is full.
    Full,
    /// The pool is shutting down.
    Closed,
}

pub struct Pool {
    sender: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    worker_count: usize,
    queue_len: usize,
    metrics: Arc<Metrics>,
}

impl Pool {
    /// Starts `workers` threads behind a queue of `queue` jobs.
    pub fn start(workers: usize, queue: usize, metrics: Arc<Metrics>) -> Result<Pool, Failure> {
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let receiver = receiver.clone();
            let metrics = metrics.clone();
            let handle = std::thread::Builder::new()
                .name(format!("sealed-run-{i}"))
                .spawn(move || work(&receiver, &metrics))
                .map_err(|e| Failure::new("SERVE_CONFIG", format!("cannot start run worker {i}: {e}")))?;
            handles.push(handle);
        }
        Ok(Pool {
            sender: Mutex::new(Some(sender)),
            workers: Mutex::new(handles),
            worker_count: workers,
            queue_len: queue,
            metrics,
        })
    }

    pub fn workers(&self) -> usize {
        self.worker_count
    }

    pub fn queue_len(&self) -> usize {
        self.queue_len
    }

    /// Queues `job` if there is room; never waits.
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(sender) = sender else {
            return Err(Refused::Closed);
        };
        // Counted before the send: a worker may take the job (and count it out) before `try_send` returns.
        self.metrics.queue_depth.fetch_add(1, Ordering::SeqCst);
        match sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.metrics.queue_depth.fetch_sub(1, Ordering::SeqCst);
                Err(match e {
                    TrySendError::Full(_) => Refused::Full,
                    TrySendError::Disconnected(_) => Refused::Closed,
                })
            }
        }
    }

    /// Accepts no more jobs, lets the workers finish every queued job, and waits for them.
    pub fn close_and_join(&self) {
        drop(self.sender.lock().unwrap_or_else(PoisonError::into_inner).take());
        let handles = std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        for h in handles {
            // A worker catches its jobs' panics; a join error would be a panic in the loop itself.
            if h.join().is_err() {
                tracing::error!("a run worker panicked outside a job");
            }
        }
    }
}

/// A worker's loop: take the next job (one worker at a time waits on the queue), run it, until the queue is
/// closed and empty.
fn work(receiver: &Mutex<Receiver<Job>>, metrics: &Arc<Metrics>) {
    loop {
        let next = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        metrics.queue_depth.fetch_sub(1, Ordering::SeqCst);
        let busy = InFlight::enter(metrics.clone());
        // The job's own answer channel (and its mark) are dropped by the unwind, so its requester gets a
        // 500, not silence.
        if std::panic::catch_unwind(AssertUnwindSafe(move || job(busy))).is_err() {
            tracing::error!("a run panicked (a host bug); its request is answered 500 INTERNAL");
        }
    }
}

/// A job being worked on: +1 on `sealed_runs_in_flight` for as long as it lives.
pub struct InFlight(Arc<Metrics>);

impl InFlight {
    fn enter(metrics: Arc<Metrics>) -> Self {
        metrics.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(metrics)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_full_queue_refuses_at_once_and_every_accepted_job_runs() {
        let metrics = Arc::new(Metrics::default());
        let pool = Pool::start(1, 1, metrics.clone()).unwrap();
        let (release, gate) = channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (done, finished) = channel::<u32>();
        let mut accepted = 0;
        let mut refused = 0;
        for i in 0..5 {
            let gate = gate.clone();
            let done = done.clone();
            let job: Job = Box::new(move |_busy| {
                let _ = gate.lock().unwrap().recv();
                done.send(i).unwrap();
            });
            match pool.submit(job) {
                Ok(()) => accepted += 1,
                Err(Refused::Full) => refused += 1,
                Err(Refused::Closed) => panic!("closed"),
            }
            // Let the worker take the first job before the next submit.
            if i == 0 {
                while metrics.in_flight.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
            }
        }
        assert_eq!((accepted, refused), (2, 3));
        for _ in 0..accepted {
            release.send(()).unwrap();
        }
        pool.close_and_join();
        drop(done);
        assert_eq!(finished.iter().count(), 2);
        assert_eq!(metrics.queue_depth.load(Ordering::SeqCst), 0);
        assert_eq!(pool.submit(Box::new(|_| {})), Err(Refused::Closed));
    }

    #[test]
    fn a_panicking_job_does_not_stop_its_worker() {
        let pool = Pool::start(1, 2, Arc::new(Metrics::default())).unwrap();
        pool.submit(Box::new(|_| panic!("boom"))).unwrap();
        let (done, finished) = channel::<()>();
        pool.submit(Box::new(move |_| done.send(()).unwrap())).unwrap();
        pool.close_and_join();
        assert_eq!(finished.iter().count(), 1);
    }
}

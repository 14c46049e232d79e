//! The lanes password checks run in (`logins.rs` picks one per attempt): one check at a time
//! each, a bounded queue with a bounded wait (503 past either), and where the check runs —
//! tokio's blocking pool, or a thread of the lane's own at the lowest CPU priority, for
//! clients whose checks must not take CPU from anyone else's.

use crate::error::ApiError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Checks waiting for a lane; more get 503 at once (each waiter is an open request).
pub const MAX_WAITING: usize = 32;
/// Longest wait for a lane before 503.
pub const LANE_WAIT: Duration = Duration::from_secs(10);

/// One bcrypt check at a time, a bounded queue.
#[derive(Debug)]
pub struct Lane {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    runner: Runner,
}

pub type Job = Box<dyn FnOnce() + Send>;

/// Where a lane's checks run.
#[derive(Debug)]
pub enum Runner {
    /// tokio's blocking pool.
    Pool,
    /// A thread of the lane's own at nice 19; it ends when the lane is dropped.
    Background(std::sync::mpsc::Sender<Job>),
}

impl Runner {
    /// Starts the low-priority thread; the pool if it cannot be started.
    pub fn background() -> Self {
        let (sender, jobs) = std::sync::mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("login-backoff".into())
            .spawn(move || {
                lower_priority();
                for job in jobs {
                    job();
                }
            });
        match started {
            Ok(_) => Self::Background(sender),
            Err(error) => {
                tracing::warn!(%error, "cannot start the low-priority login thread; failing logins share the blocking pool");
                Self::Pool
            }
        }
    }

    pub fn run(&self, job: Job) {
        let job = match self {
            Self::Background(sender) => match sender.send(job) {
                Ok(()) => return,
                Err(std::sync::mpsc::SendError(job)) => job,
            },
            Self::Pool => job,
        };
        tokio::task::spawn_blocking(job);
    }
}

/// Nice 19 for the calling thread: Linux keeps a nice value per thread, so the rest of the
/// gateway keeps its priority. Elsewhere the thread keeps the process's.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!(%error, "cannot lower the login thread's priority");
    }
}

impl Lane {
    pub fn new(runner: Runner) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(1)),
            waiting: AtomicUsize::new(0),
            runner,
        }
    }

    /// Runs `job` where this lane's checks run.
    pub fn run(&self, job: Job) {
        self.runner.run(job);
    }

    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::LoginsBusy);
        }
        let _waiting = Counted(&self.waiting);
        tokio::time::timeout(LANE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::LoginsBusy)?
            .map_err(|_| ApiError::LoginsBusy)
    }
}

/// Counts one waiter until dropped (also when the waiting request is cancelled).
#[derive(Debug)]
pub struct Counted<'a>(pub &'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_lane_queue_answers_busy_at_once() {
        let lane = Lane::new(Runner::Pool);
        let _held = lane.permits.clone().acquire_owned().await.expect("open");
        let waiters: Vec<_> = (0..MAX_WAITING).map(|_| Box::pin(lane.acquire())).collect();
        let mut waiters = futures::future::join_all(waiters);
        // Poll once so that every waiter is queued.
        assert!(futures::poll!(&mut waiters).is_pending());
        assert_eq!(lane.waiting.load(Ordering::Acquire), MAX_WAITING);
        assert!(matches!(lane.acquire().await, Err(ApiError::LoginsBusy)));
        // The queued ones give up after LANE_WAIT (time is paused: no real wait).
        let results = waiters.await;
        assert!(results
            .iter()
            .all(|result| matches!(result, Err(ApiError::LoginsBusy))));
        assert_eq!(lane.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn the_background_runner_runs_jobs_in_order() {
        let runner = Runner::background();
        assert!(matches!(runner, Runner::Background(_)));
        let (sender, mut results) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..3 {
            let sender = sender.clone();
            runner.run(Box::new(move || {
                let _ = sender.send((n, std::thread::current().name().map(str::to_owned)));
            }));
        }
        for n in 0..3 {
            let (got, thread) = results.recv().await.expect("ran");
            assert_eq!((got, thread.as_deref()), (n, Some("login-backoff")));
        }
    }
}

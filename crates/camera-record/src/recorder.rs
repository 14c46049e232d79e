//! The recorder thread: owns every open segment, rotates and prunes them.
//!
//! File I/O blocks, so it runs on its own thread and the async side hands frames over with a
//! bounded `try_send`: a slow or full disk drops frames (counted), it never stalls the
//! subscriber or the gateway. Write errors close the camera's segment, are logged at most
//! once per 10 s per camera and retried with a new segment after a pause.

use super::keep::Keep;
use super::prune::prune;
use super::segment::Segment;
use super::RecordedCamera;
use camera_protocol::frame::Frame;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Frames waiting for the disk before new ones are dropped (~4 s of 2 cameras at 30 fps).
const QUEUE_FRAMES: usize = 256;
/// Open segments are flushed this often: at most this much is lost in a crash.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Pause after a write error before a camera gets a new segment.
const RETRY_AFTER: Duration = Duration::from_secs(5);
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Where and how to record.
#[derive(Debug, Clone)]
pub struct RecordSettings {
    pub dir: PathBuf,
    pub segment: Duration,
    pub keep: Keep,
}

/// Counters of the recorder, for metrics.
#[derive(Debug, Default)]
pub struct RecordStats {
    pub frames_written: AtomicU64,
    /// Frames not written: queue full, or the camera's segment failed recently.
    pub frames_dropped: AtomicU64,
    pub write_errors: AtomicU64,
    pub segments_deleted: AtomicU64,
}

/// Hands frames to the recorder thread; dropping every handle stops it (segments finished).
#[derive(Debug, Clone)]
pub struct Recorder {
    queue: SyncSender<(Arc<RecordedCamera>, Frame)>,
    stats: Arc<RecordStats>,
}

impl Recorder {
    /// Starts the recorder thread; fails if `dir` cannot be created.
    pub fn start(settings: RecordSettings) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        std::fs::create_dir_all(&settings.dir)?;
        let (queue, frames) = sync_channel(QUEUE_FRAMES);
        let stats = Arc::new(RecordStats::default());
        let worker = Worker {
            settings,
            stats: stats.clone(),
            open: HashMap::new(),
            retry_at: HashMap::new(),
            logged_at: HashMap::new(),
        };
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || worker.run(frames))?;
        Ok((Self { queue, stats }, thread))
    }

    pub fn stats(&self) -> &Arc<RecordStats> {
        &self.stats
    }

    /// Queues a frame of `camera` (written to `DIR/<its folder>/`); never blocks.
    pub fn record(&self, camera: &Arc<RecordedCamera>, frame: Frame) {
        match self.queue.try_send((camera.clone(), frame)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

struct Worker {
    settings: RecordSettings,
    stats: Arc<RecordStats>,
    open: HashMap<Arc<str>, Segment>,
    retry_at: HashMap<Arc<str>, Instant>,
    logged_at: HashMap<Arc<str>, Instant>,
}

impl Worker {
    fn run(mut self, frames: Receiver<(Arc<RecordedCamera>, Frame)>) {
        let mut flushed = Instant::now();
        let mut pruned = Instant::now() - PRUNE_EVERY;
        loop {
            match frames.recv_timeout(FLUSH_EVERY) {
                Ok((camera, frame)) => self.write(&camera, &frame),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if flushed.elapsed() >= FLUSH_EVERY {
                flushed = Instant::now();
                self.finish_idle();
                self.flush_all();
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                self.prune();
            }
        }
        for (camera, segment) in self.open.drain() {
            if let Err(error) = segment.finish() {
                tracing::warn!(%camera, %error, "cannot finish the recording segment");
            }
        }
        // The finished segments count now: leave the directory within its bound.
        self.prune();
    }

    fn write(&mut self, recorded: &RecordedCamera, frame: &Frame) {
        let camera = recorded.id.clone();
        let now = SystemTime::now();
        if self
            .retry_at
            .get(&camera)
            .is_some_and(|at| Instant::now() < *at)
        {
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self
            .open
            .get(&camera)
            .is_some_and(|s| s.is_due(now, self.settings.segment))
        {
            if let Some(done) = self.open.remove(&camera) {
                if let Err(error) = done.finish() {
                    self.failed(&camera, "cannot finish the recording segment", &error);
                }
            }
            // A segment just completed: the bound holds at every rotation, not only per tick.
            self.prune();
        }
        let result = match self.open.entry(camera.clone()) {
            std::collections::hash_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let dir = self.settings.dir.join(&recorded.folder);
                Segment::create(&dir, now).map(|s| entry.insert(s))
            }
        }
        .and_then(|segment| segment.write(&recorded.topic, &recorded.frame_id, frame));
        match result {
            Ok(()) => {
                self.stats.frames_written.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                // The segment keeps what was flushed; a new one starts after the pause.
                self.open.remove(&camera);
                self.retry_at
                    .insert(camera.clone(), Instant::now() + RETRY_AFTER);
                self.failed(&camera, "cannot write the recording (disk full?)", &error);
            }
        }
    }

    /// Finishes the segments of cameras that stopped sending (offline, gone, or let go by
    /// [`super::run`]), so that their files are complete now rather than at shutdown, and
    /// forgets what is kept per camera once it no longer matters: the maps stay as small as
    /// the set of cameras recording now.
    fn finish_idle(&mut self) {
        let idle: Vec<Arc<str>> = self
            .open
            .iter()
            .filter(|(_, segment)| segment.idle_for() >= super::IDLE)
            .map(|(camera, _)| camera.clone())
            .collect();
        for camera in idle {
            if let Some(segment) = self.open.remove(&camera) {
                tracing::debug!(%camera, path = %segment.path().display(), "camera idle: recording segment finished");
                if let Err(error) = segment.finish() {
                    self.failed(&camera, "cannot finish the recording segment", &error);
                }
            }
        }
        let now = Instant::now();
        self.retry_at.retain(|_, at| *at > now);
        self.logged_at.retain(|_, at| at.elapsed() < LOG_EVERY);
    }

    fn flush_all(&mut self) {
        let mut failed = Vec::new();
        for (camera, segment) in &mut self.open {
            if let Err(error) = segment.flush() {
                failed.push((camera.clone(), error));
            }
        }
        for (camera, error) in failed {
            self.open.remove(&camera);
            self.retry_at
                .insert(camera.clone(), Instant::now() + RETRY_AFTER);
            self.failed(&camera, "cannot flush the recording (disk full?)", &error);
        }
    }

    fn prune(&mut self) {
        let open: Vec<PathBuf> = self.open.values().map(|s| s.path().to_owned()).collect();
        match prune(
            &self.settings.dir,
            self.settings.keep,
            SystemTime::now(),
            &open,
        ) {
            Ok(deleted) => {
                for path in &deleted {
                    tracing::debug!(path = %path.display(), "deleted old recording segment");
                }
                self.stats
                    .segments_deleted
                    .fetch_add(deleted.len() as u64, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(dir = %self.settings.dir.display(), %error, "cannot prune recordings");
            }
        }
    }

    fn failed(&mut self, camera: &Arc<str>, what: &str, error: &std::io::Error) {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        let quiet = self
            .logged_at
            .get(camera)
            .is_some_and(|at| at.elapsed() < LOG_EVERY);
        if !quiet {
            self.logged_at.insert(camera.clone(), Instant::now());
            tracing::warn!(camera = %camera, %error, "{what}; retrying in {RETRY_AFTER:?}");
        }
    }
}

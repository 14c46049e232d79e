//! The recorder thread: owns every open segment, rotates them and keeps the directory within
//! its bounds (age, size, each camera's fair part of the size, the free-space floor).
//!
//! File I/O blocks, so it runs on its own thread and the async side hands frames over with a
//! bounded `try_send`: a slow or full disk drops frames (counted), it never stalls the
//! subscriber or the gateway. Write errors close the camera's segment, are logged at most
//! once per 10 s per camera and retried with a new segment after a pause.

use super::budget::{Budget, Change};
use super::disk::Size;
use super::keep::Keep;
use super::prune::Segments;
use super::sample::Sample;
use super::segment::{self, Segment};
pub use super::stats::RecordStats;
use super::RecordedCamera;
use camera_protocol::frame::Frame;
use camera_protocol::video::VideoFrame;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Samples (frames, access units) waiting for the disk before new ones drop (~4 s, 2 cameras).
const QUEUE_FRAMES: usize = 256;
/// Open segments are flushed this often: at most this much is lost in a crash.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The directory is rescanned (files changed by hand) and aged out this often.
const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Pause after a write error before a camera gets a new segment.
const RETRY_AFTER: Duration = Duration::from_secs(5);
const LOG_EVERY: Duration = Duration::from_secs(10);
/// A segment is finished once it holds more than this fraction of its camera's part of the
/// size (or one frame larger than that): deleting the oldest frees room while most stays.
const SEGMENT_PARTS: u64 = 4;

/// Where and how to record.
#[derive(Debug, Clone)]
pub struct RecordSettings {
    pub dir: PathBuf,
    pub segment: Duration,
    pub keep: Keep,
    /// Recording pauses while the disk has less free space than this.
    pub min_free: Size,
}

/// Hands frames to the recorder thread; dropping every handle stops it (segments finished).
#[derive(Debug, Clone)]
pub struct Recorder {
    queue: SyncSender<(Arc<RecordedCamera>, Sample)>,
    stats: Arc<RecordStats>,
}

impl Recorder {
    /// Starts the recorder thread; fails if `dir` cannot be created or read.
    pub fn start(settings: RecordSettings) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        std::fs::create_dir_all(&settings.dir)?;
        let (queue, frames) = sync_channel(QUEUE_FRAMES);
        let stats = Arc::new(RecordStats::default());
        let budget = Budget::new(
            settings.dir.clone(),
            settings.keep,
            settings.min_free,
            stats.clone(),
        )?;
        let worker = Worker {
            segments: Segments::scan(&settings.dir, &[])?,
            settings,
            stats: stats.clone(),
            budget,
            open: HashMap::new(),
            retry_at: HashMap::new(),
            logged_at: HashMap::new(),
            last_names: HashMap::new(),
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
        self.queue_sample(camera, Sample::Jpeg(frame));
    }

    /// Queues an access unit of `camera`'s H.264 lane (its video channel starts in each
    /// segment at a keyframe); never blocks.
    pub fn record_video(&self, camera: &Arc<RecordedCamera>, frame: VideoFrame) {
        self.queue_sample(camera, Sample::Video(frame));
    }

    fn queue_sample(&self, camera: &Arc<RecordedCamera>, sample: Sample) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send((camera.clone(), sample))
        {
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Worker {
    settings: RecordSettings,
    stats: Arc<RecordStats>,
    budget: Budget,
    /// The finished segments on disk.
    segments: Segments,
    open: HashMap<Arc<str>, Segment>,
    retry_at: HashMap<Arc<str>, Instant>,
    logged_at: HashMap<Arc<str>, Instant>,
    /// Start second and `-N` of each recording camera's newest segment.
    last_names: HashMap<Arc<str>, (SystemTime, u32)>,
}

/// Start second and `-N` of a segment file's name.
fn name_order(path: &Path) -> Option<(SystemTime, u32)> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".mcap")?;
    segment::parse_stem(stem)
}

impl Worker {
    fn run(mut self, frames: Receiver<(Arc<RecordedCamera>, Sample)>) {
        let mut flushed = Instant::now();
        let mut pruned = Instant::now();
        self.prune();
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
                if self.budget.check() == Change::Paused {
                    self.finish_all();
                }
                self.enforce();
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                self.prune();
            }
        }
        self.finish_all();
        // The finished segments count now: leave the directory within its bounds.
        self.prune();
    }

    fn write(&mut self, recorded: &RecordedCamera, frame: &Sample) {
        let camera = recorded.id.clone();
        let now = SystemTime::now();
        let waiting = self
            .retry_at
            .get(&camera)
            .is_some_and(|at| Instant::now() < *at);
        if waiting || self.budget.paused() {
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let need = segment::cost(&recorded.frame_id, frame);
        let cameras = self.open.len() + usize::from(!self.open.contains_key(&camera));
        let share = self.budget.share(cameras);
        if need + segment::overhead() > share {
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            self.note(&camera, "frame not recorded: larger than the camera's part of --record-keep (size / recording cameras)", &need);
            return;
        }
        let largest = (share / SEGMENT_PARTS).max(segment::overhead() + need);
        let length = self.settings.segment;
        let due = self.open.get_mut(&camera).is_some_and(|s| {
            let full = s.frames() > 0 && s.bytes() + need > largest;
            s.ends_before(frame, now, length, full)
        });
        if due {
            self.finish(&camera);
        }
        if frame.is_video_delta() && !self.open.get(&camera).is_some_and(|s| s.takes(frame)) {
            // A segment's video starts at a keyframe: no file is created for a delta frame.
            self.stats.video_skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let folder = self.settings.dir.join(&recorded.folder);
        if !self.make_room(&camera, &folder, need, share) {
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let result = match self.open.entry(camera.clone()) {
            std::collections::hash_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
            std::collections::hash_map::Entry::Vacant(entry) => {
                // Names order segments: after this camera's last one of the same second.
                let second = segment::parse_stem(&segment::format_start(now));
                let first = match (self.last_names.get(&camera), second) {
                    (Some((at, n)), Some((now, _))) if *at == now => n + 1,
                    _ => 0,
                };
                Segment::create_from(&folder, now, first).map(|s| entry.insert(s))
            }
        }
        .and_then(|segment| segment.write(recorded, frame));
        if let Some(name) = self.open.get(&camera).and_then(|s| name_order(s.path())) {
            self.last_names.insert(camera.clone(), name);
        }
        match result {
            Ok(()) => {
                self.stats.frames_written.fetch_add(1, Ordering::Relaxed);
                if self.budget.wrote(need) == Change::Paused {
                    self.finish_all();
                }
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

    /// Deletes old segments until `need` more bytes of `camera` fit in its `share` and in
    /// the size bound; false if they cannot (the rest is open segments).
    fn make_room(&mut self, camera: &Arc<str>, folder: &Path, need: u64, share: u64) -> bool {
        let open_this = self
            .open
            .get(camera)
            .map_or(segment::overhead(), Segment::bytes);
        let open_all =
            self.open_bytes() + open_this - self.open.get(camera).map_or(0, Segment::bytes);
        let limit = self.budget.limit();
        let result = self.segments.shrink(
            folder,
            share.saturating_sub(open_this + need),
            limit.saturating_sub(open_all + need),
        );
        self.deleted(result);
        self.segments.of_folder(folder) + open_this + need <= share
            && self.segments.total() + open_all + need <= limit
    }

    fn open_bytes(&self) -> u64 {
        self.open.values().map(Segment::bytes).sum()
    }

    /// Every second: segments grown past their camera's part (cameras joined since) are
    /// finished, and every recording camera and the whole directory brought within bounds.
    fn enforce(&mut self) {
        let share = self.budget.share(self.open.len());
        let over: Vec<Arc<str>> = self
            .open
            .iter()
            .filter(|(_, s)| {
                s.frames() > 1 && s.bytes() > share / SEGMENT_PARTS && !s.awaits_keyframe()
            })
            .map(|(camera, _)| camera.clone())
            .collect();
        for camera in over {
            self.finish(&camera);
        }
        let open_all = self.open_bytes();
        let limit = self.budget.limit().saturating_sub(open_all);
        let folders: Vec<(PathBuf, u64)> = self
            .open
            .values()
            .filter_map(|s| Some((s.path().parent()?.to_owned(), s.bytes())))
            .collect();
        for (folder, open_this) in folders {
            let result = self
                .segments
                .shrink(&folder, share.saturating_sub(open_this), limit);
            self.deleted(result);
        }
        let result = self.segments.shrink(Path::new(""), u64::MAX, limit);
        self.deleted(result);
        let used = self.segments.total() + open_all;
        self.stats.used_bytes.store(used, Ordering::Relaxed);
    }

    /// Rescans the directory (files changed by hand), deletes what is too old, then
    /// [`Worker::enforce`]s the sizes.
    fn prune(&mut self) {
        let open: Vec<PathBuf> = self.open.values().map(|s| s.path().to_owned()).collect();
        match Segments::scan(&self.settings.dir, &open) {
            Ok(segments) => self.segments = segments,
            Err(error) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(dir = %self.settings.dir.display(), %error, "cannot read the recording directory");
            }
        }
        let result = self
            .segments
            .expire(self.settings.keep.age, SystemTime::now());
        self.deleted(result);
        self.enforce();
    }

    fn deleted(&mut self, result: std::io::Result<Vec<PathBuf>>) {
        match result {
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
                let dir: Arc<str> = Arc::from("");
                self.note(&dir, "cannot delete old recordings", &error);
            }
        }
    }

    /// Finishes `camera`'s open segment, which joins the finished ones.
    fn finish(&mut self, camera: &Arc<str>) {
        let Some(segment) = self.open.remove(camera) else {
            return;
        };
        let path = segment.path().to_owned();
        match segment.finish() {
            Ok(bytes) => self.segments.add(path, bytes),
            Err(error) => self.failed(camera, "cannot finish the recording segment", &error),
        }
    }

    fn finish_all(&mut self) {
        let cameras: Vec<Arc<str>> = self.open.keys().cloned().collect();
        for camera in cameras {
            self.finish(&camera);
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
            tracing::debug!(%camera, "camera idle: recording segment finished");
            self.finish(&camera);
        }
        let now = Instant::now();
        self.retry_at.retain(|_, at| *at > now);
        self.logged_at.retain(|_, at| at.elapsed() < LOG_EVERY);
        let open = &self.open;
        self.last_names
            .retain(|camera, _| open.contains_key(camera));
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

    fn failed(&mut self, camera: &Arc<str>, what: &str, error: &std::io::Error) {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        self.note(
            camera,
            &format!("{what}; retrying in {RETRY_AFTER:?}"),
            error,
        );
    }

    /// Logs `what` about `camera`, at most once per [`LOG_EVERY`].
    fn note(&mut self, camera: &Arc<str>, what: &str, detail: &dyn std::fmt::Display) {
        let quiet = self
            .logged_at
            .get(camera)
            .is_some_and(|at| at.elapsed() < LOG_EVERY);
        if !quiet {
            self.logged_at.insert(camera.clone(), Instant::now());
            tracing::warn!(camera = %camera, %detail, "{what}");
        }
    }
}

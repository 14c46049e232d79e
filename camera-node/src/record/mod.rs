//! Recording camera frames as MCAP (feature `record`, no GStreamer): segment files on disk,
//! an in-memory clip buffer, and the `foxglove.CompressedImage` encoding both use.
//!
//! Any process with a zenoh session can record: [`run`] subscribes to every camera under one
//! or more prefixes (patterns too) and feeds a [`Recorder`] (segments
//! `DIR/<folder>/<UTC start>.mcap`, rotated and pruned; the folder follows the camera's id,
//! [`CameraName::folder`]) and/or a [`ClipBuffer`] (by id). Each frame is one message on
//! `/<prefix>/<camera>` whose log time is the frame's capture time. Layout: [`proto`].

pub mod budget;
pub mod clip;
pub mod clip_export;
pub mod disk;
pub mod keep;
pub mod mcap_file;
pub mod proto;
pub mod prune;
pub mod recorder;
pub mod segment;

pub use clip::{ClipBuffer, ClipError, ClipUsage};
pub use clip_export::ClipExport;
pub use disk::Size;
pub use keep::Keep;
pub use mcap_file::FrameMcap;
pub use recorder::{RecordSettings, RecordStats, Recorder};

use crate::keys::{CameraName, PrefixSet};
use crate::subscriber::{FrameSubscriber, SubscribeError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Samples buffered between zenoh and the recorder: recording wants every frame, so this is
/// larger than a viewer's ring (which only wants the newest).
const RING_FRAMES: usize = 64;

/// Where received frames go.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    pub recorder: Option<Recorder>,
    pub clips: Option<Arc<ClipBuffer>>,
}

/// One recorded camera: the id it is kept under (clip buffer, admission), its folder under
/// the recording directory, and its Foxglove topic and `frame_id` (the camera's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCamera {
    /// Shared: the recorder thread keys its maps by it without copying.
    id: Arc<str>,
    folder: PathBuf,
    topic: String,
    frame_id: String,
}

impl RecordedCamera {
    pub fn of(name: &CameraName) -> Self {
        let keys = name.keys();
        Self {
            id: Arc::from(name.id()),
            folder: name.folder(),
            topic: mcap_file::topic(keys.prefix(), keys.camera()),
            frame_id: keys.camera().to_owned(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Relative to the recording directory.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn frame_id(&self) -> &str {
        &self.frame_id
    }
}

/// What [`run`] keeps: frame size and camera count bounds, and which cameras count.
#[derive(Clone)]
pub struct Admission {
    /// Larger frames are skipped (the gateway counts and logs them).
    pub max_frame_bytes: usize,
    /// Most cameras kept apart at once (clip buffer and open segments).
    pub max_cameras: usize,
    /// Whether a camera id ([`PrefixSet::name`]) is to be recorded now. The gateway passes its camera table, which
    /// is bounded and evicts junk ids, so recording follows what the gateway lists; a camera
    /// that stops being admitted loses its clip and, once idle, its open segment.
    pub admit: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

impl Admission {
    /// Every camera, up to [`MAX_CAMERAS`] at once.
    pub fn all(max_frame_bytes: usize) -> Self {
        Self {
            max_frame_bytes,
            max_cameras: MAX_CAMERAS,
            admit: Arc::new(|_| true),
        }
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("max_cameras", &self.max_cameras)
            .finish_non_exhaustive()
    }
}

/// Subscribes to every camera under `prefixes` and hands each valid live frame of an admitted
/// camera to `sinks` until `cancel` fires, each camera named by [`PrefixSet::name`] (the id a
/// gateway watching `prefixes` lists it under). Invalid samples are skipped (the gateway
/// counts and logs them).
pub async fn run(
    session: &zenoh::Session,
    prefixes: &PrefixSet,
    sinks: Sinks,
    admission: Admission,
    cancel: CancellationToken,
) -> Result<(), SubscribeError> {
    let subscriber = FrameSubscriber::declare_all(session, prefixes, RING_FRAMES).await?;
    let mut cameras = Kept::new(admission.max_cameras);
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = sweep.tick() => {
                cameras.sweep(&*admission.admit, &sinks);
                continue;
            }
            received = subscriber.recv() => match received {
                Some(received) => received,
                None => return Ok(()),
            },
        };
        let Ok(frame) = received.frame else { continue };
        if !frame.meta.online || frame.jpeg.len() > admission.max_frame_bytes {
            continue;
        }
        let Some(keys) = received.keys else { continue };
        let Ok(name) = prefixes.name(keys.prefix(), keys.camera()) else {
            continue;
        };
        if !(admission.admit)(name.id()) {
            continue;
        }
        let Some(camera) = cameras.name(&name, &*admission.admit, &sinks) else {
            continue;
        };
        if let Some(clips) = &sinks.clips {
            clips.push(&camera, frame.clone());
        }
        if let Some(recorder) = &sinks.recorder {
            recorder.record(&camera, frame);
        }
    }
}

/// Default for [`Admission::max_cameras`]: frames of further cameras are ignored while every
/// kept camera is admitted and sent a frame within [`IDLE`], so junk camera ids cannot create
/// unbounded files and buffers, nor keep a real camera out for good.
pub const MAX_CAMERAS: usize = 256;
/// A camera that sent nothing for this long may give its place to a new one, and its open
/// segment is finished (readable at once; its next frame starts a new segment).
pub const IDLE: Duration = Duration::from_secs(10);
/// How often cameras that are no longer admitted are let go.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// The cameras being recorded: one shared description each (instead of Strings per frame)
/// and when each last sent a frame.
struct Kept {
    max: usize,
    cameras: HashMap<String, (Arc<RecordedCamera>, Instant)>,
}

impl Kept {
    fn new(max: usize) -> Self {
        Self {
            max,
            cameras: HashMap::new(),
        }
    }

    /// The shared description of camera `name`, making room for it if needed; `None` if
    /// there is none.
    fn name(
        &mut self,
        name: &CameraName,
        admit: &dyn Fn(&str) -> bool,
        sinks: &Sinks,
    ) -> Option<Arc<RecordedCamera>> {
        let now = Instant::now();
        if let Some((camera, seen)) = self.cameras.get_mut(name.id()) {
            *seen = now;
            return Some(camera.clone());
        }
        if self.cameras.len() >= self.max {
            self.sweep(admit, sinks);
        }
        if self.cameras.len() >= self.max {
            let (oldest, seen) = self
                .cameras
                .iter()
                .min_by_key(|(_, (_, seen))| *seen)
                .map(|(id, (_, seen))| (id.clone(), *seen))?;
            if now.duration_since(seen) < IDLE {
                return None;
            }
            self.let_go(&oldest, sinks);
        }
        let camera = Arc::new(RecordedCamera::of(name));
        self.cameras
            .insert(name.id().to_owned(), (camera.clone(), now));
        Some(camera)
    }

    /// Lets go of every camera no longer admitted.
    fn sweep(&mut self, admit: &dyn Fn(&str) -> bool, sinks: &Sinks) {
        let gone: Vec<String> = self
            .cameras
            .keys()
            .filter(|id| !admit(id))
            .cloned()
            .collect();
        for id in gone {
            self.let_go(&id, sinks);
        }
    }

    /// Drops the camera's clip; its segment is finished once idle (the recorder's own rule).
    fn let_go(&mut self, camera: &str, sinks: &Sinks) {
        self.cameras.remove(camera);
        if let Some(clips) = &sinks.clips {
            clips.remove(camera);
        }
    }
}

#[cfg(test)]
mod tests;

//! The rolling clip buffer: the last N seconds of every camera in memory, bounded in bytes,
//! exported as one MCAP file on request ("what just happened"), streamed piece by piece
//! (`clip_export.rs`) so that an export never copies the clip. JPEG frames and H.264 access
//! units of a camera share its window, its byte share and its numbering.

use super::sample::Sample;
use super::RecordedCamera;
use camera_protocol::frame::Frame;
use camera_protocol::video::VideoFrame;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Which frames an export covers: numbers `start..end` of one appearance of a camera.
#[derive(Debug, Clone)]
pub(super) struct Span {
    pub camera: String,
    pub topic: String,
    pub video_topic: String,
    pub frame_id: String,
    pub epoch: u64,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug)]
struct CameraClip {
    /// Topics and frame_id of the exported messages.
    topic: String,
    video_topic: String,
    frame_id: String,
    /// Which appearance of the camera this is: an export ends when its camera is removed,
    /// even if a camera of the same id comes back.
    epoch: u64,
    /// Number of `frames.front()`: frames are numbered in arrival order, so an export walks
    /// them by number while older ones are dropped behind (or ahead of) it.
    first: u64,
    frames: VecDeque<Sample>,
    bytes: usize,
}

/// Frames of the last `length` per camera; all cameras together hold at most `max_bytes`.
#[derive(Debug)]
pub struct ClipBuffer {
    length: Duration,
    max_bytes: usize,
    cameras: Mutex<HashMap<String, CameraClip>>,
    /// Totals over `cameras`, changed only under its lock, so `/metrics` reads them without
    /// taking it (the subscriber pushes at the frame rate of every camera).
    total_bytes: AtomicUsize,
    total_frames: AtomicUsize,
    epochs: AtomicU64,
}

/// What a [`ClipBuffer`] holds now, over all cameras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClipUsage {
    /// Payload bytes (JPEGs and access units) of the frames held.
    pub bytes: usize,
    pub frames: usize,
}

/// Why a clip could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("no frames of camera {0:?} in the clip buffer")]
    Empty(String),
    #[error("cannot write the clip")]
    Write(#[from] mcap::McapError),
}

impl ClipBuffer {
    pub fn new(length: Duration, max_bytes: usize) -> Self {
        Self {
            length,
            max_bytes,
            cameras: Mutex::new(HashMap::new()),
            total_bytes: AtomicUsize::new(0),
            total_frames: AtomicUsize::new(0),
            epochs: AtomicU64::new(0),
        }
    }

    pub fn length(&self) -> Duration {
        self.length
    }

    /// Frames and bytes held now; cheap (two atomic loads), for `/metrics`.
    pub fn usage(&self) -> ClipUsage {
        ClipUsage {
            bytes: self.total_bytes.load(Ordering::Relaxed),
            frames: self.total_frames.load(Ordering::Relaxed),
        }
    }

    /// Adds a frame; drops frames older than the clip length and, when the camera holds
    /// more than its share of `max_bytes`, its oldest frames (of every camera over its share,
    /// when all together hold more than `max_bytes`).
    pub fn push(&self, recorded: &RecordedCamera, frame: Frame) {
        self.push_sample(recorded, Sample::Jpeg(frame));
    }

    /// [`ClipBuffer::push`] for an access unit of the camera's H.264 lane.
    pub fn push_video(&self, recorded: &RecordedCamera, frame: VideoFrame) {
        self.push_sample(recorded, Sample::Video(frame));
    }

    fn push_sample(&self, recorded: &RecordedCamera, frame: Sample) {
        let camera = recorded.id();
        let mut cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        if !cameras.contains_key(camera) {
            let clip = CameraClip {
                topic: recorded.topic().to_owned(),
                video_topic: recorded.video_topic().to_owned(),
                frame_id: recorded.frame_id().to_owned(),
                epoch: self.epochs.fetch_add(1, Ordering::Relaxed),
                first: 0,
                frames: VecDeque::new(),
                bytes: 0,
            };
            cameras.insert(camera.to_owned(), clip);
        }
        let share = self.max_bytes / cameras.len().max(1);
        let Some(clip) = cameras.get_mut(camera) else {
            return;
        };
        let newest = frame.capture_ts_ns();
        let (bytes_before, frames_before) = (clip.bytes, clip.frames.len());
        clip.bytes += frame.payload_len();
        clip.frames.push_back(frame);
        let window = u64::try_from(self.length.as_nanos()).unwrap_or(u64::MAX);
        while let Some(oldest) = clip.frames.front() {
            let too_old = newest.saturating_sub(oldest.capture_ts_ns()) > window;
            // A clock jump backwards (node restarted with another clock) also restarts the clip.
            let from_future = oldest.capture_ts_ns() > newest;
            if !(too_old || from_future || clip.bytes > share) {
                break;
            }
            clip.bytes -= oldest.payload_len();
            clip.frames.pop_front();
            clip.first += 1;
        }
        self.adjust(bytes_before, frames_before, clip.bytes, clip.frames.len());
        if self.total_bytes.load(Ordering::Relaxed) > self.max_bytes {
            // Another camera filled its share while it had more of the budget (before this one
            // appeared), and may never push again (offline) to trim itself: trim every camera to
            // today's share, so all together stay within `max_bytes`.
            for clip in cameras.values_mut() {
                let (bytes_before, frames_before) = (clip.bytes, clip.frames.len());
                while clip.bytes > share {
                    let Some(oldest) = clip.frames.pop_front() else {
                        break;
                    };
                    clip.bytes -= oldest.payload_len();
                    clip.first += 1;
                }
                self.adjust(bytes_before, frames_before, clip.bytes, clip.frames.len());
            }
        }
    }

    /// Moves the totals from a camera's old size to its new one; called under the lock, so
    /// updates never interleave.
    fn adjust(&self, bytes_before: usize, frames_before: usize, bytes: usize, frames: usize) {
        for (total, before, now) in [
            (&self.total_bytes, bytes_before, bytes),
            (&self.total_frames, frames_before, frames),
        ] {
            if now >= before {
                total.fetch_add(now - before, Ordering::Relaxed);
            } else {
                total.fetch_sub(before - now, Ordering::Relaxed);
            }
        }
    }

    /// Forgets a camera's frames (the camera is gone).
    pub fn remove(&self, camera: &str) {
        let mut cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(clip) = cameras.remove(camera) {
            self.adjust(clip.bytes, clip.frames.len(), 0, 0);
        }
    }

    /// Which frames the last `seconds` (at most the clip length) of camera id `camera` are:
    /// what an export (`clip_export.rs`) reads one at a time.
    pub(super) fn span(&self, camera: &str, seconds: Duration) -> Result<Span, ClipError> {
        let cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        let clip = cameras
            .get(camera)
            .filter(|clip| !clip.frames.is_empty())
            .ok_or_else(|| ClipError::Empty(camera.to_owned()))?;
        let newest = clip.frames.back().map_or(0, Sample::capture_ts_ns);
        let window = u64::try_from(seconds.min(self.length).as_nanos()).unwrap_or(u64::MAX);
        let skipped = clip
            .frames
            .iter()
            .position(|f| newest.saturating_sub(f.capture_ts_ns()) <= window)
            .unwrap_or(0);
        Ok(Span {
            camera: camera.to_owned(),
            topic: clip.topic.clone(),
            video_topic: clip.video_topic.clone(),
            frame_id: clip.frame_id.clone(),
            epoch: clip.epoch,
            start: clip.first + skipped as u64,
            end: clip.first + clip.frames.len() as u64,
        })
    }

    /// Frame number `index` of `span`'s camera, or the oldest later one still held if it was
    /// dropped, with its number; `None` past the span's end or once the camera is gone.
    pub(super) fn frame_at(&self, span: &Span, index: u64) -> Option<(u64, Sample)> {
        let cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        let clip = cameras
            .get(&span.camera)
            .filter(|clip| clip.epoch == span.epoch)?;
        let index = index.max(clip.first);
        if index >= span.end {
            return None;
        }
        let frame = clip.frames.get(usize::try_from(index - clip.first).ok()?)?;
        Some((index, frame.clone()))
    }
}

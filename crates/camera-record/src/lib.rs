//! Recording camera frames as MCAP (no GStreamer): segment files on disk,
//! an in-memory clip buffer, and the `foxglove.CompressedImage` encoding both use.
//!
//! No subscriber here: whoever accepted a frame (the gateway's camera task, after its checks
//! and its publisher rule) hands it to [`Sinks::take`] (a JPEG) or [`Sinks::take_video`] (an
//! H.264 access unit), which queue it for a [`Recorder`] (segments
//! `DIR/<folder>/<UTC start>.mcap`, rotated and pruned, readable while written) and push it
//! into a [`ClipBuffer`] (by id). Each frame is one message on the camera's topic (JPEG) or
//! video topic (`<topic>/h264`) whose log time is its capture time. Layout: [`proto`].

pub mod budget;
pub mod clip;
pub mod clip_export;
pub mod disk;
mod growing;
pub mod keep;
pub mod mcap_file;
pub mod proto;
pub mod prune;
pub mod recorder;
pub mod sample;
pub mod segment;
pub mod stats;

pub use clip::{ClipBuffer, ClipError, ClipUsage};
pub use clip_export::ClipExport;
pub use disk::Size;
pub use keep::Keep;
pub use mcap_file::FrameMcap;
pub use recorder::{RecordSettings, RecordStats, Recorder};
pub use sample::Sample;

use camera_protocol::frame::Frame;
use camera_protocol::keys::{camera_folder, validate_camera_id, CameraKeys, CameraName, KeyError};
use camera_protocol::video::VideoFrame;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where accepted frames go: cheap to clone, one clone per camera task.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    pub recorder: Option<Recorder>,
    pub clips: Option<Arc<ClipBuffer>>,
}

impl Sinks {
    /// Whether frames are wanted at all (recording or clips on).
    pub fn is_active(&self) -> bool {
        self.recorder.is_some() || self.clips.is_some()
    }

    /// Hands one accepted frame of `camera` to both; never blocks on the disk (a full
    /// recorder queue drops the frame and counts it).
    pub fn take(&self, camera: &Arc<RecordedCamera>, frame: &Frame) {
        if let Some(clips) = &self.clips {
            clips.push(camera, frame.clone());
        }
        if let Some(recorder) = &self.recorder {
            recorder.record(camera, frame.clone());
        }
    }

    /// Hands one accepted access unit of `camera`'s H.264 lane to both, like [`Sinks::take`].
    /// Each segment's and each clip's video starts at a keyframe (deltas before it are left
    /// out). Whether JPEG frames are recorded beside it is the caller's choice.
    pub fn take_video(&self, camera: &Arc<RecordedCamera>, frame: &VideoFrame) {
        if let Some(clips) = &self.clips {
            clips.push_video(camera, frame.clone());
        }
        if let Some(recorder) = &self.recorder {
            recorder.record_video(camera, frame.clone());
        }
    }

    /// The camera is gone: its clip goes (its open segment is finished once [`IDLE`]).
    pub fn forget(&self, camera: &str) {
        if let Some(clips) = &self.clips {
            clips.remove(camera);
        }
    }
}

/// One recorded camera: the id it is kept under (clip buffer, open segments), its folder under
/// the recording directory, and its Foxglove topics (JPEG, H.264) and `frame_id` (the
/// camera's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCamera {
    /// Shared: the recorder thread keys its maps by it without copying.
    id: Arc<str>,
    folder: PathBuf,
    topic: String,
    /// `<topic>/h264`: the `foxglove.CompressedVideo` channel of its H.264 lane.
    video_topic: String,
    frame_id: String,
}

impl RecordedCamera {
    pub fn of(name: &CameraName) -> Self {
        Self::node(name.id(), name.keys())
    }

    /// A camera node's camera listed as `id`: topic `/<prefix>/<camera>`, folder as
    /// [`CameraName::folder`].
    pub fn node(id: &str, keys: &CameraKeys) -> Self {
        let topic = mcap_file::topic(keys.prefix(), keys.camera());
        Self {
            id: Arc::from(id),
            folder: camera_folder(id, keys),
            video_topic: mcap_file::video_topic(&topic),
            topic,
            frame_id: keys.camera().to_owned(),
        }
    }

    /// A camera known by its id and topic only (a ROS 2 topic): folder and `frame_id` are the
    /// id, which must be a plain camera id (one path segment: no `/`, no `.`).
    pub fn topic_only(id: &str, topic: &str) -> Result<Self, KeyError> {
        validate_camera_id(id)?;
        Ok(Self {
            id: Arc::from(id),
            folder: PathBuf::from(id),
            topic: topic.to_owned(),
            video_topic: mcap_file::video_topic(topic),
            frame_id: id.to_owned(),
        })
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

    pub fn video_topic(&self) -> &str {
        &self.video_topic
    }

    pub fn frame_id(&self) -> &str {
        &self.frame_id
    }
}

/// A camera that sent nothing for this long has its open segment finished (readable at once;
/// its next frame starts a new segment).
pub const IDLE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests;
#[cfg(test)]
mod video_tests;

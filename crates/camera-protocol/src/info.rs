//! The JSON document a camera node answers on `<prefix>/<camera>/info`, and a typed query for it.
//!
//! Lives in the library so the gateway and other subscribers parse exactly what the node
//! serializes; unknown fields are ignored so newer nodes stay readable by older gateways.
//! The document is small by contract: at most [`MAX_INFO_BYTES`], each string at most
//! [`MAX_INFO_STRING`] bytes; the node cuts its strings to fit, readers refuse the rest.

use crate::keys::CameraKeys;
use crate::replies::{self, Body};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

/// Largest info reply a reader accepts; larger ones are dropped as they arrive, unparsed.
pub const MAX_INFO_BYTES: usize = 64 * 1024;
/// Longest string field of an info document (pipeline, last error, names ...).
pub const MAX_INFO_STRING: usize = 4 * 1024;

/// Capture state of a node, as reported in its info reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureState {
    /// Starting the pipeline for the first time.
    Starting,
    /// Frames are flowing.
    Running,
    /// Paused because nobody subscribes (`on_demand`).
    Idle,
    /// The pipeline failed or stalled; waiting out the backoff before the next start.
    Restarting,
    /// Cannot start at all (e.g. a missing element); retried with the longest backoff.
    Failed,
}

/// What a camera node says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraInfo {
    pub camera: String,
    /// Source kind actually in use: "argus", "v4l2", "test" or "pipeline".
    pub source: String,
    /// The GStreamer launch string of the capture pipeline.
    pub pipeline: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// JPEG encoder element ("nvjpegenc", "jpegenc"), or "passthrough" for camera MJPEG.
    pub encoder: String,
    pub quality: u32,
    pub state: CaptureState,
    pub frames_published: u64,
    pub restarts: u64,
    /// The last pipeline error with GStreamer's debug text, if any.
    pub last_error: Option<String>,
    pub node_version: String,
    /// Smaller streams the node encodes itself (`[[variants]]`); absent from older nodes.
    #[serde(default)]
    pub variants: Vec<VariantInfo>,
    /// H.264 lanes the node encodes (`codec = "h264"` variants, `crate::video`); absent from
    /// older nodes.
    #[serde(default)]
    pub video: Vec<VideoInfo>,
}

/// One H.264 lane a node publishes on `<prefix>/<camera>/h264/<name>` while someone
/// subscribes to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub name: String,
    /// `<prefix>/<camera>/h264/<name>`; keyframe requests go to `<key>/keyframe`.
    pub key: String,
    /// The encoding, `h264`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Frames per second the lane carries (the camera's rate, or its cap).
    pub fps: u32,
    /// Target bitrate in kbit/s.
    pub bitrate_kbps: u32,
    /// At most this many frames from one keyframe to the next.
    pub keyframe_interval: u32,
    /// The GStreamer encoder element (`x264enc`, `openh264enc`, `nvv4l2h264enc`).
    pub encoder: String,
    pub frames_published: u64,
}

/// One preview variant a node publishes on its own key while someone subscribes to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantInfo {
    pub name: String,
    /// `<prefix>/<camera>/jpeg/<name>`.
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub quality: u32,
    /// Frame-rate cap; `None` = every camera frame.
    pub fps: Option<u32>,
    pub frames_published: u64,
}

impl CameraInfo {
    /// The info of camera `camera` from a `source` that has not started yet: state `starting`,
    /// this library's version, every other field empty or zero (set them with `..`).
    pub fn new(camera: &str, source: &str) -> Self {
        Self {
            camera: camera.to_owned(),
            source: source.to_owned(),
            pipeline: String::new(),
            width: 0,
            height: 0,
            fps: 0,
            encoder: String::new(),
            quality: 0,
            state: CaptureState::Starting,
            frames_published: 0,
            restarts: 0,
            last_error: None,
            node_version: env!("CARGO_PKG_VERSION").to_owned(),
            variants: Vec::new(),
            video: Vec::new(),
        }
    }
}

/// Why an info query gave no usable answer.
#[derive(Debug, Error)]
pub enum InfoError {
    #[error("zenoh query failed: {0}")]
    Zenoh(zenoh::Error),
    #[error("camera {camera:?} did not answer its info query within {timeout:?}")]
    NoReply { camera: String, timeout: Duration },
    #[error("camera {camera:?} answered its info query with an error: {message}")]
    Replied { camera: String, message: String },
    // `error`, not `source`: the message includes it, so `{:#}` must not print it again.
    #[error("camera {camera:?} sent an info reply that is not valid JSON: {error}")]
    Json {
        camera: String,
        error: serde_json::Error,
    },
    #[error("camera {camera:?} sent an info reply of {bytes} bytes: over the {MAX_INFO_BYTES}-byte bound, dropped unread")]
    TooLarge { camera: String, bytes: usize },
    #[error("camera {camera:?} sent an info reply whose {field} is {bytes} bytes long: over the {MAX_INFO_STRING}-byte bound")]
    LongString {
        camera: String,
        field: &'static str,
        bytes: usize,
    },
}

impl CameraInfo {
    /// Parses an info reply of camera `camera`: refused unread over [`MAX_INFO_BYTES`], and
    /// refused when a string field is over [`MAX_INFO_STRING`].
    pub fn from_reply(camera: &str, bytes: &[u8]) -> Result<Self, InfoError> {
        if bytes.len() > MAX_INFO_BYTES {
            return Err(InfoError::TooLarge {
                camera: camera.to_owned(),
                bytes: bytes.len(),
            });
        }
        let info: Self = serde_json::from_slice(bytes).map_err(|error| InfoError::Json {
            camera: camera.to_owned(),
            error,
        })?;
        let long = info
            .strings()
            .find(|(_, text)| text.len() > MAX_INFO_STRING)
            .map(|(field, text)| (field, text.len()));
        match long {
            Some((field, bytes)) => Err(InfoError::LongString {
                camera: camera.to_owned(),
                field,
                bytes,
            }),
            None => Ok(info),
        }
    }

    /// This document with every string cut to [`MAX_INFO_STRING`] (at a character boundary),
    /// as a node sends it: a long GStreamer error must not make readers refuse the whole info.
    pub fn within_bounds(mut self) -> Self {
        for text in self.strings_mut() {
            cut(text, MAX_INFO_STRING);
        }
        self
    }

    fn strings(&self) -> impl Iterator<Item = (&'static str, &String)> {
        let fields = [
            ("camera", &self.camera),
            ("source", &self.source),
            ("pipeline", &self.pipeline),
            ("encoder", &self.encoder),
            ("node_version", &self.node_version),
        ];
        let error = self.last_error.iter().map(|text| ("last_error", text));
        let variants = self.variants.iter().flat_map(|variant| {
            [
                ("variants.name", &variant.name),
                ("variants.key", &variant.key),
            ]
        });
        let video = self.video.iter().flat_map(|lane| {
            [
                ("video.name", &lane.name),
                ("video.key", &lane.key),
                ("video.codec", &lane.codec),
                ("video.encoder", &lane.encoder),
            ]
        });
        fields.into_iter().chain(error).chain(variants).chain(video)
    }

    fn strings_mut(&mut self) -> impl Iterator<Item = &mut String> {
        let fields = [
            &mut self.camera,
            &mut self.source,
            &mut self.pipeline,
            &mut self.encoder,
            &mut self.node_version,
        ];
        let variants = self
            .variants
            .iter_mut()
            .flat_map(|variant| [&mut variant.name, &mut variant.key]);
        let video = self.video.iter_mut().flat_map(|lane| {
            [
                &mut lane.name,
                &mut lane.key,
                &mut lane.codec,
                &mut lane.encoder,
            ]
        });
        fields
            .into_iter()
            .chain(self.last_error.iter_mut())
            .chain(variants)
            .chain(video)
    }
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&at| text.is_char_boundary(at))
            .unwrap_or(0);
        text.truncate(end);
    }
}

/// Asks a camera node for its info: the first valid answer of any session (a reader that
/// must tell the camera from other repliers uses [`replies::gather`] and
/// [`CameraInfo::from_reply`], as the gateway does).
pub async fn query_info(
    session: &zenoh::Session,
    keys: &CameraKeys,
    timeout: Duration,
) -> Result<CameraInfo, InfoError> {
    let camera = keys.camera();
    let replies = replies::gather(session, &keys.info(), timeout, MAX_INFO_BYTES)
        .await
        .map_err(InfoError::Zenoh)?;
    let mut first_error = None;
    for answer in replies.answers {
        let parsed = match answer.body {
            Body::Sample(sample) => CameraInfo::from_reply(camera, &sample.payload().to_bytes()),
            Body::Error(message) => Err(InfoError::Replied {
                camera: camera.to_owned(),
                message,
            }),
            Body::TooLarge(bytes) => Err(InfoError::TooLarge {
                camera: camera.to_owned(),
                bytes,
            }),
        };
        match parsed {
            Ok(info) => return Ok(info),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| InfoError::NoReply {
        camera: camera.to_owned(),
        timeout,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_by_the_node_and_refused_by_readers() {
        let mut info = CameraInfo::new("front", "test");
        info.last_error = Some("é".repeat(MAX_INFO_STRING));
        let json = serde_json::to_vec(&info).expect("json");
        assert!(matches!(
            CameraInfo::from_reply("front", &json),
            Err(InfoError::LongString {
                field: "last_error",
                ..
            })
        ));
        let sent = info.within_bounds();
        let text = sent.last_error.as_deref().expect("kept");
        assert_eq!(text.len(), MAX_INFO_STRING);
        let json = serde_json::to_vec(&sent).expect("json");
        assert_eq!(CameraInfo::from_reply("front", &json).expect("valid"), sent);
    }

    #[test]
    fn oversized_replies_are_refused_before_parsing() {
        let junk = vec![b' '; MAX_INFO_BYTES + 1];
        let refused = CameraInfo::from_reply("front", &junk);
        assert!(
            matches!(refused, Err(InfoError::TooLarge { bytes, .. }) if bytes == MAX_INFO_BYTES + 1)
        );
    }
}

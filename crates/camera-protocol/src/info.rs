//! The JSON document a camera node answers on `<prefix>/<camera>/info`, and a typed query for it.
//!
//! Lives in the library so the gateway and other subscribers parse exactly what the node
//! serializes; unknown fields are ignored so newer nodes stay readable by older gateways.

use crate::keys::CameraKeys;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

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
}

/// Asks one camera node for its info.
pub async fn query_info(
    session: &zenoh::Session,
    keys: &CameraKeys,
    timeout: Duration,
) -> Result<CameraInfo, InfoError> {
    let camera = keys.camera().to_owned();
    let replies = session
        .get(keys.info())
        .timeout(timeout)
        .await
        .map_err(InfoError::Zenoh)?;
    let reply = replies.recv_async().await.map_err(|_| InfoError::NoReply {
        camera: camera.clone(),
        timeout,
    })?;
    match reply.result() {
        Ok(sample) => serde_json::from_slice(&sample.payload().to_bytes())
            .map_err(|error| InfoError::Json { camera, error }),
        Err(error) => Err(InfoError::Replied {
            camera,
            message: error
                .payload()
                .try_to_string()
                .unwrap_or_default()
                .into_owned(),
        }),
    }
}

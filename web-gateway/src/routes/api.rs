//! `GET /api/cameras`: every known camera with its state, measured rate and info reply.

use crate::camera::node_variants;
use crate::camera::sources::Conflict;
use crate::camera::CameraHandle;
use crate::config::ClipState;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use camera_protocol::CameraInfo;
use serde::Serialize;

/// One entry of `/api/cameras` (also what the web page renders).
#[derive(Debug, Serialize)]
pub struct CameraEntry {
    /// Unique across robots: the camera name under one plain `--prefix`, else
    /// `<robot with '/' → '.'>.<camera>` (`camera_protocol::keys::PrefixSet::name`).
    pub id: String,
    /// The concrete prefix the camera's node publishes under (`robot1/camera`); `null` for a
    /// ROS 2 topic. The page groups tiles by it.
    pub robot: Option<String>,
    /// The camera's own name (`front`; a ROS 2 topic's id).
    pub camera: String,
    pub online: bool,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Frames per second measured at the gateway over the last seconds.
    pub fps: f64,
    pub last_frame_age_ms: Option<u64>,
    pub last_seq: Option<u64>,
    /// Capture-to-now age of the latest frame (includes clock offset between machines).
    pub latency_ms: Option<f64>,
    pub clients: usize,
    /// Whether the gateway receives this camera's frames now (always, unless
    /// `subscribe = "while_watched"` and nobody watches nor records: then fps is 0 and frames
    /// are old).
    pub subscribed: bool,
    /// Whether `--record` writes this camera's frames (it then counts as a viewer).
    pub recording: bool,
    /// Whether the clip buffer holds this camera's last seconds (`clip.mcap`), or why not.
    pub clip_buffer: ClipState,
    /// The node's info reply, re-queried every few seconds while its token is present.
    pub info: Option<CameraInfo>,
    pub info_error: Option<String>,
    /// Smaller streams a client can ask for by name (`?variant=NAME`) or by width.
    pub variants: Vec<VariantEntry>,
    /// Several publishers put frames on this camera's key (two robots at one prefix): one is
    /// served, the others are ignored; `null` when there is one.
    pub conflict: Option<Conflict>,
}

/// A variant of `/api/cameras`: today only those the camera node encodes itself.
#[derive(Debug, Serialize)]
pub struct VariantEntry {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub quality: u32,
    /// Frame-rate cap; `None`: every camera frame.
    pub fps: Option<u32>,
    /// Who encodes it: `"camera"` (the node, before the link).
    pub source: &'static str,
    /// Whether the gateway receives it now (it has clients).
    pub subscribed: bool,
}

impl CameraEntry {
    pub fn of(camera: &CameraHandle, clip_buffer: ClipState) -> Self {
        let status = camera.status();
        let latest = status.last_live.as_ref();
        Self {
            id: camera.id().to_owned(),
            robot: camera.robot().map(str::to_owned),
            camera: camera.camera().to_owned(),
            online: status.online,
            width: latest.map(|f| f.meta.width),
            height: latest.map(|f| f.meta.height),
            fps: (status.fps() * 10.0).round() / 10.0,
            last_frame_age_ms: status
                .last_live_at
                .map(|at| at.elapsed().as_millis() as u64),
            last_seq: latest.map(|f| f.meta.seq),
            latency_ms: latest.map(|f| (f.meta.age().as_secs_f64() * 10_000.0).round() / 10.0),
            clients: camera.viewers(),
            subscribed: status.subscribed,
            recording: status.recording,
            clip_buffer,
            variants: status
                .info
                .as_deref()
                .map(|info| {
                    node_variants::offered(&info.variants)
                        .map(|v| VariantEntry {
                            name: v.name.clone(),
                            width: v.width,
                            height: v.height,
                            quality: v.quality,
                            fps: v.fps,
                            source: "camera",
                            subscribed: status.node_variants.contains(&v.name),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            info: status.info.as_deref().cloned(),
            info_error: status.info_error.as_deref().map(str::to_owned),
            conflict: status.conflict.clone(),
        }
    }
}

pub async fn cameras(State(state): State<AppState>) -> Json<Vec<CameraEntry>> {
    let clip_buffer = state.config.clip_state();
    let list = state.directory.list();
    Json(
        list.iter()
            .map(|c| CameraEntry::of(c, clip_buffer))
            .collect(),
    )
}

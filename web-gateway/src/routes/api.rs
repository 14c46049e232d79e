//! `GET /api/cameras`: every known camera with its state, measured rate and info reply.

use crate::registry::Camera;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use camera_node::CameraInfo;
use serde::Serialize;

/// One entry of `/api/cameras` (also what the web page renders).
#[derive(Debug, Serialize)]
pub struct CameraStatus {
    pub id: String,
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
    /// `subscribe = "while_watched"` and nobody watches: then fps is 0 and frames are old).
    pub subscribed: bool,
    pub info: Option<CameraInfo>,
    pub info_error: Option<String>,
}

impl CameraStatus {
    pub fn of(camera: &Camera) -> Self {
        let latest = camera.latest_live();
        let (info, info_error) = camera.info();
        Self {
            id: camera.id().to_owned(),
            online: camera.is_online(),
            width: latest.as_ref().map(|f| f.meta.width),
            height: latest.as_ref().map(|f| f.meta.height),
            fps: (camera.measured_fps() * 10.0).round() / 10.0,
            last_frame_age_ms: camera.last_frame_age().map(|age| age.as_millis() as u64),
            last_seq: latest.as_ref().map(|f| f.meta.seq),
            latency_ms: latest
                .as_ref()
                .map(|f| (f.meta.age().as_secs_f64() * 10_000.0).round() / 10.0),
            clients: camera.viewers(),
            subscribed: camera.is_subscribed(),
            info,
            info_error,
        }
    }
}

pub async fn cameras(State(state): State<AppState>) -> Json<Vec<CameraStatus>> {
    Json(
        state
            .registry
            .list()
            .iter()
            .map(|camera| CameraStatus::of(camera))
            .collect(),
    )
}

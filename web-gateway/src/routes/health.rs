//! `GET /healthz`: 200 while the zenoh session is open, 503 otherwise; the body also lists
//! every configured zenoh endpoint and whether the gateway reaches it. An unreachable robot
//! does not make it 503: the gateway itself is fine, keeps serving and keeps retrying, and a
//! container health check must not restart it for a robot's fault. With `--record`, it
//! shows whether recording is paused (disk under its free-space floor) and its disk use.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::atomic::Ordering;

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let up = !state.zenoh.is_closed();
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let recording = state.metrics.record_stats().map(|stats| {
        serde_json::json!({
            "paused": stats.paused.load(Ordering::Relaxed),
            "budget_bytes": stats.budget_bytes.load(Ordering::Relaxed),
            "used_bytes": stats.used_bytes.load(Ordering::Relaxed),
        })
    });
    let body = serde_json::json!({
        "zenoh": if up { "up" } else { "closed" },
        "cameras": state.directory.len(),
        "endpoints": state.links.snapshot().as_ref(),
        "recording": recording,
    });
    (status, Json(body))
}

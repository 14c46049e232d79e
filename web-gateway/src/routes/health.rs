//! `GET /healthz`: 200 while the zenoh session is open, 503 otherwise.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let up = !state.zenoh.is_closed();
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "zenoh": if up { "up" } else { "closed" },
        "cameras": state.directory.len(),
    });
    (status, Json(body))
}

//! End-to-end tests of the `web-gateway` binary: real zenoh sessions on loopback, synthetic
//! cameras on the camera-node library's publisher (`test-support`), real HTTP/WebSocket clients.

mod camera_task;
mod errors;
mod fleet;
mod foxglove;
mod foxglove_slow;
mod h264;
mod http_face;
mod lifecycle;
mod links;
mod node_variants;
mod recording;
mod ros2;
mod slow_client;
mod sources;
mod streaming;
mod variant_errors;
mod variant_recheck;
mod while_watched;
mod ws_client;
mod ws_writer;

/// The binary under test.
const GATEWAY: &str = env!("CARGO_BIN_EXE_web-gateway");

/// Tests take this shared; the load test takes it exclusively, so that its "every reader keeps
/// up" figure measures the gateway, not CPU contention with the other tests in this binary.
static LOAD_LOCK: std::sync::LazyLock<tokio::sync::RwLock<()>> =
    std::sync::LazyLock::new(|| tokio::sync::RwLock::new(()));

pub async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    LOAD_LOCK.read().await
}

pub async fn exclusive() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    LOAD_LOCK.write().await
}

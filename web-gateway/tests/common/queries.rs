//! The synthetic camera's queryables: snapshot and info replies, as a real node gives them.

use super::camera::{CameraOptions, Latest};
use camera_node::info::{CameraInfo, CaptureState};
use camera_node::keys::CameraKeys;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;

/// One reply to a query: payload, encoding and optional attachment.
type Answer = (Vec<u8>, Encoding, Option<Vec<u8>>);

/// Answers queries on `key` with `answer()` (no reply when it gives `None`) until `stop`.
async fn answer_queries(
    session: zenoh::Session,
    key: String,
    stop: CancellationToken,
    answer: impl Fn() -> Option<Answer>,
) {
    let Ok(queryable) = session.declare_queryable(key.clone()).await else {
        return;
    };
    loop {
        let query = tokio::select! {
            _ = stop.cancelled() => break,
            query = queryable.recv_async() => match query { Ok(query) => query, Err(_) => break },
        };
        if let Some((payload, encoding, attachment)) = answer() {
            let _ = query
                .reply(key.clone(), payload)
                .encoding(encoding)
                .attachment(attachment)
                .await;
        }
    }
}

/// Answers `<prefix>/<camera>/jpeg` queries with the last frame, like the real node.
pub(super) async fn serve_snapshot(
    session: zenoh::Session,
    keys: CameraKeys,
    latest: Latest,
    stop: CancellationToken,
) {
    answer_queries(session, keys.jpeg(), stop, || {
        let (jpeg, meta) = latest.lock().expect("latest frame").clone()?;
        Some((
            jpeg.to_vec(),
            Encoding::IMAGE_JPEG,
            Some(meta.encode().to_vec()),
        ))
    })
    .await;
}

pub(super) async fn serve_info(
    session: zenoh::Session,
    keys: CameraKeys,
    options: CameraOptions,
    published: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    answer_queries(session, keys.info(), stop, || {
        let info = CameraInfo {
            camera: options.id.clone(),
            source: "test".into(),
            pipeline: "synthetic (web-gateway tests)".into(),
            width: options.width,
            height: options.height,
            fps: options.fps,
            encoder: "image-rs".into(),
            quality: 80,
            state: CaptureState::Running,
            frames_published: published.load(Ordering::SeqCst),
            restarts: 0,
            last_error: None,
            node_version: "test".into(),
        };
        let json = serde_json::to_vec(&info).expect("info json");
        Some((json, Encoding::APPLICATION_JSON, None))
    })
    .await;
}

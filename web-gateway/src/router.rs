//! The URL map: which handler serves which path. Nothing else.

use crate::routes::{api, health, metrics, page, snapshot, stream, ws};
use crate::state::AppState;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::script))
        .route("/assets/style.css", get(page::style))
        .route("/cameras/{id}/stream.mjpg", get(stream::stream))
        .route("/cameras/{id}/snapshot.jpg", get(snapshot::snapshot))
        .route("/api/cameras", get(api::cameras))
        .route("/ws", get(ws::ws))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    let body = serde_json::json!({
        "error": "not found",
        "detail": format!("no endpoint {}; see GET / or the README for the list", uri.path()),
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use axum::body::Body;
    use axum::http::{header, Request};
    use bytes::Bytes;
    use camera_node::{Frame, FrameMeta};
    use futures::StreamExt;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    async fn seeded() -> AppState {
        let config = zenoh::Config::from_json5(
            r#"{ mode: "peer", listen: { endpoints: ["tcp/127.0.0.1:0"] },
                 scouting: { multicast: { enabled: false } } }"#,
        )
        .expect("zenoh config");
        let session = zenoh::open(config).await.expect("zenoh session");
        let state = AppState::new(Config::default(), session, CancellationToken::new());
        let meta = FrameMeta {
            seq: 5,
            capture_ts_ns: camera_node::meta::unix_now_ns(),
            width: 4,
            height: 2,
            generation: 1,
            online: true,
        };
        let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xD9]);
        let frame = Frame::new(jpeg, meta).expect("frame");
        state.registry.get_or_insert("front").publish_live(frame);
        state.registry.get_or_insert("empty");
        state
    }

    async fn get(state: &AppState, uri: &str) -> axum::response::Response {
        router(state.clone())
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn json(response: axum::response::Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON body")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn serves_the_seeded_registry() {
        let state = seeded().await;
        let list = json(get(&state, "/api/cameras").await).await;
        assert_eq!(list[0]["id"], "empty");
        assert_eq!(list[1]["id"], "front");
        assert_eq!(list[1]["width"], 4);
        assert_eq!(list[1]["online"], true);
        assert_eq!(list[1]["last_seq"], 5);

        let snapshot = get(&state, "/cameras/front/snapshot.jpg").await;
        assert_eq!(snapshot.status(), 200);
        assert_eq!(snapshot.headers()["x-frame-seq"], "5");
        assert!(snapshot.headers().contains_key("x-frame-age-ms"));
        let body = axum::body::to_bytes(snapshot.into_body(), 1 << 20)
            .await
            .expect("body");
        assert_eq!(body.len(), 8);

        let stream = get(&state, "/cameras/front/stream.mjpg").await;
        assert_eq!(stream.status(), 200);
        assert_eq!(
            stream.headers()[header::CONTENT_TYPE],
            crate::mjpeg::CONTENT_TYPE
        );
        let mut chunks = stream.into_body().into_data_stream();
        let opening = chunks.next().await.expect("chunk").expect("ok");
        assert_eq!(opening, crate::mjpeg::OPENING.as_bytes());
        let head = chunks.next().await.expect("chunk").expect("ok");
        assert!(String::from_utf8_lossy(&head).contains("X-Frame-Seq: 5"));

        assert_eq!(get(&state, "/healthz").await.status(), 200);
        let page = get(&state, "/").await;
        assert_eq!(page.status(), 200);
        let metrics = get(&state, "/metrics").await;
        assert!(metrics.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn errors_have_status_and_json() {
        let state = seeded().await;
        let cases = [
            ("/cameras/nope/stream.mjpg", 404, "nope"),
            ("/cameras/nope/snapshot.jpg", 404, "nope"),
            ("/cameras/front/stream.mjpg?fps=fast", 400, "`fps`"),
            ("/cameras/front/stream.mjpg?width=9", 400, "`width`"),
            ("/cameras/front/snapshot.jpg?max_age=1", 400, "`max_age`"),
            ("/cameras/empty/snapshot.jpg", 503, "not sent a frame"),
            ("/nothing/here", 404, "/nothing/here"),
        ];
        for (uri, status, needle) in cases {
            let response = get(&state, uri).await;
            assert_eq!(response.status(), status, "{uri}");
            let body = json(response).await;
            assert!(body["error"].is_string(), "{uri}: {body}");
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(needle), "{uri}: {body}");
        }
    }
}

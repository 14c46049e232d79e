//! The URL map: which handler serves which path. Nothing else.

use crate::auth::{self, Access};
use crate::error::ApiError;
use crate::routes::{api, clip, health, metrics, page, snapshot, stream, video, ws};
use crate::state::AppState;
use axum::http::{Method, Uri};
use axum::routing::get;
use axum::{middleware, Router};
use std::sync::Arc;

/// Every route behind `access` (Host/Origin guard and authentication), 404/405 included.
pub fn router(state: AppState, access: Arc<Access>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::script))
        .route("/assets/links.js", get(page::links_script))
        .route("/assets/video.js", get(page::video_script))
        .route("/assets/style.css", get(page::style))
        .route("/cameras/{id}/stream.mjpg", get(stream::stream))
        .route("/cameras/{id}/stream.h264", get(video::stream))
        .route("/cameras/{id}/snapshot.jpg", get(snapshot::snapshot))
        .route("/cameras/{id}/clip.mcap", get(clip::clip))
        .route("/api/cameras", get(api::cameras))
        .route("/ws", get(ws::ws))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(access, auth::enforce))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound {
        path: uri.path().to_owned(),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use axum::body::Body;
    use axum::http::{header, Request};
    use camera_protocol::FrameMeta;
    use futures::StreamExt;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    /// A gateway state fed the real way: liveliness tokens found by discovery, a frame put
    /// on zenoh and received by the camera task. The tokens live as long as the returned value.
    async fn seeded() -> (AppState, Vec<zenoh::liveliness::LivelinessToken>) {
        let config = zenoh::Config::from_json5(
            r#"{ mode: "peer", listen: { endpoints: ["tcp/127.0.0.1:0"] },
                 scouting: { multicast: { enabled: false } } }"#,
        )
        .expect("zenoh config");
        let session = zenoh::open(config).await.expect("zenoh session");
        let state = AppState::new(Config::default(), session.clone(), CancellationToken::new());
        let liveliness = crate::discovery::subscribe(&state)
            .await
            .expect("liveliness subscriber");
        state.tracker.spawn(crate::discovery::run(
            state.clone(),
            liveliness,
            camera_record::Sinks::default(),
        ));
        let mut tokens = Vec::new();
        for id in ["front", "empty"] {
            let keys = camera_protocol::keys::CameraKeys::new("camera", id).expect("keys");
            let token = session.liveliness().declare_token(keys.liveliness()).await;
            tokens.push(token.expect("token"));
        }
        let front = wait(|| state.directory.get("front")).await;
        wait(|| state.directory.get("empty")).await;
        let mut status = front.watch_status();
        let subscribed = status.wait_for(|status| status.subscribed);
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .expect("camera task subscribed in time")
            .expect("camera task running");
        let meta = FrameMeta {
            seq: 5,
            capture_ts_ns: camera_protocol::meta::unix_now_ns(),
            width: 4,
            height: 2,
            generation: 1,
            online: true,
        };
        let jpeg = tiny_jpeg();
        session
            .put("camera/front/jpeg", jpeg.to_vec())
            .attachment(meta.encode().to_vec())
            .await
            .expect("put frame");
        tokio::time::timeout(Duration::from_secs(10), front.wait_live_after(4))
            .await
            .expect("frame received in time")
            .expect("camera task running");
        (state, tokens)
    }

    /// A real 4x2 JPEG: the gateway checks the header against the attachment's size.
    fn tiny_jpeg() -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(4, 2, image::Rgb([9, 99, 199]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode_image(&picture)
            .expect("encode");
        jpeg
    }

    /// Polls `found` until it gives a value (discovery runs on its own task), for up to 10 s.
    async fn wait<T>(found: impl Fn() -> Option<T>) -> T {
        for _ in 0..1000 {
            if let Some(value) = found() {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("not discovered within 10 s");
    }

    async fn get(state: &AppState, uri: &str) -> axum::response::Response {
        send(state, Method::GET, uri).await
    }

    async fn send(state: &AppState, method: Method, uri: &str) -> axum::response::Response {
        let request = Request::builder().method(method).uri(uri);
        let local = state.config.listen;
        let access = Access::load(&state.config, local, false, state.metrics.clone())
            .expect("no access files");
        router(state.clone(), Arc::new(access))
            .oneshot(request.body(Body::empty()).expect("request"))
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
    async fn serves_the_seeded_cameras() {
        let (state, _tokens) = seeded().await;
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
        assert_eq!(body, tiny_jpeg());

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
        let (state, _tokens) = seeded().await;
        let cases = [
            ("/cameras/nope/stream.mjpg", 404, "nope"),
            ("/cameras/nope/snapshot.jpg", 404, "nope"),
            ("/cameras/front/stream.mjpg?fps=fast", 400, "`fps`"),
            ("/cameras/front/stream.mjpg?width=9", 400, "`width`"),
            ("/cameras/front/snapshot.jpg?max_age=1", 400, "`max_age`"),
            ("/cameras/empty/snapshot.jpg", 503, "not sent a frame"),
            // No info queryable: the camera's variants are not known yet, so not refused as
            // unknown (404) but to be retried.
            (
                "/cameras/front/stream.mjpg?variant=p",
                503,
                "not told its variants",
            ),
            (
                "/cameras/front/snapshot.jpg?variant=p",
                503,
                "not told its variants",
            ),
            (
                "/cameras/front/stream.mjpg?width=99&width=98",
                400,
                "more than once",
            ),
            ("/nothing/here", 404, "/nothing/here"),
        ];
        let cases = cases.map(|(uri, status, needle)| (Method::GET, uri, status, needle));
        let more = [
            (Method::POST, "/api/cameras", 405, "POST"),
            (Method::DELETE, "/cameras/front/snapshot.jpg", 405, "DELETE"),
            // No upgrade headers (and no connection to upgrade): the same JSON, not axum's text.
            (Method::GET, "/ws", 400, "WebSocket"),
            // A camera that may still turn out to have the variant lets the socket open.
            (Method::GET, "/ws?variant=p", 400, "WebSocket"),
        ];
        for (method, uri, status, needle) in cases.into_iter().chain(more) {
            let response = send(&state, method, uri).await;
            assert_eq!(response.status(), status, "{uri}");
            let body = json(response).await;
            assert!(body["error"].is_string(), "{uri}: {body}");
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(needle), "{uri}: {body}");
        }
    }
}

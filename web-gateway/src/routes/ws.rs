//! `GET /ws[?cameras=a,b&width=W&quality=Q]`: every camera's frames over one WebSocket.
//!
//! One connection carries all cameras, so a page with 8+ live views stays clear of the
//! browsers' 6-connections-per-host limit that separate MJPEG streams would hit.
//! Each binary message is `[u8 id_len][id][32-byte FrameMeta attachment][JPEG]` (the same
//! metadata codec as on zenoh). Like the MJPEG body, each camera is pulled from its
//! latest-frame slot only when the socket has sent the previous message, so a slow client
//! skips frames. Cameras discovered while connected are added.

use super::variant;
use crate::camera::{Feed, MessageCache, Variant, Viewer};
use crate::error::{ApiError, ApiQuery};
use crate::state::{AppState, ClientGuard};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use camera_node::Frame;
use futures::stream::{BoxStream, SelectAll};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub async fn ws(
    State(state): State<AppState>,
    query: ApiQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    query.only(&["cameras", "width", "quality"])?;
    let variant = variant(&query)?;
    let filter = match query.text("cameras") {
        Some(list) => {
            let ids: HashSet<String> = list
                .split(',')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = ids
                .iter()
                .find(|id| camera_node::keys::validate_camera_id(id).is_err())
            {
                return Err(ApiError::BadQuery {
                    parameter: "cameras".into(),
                    message: format!("{bad:?} is not a camera id (comma-separated ids expected)"),
                });
            }
            Some(ids)
        }
        None => None,
    };
    // Query errors first, so that a bad URL is reported as such even without an upgrade.
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let response = rejection.into_response();
            return Err(ApiError::BadUpgrade {
                status: response.status(),
                message: rejection_text(response).await,
            });
        }
    };
    let client = state.admit("ws")?;
    Ok(upgrade.on_upgrade(move |socket| run(socket, state, filter, variant, client)))
}

/// The plain-text reason axum gives for a refused upgrade.
async fn rejection_text(response: Response) -> String {
    match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(text) => String::from_utf8_lossy(&text).into_owned(),
        Err(_) => "not a WebSocket upgrade request".to_owned(),
    }
}

/// One camera's frames, with the cache its messages come from.
type Frames = BoxStream<'static, (String, Arc<MessageCache>, Arc<Frame>)>;

fn frames(id: String, feed: Feed) -> Frames {
    let Feed {
        frames: slot,
        messages,
    } = feed;
    futures::stream::unfold(
        (id, messages, slot),
        |(id, messages, mut slot)| async move {
            loop {
                // Ends when the camera task ends (camera forgotten).
                slot.changed().await.ok()?;
                let latest = slot.borrow_and_update().clone();
                if let Some(frame) = latest {
                    return Some(((id.clone(), messages.clone(), frame), (id, messages, slot)));
                }
            }
        },
    )
    .boxed()
}

async fn run(
    mut socket: WebSocket,
    state: AppState,
    filter: Option<HashSet<String>>,
    variant: Variant,
    _client: ClientGuard,
) {
    let mut changes = state.directory.subscribe();
    changes.mark_changed();
    let mut feeds: SelectAll<Frames> = SelectAll::new();
    // Per camera id: the task generation fed from, and the viewer counted for it. A camera
    // forgotten and discovered again is a new task, fed anew.
    let mut watching: HashMap<String, (u64, Viewer)> = HashMap::new();
    loop {
        tokio::select! {
            _ = state.cancel.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                let cameras = state.directory.list();
                watching.retain(|id, _| cameras.iter().any(|camera| camera.id() == id));
                for camera in cameras {
                    let wanted = filter.as_ref().is_none_or(|ids| ids.contains(camera.id()));
                    let fed = watching
                        .get(camera.id())
                        .is_some_and(|(generation, _)| *generation == camera.generation());
                    if !wanted || fed {
                        continue;
                    }
                    let viewer = camera.viewer();
                    let Ok(feed) = camera.feed(variant).await else { continue };
                    watching.insert(camera.id().to_owned(), (camera.generation(), viewer));
                    feeds.push(frames(camera.id().to_owned(), feed));
                }
            }
            Some((id, messages, frame)) = feeds.next() => {
                let message = messages.message(&id, &frame);
                state.metrics.frame_sent("ws", &id, frame.jpeg.len(), frame.meta.age());
                tokio::select! {
                    _ = state.cancel.cancelled() => break,
                    sent = socket.send(Message::Binary(message)) => if sent.is_err() { break },
                }
            }
            received = socket.recv() => match received {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

//! `GET /ws[?cameras=a,b&width=W&quality=Q]`: every camera's frames over one WebSocket.
//!
//! One connection carries all cameras, so a page with 8+ live views stays clear of the
//! browsers' 6-connections-per-host limit that separate MJPEG streams would hit.
//! Each binary message is `[u8 id_len][id][32-byte FrameMeta attachment][JPEG]` (the same
//! metadata codec as on zenoh). Like the MJPEG body, each camera is pulled from its
//! latest-frame slot only when the socket has sent the previous message, so a slow client
//! skips frames. Cameras discovered while connected are added.

use super::variant;
use crate::error::{ApiError, ApiQuery};
use crate::registry::ViewerGuard;
use crate::state::{AppState, ClientGuard};
use crate::variants::Variant;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use camera_node::Frame;
use futures::stream::{BoxStream, SelectAll};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};

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
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let client = state.admit("ws")?;
    Ok(upgrade.on_upgrade(move |socket| run(socket, state, filter, variant, client)))
}

/// `[u8 id_len][id][32-byte meta][JPEG]`.
pub fn encode_message(camera: &str, frame: &Frame) -> Bytes {
    let id = camera.as_bytes();
    let meta = frame.meta.encode();
    let mut out = BytesMut::with_capacity(1 + id.len() + meta.len() + frame.jpeg.len());
    // Camera ids are validated to 1..=64 bytes, so the length fits in one byte.
    out.put_u8(id.len().min(255) as u8);
    out.put_slice(&id[..id.len().min(255)]);
    out.put_slice(&meta);
    out.put_slice(&frame.jpeg);
    out.freeze()
}

/// The encoded message of each camera's (and variant's) latest frame, shared by every socket:
/// the message for a frame is built once and its `Bytes` cloned per client, so sockets, like
/// MJPEG bodies, never copy the JPEG per client.
#[derive(Debug, Default)]
pub struct MessageCache {
    latest: Mutex<HashMap<(String, Variant), CachedMessage>>,
}

/// The frame a message was built from (by address) and the message.
type CachedMessage = (Weak<Frame>, Bytes);

impl MessageCache {
    pub fn message(&self, camera: &str, variant: Variant, frame: &Arc<Frame>) -> Bytes {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (camera.to_owned(), variant);
        // The Weak keeps the allocation alive, so an equal address really is the same frame.
        if let Some((cached, message)) = latest.get(&key) {
            if Weak::as_ptr(cached) == Arc::as_ptr(frame) {
                return message.clone();
            }
        }
        let message = encode_message(camera, frame);
        latest.insert(key, (Arc::downgrade(frame), message.clone()));
        message
    }
}

type Feed = BoxStream<'static, (String, Arc<Frame>)>;

fn feed(id: String, slot: crate::registry::Slot) -> Feed {
    futures::stream::unfold((id, slot), |(id, mut slot)| async move {
        loop {
            slot.changed().await.ok()?;
            let latest = slot.borrow_and_update().clone();
            if let Some(frame) = latest {
                return Some(((id.clone(), frame), (id, slot)));
            }
        }
    })
    .boxed()
}

async fn run(
    mut socket: WebSocket,
    state: AppState,
    filter: Option<HashSet<String>>,
    variant: Variant,
    _client: ClientGuard,
) {
    let mut added = state.registry.subscribe_added();
    added.mark_changed();
    let mut feeds: SelectAll<Feed> = SelectAll::new();
    let mut watching: HashSet<String> = HashSet::new();
    let mut _viewers: Vec<ViewerGuard> = Vec::new();
    loop {
        tokio::select! {
            _ = state.cancel.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            changed = added.changed() => {
                if changed.is_err() {
                    break;
                }
                for camera in state.registry.list() {
                    let wanted = filter.as_ref().is_none_or(|ids| ids.contains(camera.id()));
                    if wanted && watching.insert(camera.id().to_owned()) {
                        _viewers.push(camera.viewer());
                        let slot = state.variants.subscribe(&camera, variant);
                        feeds.push(feed(camera.id().to_owned(), slot));
                    }
                }
            }
            Some((id, frame)) = feeds.next() => {
                let message = state.ws_messages.message(&id, variant, &frame);
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

#[cfg(test)]
mod tests {
    use super::*;
    use camera_node::FrameMeta;

    #[test]
    fn message_layout_is_id_meta_jpeg() {
        let meta = FrameMeta {
            seq: 3,
            capture_ts_ns: 99,
            width: 8,
            height: 6,
            generation: 1,
            online: true,
        };
        let frame = Frame {
            jpeg: Bytes::from_static(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9]),
            meta,
        };
        let message = encode_message("rear", &frame);
        assert_eq!(message[0], 4);
        assert_eq!(&message[1..5], b"rear");
        assert_eq!(FrameMeta::decode(&message[5..37]), Ok(meta));
        assert_eq!(&message[37..], &frame.jpeg[..]);
    }

    #[test]
    fn cache_builds_each_frame_message_once() {
        let meta = FrameMeta {
            seq: 1,
            capture_ts_ns: 5,
            width: 8,
            height: 6,
            generation: 1,
            online: true,
        };
        let jpeg = Bytes::from_static(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9]);
        let first = Arc::new(Frame {
            jpeg: jpeg.clone(),
            meta,
        });
        let cache = MessageCache::default();
        let a = cache.message("front", Variant::default(), &first);
        let b = cache.message("front", Variant::default(), &first);
        assert_eq!(a.as_ptr(), b.as_ptr(), "second socket got a copy");
        let second = Arc::new(Frame {
            jpeg,
            meta: FrameMeta { seq: 2, ..meta },
        });
        let c = cache.message("front", Variant::default(), &second);
        assert_ne!(a.as_ptr(), c.as_ptr());
        assert_eq!(FrameMeta::decode(&c[6..38]).map(|m| m.seq), Ok(2));
    }
}

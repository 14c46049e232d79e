//! `GET /ws[?cameras=a,b&width=W&quality=Q|variant=NAME]`: every camera's frames over one
//! WebSocket.
//!
//! One connection carries all cameras, so a page with 8+ live views stays clear of the
//! browsers' 6-connections-per-host limit that separate MJPEG streams would hit.
//! Each binary message is `[u8 id_len][id][32-byte FrameMeta attachment][JPEG]` (the same
//! metadata codec as on zenoh). Like the MJPEG body, each camera is pulled from its
//! latest-frame slot only when the socket has sent the previous message, so a slow client
//! skips frames. Cameras discovered while connected are added.
//!
//! `variant=NAME` applies to each camera whose node offers it (the others send their own
//! frames); `width=` to each camera as on its stream. A client switches one camera at any time
//! by sending the text message `{"camera": "front", "variant": "preview"}` (`null`: full
//! frames) — the page does so to fit each tile; a bad one is answered `{"error", "detail"}`.

use super::Asked;
use crate::camera::{CameraHandle, Choice, Feed, MessageCache, Viewer};
use crate::error::{ApiError, ApiQuery};
use crate::state::{AppState, ClientGuard};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use camera_node::Frame;
use futures::stream::{BoxStream, SelectAll};
use futures::StreamExt;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Longest message a client may send (a switch request is a few dozen bytes); a longer one
/// closes the socket (close code 1009) before it is buffered.
const MAX_CONTROL_BYTES: usize = 1024;

pub async fn ws(
    State(state): State<AppState>,
    query: ApiQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    query.only(&["cameras", "width", "quality", "variant"])?;
    let asked = Asked::of(&query)?;
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
        Err(rejection) => return Err(ApiError::from_upgrade_rejection(rejection).await),
    };
    let client = state.admit("ws")?;
    let upgrade = upgrade
        .max_message_size(MAX_CONTROL_BYTES)
        .max_frame_size(MAX_CONTROL_BYTES);
    Ok(upgrade.on_upgrade(move |socket| run(socket, state, filter, asked, client)))
}

/// One camera's frames, with the cache its messages come from.
type Frames = BoxStream<'static, (String, Arc<MessageCache>, Arc<Frame>)>;

/// The frames of `feed` until `stop` (the client switched the camera to another variant).
fn frames(id: String, feed: Feed, stop: CancellationToken) -> Frames {
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
    .take_until(stop.cancelled_owned())
    .boxed()
}

/// A request to switch one camera's frames: `{"camera": "front", "variant": "preview"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    camera: String,
    /// A variant the camera's node encodes; `None`: the camera's own frames.
    variant: Option<String>,
}

/// One camera this socket receives.
struct Watching {
    generation: u64,
    choice: Choice,
    /// Ends this feed's stream when the client switches variant.
    stop: CancellationToken,
    _viewer: Viewer,
}

/// The socket's cameras and what each sends.
struct Cameras {
    asked: Asked,
    watching: HashMap<String, Watching>,
    /// Per camera id, the variant the client switched it to (kept across rediscovery).
    switched: HashMap<String, Option<String>>,
    feeds: SelectAll<Frames>,
}

impl Cameras {
    /// What `camera` should send: the client's switch, else the URL's request (a camera
    /// without the URL's variant sends its own frames).
    fn wanted(&self, camera: &CameraHandle) -> Choice {
        let named = match self.switched.get(camera.id()) {
            Some(switched) => Asked {
                name: switched.clone(),
                ..Asked::default()
            },
            None => self.asked.clone(),
        };
        named.choice(camera).unwrap_or_default()
    }

    /// Starts (or restarts with another choice) the feed of `camera`.
    async fn watch(&mut self, camera: &CameraHandle, choice: Choice) {
        let viewer = camera.viewer(&choice);
        let Ok(feed) = camera.feed(choice.clone()).await else {
            return;
        };
        let stop = CancellationToken::new();
        self.feeds
            .push(frames(camera.id().to_owned(), feed, stop.clone()));
        let previous = self.watching.insert(
            camera.id().to_owned(),
            Watching {
                generation: camera.generation(),
                choice,
                stop,
                _viewer: viewer,
            },
        );
        if let Some(previous) = previous {
            previous.stop.cancel();
        }
    }

    /// Handles a text message; `Err` is the error JSON to answer with.
    async fn switch(&mut self, state: &AppState, text: &str) -> Result<(), ApiError> {
        let bad = |message: String| ApiError::BadQuery {
            parameter: "(WebSocket message)".into(),
            message,
        };
        let switch: Switch = serde_json::from_str(text).map_err(|error| {
            bad(format!(
                "{error}; expected {{\"camera\": \"ID\", \"variant\": \"NAME\" or null}}"
            ))
        })?;
        let camera = state
            .directory
            .get(&switch.camera)
            .ok_or_else(|| super::unknown(&switch.camera))?;
        let choice = Asked {
            name: switch.variant.clone(),
            ..Asked::default()
        }
        .choice(&camera)?;
        self.switched.insert(switch.camera.clone(), switch.variant);
        let current = self.watching.get(camera.id()).map(|w| &w.choice);
        if self.watching.contains_key(camera.id()) && current != Some(&choice) {
            self.watch(&camera, choice).await;
        }
        Ok(())
    }
}

async fn run(
    mut socket: WebSocket,
    state: AppState,
    filter: Option<HashSet<String>>,
    asked: Asked,
    _client: ClientGuard,
) {
    let mut changes = state.directory.subscribe();
    changes.mark_changed();
    let mut cameras = Cameras {
        asked,
        watching: HashMap::new(),
        switched: HashMap::new(),
        feeds: SelectAll::new(),
    };
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
                // A camera forgotten and discovered again is a new task, fed anew.
                let known = state.directory.list();
                cameras.watching.retain(|id, _| known.iter().any(|camera| camera.id() == id));
                cameras.switched.retain(|id, _| known.iter().any(|camera| camera.id() == id));
                for camera in known {
                    let wanted = filter.as_ref().is_none_or(|ids| ids.contains(camera.id()));
                    let fed = cameras
                        .watching
                        .get(camera.id())
                        .is_some_and(|watching| watching.generation == camera.generation());
                    if wanted && !fed {
                        let choice = cameras.wanted(&camera);
                        cameras.watch(&camera, choice).await;
                    }
                }
            }
            Some((id, messages, frame)) = cameras.feeds.next() => {
                let message = messages.message(&id, &frame);
                state.metrics.frame_sent("ws", &id, frame.jpeg.len(), frame.meta.age());
                tokio::select! {
                    _ = state.cancel.cancelled() => break,
                    sent = socket.send(Message::Binary(message)) => if sent.is_err() { break },
                }
            }
            received = socket.recv() => match received {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(Message::Text(text))) => {
                    if let Err(error) = cameras.switch(&state, text.as_str()).await {
                        let answer = serde_json::json!({
                            "error": error.to_string(),
                            "detail": error.detail(),
                        });
                        if socket.send(Message::Text(answer.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

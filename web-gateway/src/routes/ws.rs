//! `GET /ws[?cameras=a,b&width=W|height=H&quality=Q|variant=NAME]`: every camera's frames
//! over one WebSocket.
//!
//! One connection carries all cameras, so a page with 8+ live views stays clear of the
//! browsers' 6-connections-per-host limit that separate MJPEG streams would hit.
//! Each binary message is `[u8 id_len][id][32-byte FrameMeta attachment][JPEG]` (the same
//! metadata codec as on zenoh). Like the MJPEG body, each camera is pulled from its
//! latest-frame slot only when the socket has sent the previous message, so a slow client
//! skips frames. Cameras discovered while connected are added.
//!
//! `variant=NAME` applies to each camera that has it; `width=`/`height=` to each camera as on
//! its stream. A socket whose cameras all told their variants and none has `NAME` is refused
//! (404, like `stream.mjpg`). A camera without it sends no frames, only the text notice
//! `{"camera", "error", "detail"}` naming its variants — never silently another size, which
//! could be full frames over the robot's link — until the client switches it. A client
//! switches one camera at any time by sending `{"camera": "front", "variant": "preview"}`
//! (`null`: full frames); the page does so to fit each tile. A bad switch is answered with
//! the same notice.

use super::Asked;
use crate::camera::{CameraHandle, CameraStatus, Choice, Feed, MessageCache, Viewer};
use crate::error::{shown, ApiError, ApiQuery};
use crate::state::{AppState, ClientGuard};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use camera_node::Frame;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesUnordered, SelectAll};
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
    query.only(&["cameras", "width", "height", "quality", "variant"])?;
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
                    message: format!(
                        "{} is not a camera id (comma-separated ids expected)",
                        shown(bad)
                    ),
                });
            }
            Some(ids)
        }
        None => None,
    };
    variant_on_some_camera(&state, filter.as_ref(), &asked)?;
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

/// Refuses `?variant=NAME` when every camera the socket covers told its variants and none
/// has `NAME`. A socket is let through while some camera has not told yet, or none is known
/// yet: a camera may still bring the variant, and those without it get a notice.
fn variant_on_some_camera(
    state: &AppState,
    filter: Option<&HashSet<String>>,
    asked: &Asked,
) -> Result<(), ApiError> {
    let Some(name) = &asked.name else {
        return Ok(());
    };
    let mut lacking = Vec::new();
    let covered = state.directory.list().into_iter();
    for camera in covered.filter(|camera| filter.is_none_or(|ids| ids.contains(camera.id()))) {
        match camera.choose(Some(name), asked.variant) {
            Err(crate::camera::UnknownVariant {
                known: Some(known), ..
            }) => lacking.push((camera.id().to_owned(), known)),
            _ => return Ok(()),
        }
    }
    lacking.sort();
    match lacking.len() {
        0 => Ok(()),
        1 => {
            let (camera, known) = lacking.remove(0);
            Err(ApiError::UnknownVariant {
                camera,
                variant: name.clone(),
                known: Some(known),
            })
        }
        _ => Err(ApiError::VariantOnNoCamera {
            variant: name.clone(),
            cameras: lacking,
        }),
    }
}

/// The text message telling the client why `camera` (if known) sends nothing or ignored a
/// switch: the same `{"error", "detail"}` as an HTTP error, plus the camera.
fn notice(camera: Option<&str>, error: &ApiError) -> String {
    serde_json::json!({
        "camera": camera,
        "error": error.to_string(),
        "detail": error.detail(),
    })
    .to_string()
}

/// Whether two info replies are the same one (a refresh is a new `Arc`).
fn same_info(status: &CameraStatus, seen: &Option<Arc<camera_node::info::CameraInfo>>) -> bool {
    match (&status.info, seen) {
        (Some(now), Some(seen)) => Arc::ptr_eq(now, seen),
        (None, None) => true,
        _ => false,
    }
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
    /// Cameras sending nothing because they lack the variant asked for: per id, the task
    /// generation and the notice sent (sent again only when it changes).
    pending: HashMap<String, (u64, String)>,
    /// Pending cameras whose next info reply is awaited in `info_changes`.
    waiting: HashSet<String>,
    /// Each ends with its camera's id when that camera's info changes (or it is forgotten).
    info_changes: FuturesUnordered<BoxFuture<'static, String>>,
    /// Per camera id, the variant the client switched it to (kept across rediscovery).
    switched: HashMap<String, Option<String>>,
    feeds: SelectAll<Frames>,
}

impl Cameras {
    /// What `camera` should send: the client's switch, else the URL's request.
    fn wanted(&self, camera: &CameraHandle) -> Result<Choice, ApiError> {
        let named = match self.switched.get(camera.id()) {
            Some(switched) => Asked {
                name: switched.clone(),
                ..Asked::default()
            },
            None => self.asked.clone(),
        };
        named.choice(camera)
    }

    /// Feeds `camera` what it should send, or stops it and returns the notice that says why
    /// (unless this notice was already sent). A stopped camera is considered again when its
    /// info changes or the client switches it.
    async fn consider(&mut self, camera: &CameraHandle) -> Option<String> {
        let id = camera.id();
        let error = match self.wanted(camera) {
            Ok(choice) => {
                self.pending.remove(id);
                self.watch(camera, choice).await;
                return None;
            }
            Err(error) => error,
        };
        if let Some(watching) = self.watching.remove(id) {
            watching.stop.cancel();
        }
        if self.waiting.insert(id.to_owned()) {
            let mut status = camera.watch_status();
            let seen = status.borrow().info.clone();
            let id = id.to_owned();
            self.info_changes.push(Box::pin(async move {
                let _ = status.wait_for(|now| !same_info(now, &seen)).await;
                id
            }));
        }
        let notice = notice(Some(id), &error);
        let entry = (camera.generation(), notice.clone());
        let repeated = self.pending.insert(id.to_owned(), entry.clone()) == Some(entry);
        (!repeated).then_some(notice)
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

    /// Handles a text message; `Err` is the notice to answer with.
    async fn switch(&mut self, state: &AppState, text: &str) -> Result<(), String> {
        let named = serde_json::from_str::<Switch>(text).ok().map(|s| s.camera);
        self.try_switch(state, text)
            .await
            .map_err(|error| notice(named.as_deref(), &error))
    }

    async fn try_switch(&mut self, state: &AppState, text: &str) -> Result<(), ApiError> {
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
        let pending = self.pending.remove(camera.id()).is_some();
        if pending || (self.watching.contains_key(camera.id()) && current != Some(&choice)) {
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
        pending: HashMap::new(),
        waiting: HashSet::new(),
        info_changes: FuturesUnordered::new(),
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
                cameras.pending.retain(|id, _| known.iter().any(|camera| camera.id() == id));
                let mut notices = Vec::new();
                for camera in known {
                    let wanted = filter.as_ref().is_none_or(|ids| ids.contains(camera.id()));
                    let fed = cameras
                        .watching
                        .get(camera.id())
                        .is_some_and(|watching| watching.generation == camera.generation());
                    let held = cameras
                        .pending
                        .get(camera.id())
                        .is_some_and(|(generation, _)| *generation == camera.generation());
                    if wanted && !fed && !held {
                        notices.extend(cameras.consider(&camera).await);
                    }
                }
                for notice in notices {
                    if socket.send(Message::Text(notice.into())).await.is_err() {
                        return;
                    }
                }
            }
            Some(id) = cameras.info_changes.next() => {
                cameras.waiting.remove(&id);
                if !cameras.pending.contains_key(&id) {
                    continue;
                }
                let Some(camera) = state.directory.get(&id) else {
                    cameras.pending.remove(&id);
                    continue;
                };
                if let Some(notice) = cameras.consider(&camera).await {
                    if socket.send(Message::Text(notice.into())).await.is_err() {
                        break;
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
                    if let Err(notice) = cameras.switch(&state, text.as_str()).await {
                        if socket.send(Message::Text(notice.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

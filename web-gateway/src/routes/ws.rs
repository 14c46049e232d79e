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
//! the same notice. Per-camera state, and re-checking it as info changes: [`super::ws_cameras`].
//!
//! A socket for one camera (`cameras=ID`) on a plain connection's first request is written by
//! the feed's writer instead (`ws_direct.rs`): the same messages, at an MJPEG stream's cost.
//! Several cameras or none, TLS, and later requests of a keep-alive connection stay here.

use super::ws_cameras::Cameras;
use super::{ws_direct, Asked};
use crate::error::{shown, ApiError};
use crate::extract::ApiQuery;
use crate::server::Handoff;
use crate::state::{AppState, ClientGuard};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use futures::StreamExt;
use std::collections::HashSet;

/// Longest message a client may send (a switch request is a few dozen bytes); a longer one
/// closes the socket (close code 1009) before it is buffered. The same on both paths.
const MAX_CONTROL_BYTES: usize = crate::fanout::inbound::MAX_MESSAGE;
/// Bytes tungstenite reads (and zeroes first) at a time from the socket.
const READ_CHUNK: usize = crate::fanout::inbound::READ_CHUNK;

pub async fn ws(
    State(state): State<AppState>,
    query: ApiQuery,
    handoff: Option<Extension<Handoff>>,
    headers: HeaderMap,
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
                .find(|id| camera_protocol::keys::validate_camera_ref(id).is_err())
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
    let upgrade = match (upgrade, handoff) {
        (Ok(upgrade), _) => upgrade,
        // Read by `server::raw` (no hyper upgrade to take), every header of the handshake
        // checked: the socket may go to the feed's writer.
        (Err(WebSocketUpgradeRejection::ConnectionNotUpgradable(_)), Some(Extension(handoff))) => {
            return ws_direct::offer(state, handoff, &headers, filter, asked).await
        }
        (Err(rejection), _) => return Err(ApiError::from_upgrade_rejection(rejection).await),
    };
    let client = state.admit("ws")?;
    // tungstenite zeroes a whole read chunk (128 KiB by default) each time it polls the
    // socket for a message, once per frame sent here: half the gateway's CPU at 300 sockets
    // (perf, docs/benchmarks.md). Clients send a few small control messages.
    let upgrade = upgrade
        .read_buffer_size(READ_CHUNK)
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

async fn run(
    mut socket: WebSocket,
    state: AppState,
    filter: Option<HashSet<String>>,
    asked: Asked,
    _client: ClientGuard,
) {
    let mut changes = state.directory.subscribe();
    changes.mark_changed();
    let mut cameras = Cameras::new(asked);
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
                cameras.keep(&known);
                let mut notices = Vec::new();
                for camera in known {
                    let wanted = filter.as_ref().is_none_or(|ids| ids.contains(camera.id()));
                    if wanted && !cameras.handled(&camera) {
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
                if let Some(notice) = cameras.info_changed(&state, &id).await {
                    if socket.send(Message::Text(notice.into())).await.is_err() {
                        break;
                    }
                }
            }
            Some(out) = cameras.feeds.next() => {
                state.metrics.frame_sent("ws", &out.id, out.payload, out.age);
                tokio::select! {
                    _ = state.cancel.cancelled() => break,
                    sent = socket.send(Message::Binary(out.message)) => if sent.is_err() { break },
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

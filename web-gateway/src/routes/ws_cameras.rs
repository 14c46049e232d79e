//! What one `/ws` socket (`ws.rs`) sends per camera: the feed of each camera, or the notice
//! saying why it sends nothing, kept true as cameras' info and the client's switches change.
//!
//! A camera is considered again whenever its info changes while it is pending (it lacks the
//! variant asked for, or has not told its variants yet) or while it streams a node variant:
//! a node restarted without that variant stops the camera's frames with a notice, and frames
//! resume when the variant comes back.
//!
//! A client may switch a camera to one of its node's H.264 lanes
//! (`{"camera": "front", "video": "main"}`): the socket then carries that lane's access units
//! (`crate::camera::Unit::ws_message`) instead of JPEG frames, from a keyframe on, until the
//! client switches back (`{"camera": "front", "variant": null}`) or the node drops the lane
//! (a notice, then JPEG frames).

use super::ws_messages::{frames, units, Frames};
use super::Asked;
use crate::camera::{CameraHandle, CameraStatus, Choice, Slot, Viewer};
use crate::error::ApiError;
use crate::state::AppState;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, SelectAll};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The text message telling the client why `camera` (if known) sends nothing or ignored a
/// switch: the same `{"error", "detail"}` as an HTTP error, plus the camera.
pub(super) fn notice(camera: Option<&str>, error: &ApiError) -> String {
    serde_json::json!({
        "camera": camera,
        "error": error.to_string(),
        "detail": error.detail(),
    })
    .to_string()
}

/// Whether two info replies are the same one (a refresh is a new `Arc`).
fn same_info(status: &CameraStatus, seen: &Option<Arc<camera_protocol::info::CameraInfo>>) -> bool {
    match (&status.info, seen) {
        (Some(now), Some(seen)) => Arc::ptr_eq(now, seen),
        (None, None) => true,
        _ => false,
    }
}

/// A request to switch one camera's frames: `{"camera": "front", "variant": "preview"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Switch {
    pub camera: String,
    /// A variant the camera's node encodes; `None`: the camera's own frames.
    #[serde(default)]
    pub variant: Option<String>,
    /// One of the node's H.264 lanes instead of JPEG frames.
    #[serde(default)]
    pub video: Option<String>,
}

/// What a switch asks of its camera.
pub(super) enum Wanted {
    Frames(Choice),
    /// An H.264 lane of the camera's node, by name.
    Lane(String),
}

/// A switch request checked (also by the feed-writer sockets, `ws_direct.rs`): the camera it
/// names and what that camera sends then; `Err` is the notice to answer with.
pub(super) fn resolve_switch(
    state: &AppState,
    text: &str,
) -> Result<(Switch, CameraHandle, Wanted), String> {
    let named = serde_json::from_str::<Switch>(text).ok().map(|s| s.camera);
    parse_switch(state, text).map_err(|error| notice(named.as_deref(), &error))
}

fn parse_switch(state: &AppState, text: &str) -> Result<(Switch, CameraHandle, Wanted), ApiError> {
    let bad = |message: String| ApiError::BadQuery {
        parameter: "(WebSocket message)".into(),
        message,
    };
    let switch: Switch = serde_json::from_str(text).map_err(|error| {
        bad(format!(
            "{error}; expected {{\"camera\": \"ID\", \"variant\": \"NAME\" or null}} or {{\"camera\": \"ID\", \"video\": \"LANE\"}}"
        ))
    })?;
    let camera = state
        .directory
        .get(&switch.camera)
        .ok_or_else(|| super::unknown(&switch.camera))?;
    if let Some(asked) = &switch.video {
        if switch.variant.is_some() {
            return Err(bad(
                "give either variant (JPEG frames) or video (an H.264 lane), not both".into(),
            ));
        }
        let lane = super::video::lane(&camera, super::video::lane_name(Some(asked))?.as_deref())?;
        return Ok((switch, camera, Wanted::Lane(lane)));
    }
    let choice = Asked {
        name: switch.variant.clone(),
        ..Asked::default()
    }
    .choice(&camera)?;
    Ok((switch, camera, Wanted::Frames(choice)))
}

/// One camera this socket receives.
struct Watching {
    generation: u64,
    choice: Choice,
    /// The feed's slot: closed when the camera task drops the feed (its node no longer has
    /// the variant); `None` for an H.264 lane.
    slot: Option<Slot>,
    /// The H.264 lane it sends instead of JPEG frames.
    lane: Option<String>,
    /// Ends this feed's stream when the client switches variant.
    stop: CancellationToken,
    _viewer: Viewer,
}

/// The socket's cameras and what each sends.
pub(super) struct Cameras {
    asked: Asked,
    watching: HashMap<String, Watching>,
    /// Cameras sending nothing because they lack the variant asked for: per id, the task
    /// generation and the notice sent (sent again only when it changes).
    pending: HashMap<String, (u64, String)>,
    /// Pending cameras whose next info reply is awaited in `info_changes`.
    waiting: HashSet<String>,
    /// Each ends with its camera's id when that camera's info changes (or it is forgotten).
    pub(super) info_changes: FuturesUnordered<BoxFuture<'static, String>>,
    /// Per camera id, the variant the client switched it to (kept across rediscovery).
    switched: HashMap<String, Option<String>>,
    /// Per camera id, the H.264 lane the client switched it to (kept across rediscovery).
    lanes: HashMap<String, String>,
    pub(super) feeds: SelectAll<Frames>,
}

impl Cameras {
    pub(super) fn new(asked: Asked) -> Self {
        Self {
            asked,
            watching: HashMap::new(),
            pending: HashMap::new(),
            waiting: HashSet::new(),
            info_changes: FuturesUnordered::new(),
            switched: HashMap::new(),
            lanes: HashMap::new(),
            feeds: SelectAll::new(),
        }
    }

    /// Forgets what it knew of cameras no longer in `known`.
    pub(super) fn keep(&mut self, known: &[CameraHandle]) {
        let known = |id: &String| known.iter().any(|camera| camera.id() == id);
        self.watching.retain(|id, _| known(id));
        self.switched.retain(|id, _| known(id));
        self.lanes.retain(|id, _| known(id));
        self.pending.retain(|id, _| known(id));
    }

    /// Whether `camera` (this task of it) is already fed or held back with a notice.
    pub(super) fn handled(&self, camera: &CameraHandle) -> bool {
        let generation = camera.generation();
        let fed = self
            .watching
            .get(camera.id())
            .is_some_and(|watching| watching.generation == generation);
        let held = self
            .pending
            .get(camera.id())
            .is_some_and(|(held, _)| *held == generation);
        fed || held
    }

    /// The info of camera `id` changed: considers it again if it is held back, or if it
    /// streams a node variant (which the node may have dropped, closing the feed).
    pub(super) async fn info_changed(&mut self, state: &AppState, id: &str) -> Option<String> {
        self.waiting.remove(id);
        let node_variant = self.watching.get(id).is_some_and(|watching| {
            matches!(watching.choice, Choice::Node(_)) || watching.lane.is_some()
        });
        if !self.pending.contains_key(id) && !node_variant {
            return None;
        }
        let Some(camera) = state.directory.get(id) else {
            self.pending.remove(id);
            return None;
        };
        if let Some(lane) = self.lanes.get(id) {
            if super::video::lane(&camera, Some(lane)).is_ok() {
                self.await_info(&camera);
                return None;
            }
            // The node dropped the lane: JPEG frames again, and a notice saying why.
            let error = super::video::lane(&camera, Some(lane)).err();
            self.lanes.remove(id);
            let switched_back = self.consider(&camera).await;
            return error
                .map(|error| notice(Some(id), &error))
                .or(switched_back);
        }
        let unchanged = self.watching.get(id).is_some_and(|watching| {
            let open = watching
                .slot
                .as_ref()
                .is_some_and(|slot| slot.has_changed().is_ok());
            open && matches!(self.wanted(&camera), Ok(choice) if choice == watching.choice)
        });
        if unchanged {
            self.await_info(&camera);
            return None;
        }
        self.consider(&camera).await
    }

    /// Makes `info_changes` yield the id of `camera` when its info next changes.
    fn await_info(&mut self, camera: &CameraHandle) {
        if !self.waiting.insert(camera.id().to_owned()) {
            return;
        }
        let mut status = camera.watch_status();
        let seen = status.borrow().info.clone();
        let id = camera.id().to_owned();
        self.info_changes.push(Box::pin(async move {
            let _ = status.wait_for(|now| !same_info(now, &seen)).await;
            id
        }));
    }

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
    pub(super) async fn consider(&mut self, camera: &CameraHandle) -> Option<String> {
        let id = camera.id();
        if let Some(lane) = self.lanes.get(id).cloned() {
            self.pending.remove(id);
            self.watch_lane(camera, lane).await;
            return None;
        }
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
        self.await_info(camera);
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
        let slot = feed.frames.clone();
        self.feeds
            .push(frames(camera.id().to_owned(), feed, stop.clone()));
        if matches!(choice, Choice::Node(_)) {
            self.await_info(camera);
        }
        self.watching_now(camera, choice, Some(slot), None, stop, viewer);
    }

    /// Starts (or restarts) H.264 lane `lane` of `camera` instead of its JPEG frames.
    async fn watch_lane(&mut self, camera: &CameraHandle, lane: String) {
        let choice = Choice::Node(lane.clone());
        let viewer = camera.viewer(&choice);
        let Ok(Some(feed)) = camera.video(&lane).await else {
            return;
        };
        let stop = CancellationToken::new();
        self.feeds
            .push(units(camera.id().to_owned(), feed, stop.clone()));
        self.await_info(camera);
        self.watching_now(camera, choice, None, Some(lane), stop, viewer);
    }

    fn watching_now(
        &mut self,
        camera: &CameraHandle,
        choice: Choice,
        slot: Option<Slot>,
        lane: Option<String>,
        stop: CancellationToken,
        viewer: Viewer,
    ) {
        let watching = Watching {
            generation: camera.generation(),
            choice,
            stop,
            slot,
            lane,
            _viewer: viewer,
        };
        if let Some(previous) = self.watching.insert(camera.id().to_owned(), watching) {
            previous.stop.cancel();
        }
    }

    /// Handles a text message; `Err` is the notice to answer with.
    pub(super) async fn switch(&mut self, state: &AppState, text: &str) -> Result<(), String> {
        let (switch, camera, wanted) = resolve_switch(state, text)?;
        let choice = match wanted {
            Wanted::Lane(lane) => {
                let current = self.watching.get(camera.id()).and_then(|w| w.lane.as_ref());
                if current != Some(&lane) {
                    self.pending.remove(camera.id());
                    self.lanes.insert(switch.camera.clone(), lane.clone());
                    self.watch_lane(&camera, lane).await;
                }
                return Ok(());
            }
            Wanted::Frames(choice) => choice,
        };
        let was_video = self.lanes.remove(camera.id()).is_some();
        self.switched.insert(switch.camera.clone(), switch.variant);
        let current = self.watching.get(camera.id()).map(|w| &w.choice);
        let pending = self.pending.remove(camera.id()).is_some();
        if pending
            || was_video
            || (self.watching.contains_key(camera.id()) && current != Some(&choice))
        {
            self.watch(&camera, choice).await;
        }
        Ok(())
    }
}

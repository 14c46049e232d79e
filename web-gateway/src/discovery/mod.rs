//! Discovery: creates a camera task when a camera's liveliness token (`<prefix>/<camera>`,
//! under any configured prefix or pattern) appears, tells the task when the token comes and
//! goes, and removes the task when the task asks to be forgotten (offline and unwatched for
//! `forget_after`). The only writer of the [`crate::directory::Directory`]. Each camera's id
//! and keys come from its token's concrete prefix and name ([`PrefixSet::name`]).
//!
//! The table is bounded (`max_cameras`, across all robots): a new camera beyond it evicts an
//! unwatched camera that never sent a frame within `proof::PROVE_WITHIN` (oldest first), else
//! the offline, unwatched camera seen longest ago, or is refused and waits (bounded) until a
//! slot frees, so that junk liveliness tokens from the network cannot grow the gateway nor keep
//! real cameras out. A phantom (no frame, no info within `PROVE_WITHIN`) is removed even with
//! its token present; it comes back only if its token is declared again. The directory never
//! holds more than `max_cameras`: a slot is freed before a camera is inserted. Appear and
//! disappear lines go through one [`SharedThrottle`] (tokens churn).
//!
//! History is requested so that cameras already running when the gateway starts are found at
//! once. Cameras are found through liveliness only: a publisher without a token is not seen.
//! With `[ros2] topics`, ROS 2 CompressedImage publishers are found the same way, from their
//! rmw_zenoh `MP` tokens (`@ros2_lv/<domain>/…`), and become cameras whose frames come from
//! the topic (`camera::FrameSource::Ros2`). `tokens.rs` declares the liveliness subscribers.

use crate::camera::proof::PROVE_WITHIN;
use crate::camera::{self, Env, ForgetRequest, FrameSource, Settings};
use crate::state::AppState;
use crate::throttle::{LogThrottle, SharedThrottle};
use camera_protocol::keys::{Layout, PrefixSet};
use camera_protocol::ros2::Ros2Camera;
use camera_record::Sinks;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use zenoh::sample::{Sample, SampleKind};

mod tokens;

use tokens::{next_token, subscribe_ros2};
pub use tokens::{subscribe, LivelinessSubscriber};

/// Longest wait for a forgotten camera's task to end (it only drops its subscription).
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// How often refused cameras retry while the table is full (a camera that just lost its
/// token becomes evictable only once its task has marked it offline).
const RETRY_WAITING: Duration = Duration::from_secs(1);

struct Discovery {
    state: AppState,
    prefixes: PrefixSet,
    env: Env,
    /// Cameras in the table whose liveliness token is present now.
    tokens: HashSet<String>,
    /// Cameras refused while the table was full, token still present, oldest first; at most
    /// `max_cameras` (the oldest is dropped for good beyond that).
    waiting: VecDeque<(String, FrameSource)>,
    /// The "table full" warning, at most once per 10 s.
    refusals: LogThrottle<()>,
    /// ROS 2 cameras → the `MP` tokens announcing their topic (several nodes may publish one).
    ros2_tokens: HashMap<String, HashSet<String>>,
    tasks: HashMap<String, tokio::task::JoinHandle<()>>,
    next_generation: u64,
}

/// Applies liveliness events and forget requests until shutdown; camera tasks hand the frames
/// they accept to `record` (`recording::Recording::sinks`).
pub async fn run(state: AppState, subscriber: LivelinessSubscriber, record: Sinks) {
    let (forget, mut forget_requests) = mpsc::unbounded_channel();
    let env = Env {
        zenoh: state.zenoh.clone(),
        metrics: state.metrics.clone(),
        settings: Arc::new(Settings::of(&state.config)),
        forget,
        record,
        encoders: camera::encoders::EncoderBudget::new(
            state.config.variants.max_total,
            state.metrics.clone(),
        ),
        events: SharedThrottle::default(),
    };
    let mut discovery = Discovery {
        prefixes: state.prefixes.clone(),
        state: state.clone(),
        env,
        tokens: HashSet::new(),
        waiting: VecDeque::new(),
        refusals: LogThrottle::default(),
        ros2_tokens: HashMap::new(),
        tasks: HashMap::new(),
        next_generation: 0,
    };
    let ros2 = subscribe_ros2(&state).await;
    let mut retry = tokio::time::interval(RETRY_WAITING);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let waiting = !discovery.waiting.is_empty();
        tokio::select! {
            _ = state.cancel.cancelled() => break,
            _ = retry.tick(), if waiting => discovery.admit_waiting().await,
            sample = subscriber.recv() => match sample {
                Some(sample) => discovery.on_liveliness(&sample).await,
                None => break,
            },
            Some(sample) = next_token(ros2.as_ref()) => discovery.on_ros2_liveliness(&sample).await,
            Some(request) = forget_requests.recv() => discovery.forget(request).await,
        }
    }
    tracing::debug!("discovery stopped");
}

impl Discovery {
    async fn on_liveliness(&mut self, sample: &Sample) {
        let key = sample.key_expr().as_str();
        let found = self.prefixes.find(key, Layout::Liveliness);
        let Some(name) = found.and_then(|found| self.prefixes.name_found(&found)) else {
            tracing::debug!(%key, "ignoring liveliness token outside the camera layout");
            return;
        };
        let (id, keys) = name.into_parts();
        let present = sample.kind() == SampleKind::Put;
        if !present {
            self.tokens.remove(&id);
        }
        // Only cameras in the table are remembered: junk ids refused by the bound are not.
        if self.apply(&id, present, FrameSource::Node(keys)).await && present {
            self.tokens.insert(id);
        }
    }

    /// A ROS 2 publisher token came or went; only selected CompressedImage topics count.
    async fn on_ros2_liveliness(&mut self, sample: &Sample) {
        let key = sample.key_expr().as_str();
        let ros2 = &self.state.config.ros2;
        let Some(camera) = Ros2Camera::from_token(key, ros2.domain_id()) else {
            return; // another type, another domain, or not a valid announcement
        };
        if !ros2.selects(&camera.topic) {
            return;
        }
        let id = camera.camera.clone();
        let tokens = self.ros2_tokens.entry(id.clone()).or_default();
        if sample.kind() == SampleKind::Put {
            tokens.insert(key.to_owned());
        } else {
            tokens.remove(key);
        }
        let present = !tokens.is_empty();
        if !present {
            self.ros2_tokens.remove(&id);
        }
        self.apply(&id, present, FrameSource::Ros2(camera)).await;
    }

    /// Creates the camera's task if needed (and the bound allows) and tells it whether its
    /// token is present. `false`: the camera is not in the table.
    async fn apply(&mut self, id: &str, present: bool, source: FrameSource) -> bool {
        let handle = match self.state.directory.get(id) {
            Some(handle) if *handle.source() != source => {
                if let Some(repeats) = self.env.events.hit(id, "two_sources") {
                    tracing::warn!(camera = %id, %repeats, "two sources claim this camera id (a camera node and a ROS 2 topic, or two topics); keeping the first");
                }
                return false;
            }
            Some(handle) => handle,
            None if present => match self.admit(id, source).await {
                Some(handle) => handle,
                None => return false,
            },
            None => {
                self.waiting.retain(|(waiting, _)| waiting != id);
                return false;
            }
        };
        if handle.set_liveliness(present).await.is_err() {
            tracing::debug!(camera = %id, "camera task already ended");
        }
        true
    }

    /// Makes room for a new camera (evicting one if the table is full) and creates it, or
    /// refuses it and keeps it waiting for a slot.
    async fn admit(&mut self, id: &str, source: FrameSource) -> Option<camera::CameraHandle> {
        let max = self.state.config.max_cameras;
        if self.state.directory.len() >= max && !self.evict_one().await {
            self.state.metrics.camera_refused();
            if let Some(count) = self.refusals.hit(()) {
                tracing::warn!(camera = %id, refused = count,
                    "camera table full ({max} cameras, all online or watched): refusing new cameras until a slot frees; raise --max-cameras (max_cameras) if these are real");
            }
            if !self.waiting.iter().any(|(waiting, _)| waiting == id) {
                if self.waiting.len() >= max {
                    self.waiting.pop_front();
                }
                self.waiting.push_back((id.to_owned(), source));
            }
            return None;
        }
        self.create(id, source)
    }

    /// Admits refused cameras, oldest first, while slots free up or can be freed.
    async fn admit_waiting(&mut self) {
        while let Some((id, source)) = self.waiting.pop_front() {
            let Some(handle) = self.admit(&id, source.clone()).await else {
                return; // back in the queue (at its end: it had its turn)
            };
            if matches!(source, FrameSource::Node(_)) {
                self.tokens.insert(id.clone());
            }
            if handle.set_liveliness(true).await.is_err() {
                tracing::debug!(camera = %id, "camera task already ended");
            }
        }
    }

    /// Whether discovery holds a liveliness token of `id` now.
    fn has_token(&self, id: &str) -> bool {
        self.tokens.contains(id) || self.ros2_tokens.contains_key(id)
    }

    /// Removes an unwatched camera that sent no frame within [`PROVE_WITHIN`] (admitted
    /// first, first out), else the offline, unwatched camera without a token that was seen
    /// longest ago; `false` if every camera is proven and online, watched or announced.
    async fn evict_one(&mut self) -> bool {
        let unproven = self
            .state
            .directory
            .list()
            .into_iter()
            .filter(|handle| {
                handle.viewers() == 0
                    && handle.admitted().elapsed() >= PROVE_WITHIN
                    && handle.status().last_live.is_none()
            })
            .min_by_key(|handle| handle.admitted());
        if let Some(handle) = unproven {
            let id = handle.id().to_owned();
            self.tokens.remove(&id);
            self.remove(&id, handle.generation()).await;
            self.state.metrics.camera_evicted();
            if let Some(repeats) = self.env.events.hit(&id, "evicted") {
                tracing::info!(camera = %id, %repeats, "camera evicted (no frame since it was announced {PROVE_WITHIN:?} ago) to make room for a new one");
            }
            return true;
        }
        let victim = self
            .state
            .directory
            .list()
            .into_iter()
            .filter(|handle| !self.has_token(handle.id()) && handle.viewers() == 0)
            .filter_map(|handle| {
                let status = handle.status();
                let last_seen = status.offline_since.filter(|_| !status.online)?;
                Some((last_seen, handle))
            })
            .min_by_key(|(last_seen, _): &(SystemTime, _)| *last_seen);
        let Some((_, handle)) = victim else {
            return false;
        };
        let id = handle.id().to_owned();
        self.remove(&id, handle.generation()).await;
        self.state.metrics.camera_evicted();
        if let Some(repeats) = self.env.events.hit(&id, "evicted") {
            tracing::info!(camera = %id, %repeats, "camera evicted (offline, unwatched) to make room for a new one (max_cameras)");
        }
        true
    }

    fn create(&mut self, id: &str, source: FrameSource) -> Option<camera::CameraHandle> {
        self.next_generation += 1;
        let spawned = camera::spawn(
            id,
            self.next_generation,
            self.env.clone(),
            self.state.cancel.child_token(),
            &self.state.tracker,
            source,
        );
        match spawned {
            Ok((handle, task)) => {
                self.state.directory.insert(handle.clone());
                self.state.metrics.set_cameras(self.state.directory.len());
                self.tasks.insert(id.to_owned(), task);
                Some(handle)
            }
            Err(error) => {
                if let Some(repeats) = self.env.events.hit(id, "invalid_id") {
                    tracing::warn!(camera = %id, %error, %repeats, "ignoring camera with an invalid id");
                }
                None
            }
        }
    }

    /// Removes the camera if it is still offline, unwatched and without a token: the task's
    /// view may be a moment old, the directory's viewer count and our token set are current.
    async fn forget(&mut self, request: ForgetRequest) {
        let ForgetRequest {
            camera,
            generation,
            phantom,
        } = request;
        let Some(handle) = self.state.directory.get(&camera) else {
            return;
        };
        if phantom && handle.generation() == generation && handle.status().last_live.is_none() {
            self.tokens.remove(&camera);
            self.remove(&camera, generation).await;
            if let Some(repeats) = self.env.events.hit(&camera, "phantom") {
                tracing::warn!(camera = %camera, %repeats, "camera forgotten: announced {PROVE_WITHIN:?} ago without a valid frame or info (a liveliness token alone, or info refused); it returns when its node declares its token again");
            }
            self.admit_waiting().await;
            return;
        }
        if phantom
            || handle.generation() != generation
            || self.tokens.contains(&camera)
            || self.ros2_tokens.contains_key(&camera)
            || handle.viewers() > 0
            || handle.status().online
        {
            return;
        }
        self.remove(&camera, generation).await;
        if let Some(repeats) = self.env.events.hit(&camera, "forgotten") {
            tracing::info!(camera = %camera, %repeats, "camera forgotten");
        }
        self.admit_waiting().await;
    }

    /// Takes the camera out of the table and ends its task.
    async fn remove(&mut self, camera: &str, generation: u64) {
        let Some(handle) = self.state.directory.remove(camera, generation) else {
            return;
        };
        self.state.metrics.set_cameras(self.state.directory.len());
        handle.stop();
        if let Some(task) = self.tasks.remove(camera) {
            // Waited for, so that a camera coming back gets its metrics series afresh only
            // after the old task removed its own.
            if tokio::time::timeout(STOP_TIMEOUT, task).await.is_err() {
                tracing::warn!(camera = %camera, "removed camera's task did not stop in time");
            }
        }
    }
}

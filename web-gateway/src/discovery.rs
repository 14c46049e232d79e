//! Discovery: creates a camera task when a camera's liveliness token (`<prefix>/<camera>`)
//! appears, tells the task when the token comes and goes, and removes the task when the task
//! asks to be forgotten (offline and unwatched for `forget_after`). The only writer of the
//! [`crate::directory::Directory`].
//!
//! History is requested so that cameras already running when the gateway starts are found at
//! once. Cameras are found through liveliness only: a publisher without a token is not seen.
//! With `[ros2] topics`, ROS 2 CompressedImage publishers are found the same way, from their
//! rmw_zenoh `MP` tokens (`@ros2_lv/<domain>/…`), and become cameras whose frames come from
//! the topic (`camera::FrameSource::Ros2`).

use crate::camera::{self, Env, ForgetRequest, FrameSource, Settings};
use crate::state::AppState;
use camera_node::keys;
use camera_node::ros2::Ros2Camera;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zenoh::handlers::FifoChannelHandler;
use zenoh::pubsub::Subscriber;
use zenoh::sample::{Sample, SampleKind};

/// Longest wait for a forgotten camera's task to end (it only drops its subscription).
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

pub type LivelinessSubscriber = Subscriber<FifoChannelHandler<Sample>>;

/// Declares the liveliness subscriber; events flow once [`run`] is polled.
pub async fn subscribe(state: &AppState) -> Result<LivelinessSubscriber, zenoh::Error> {
    state
        .zenoh
        .liveliness()
        .declare_subscriber(keys::all_liveliness(&state.config.prefix))
        .history(true)
        .await
}

/// Declares the ROS 2 graph subscriber when `[ros2] topics` asks for ROS cameras.
async fn subscribe_ros2(state: &AppState) -> Option<LivelinessSubscriber> {
    if !state.config.ros2.enabled() {
        return None;
    }
    let key = camera_node::ros2::tokens::all_publishers(state.config.ros2.domain_id());
    match state
        .zenoh
        .liveliness()
        .declare_subscriber(&key)
        .history(true)
        .await
    {
        Ok(subscriber) => Some(subscriber),
        Err(error) => {
            tracing::error!(%key, %error, "cannot watch ROS 2 publishers: ROS 2 topics will not show");
            None
        }
    }
}

async fn next_token(subscriber: Option<&LivelinessSubscriber>) -> Option<Sample> {
    match subscriber {
        Some(subscriber) => subscriber.recv_async().await.ok(),
        None => std::future::pending().await,
    }
}

struct Discovery {
    state: AppState,
    env: Env,
    /// Cameras whose liveliness token is present now.
    tokens: HashSet<String>,
    /// ROS 2 cameras → the `MP` tokens announcing their topic (several nodes may publish one).
    ros2_tokens: HashMap<String, HashSet<String>>,
    tasks: HashMap<String, tokio::task::JoinHandle<()>>,
    next_generation: u64,
}

/// Applies liveliness events and forget requests until shutdown.
pub async fn run(state: AppState, subscriber: LivelinessSubscriber) {
    let (forget, mut forget_requests) = mpsc::unbounded_channel();
    let env = Env {
        zenoh: state.zenoh.clone(),
        metrics: state.metrics.clone(),
        settings: Arc::new(Settings::of(&state.config)),
        forget,
    };
    let mut discovery = Discovery {
        state: state.clone(),
        env,
        tokens: HashSet::new(),
        ros2_tokens: HashMap::new(),
        tasks: HashMap::new(),
        next_generation: 0,
    };
    let ros2 = subscribe_ros2(&state).await;
    loop {
        tokio::select! {
            _ = state.cancel.cancelled() => break,
            sample = subscriber.recv_async() => match sample {
                Ok(sample) => discovery.on_liveliness(&sample).await,
                Err(_) => break,
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
        let Some(id) = keys::camera_of(&self.state.config.prefix, key) else {
            tracing::debug!(%key, "ignoring liveliness token outside the camera layout");
            return;
        };
        let present = sample.kind() == SampleKind::Put;
        if present {
            self.tokens.insert(id.to_owned());
        } else {
            self.tokens.remove(id);
        }
        self.apply(id, present, FrameSource::Node).await;
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

    /// Creates the camera's task if needed and tells it whether its token is present.
    async fn apply(&mut self, id: &str, present: bool, source: FrameSource) {
        let handle = match self.state.directory.get(id) {
            Some(handle) if *handle.source() != source => {
                tracing::warn!(camera = %id, "two sources claim this camera id (a camera node and a ROS 2 topic, or two topics); keeping the first");
                return;
            }
            Some(handle) => handle,
            None if present => match self.create(id, source) {
                Some(handle) => handle,
                None => return,
            },
            None => return,
        };
        if handle.set_liveliness(present).await.is_err() {
            tracing::debug!(camera = %id, "camera task already ended");
        }
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
                self.tasks.insert(id.to_owned(), task);
                Some(handle)
            }
            Err(error) => {
                tracing::warn!(camera = %id, %error, "ignoring camera with an invalid id");
                None
            }
        }
    }

    /// Removes the camera if it is still offline, unwatched and without a token: the task's
    /// view may be a moment old, the directory's viewer count and our token set are current.
    async fn forget(&mut self, request: ForgetRequest) {
        let ForgetRequest { camera, generation } = request;
        let Some(handle) = self.state.directory.get(&camera) else {
            return;
        };
        if handle.generation() != generation
            || self.tokens.contains(&camera)
            || self.ros2_tokens.contains_key(&camera)
            || handle.viewers() > 0
            || handle.status().online
        {
            return;
        }
        self.state.directory.remove(&camera, generation);
        handle.stop();
        if let Some(task) = self.tasks.remove(&camera) {
            // Waited for, so that a camera coming back gets its metrics series afresh only
            // after the old task removed its own.
            if tokio::time::timeout(STOP_TIMEOUT, task).await.is_err() {
                tracing::warn!(camera = %camera, "forgotten camera's task did not stop in time");
            }
        }
        tracing::info!(camera = %camera, "camera forgotten");
    }
}

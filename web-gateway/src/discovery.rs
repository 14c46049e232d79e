//! Discovery: creates a camera task when a camera's liveliness token (`<prefix>/<camera>`)
//! appears, tells the task when the token comes and goes, and removes the task when the task
//! asks to be forgotten (offline and unwatched for `forget_after`). The only writer of the
//! [`crate::directory::Directory`].
//!
//! History is requested so that cameras already running when the gateway starts are found at
//! once. Cameras are found through liveliness only: a publisher without a token is not seen.

use crate::camera::{self, Env, ForgetRequest, Settings};
use crate::state::AppState;
use camera_node::keys;
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

struct Discovery {
    state: AppState,
    env: Env,
    /// Cameras whose liveliness token is present now.
    tokens: HashSet<String>,
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
        tasks: HashMap::new(),
        next_generation: 0,
    };
    loop {
        tokio::select! {
            _ = state.cancel.cancelled() => break,
            sample = subscriber.recv_async() => match sample {
                Ok(sample) => discovery.on_liveliness(&sample).await,
                Err(_) => break,
            },
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
        let handle = match self.state.directory.get(id) {
            Some(handle) => handle,
            None if present => match self.create(id) {
                Some(handle) => handle,
                None => return,
            },
            None => return,
        };
        if handle.set_liveliness(present).await.is_err() {
            tracing::debug!(camera = %id, "camera task already ended");
        }
    }

    fn create(&mut self, id: &str) -> Option<camera::CameraHandle> {
        self.next_generation += 1;
        let spawned = camera::spawn(
            id,
            self.next_generation,
            self.env.clone(),
            self.state.cancel.child_token(),
            &self.state.tracker,
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

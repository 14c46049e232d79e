//! `AppState`: what every handler and task shares — config, camera directory, metrics,
//! the zenoh session and its endpoints' reachability, the shutdown token and the task tracker.
//!
//! Also client admission: one counter across MJPEG, WebSocket and variant clients enforces
//! `max_clients`, and the returned guard keeps the metrics gauge honest on every exit path.

use crate::clip_slots::ClipSlots;
use crate::config::Config;
use crate::directory::Directory;
use crate::error::ApiError;
use crate::fanout::Writers;
use crate::links::Links;
use crate::metrics::Metrics;
use camera_protocol::keys::PrefixSet;
use camera_record::ClipBuffer;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Cheap to clone; all fields are shared.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    /// `config.prefix` checked: what discovery and recording watch, and how cameras are named.
    pub prefixes: PrefixSet,
    pub directory: Directory,
    pub metrics: Arc<Metrics>,
    pub zenoh: zenoh::Session,
    /// The zenoh endpoints this gateway connects to and whether it reaches them
    /// ([`crate::links`]; kept current once `serve` starts its monitor).
    pub links: Arc<Links>,
    /// The last `record.clip_secs` of every camera, when on (see [`crate::recording`]).
    pub clips: Option<Arc<ClipBuffer>>,
    /// Clip downloads in progress, bounded per client and in total.
    pub clip_slots: Arc<ClipSlots>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
    /// The MJPEG feed writers of the sockets that left hyper (`crate::fanout`).
    pub writers: Arc<Writers>,
    clients: AtomicUsize,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state; cameras appear in `directory` once discovery runs (see `serve`).
    pub fn new(config: Config, zenoh: zenoh::Session, cancel: CancellationToken) -> Self {
        let clips = crate::recording::clip_buffer(&config);
        let metrics = Arc::new(Metrics::new());
        if let Some(clips) = &clips {
            metrics.set_clip_buffer(clips.clone());
        }
        let links = Arc::new(Links::from_session(&zenoh));
        let tracker = TaskTracker::new();
        Self(Arc::new(Inner {
            prefixes: config.prefixes(),
            clips,
            clip_slots: ClipSlots::new(
                config.record.clip_exports,
                config.record.clip_exports_per_client,
            ),
            links,
            config,
            directory: Directory::default(),
            metrics,
            zenoh,
            writers: Arc::new(Writers::new(cancel.clone(), tracker.clone())),
            cancel,
            tracker,
            clients: AtomicUsize::new(0),
        }))
    }

    /// Admits one more streaming client, or refuses with 503 when `max_clients` are served.
    pub fn admit(&self, endpoint: &'static str) -> Result<ClientGuard, ApiError> {
        let max = self.config.max_clients;
        let admitted = self
            .clients
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            return Err(ApiError::TooManyClients { max });
        }
        self.metrics.client_opened(endpoint);
        Ok(ClientGuard {
            state: self.clone(),
            endpoint,
        })
    }
}

/// Counts one admitted client until dropped.
#[derive(Debug)]
pub struct ClientGuard {
    state: AppState,
    endpoint: &'static str,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.state.clients.fetch_sub(1, Ordering::SeqCst);
        self.state.metrics.client_closed(self.endpoint);
    }
}

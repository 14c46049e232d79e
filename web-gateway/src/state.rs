//! `AppState`: what every handler and task shares — config, camera registry, metrics,
//! the zenoh session, the shutdown token and the task tracker.
//!
//! Also client admission: one counter across MJPEG, WebSocket and variant clients enforces
//! `max_clients`, and the returned guard keeps the metrics gauge honest on every exit path.

use crate::config::{Config, SubscribeMode};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::nosignal;
use crate::registry::Registry;
use crate::routes::ws::MessageCache;
use crate::variants::Variants;
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
    pub registry: Registry,
    pub metrics: Arc<Metrics>,
    pub variants: Variants,
    pub ws_messages: MessageCache,
    pub zenoh: zenoh::Session,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
    clients: AtomicUsize,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state; each camera added later gets an offline watchdog on `tracker`.
    pub fn new(config: Config, zenoh: zenoh::Session, cancel: CancellationToken) -> Self {
        let tracker = TaskTracker::new();
        let offline_after = config.offline_after();
        let interval = config.no_signal_interval();
        let spawner = tracker.clone();
        let registry = Registry::new(
            cancel.clone(),
            config.subscribe == SubscribeMode::Always,
            Box::new(move |camera| {
                spawner.spawn(nosignal::watchdog(camera.clone(), offline_after, interval));
            }),
        );
        Self(Arc::new(Inner {
            config,
            registry,
            metrics: Arc::new(Metrics::new()),
            variants: Variants::new(tracker.clone()),
            ws_messages: MessageCache::default(),
            zenoh,
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

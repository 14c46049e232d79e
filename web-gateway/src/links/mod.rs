//! Whether the gateway reaches each zenoh endpoint it was told to connect to (`connect/
//! endpoints` of its zenoh config: the embedded default, a profile, `--zenoh-connect`), and
//! if not, why: zenoh itself only retries in silence. `/healthz` and the page's banner read
//! the table; the monitor logs and exports `gateway_zenoh_endpoint_connected`.
//!
//! [`targets`] reads the endpoints, [`open`] follows zenoh's links, [`monitor`] decides and
//! reports, [`probe`] / [`tls_probe`] diagnose, [`failure`] names the causes.

mod failure;
mod monitor;
mod open;
mod probe;
mod targets;
mod tls_probe;

pub use failure::{Failure, Reason};
pub use targets::MAX_ENDPOINTS;

use crate::metrics::Metrics;
use serde::Serialize;
use std::sync::Arc;
use targets::Target;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One endpoint as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    /// As configured, e.g. `tls/robot1:7448`.
    pub endpoint: String,
    /// zenoh has a link to it now.
    pub connected: bool,
    /// Why not, once a probe found out (absent while connected or not yet known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// [`Reason::code`] of `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Unix time in milliseconds since which `connected` has held (the gateway's start when
    /// the endpoint was never connected).
    pub since: u64,
}

/// The configured endpoints and their latest status; written by the monitor only.
#[derive(Debug)]
pub struct Links {
    targets: Vec<Arc<Target>>,
    /// Endpoints beyond [`MAX_ENDPOINTS`] (or unparsable), not watched.
    left_out: usize,
    /// Client mode: one connected endpoint is enough (see [`targets::Configured::client`]).
    client: bool,
    status: tokio::sync::watch::Sender<Arc<[EndpointStatus]>>,
}

impl Links {
    /// The endpoints `session` was configured to connect to, all "not connected" until the
    /// monitor runs ([`start`]).
    pub fn from_session(session: &zenoh::Session) -> Self {
        let targets::Configured {
            targets,
            left_out,
            client,
        } = targets::from_session(session);
        let now = unix_ms(std::time::SystemTime::now());
        let status = targets
            .iter()
            .map(|target| EndpointStatus {
                endpoint: target.endpoint.clone(),
                connected: false,
                error: None,
                reason: None,
                since: now,
            })
            .collect();
        Self {
            targets: targets.into_iter().map(Arc::new).collect(),
            left_out,
            client,
            status: tokio::sync::watch::Sender::new(status),
        }
    }

    /// The latest status of every endpoint, in configuration order.
    pub fn snapshot(&self) -> Arc<[EndpointStatus]> {
        self.status.borrow().clone()
    }

    fn publish(&self, table: Vec<EndpointStatus>) {
        self.status.send_if_modified(|current| {
            if **current == *table {
                return false;
            }
            *current = table.into();
            true
        });
    }
}

/// Follows `session`'s links and starts the monitor on `tracker` until `cancel`.
pub async fn start(
    session: &zenoh::Session,
    links: Arc<Links>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> zenoh::Result<()> {
    if links.left_out > 0 {
        tracing::warn!(
            "{} zenoh connect endpoints are not watched for /healthz (more than {MAX_ENDPOINTS}, or unreadable)",
            links.left_out
        );
    }
    if links.targets.is_empty() {
        return Ok(());
    }
    let open = Arc::new(open::OpenLinks::default());
    let following = open.follow(session).await?;
    let monitor = monitor::Monitor::new(links, open, metrics);
    tracker.spawn(async move {
        // Links are followed as long as the monitor runs.
        let _following = following;
        monitor.run(cancel).await;
    });
    Ok(())
}

fn unix_ms(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

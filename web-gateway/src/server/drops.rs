//! `Drops`: connections the server ends early, counted in
//! `gateway_clients_dropped_total{reason}` and logged at most once per reason per 10 s.
//!
//! The log names one peer and how many were dropped since the last line: a flood of slow
//! clients must not become a flood of log lines.

pub use crate::labels::DropReason;
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

impl DropReason {
    fn explain(self) -> &'static str {
        match self {
            Self::HeaderTimeout => {
                "closed a connection that sent no complete request within --header-timeout-ms"
            }
            Self::Idle => "closed a connection that moved no byte for --idle-timeout-ms",
            Self::WriteStall => {
                "dropped a client that accepted no byte for --write-stall-timeout-ms \
                 (its stream slot is free again)"
            }
        }
    }
}

/// Shared by every connection of a server; cheap to clone.
#[derive(Debug, Clone)]
pub struct Drops {
    metrics: Arc<Metrics>,
    log: Arc<Mutex<LogThrottle<DropReason>>>,
}

impl Drops {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            log: Arc::default(),
        }
    }

    /// Counts one dropped connection and logs it unless a line for `reason` was logged lately.
    pub fn record(&self, reason: DropReason, peer: SocketAddr) {
        self.metrics.client_dropped(reason);
        let count = self
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hit(reason);
        if let Some(count) = count {
            // Stalls cost a stream slot and are worth an operator's look; the others are
            // what a port on a network sees all day.
            if reason == DropReason::WriteStall {
                tracing::warn!(%peer, count, "{}", reason.explain());
            } else {
                tracing::info!(%peer, count, "{}", reason.explain());
            }
        }
    }
}

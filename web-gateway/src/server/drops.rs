//! `Drops`: connections the server ends early, counted in
//! `gateway_clients_dropped_total{reason}` and logged at most once per reason per 10 s.
//!
//! The log names one peer and how many were dropped since the last line: a flood of slow
//! clients must not become a flood of log lines.

use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was ended by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No complete request head (or TLS handshake) within the header timeout.
    HeaderTimeout,
    /// No byte moved either way for the idle timeout.
    Idle,
    /// The client accepted no byte of a response for the write-stall timeout.
    WriteStall,
}

impl DropReason {
    pub const ALL: [DropReason; 3] = [Self::HeaderTimeout, Self::Idle, Self::WriteStall];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::Idle => "idle_timeout",
            Self::WriteStall => "write_stall",
        }
    }

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
        self.metrics.client_dropped(reason.label());
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

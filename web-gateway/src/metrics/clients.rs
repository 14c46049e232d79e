//! What clients get: open connections per endpoint, connections the server ended, and the
//! bytes and age of every frame handed to a client.

use super::Metrics;
use crate::labels::DropReason;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::time::Duration;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: &'static str,
}

/// The series one client's frames are counted in, looked up once per client rather than per
/// frame (the lookup allocates a label and takes the family's lock; at 1000 clients × 30 fps
/// that showed in profiles).
#[derive(Debug, Clone)]
pub struct SentMetrics {
    bytes: Counter,
    latency: Histogram,
}

impl SentMetrics {
    /// Records one frame handed to the client: its size and how old it was.
    pub fn frame(&self, bytes: usize, age: Duration) {
        self.bytes.inc_by(bytes as u64);
        self.latency.observe(age.as_secs_f64());
    }
}

pub(super) fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s: LAN latency is a few ms, a stalled client's can be seconds.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub fn client_opened(&self, endpoint: &'static str) {
        self.clients
            .get_or_create(&EndpointLabel { endpoint })
            .inc();
    }

    pub fn client_closed(&self, endpoint: &'static str) {
        self.clients
            .get_or_create(&EndpointLabel { endpoint })
            .dec();
    }

    /// Counts one connection ended by the server; `reason` is a [`DropReason`].
    pub fn client_dropped(&self, reason: DropReason) {
        self.clients_dropped
            .get_or_create(&ReasonLabel {
                reason: reason.label(),
            })
            .inc();
    }

    /// Records one frame handed to a client: its size and how old it was.
    pub fn frame_sent(&self, endpoint: &'static str, camera: &str, bytes: usize, age: Duration) {
        self.sent(endpoint, camera).frame(bytes, age);
    }

    /// The series of frames sent to clients of `camera` on `endpoint`, for a client to keep.
    pub fn sent(&self, endpoint: &'static str, camera: &str) -> SentMetrics {
        SentMetrics {
            bytes: self
                .bytes_sent
                .get_or_create_owned(&EndpointLabel { endpoint }),
            latency: self.latency.get_or_create_owned(&Self::camera(camera)),
        }
    }
}

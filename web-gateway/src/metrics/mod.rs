//! Prometheus metrics of the gateway, in a registry owned by `AppState` (no global registry,
//! so tests can run several gateways in one process and read each one's numbers).
//!
//! Owns metric names, labels and the text encoding; callers only bump counters.
//!
//! Layout: the [`Metrics`] struct and every registration are here, in one place, so the
//! exposition's names and help texts can be read together; the methods that bump each group
//! live beside its labels: `cameras.rs` (per-camera frame series, camera table), `clients.rs`
//! (connections, frames sent), `access.rs` (failed logins, Host/Origin refusals), `links.rs`
//! (the gateway's own zenoh endpoints), `replies.rs` (info/snapshot replies left out), `external.rs` (recorder, clip buffer and runtime
//! numbers read at encode time).

mod access;
mod cameras;
mod clients;
mod external;
mod links;
mod replies;

pub use cameras::{CameraLabel, RejectLabel, VariantLabel, MAX_REJECT_CAMERAS, OTHER_CAMERAS};
pub use clients::{EndpointLabel, ReasonLabel, SentMetrics};
pub use replies::{Dropped, Query};

use crate::labels::{listed, DropReason, LoginFailure, Refusal};
use camera_record::{ClipBuffer, RecordStats};
use clients::latency_histogram;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::{Arc, OnceLock};

/// Content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every metric the gateway exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    frames_received: Family<CameraLabel, Counter>,
    frames_dropped: Family<CameraLabel, Counter>,
    rejected_frames: Family<RejectLabel, Counter>,
    reject_cameras: std::sync::Mutex<std::collections::HashSet<String>>,
    clients: Family<EndpointLabel, Gauge>,
    clients_dropped: Family<ReasonLabel, Counter>,
    cameras: Gauge,
    cameras_refused: Counter,
    cameras_evicted: Counter,
    bytes_sent: Family<EndpointLabel, Counter>,
    latency: Family<CameraLabel, Histogram, fn() -> Histogram>,
    node_variant_frames: Family<VariantLabel, Counter>,
    /// Series of `node_variant_frames`, so a forgotten camera's can be removed.
    node_variant_labels: std::sync::Mutex<std::collections::HashSet<VariantLabel>>,
    variant_encodes: Family<CameraLabel, Counter>,
    variant_encoders: Gauge,
    variants_capped: Counter,
    auth_failures: Family<ReasonLabel, Counter>,
    requests_refused: Family<ReasonLabel, Counter>,
    zenoh_endpoint_connected: Family<links::ZenohEndpointLabel, Gauge>,
    replies_dropped: Family<replies::ReplyLabel, Counter>,
    /// The recorder's own counters (it runs on its own thread), read when encoding.
    record: OnceLock<Arc<RecordStats>>,
    /// The clip buffer, when on; its size is read when encoding (0 when off).
    clips: OnceLock<Arc<ClipBuffer>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gateway");
        let frames_received = Family::<CameraLabel, Counter>::default();
        let frames_dropped = Family::<CameraLabel, Counter>::default();
        let rejected_frames = Family::<RejectLabel, Counter>::default();
        let clients = Family::<EndpointLabel, Gauge>::default();
        let clients_dropped = Family::<ReasonLabel, Counter>::default();
        for reason in DropReason::ALL {
            let _ = clients_dropped.get_or_create(&ReasonLabel {
                reason: reason.label(),
            });
        }
        let cameras = Gauge::default();
        let cameras_refused = Counter::default();
        let cameras_evicted = Counter::default();
        let bytes_sent = Family::<EndpointLabel, Counter>::default();
        let latency: Family<CameraLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let node_variant_frames = Family::<VariantLabel, Counter>::default();
        let variant_encodes = Family::<CameraLabel, Counter>::default();
        let variant_encoders = Gauge::default();
        let variants_capped = Counter::default();
        // Every reason at zero from the start: an alert on a rate sees 0, not "no data".
        let auth_failures = Family::<ReasonLabel, Counter>::default();
        for reason in LoginFailure::ALL {
            let _ = auth_failures.get_or_create(&ReasonLabel {
                reason: reason.label(),
            });
        }
        let requests_refused = Family::<ReasonLabel, Counter>::default();
        for reason in Refusal::ALL {
            let _ = requests_refused.get_or_create(&ReasonLabel {
                reason: reason.label(),
            });
        }
        registry.register(
            "frames_received",
            "Valid frames received from zenoh",
            frames_received.clone(),
        );
        registry.register(
            "frames_dropped",
            "Frames missing from the sequence (lost before reaching the gateway)",
            frames_dropped.clone(),
        );
        registry.register(
            "rejected_frames",
            format!(
                "Samples on a frame key refused before being kept, by reason ({})",
                listed(cameras::reject_reasons())
            ),
            rejected_frames.clone(),
        );
        registry.register("clients", "Open client connections", clients.clone());
        registry.register(
            "clients_dropped",
            format!(
                "Connections the gateway ended early, by reason ({})",
                listed(DropReason::ALL.map(DropReason::label))
            ),
            clients_dropped.clone(),
        );
        registry.register(
            "cameras",
            "Cameras in the gateway's table (at most max_cameras)",
            cameras.clone(),
        );
        registry.register(
            "cameras_refused",
            "New cameras refused because the table was full of online or watched cameras (max_cameras)",
            cameras_refused.clone(),
        );
        registry.register(
            "cameras_evicted",
            "Offline, unwatched cameras removed to make room for a new one (max_cameras)",
            cameras_evicted.clone(),
        );
        registry.register(
            "bytes_sent",
            "Frame bytes handed to clients",
            bytes_sent.clone(),
        );
        registry.register(
            "frame_latency_seconds",
            "Time from capture to handing the frame to a client",
            latency.clone(),
        );
        registry.register(
            "node_variant_frames",
            "Valid frames received of variants the camera node encodes itself (?variant=)",
            node_variant_frames.clone(),
        );
        registry.register(
            "variant_encodes",
            "Frames the gateway decoded and re-encoded for ?width=/?quality= (no matching node variant)",
            variant_encodes.clone(),
        );
        registry.register(
            "variant_encoders",
            "Encoders running for ?width=/?height=/?quality=, all cameras (at most [variants] max_total)",
            variant_encoders.clone(),
        );
        registry.register(
            "variants_capped",
            "Requests for a ?width=/?height=/?quality= variant served the nearest running one (or the camera's own frames) because the [variants] caps were reached",
            variants_capped.clone(),
        );
        registry.register(
            "auth_failures",
            format!(
                "Requests refused for their credentials, by reason ({})",
                listed(LoginFailure::ALL.map(LoginFailure::label))
            ),
            auth_failures.clone(),
        );
        let zenoh_endpoint_connected = Family::<links::ZenohEndpointLabel, Gauge>::default();
        registry.register(
            "zenoh_endpoint_connected",
            "1 while zenoh has a link to the configured connect endpoint, else 0 (/healthz says why)",
            zenoh_endpoint_connected.clone(),
        );
        registry.register(
            "requests_refused",
            format!(
                "Requests refused by the Host/Origin checks before credentials, by reason ({})",
                listed(Refusal::ALL.map(Refusal::label))
            ),
            requests_refused.clone(),
        );
        let replies_dropped = Family::<replies::ReplyLabel, Counter>::default();
        for label in replies::all_labels() {
            let _ = replies_dropped.get_or_create(&label);
        }
        registry.register(
            "replies_dropped",
            "Replies to the gateway's info and snapshot queries left out, by query and reason (other_session, ambiguous, unknown_session, too_large, excess, invalid)",
            replies_dropped.clone(),
        );
        Self {
            registry,
            frames_received,
            frames_dropped,
            rejected_frames,
            reject_cameras: Default::default(),
            clients,
            clients_dropped,
            cameras,
            cameras_refused,
            cameras_evicted,
            bytes_sent,
            latency,
            node_variant_frames,
            node_variant_labels: Default::default(),
            variant_encodes,
            variant_encoders,
            variants_capped,
            auth_failures,
            requests_refused,
            zenoh_endpoint_connected,
            replies_dropped,
            record: OnceLock::new(),
            clips: OnceLock::new(),
        }
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an error here would be a bug in the encoder.
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        if let Some(stats) = self.record.get() {
            external::encode_record_stats(&mut out, stats);
        }
        external::encode_clip_usage(&mut out, self.clips.get().map(|clips| clips.as_ref()));
        external::encode_tasks(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;

//! Prometheus metrics of the gateway, in a registry owned by `AppState` (no global registry,
//! so tests can run several gateways in one process and read each one's numbers).
//!
//! Owns metric names, labels and the text encoding; callers only bump counters.

use camera_node::record::RecordStats;
use camera_node::DecodeError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CameraLabel {
    pub camera: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabel {
    pub camera: String,
    pub reason: &'static str,
}

/// Camera label used for rejections once [`MAX_REJECT_CAMERAS`] ids have been labelled.
pub const OTHER_CAMERAS: &str = "_other";
/// Distinct camera ids labelled in `rejected_frames`: junk ids from the network must not grow
/// the exposition without bound.
pub const MAX_REJECT_CAMERAS: usize = 256;

/// A variant encoded by the camera node (names validated, at most `MAX_NODE_VARIANTS` per camera).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VariantLabel {
    pub camera: String,
    pub variant: String,
}

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
    /// The recorder's own counters (it runs on its own thread), read when encoding.
    record: OnceLock<Arc<RecordStats>>,
}

/// Every `reason` label of `gateway_rejected_frames_total`.
fn reject_reasons() -> impl Iterator<Item = &'static str> {
    DecodeError::REASONS
        .into_iter()
        .chain(crate::camera::ingest::GATEWAY_REASONS)
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s: LAN latency is a few ms, a stalled client's can be seconds.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
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
        for reason in crate::server::DropReason::ALL {
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
            "Samples on a frame key refused before being kept, by reason (bad_attachment, not_jpeg, too_large, too_many_pixels, size_mismatch)",
            rejected_frames.clone(),
        );
        registry.register("clients", "Open client connections", clients.clone());
        registry.register(
            "clients_dropped",
            "Connections the gateway ended early, by reason (header_timeout, idle_timeout, write_stall)",
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
            record: OnceLock::new(),
        }
    }

    /// Exports the recorder's counters (`gateway_record_*`) from now on.
    pub fn set_record_stats(&self, stats: Arc<RecordStats>) {
        let _ = self.record.set(stats);
    }

    fn camera(camera: &str) -> CameraLabel {
        CameraLabel {
            camera: camera.to_owned(),
        }
    }

    /// Registers every per-camera series of `camera` at zero, so dashboards see a known
    /// camera (and rates of 0) before its first frame or error.
    pub fn add_camera(&self, camera: &str) {
        let label = Self::camera(camera);
        let _ = self.frames_received.get_or_create(&label);
        let _ = self.frames_dropped.get_or_create(&label);
        let _ = self.latency.get_or_create(&label);
        let _ = self.variant_encodes.get_or_create(&label);
        for reason in reject_reasons() {
            let _ = self.rejected_frames.get_or_create(&RejectLabel {
                camera: camera.to_owned(),
                reason,
            });
        }
    }

    /// Removes every per-camera series of a forgotten camera.
    pub fn remove_camera(&self, camera: &str) {
        let label = Self::camera(camera);
        self.frames_received.remove(&label);
        self.frames_dropped.remove(&label);
        self.latency.remove(&label);
        self.variant_encodes.remove(&label);
        self.node_variant_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|variant| {
                let other = variant.camera != camera;
                if !other {
                    self.node_variant_frames.remove(variant);
                }
                other
            });
        for reason in reject_reasons() {
            self.rejected_frames.remove(&RejectLabel {
                camera: camera.to_owned(),
                reason,
            });
        }
        self.reject_cameras
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(camera);
    }

    pub fn frame_received(&self, camera: &str) {
        self.frames_received
            .get_or_create(&Self::camera(camera))
            .inc();
    }

    pub fn frames_dropped(&self, camera: &str, count: u64) {
        self.frames_dropped
            .get_or_create(&Self::camera(camera))
            .inc_by(count);
    }

    /// Counts one frame received of the node-encoded variant `variant`.
    pub fn node_variant_frame(&self, camera: &str, variant: &str) {
        let label = VariantLabel {
            camera: camera.to_owned(),
            variant: variant.to_owned(),
        };
        self.node_variant_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(label.clone());
        self.node_variant_frames.get_or_create(&label).inc();
    }

    /// Counts one frame the gateway re-encoded for a `?width=`/`?quality=` variant.
    pub fn variant_encoded(&self, camera: &str) {
        self.variant_encodes
            .get_or_create(&Self::camera(camera))
            .inc();
    }

    /// Counts one refused sample; `reason` is `camera::ingest::Rejected::reason()`.
    pub fn frame_rejected(&self, camera: &str, reason: &'static str) {
        let camera = {
            let mut seen = self
                .reject_cameras
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if seen.contains(camera) || seen.len() < MAX_REJECT_CAMERAS {
                seen.insert(camera.to_owned());
                camera
            } else {
                OTHER_CAMERAS
            }
        };
        self.rejected_frames
            .get_or_create(&RejectLabel {
                camera: camera.to_owned(),
                reason,
            })
            .inc();
    }

    /// Cameras in the directory now (discovery sets it after every change).
    pub fn set_cameras(&self, count: usize) {
        self.cameras.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn camera_refused(&self) {
        self.cameras_refused.inc();
    }

    pub fn camera_evicted(&self) {
        self.cameras_evicted.inc();
    }

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

    /// Counts one connection ended by the server; `reason` is `DropReason::label()`.
    pub fn client_dropped(&self, reason: &'static str) {
        self.clients_dropped
            .get_or_create(&ReasonLabel { reason })
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

    /// Prometheus text exposition format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an error here would be a bug in the encoder.
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        if let Some(stats) = self.record.get() {
            encode_record_stats(&mut out, stats);
        }
        encode_tasks(&mut out);
        out
    }
}

/// Live tokio tasks of the runtime serving `/metrics`: a soak test reads it to prove that
/// clients and cameras that left took their tasks with them.
fn encode_tasks(out: &mut String) {
    use std::fmt::Write;
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let tasks = runtime.metrics().num_alive_tasks();
    let _ = write!(
        out,
        "# HELP gateway_tasks Live tokio tasks (connections, streams, camera tasks, jobs).\n# TYPE gateway_tasks gauge\ngateway_tasks {tasks}\n"
    );
}

/// The recorder's atomics as Prometheus counters, in the registry's text format.
fn encode_record_stats(out: &mut String, stats: &RecordStats) {
    use std::fmt::Write;
    let counters = [
        (
            "frames_written",
            "Frames written to MCAP recording segments",
            &stats.frames_written,
        ),
        (
            "frames_dropped",
            "Frames not recorded: the disk fell behind or a segment failed recently",
            &stats.frames_dropped,
        ),
        (
            "write_errors",
            "Recording write, flush or prune errors (disk full?)",
            &stats.write_errors,
        ),
        (
            "segments_deleted",
            "Old segments deleted to stay within --record-keep",
            &stats.segments_deleted,
        ),
    ];
    for (name, help, value) in counters {
        let value = value.load(Ordering::Relaxed);
        let _ = write!(
            out,
            "# HELP gateway_record_{name} {help}.\n# TYPE gateway_record_{name} counter\ngateway_record_{name}_total {value}\n"
        );
    }
}

#[cfg(test)]
mod tests;

//! Per-camera series: frames arriving from zenoh (received, lost, refused, node variants,
//! re-encodes) and the size of the camera table. A camera's series are created when it is
//! known and removed when it is forgotten, so the exposition follows the camera table.

use super::Metrics;
use crate::labels::Unshown;
use camera_protocol::DecodeError;
use prometheus_client::encoding::EncodeLabelSet;

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

/// Every `reason` label of `gateway_rejected_frames_total`.
pub(super) fn reject_reasons() -> impl Iterator<Item = &'static str> {
    let video = camera_protocol::video::VideoError::REASONS
        .into_iter()
        .filter(|reason| !DecodeError::REASONS.contains(reason));
    DecodeError::REASONS
        .into_iter()
        .chain(video)
        .chain(Unshown::ALL.map(Unshown::label))
}

impl Metrics {
    pub(super) fn camera(camera: &str) -> CameraLabel {
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

    /// A gateway variant encoder started (`camera::feeds` holds one budget slot per encoder).
    pub fn variant_encoder_started(&self) {
        self.variant_encoders.inc();
    }

    pub fn variant_encoder_stopped(&self) {
        self.variant_encoders.dec();
    }

    /// Counts one request served another variant than asked because the caps were reached.
    pub fn variant_capped(&self) {
        self.variants_capped.inc();
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
}

//! The recorder's counters and gauges: written by the recorder thread and its budget, read by
//! the gateway's metrics and `/healthz`. A leaf, so both writers share it.

use std::sync::atomic::{AtomicBool, AtomicU64};

/// Counters and gauges of the recorder, for metrics and `/healthz`.
#[derive(Debug, Default)]
pub struct RecordStats {
    pub frames_written: AtomicU64,
    /// Frames not written: queue full, the camera's segment failed recently, recording
    /// paused, or the frame does not fit in the camera's part of the size.
    pub frames_dropped: AtomicU64,
    /// H.264 access units not written because their segment's video had not reached a
    /// keyframe yet (a camera's first, or a segment finished between keyframes).
    pub video_skipped: AtomicU64,
    pub write_errors: AtomicU64,
    pub segments_deleted: AtomicU64,
    /// Free space under `min_free`: nothing is written.
    pub paused: AtomicBool,
    /// The size bound in bytes (a share of the disk resolved) and what the segments use.
    pub budget_bytes: AtomicU64,
    pub used_bytes: AtomicU64,
}

//! Numbers kept outside the registry, read when `/metrics` is encoded: the recorder's own
//! atomics (it runs on its own thread), the clip buffer's size (its state stays with it) and
//! tokio's count of live tasks.

use super::Metrics;
use camera_record::{ClipBuffer, RecordStats};
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Metrics {
    /// Exports the recorder's counters (`gateway_record_*`) from now on.
    pub fn set_record_stats(&self, stats: Arc<RecordStats>) {
        let _ = self.record.set(stats);
    }

    /// The recorder's counters, once recording runs (`/healthz` shows its pause state).
    pub fn record_stats(&self) -> Option<&Arc<RecordStats>> {
        self.record.get()
    }

    /// Exports the clip buffer's size (`gateway_clip_buffer_*`) from now on; 0 until then.
    pub fn set_clip_buffer(&self, clips: Arc<ClipBuffer>) {
        let _ = self.clips.set(clips);
    }
}

/// What the clip buffer holds, all cameras together: on a busy gateway most of its memory.
/// Exported at 0 when the buffer is off, so a dashboard's query finds the series either way.
pub(super) fn encode_clip_usage(out: &mut String, clips: Option<&ClipBuffer>) {
    use std::fmt::Write;
    let usage = clips.map(ClipBuffer::usage).unwrap_or_default();
    let _ = write!(
        out,
        "# HELP gateway_clip_buffer_bytes JPEG bytes held by the clip buffer, all cameras (at most --clip-buffer-bytes).\n# TYPE gateway_clip_buffer_bytes gauge\ngateway_clip_buffer_bytes {}\n\
         # HELP gateway_clip_buffer_frames Frames held by the clip buffer, all cameras.\n# TYPE gateway_clip_buffer_frames gauge\ngateway_clip_buffer_frames {}\n",
        usage.bytes, usage.frames
    );
}

/// Live tokio tasks of the runtime serving `/metrics`: a soak test reads it to prove that
/// clients and cameras that left took their tasks with them.
pub(super) fn encode_tasks(out: &mut String) {
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
pub(super) fn encode_record_stats(out: &mut String, stats: &RecordStats) {
    use std::fmt::Write;
    let counters = [
        (
            "frames_written",
            "Frames written to MCAP recording segments",
            &stats.frames_written,
        ),
        (
            "frames_dropped",
            "Frames not recorded: the disk fell behind, a segment failed recently, recording is paused, or the frame exceeds the camera's part of --record-keep",
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
    let gauges = [
        (
            "paused",
            "1 while recording is paused: free space on the recording disk under --record-min-free",
            u64::from(stats.paused.load(Ordering::Relaxed)),
        ),
        (
            "budget_bytes",
            "The size recordings may use (--record-keep, a share of the disk resolved)",
            stats.budget_bytes.load(Ordering::Relaxed),
        ),
        (
            "used_bytes",
            "Bytes of the recording segments, finished and open (open ones estimated)",
            stats.used_bytes.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = write!(
            out,
            "# HELP gateway_record_{name} {help}.\n# TYPE gateway_record_{name} gauge\ngateway_record_{name} {value}\n"
        );
    }
}

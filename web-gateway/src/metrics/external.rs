//! Numbers kept outside the registry, read when `/metrics` is encoded: the recorder's own
//! atomics (it runs on its own thread) and tokio's count of live tasks.

use super::Metrics;
use camera_node::record::RecordStats;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Metrics {
    /// Exports the recorder's counters (`gateway_record_*`) from now on.
    pub fn set_record_stats(&self, stats: Arc<RecordStats>) {
        let _ = self.record.set(stats);
    }
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

//! Recording (`--record DIR`) and the clip buffer (`--clip-buffer SECS`) in the gateway: starts
//! and stops them, and says once at start whether each is on and why.
//!
//! The frames come from the camera tasks, not from a subscriber of their own: each task hands
//! what it accepted (valid, from the served publisher, fresh; ROS 2 topics too) to the
//! [`Sinks`] returned here. Segments go to `DIR/<camera>/` (or `DIR/<prefix>/<camera>/` when
//! ids carry the prefix); the writer is its own thread behind a bounded queue, so a slow disk
//! drops frames (counted), never stalls a viewer. Recording counts as a viewer of every camera,
//! so under `subscribe = "while_watched"` it keeps them subscribed.

use crate::config::{ClipState, Config};
use crate::metrics::Metrics;
use camera_record::{ClipBuffer, RecordSettings, Recorder, Sinks};
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for the recorder thread to finish its segments at shutdown.
const FINISH_TIMEOUT: Duration = Duration::from_secs(2);

/// The clip buffer the config asks for, if any ([`Config::clip_state`] says why not).
pub fn clip_buffer(config: &Config) -> Option<Arc<ClipBuffer>> {
    let record = &config.record;
    matches!(config.clip_state(), ClipState::On { .. })
        .then(|| Arc::new(ClipBuffer::new(record.clip_length(), record.clip_max_bytes)))
}

/// Recording and clips while the gateway runs; [`Recording::finish`] at shutdown.
#[derive(Debug)]
pub struct Recording {
    sinks: Sinks,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recording {
    /// Where camera tasks hand accepted frames (empty when both are off).
    pub fn sinks(&self) -> Sinks {
        self.sinks.clone()
    }

    /// Waits (bounded) until every open segment has its footer written. The camera tasks
    /// must have ended: the writer stops once the last recorder handle is dropped.
    pub async fn finish(self) {
        drop(self.sinks);
        let Some(thread) = self.thread else { return };
        let joined = tokio::time::timeout(
            FINISH_TIMEOUT,
            tokio::task::spawn_blocking(move || thread.join()),
        )
        .await;
        if !matches!(joined, Ok(Ok(Ok(())))) {
            tracing::warn!("the recorder did not finish its segments in {FINISH_TIMEOUT:?}");
        }
    }
}

/// Starts the recorder thread if `--record` is set (fails if the directory cannot be
/// created) beside `clips` (the state's clip buffer), and logs what is on.
pub fn start(
    config: &Config,
    metrics: &Metrics,
    clips: Option<Arc<ClipBuffer>>,
) -> std::io::Result<Recording> {
    let record = &config.record;
    let (recorder, thread) = match &record.dir {
        Some(dir) => {
            let (recorder, thread) = Recorder::start(RecordSettings {
                dir: dir.clone(),
                segment: record.segment(),
                keep: record.keep,
                min_free: record.min_free,
            })?;
            metrics.set_record_stats(recorder.stats().clone());
            tracing::info!(dir = %dir.display(), keep = %record.keep, min_free = %record.min_free,
                "recording every camera (each counts as watched)");
            (Some(recorder), Some(thread))
        }
        None => (None, None),
    };
    match config.clip_state() {
        ClipState::On { seconds } => {
            tracing::info!("clip buffer on: the last {seconds} s of every camera in memory");
        }
        ClipState::Off { reason } => tracing::info!("clip buffer off: {reason}"),
    }
    Ok(Recording {
        sinks: Sinks { recorder, clips },
        thread,
    })
}

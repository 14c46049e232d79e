//! Recording (`--record DIR`) and the clip buffer (`--clip-buffer SECS`) in the gateway.
//!
//! The work is `camera_node::record`'s: one subscriber on every camera under the configured
//! prefixes, naming each camera as discovery does (`PrefixSet::name`: segments in
//! `DIR/<camera>/`, or `DIR/<prefix>/<camera>/` when ids carry the prefix), feeds the MCAP
//! segment writer (its own thread, so disk stalls never reach HTTP) and the in-memory
//! clip buffer that `GET /cameras/{id}/clip.mcap` exports. This file only starts and stops it.
//! Recording needs every frame, so under `subscribe = "while_watched"` it keeps on-demand
//! cameras running; the clip buffer, on by default, is off in that mode.

use crate::config::{Config, SubscribeMode};
use crate::state::AppState;
use camera_node::record::{self, Admission, ClipBuffer, RecordSettings, Recorder, Sinks};
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for the recorder thread to finish its segments at shutdown.
const FINISH_TIMEOUT: Duration = Duration::from_secs(2);

/// The clip buffer the config asks for, if any. Off under `subscribe = "while_watched"`:
/// filling it would keep every on-demand camera running, which that mode exists to avoid
/// (`--record` still records there: asking for it is asking for the frames).
pub fn clip_buffer(config: &Config) -> Option<Arc<ClipBuffer>> {
    let record = &config.record;
    let wanted = record.clip_secs > 0 && config.subscribe == SubscribeMode::Always;
    wanted.then(|| Arc::new(ClipBuffer::new(record.clip_length(), record.clip_max_bytes)))
}

/// The running recorder thread, finished by [`RecorderThread::finish`].
#[derive(Debug)]
pub struct RecorderThread {
    recorder: Recorder,
    thread: std::thread::JoinHandle<()>,
}

impl RecorderThread {
    /// Waits (bounded) until every open segment has its footer written.
    pub async fn finish(self) {
        drop(self.recorder);
        let thread = self.thread;
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

/// Starts recording and/or clips as configured: the recorder thread (fails if the directory
/// cannot be created) and the subscriber task on `state.tracker`.
pub fn start(state: &AppState) -> std::io::Result<Option<RecorderThread>> {
    let config = &state.config.record;
    let recorder = match &config.dir {
        Some(dir) => {
            let (recorder, thread) = Recorder::start(RecordSettings {
                dir: dir.clone(),
                segment: config.segment(),
                keep: config.keep,
                min_free: config.min_free,
            })?;
            state.metrics.set_record_stats(recorder.stats().clone());
            tracing::info!(dir = %dir.display(), keep = %config.keep, min_free = %config.min_free, "recording every camera");
            Some(RecorderThread { recorder, thread })
        }
        None => None,
    };
    let sinks = Sinks {
        recorder: recorder.as_ref().map(|r| r.recorder.clone()),
        clips: state.clips.clone(),
    };
    if sinks.recorder.is_some() || sinks.clips.is_some() {
        let (session, prefixes, cancel) = (
            state.zenoh.clone(),
            state.prefixes.clone(),
            state.cancel.clone(),
        );
        // Recording follows the camera table: the same size bound as the camera tasks apply,
        // and only the cameras discovery admitted (bounded, junk ids evicted), so that ids
        // nobody announces cannot fill the recorder and a forgotten camera's clip goes too.
        let table = state.clone();
        let admission = Admission {
            max_frame_bytes: state.config.max_frame_bytes,
            max_cameras: state.config.max_cameras,
            admit: Arc::new(move |camera| table.directory.contains(camera)),
        };
        state.tracker.spawn(async move {
            if let Err(error) = record::run(&session, &prefixes, sinks, admission, cancel).await {
                tracing::error!(%error, "recording and clips stopped: cannot subscribe to the cameras");
            }
        });
    }
    Ok(recorder)
}

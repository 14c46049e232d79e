//! Keeping capture alive: start the pipeline, watch its bus and its frame rate, restart it
//! with exponential backoff when the camera is lost, and report the state.
//!
//! Owns the capture state machine (Starting → Running ⇄ Idle, → Restarting / Failed) and the
//! generation counter. The zenoh session, publisher and queryables outlive every pipeline,
//! so subscribers keep their connection through a camera restart.

use super::capture::{self, BuildError, CapturedFrame, PipelineGuard};
use super::config::NodeConfig;
use super::on_demand::Demand;
use super::probe::GstEnvironment;
use super::source;
use crate::info::CaptureState;
use crate::publisher::FramePublisher;
use futures::StreamExt;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A pipeline that ran this long without trouble resets the backoff.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// Slow sources (Argus needs a few seconds) get this long for their first frame.
const STARTUP_GRACE: Duration = Duration::from_secs(10);
const ARGUS_PROVIDER_ERROR: &str = "Failed to create CameraProvider";

/// Why a pipeline run ended.
enum Outcome {
    Cancelled,
    Lost(String),
}

/// Runs capture until cancelled.
#[derive(Debug)]
pub struct Supervisor {
    pub config: NodeConfig,
    pub publisher: FramePublisher,
    pub demand: Demand,
    pub cancel: CancellationToken,
}

impl Supervisor {
    pub async fn run(mut self) {
        let mut backoff = BACKOFF_START;
        let mut generation = 0u32;
        let mut last_plan = None;
        while !self.cancel.is_cancelled() {
            let attempt = source::plan(&self.config, &GstEnvironment)
                .map_err(BuildError::from)
                .and_then(|plan| {
                    let (tx, rx) = watch::channel(None);
                    Ok((capture::build(&plan.launch, tx)?, rx, plan))
                });
            let (guard, frames, plan) = match attempt {
                Ok(built) => built,
                Err(error) => {
                    // Nothing will change until the machine does: retry at the slowest pace.
                    tracing::error!(camera = %self.config.camera, "cannot build the capture pipeline: {error}");
                    self.note_failure(CaptureState::Failed, error.to_string());
                    if self.sleep(BACKOFF_MAX).await {
                        break;
                    }
                    continue;
                }
            };
            if last_plan.as_ref() != Some(&plan) {
                tracing::info!(source = plan.kind.as_str(), reason = %plan.reason, pipeline = %plan.launch, "capture pipeline");
                last_plan = Some(plan.clone());
            }
            generation += 1;
            self.publisher.set_generation(generation);
            self.publisher.update_info(|info| {
                info.source = plan.kind.as_str().to_owned();
                info.pipeline.clone_from(&plan.launch);
                info.encoder.clone_from(&plan.encoder);
            });
            let started = Instant::now();
            let reason = match self.drive(&guard, frames, generation).await {
                Outcome::Cancelled => break,
                Outcome::Lost(reason) => reason,
            };
            drop(guard);
            if started.elapsed() >= HEALTHY_AFTER {
                backoff = BACKOFF_START;
            }
            tracing::error!(camera = %self.config.camera, retry_in = ?backoff, "camera lost: {reason}");
            self.note_failure(CaptureState::Restarting, reason);
            if self.sleep(backoff).await {
                break;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    fn note_failure(&self, state: CaptureState, error: String) {
        self.publisher.update_info(|info| {
            info.state = state;
            info.restarts += 1;
            info.last_error = Some(error);
        });
    }

    fn set_state(&self, state: CaptureState) {
        self.publisher.update_info(|info| info.state = state);
    }

    /// Sleeps unless cancelled first; true when cancelled.
    async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => true,
            () = tokio::time::sleep(duration) => false,
        }
    }

    fn stall_limit(&self) -> Duration {
        let interval = Duration::from_secs(1) / self.config.fps.max(1);
        (interval * self.config.stall_frames).max(Duration::from_secs(1))
    }

    async fn drive(
        &mut self,
        guard: &PipelineGuard,
        mut frames: watch::Receiver<Option<CapturedFrame>>,
        generation: u32,
    ) -> Outcome {
        let Some(bus) = guard.bus() else {
            return Outcome::Lost("pipeline has no bus".to_owned());
        };
        let mut messages = bus.stream();
        let mut wanted = self.demand.wanted();
        if let Err(reason) = apply_demand(guard, &mut messages, wanted).await {
            return Outcome::Lost(reason);
        }
        if !wanted {
            self.set_state(CaptureState::Idle);
        }
        let stall = self.stall_limit();
        let mut deadline = Instant::now() + stall.max(STARTUP_GRACE);
        let mut running = false;
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return Outcome::Cancelled,
                message = messages.next() => match message {
                    Some(message) => if let Some(reason) = lost_reason(&message) {
                        return Outcome::Lost(reason);
                    },
                    None => return Outcome::Lost("pipeline bus closed".to_owned()),
                },
                changed = frames.changed() => {
                    if changed.is_err() {
                        return Outcome::Lost("appsink stopped delivering".to_owned());
                    }
                    let Some(frame) = frames.borrow_and_update().clone() else {
                        continue;
                    };
                    deadline = Instant::now() + stall;
                    if !running && wanted {
                        running = true;
                        self.set_state(CaptureState::Running);
                        tracing::info!(camera = %self.config.camera, generation, "capturing");
                    }
                    self.publish(frame).await;
                }
                () = tokio::time::sleep_until(deadline), if wanted => {
                    let since = if running { stall } else { stall.max(STARTUP_GRACE) };
                    return Outcome::Lost(format!("stalled: no frame for {since:?}"));
                }
                now_wanted = self.demand.changed() => {
                    wanted = now_wanted;
                    if let Err(reason) = apply_demand(guard, &mut messages, wanted).await {
                        return Outcome::Lost(reason);
                    }
                    // Resuming must not count the idle time as a stall.
                    deadline = Instant::now() + stall.max(STARTUP_GRACE);
                    running = false;
                    self.set_state(if wanted { CaptureState::Running } else { CaptureState::Idle });
                }
            }
        }
    }

    async fn publish(&mut self, captured: CapturedFrame) {
        let CapturedFrame {
            jpeg,
            capture_ts_ns,
            width,
            height,
        } = captured;
        if let Err(error) = self
            .publisher
            .publish(jpeg, width, height, capture_ts_ns)
            .await
        {
            tracing::warn!("frame not published: {error}");
        }
    }
}

/// Plays the pipeline when frames are wanted, pauses it otherwise. On failure the reason
/// is the error the pipeline posted, which `bus.stream()` has already queued.
async fn apply_demand(
    guard: &PipelineGuard,
    messages: &mut gst::bus::BusStream,
    wanted: bool,
) -> Result<(), String> {
    let state = if wanted {
        gst::State::Playing
    } else {
        gst::State::Paused
    };
    if guard.set_state(state).is_ok() {
        return Ok(());
    }
    let posted = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(message) = messages.next().await {
            if let Some(reason) = lost_reason(&message) {
                return Some(reason);
            }
        }
        None
    });
    Err(posted
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| format!("pipeline refused to go to {state:?}")))
}

/// The camera-loss description of a bus message, or `None` for harmless messages.
fn lost_reason(message: &gst::Message) -> Option<String> {
    use gst::MessageView;
    match message.view() {
        MessageView::Error(error) => {
            let source = error
                .src()
                .map(|src| src.path_string().to_string())
                .unwrap_or_default();
            let debug = error
                .debug()
                .map(|debug| debug.to_string())
                .unwrap_or_default();
            Some(describe_error(&source, &error.error().to_string(), &debug))
        }
        MessageView::Eos(_) => Some("end of stream (the source stopped)".to_owned()),
        MessageView::Warning(warning) => {
            tracing::warn!(debug = ?warning.debug(), "GStreamer warning: {}", warning.error());
            None
        }
        _ => None,
    }
}

/// One line: element, error, debug text, and a hint for errors we know.
pub fn describe_error(source: &str, error: &str, debug: &str) -> String {
    let debug = debug.replace('\n', " ");
    let mut text = format!("{source}: {error} (debug: {debug})");
    if error.contains(ARGUS_PROVIDER_ERROR) || debug.contains(ARGUS_PROVIDER_ERROR) {
        text.push_str(
            " - the Argus daemon is stuck or the camera is held by another process: \
             run `sudo systemctl restart nvargus-daemon`",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argus_provider_error_suggests_restarting_the_daemon() {
        let text = describe_error(
            "/GstPipeline:pipeline0/GstNvArgusCameraSrc:nvarguscamerasrc0",
            "Internal data stream error.",
            "Failed to create CameraProvider\nmore",
        );
        assert!(
            text.contains("systemctl restart nvargus-daemon") && !text.contains('\n'),
            "{text}"
        );
        assert!(!describe_error("x", "y", "z").contains("nvargus"));
    }
}

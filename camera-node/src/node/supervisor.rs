//! Keeping capture alive: start the pipeline, watch its bus and its frame rate, restart it
//! with exponential backoff when the camera is lost, and report the state.
//!
//! Owns the capture state machine (Starting → Running ⇄ Idle, → Restarting / Failed) and the
//! generation counter. The zenoh session, publisher and queryables outlive every pipeline,
//! so subscribers keep their connection through a camera restart.

use super::capture::{self, BuildError, CapturedFrame, PipelineGuard};
use super::config::NodeConfig;
use super::loss::Loss;
use super::on_demand::Demand;
use super::probe::GstEnvironment;
use super::source;
use super::variants::Variants;
use super::video::VideoLanes;
use camera_protocol::info::CaptureState;
use camera_protocol::publisher::FramePublisher;
use camera_protocol::ros2::Ros2Publisher;
use futures::StreamExt;
use gstreamer as gst;
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

/// Why a pipeline run ended.
enum Outcome {
    Cancelled,
    Lost(Loss),
}

/// Runs capture until cancelled.
#[derive(Debug)]
pub struct Supervisor {
    pub config: NodeConfig,
    pub publisher: FramePublisher,
    /// With `--ros2`: every published frame again, as a ROS 2 CompressedImage.
    pub ros2: Option<Ros2Publisher>,
    pub variants: Variants,
    pub video: VideoLanes,
    pub demand: Demand,
    pub cancel: CancellationToken,
}

impl Supervisor {
    pub async fn run(mut self) {
        let mut backoff = BACKOFF_START;
        let mut generation = 0u32;
        let mut last_plan = None;
        while !self.cancel.is_cancelled() {
            // Off the async workers: planning probes the device (opening it, caps queries)
            // and parsing loads plugins, both of which can block for seconds on a Jetson.
            let config = self.config.clone();
            let (variants, video) = (self.variants.clone(), self.video.clone());
            let next_generation = generation + 1;
            let attempt = tokio::task::spawn_blocking(move || {
                let plan = source::plan(&config, &GstEnvironment).map_err(BuildError::from)?;
                let (tx, rx) = watch::channel(None);
                let guard = capture::build(&plan.launch, tx)?;
                if let Some(pipeline) = guard.pipeline() {
                    variants.attach(pipeline, next_generation)?;
                    video.attach(pipeline, next_generation, plan.h264_encoder)?;
                }
                Ok::<_, BuildError>((guard, rx, plan))
            })
            .await;
            let attempt = match attempt {
                Ok(attempt) => attempt,
                Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Err(_) => break, // the runtime is shutting down
            };
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
            self.update_lane_info();
            let started = Instant::now();
            let outcome = self.drive(&guard, frames, generation).await;
            guard.stop().await;
            let reason = match outcome {
                Outcome::Cancelled => break,
                Outcome::Lost(reason) => reason,
            };
            if started.elapsed() >= HEALTHY_AFTER {
                backoff = BACKOFF_START;
            }
            tracing::error!(camera = %self.config.camera, retry_in = ?backoff, "camera lost: {reason}");
            self.note_failure(CaptureState::Restarting, reason.to_string());
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
            return Outcome::Lost(Loss::NoBus);
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
                    Some(message) => if let Some(reason) = Loss::from_bus(&message) {
                        return Outcome::Lost(reason);
                    },
                    None => return Outcome::Lost(Loss::BusClosed),
                },
                changed = frames.changed() => {
                    if changed.is_err() {
                        return Outcome::Lost(Loss::AppsinkStopped);
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
                    return Outcome::Lost(Loss::Stalled(since));
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
        let frame = match self
            .publisher
            .publish(jpeg, width, height, capture_ts_ns)
            .await
        {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!("frame not published: {error}");
                return;
            }
        };
        if let Some(ros2) = &mut self.ros2 {
            if let Err(error) = ros2.publish(&frame.jpeg, capture_ts_ns).await {
                tracing::warn!("frame not published on ROS 2: {error}");
            }
        }
        self.update_lane_info();
    }

    /// The variants' and H.264 lanes' counts (and chosen encoder) into the info reply.
    fn update_lane_info(&self) {
        if self.variants.any() {
            let variants = self.variants.info();
            self.publisher.update_info(|info| info.variants = variants);
        }
        if self.video.any() {
            let video = self.video.info();
            self.publisher.update_info(|info| info.video = video);
        }
    }
}

/// Plays the pipeline when frames are wanted, pauses it otherwise. On failure the reason
/// is the error the pipeline posted, which `bus.stream()` has already queued.
async fn apply_demand(
    guard: &PipelineGuard,
    messages: &mut gst::bus::BusStream,
    wanted: bool,
) -> Result<(), Loss> {
    let state = if wanted {
        gst::State::Playing
    } else {
        gst::State::Paused
    };
    if guard.set_state(state).await.is_ok() {
        return Ok(());
    }
    let posted = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(message) = messages.next().await {
            if let Some(reason) = Loss::from_bus(&message) {
                return Some(reason);
            }
        }
        None
    });
    Err(posted
        .await
        .ok()
        .flatten()
        .unwrap_or(Loss::StateChange(state)))
}

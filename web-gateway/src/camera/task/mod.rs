//! The camera task: the only place that changes a camera's state.
//!
//! One loop waits for the next event — a command, a frame sample, a viewer-count change, the
//! end of a background job (info query, snapshot query, NO SIGNAL drawing) or the earliest due
//! timer — handles it, then publishes a fresh [`CameraStatus`]. Blocking or slow work runs in
//! `jobs` and comes back as an [`Outcome`], so the loop never waits on the network or the CPU.
//!
//! Online/offline is decided here only: online with a liveliness token or a live frame;
//! offline when the token goes, or when no frame came for `offline_after` while the gateway
//! receives the camera's frames (an unwatched camera under `while_watched` sends none, and is
//! not offline for that).
//!
//! The task is the camera's only subscriber: recording and the clip buffer get the frames it
//! accepted, handed to `Env::record` (a bounded queue: a slow disk drops, never waits).

mod commands;
mod online;
mod status;
mod subscription;

use self::subscription::{next_sample, LINGER};
use super::feeds::Feeds;
use super::ingest::{self, Checks, Rate, Rejected};
use super::nosignal;
use super::proof::Proof;
use super::replier::{self, InfoFailure};
use super::status::FPS_WINDOW;
use super::{CameraStatus, Command, Env, ForgetRequest};
use crate::camera::slot::{self, SlotSender};
use crate::camera::FrameSource;
use crate::config::SubscribeMode;
use crate::throttle::LogThrottle;
use camera_protocol::meta::{unix_now_ns, SourceId};
use camera_protocol::subscriber::{FrameSubscriber, Received};
use camera_protocol::{CameraInfo, Frame};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How often the node's info is re-queried while its liveliness token is present, so that
/// `frames_published` and `state` in `/api/cameras` stay current.
const INFO_REFRESH: Duration = Duration::from_secs(2);
/// Samples buffered between zenoh and this task: small, because only the newest frame
/// matters, yet enough for a short burst (frames plus rejected samples, which are counted).
const RING_CAPACITY: usize = camera_protocol::subscriber::DEFAULT_RING_CAPACITY;
/// Pause before retrying a subscriber that could not be declared.
const RETRY: Duration = Duration::from_secs(1);
/// Sleep bound when nothing is due (every deadline is recomputed after each event anyway).
const IDLE_WAKE: Duration = Duration::from_secs(3600);

/// What [`super::spawn`] hands the task.
pub(super) struct Parts {
    pub id: String,
    pub source: FrameSource,
    pub generation: u64,
    pub env: Env,
    pub stop: CancellationToken,
    pub frames: SlotSender,
    pub status: watch::Sender<CameraStatus>,
    pub viewers: watch::Receiver<usize>,
}

/// Slow work finished off the loop.
enum Outcome {
    Info(Result<(CameraInfo, Option<SourceId>), InfoFailure>),
    Snapshot(Result<Option<Frame>, String>),
    NoSignal {
        since: SystemTime,
        jpeg: Result<nosignal::Pictures, String>,
    },
}

enum Event {
    Command(Command),
    Sample(Received),
    SubscriptionClosed,
    Viewers(usize),
    Done(Outcome),
    Timer,
}

pub(super) struct CameraTask {
    id: String,
    source: FrameSource,
    generation: u64,
    env: Env,
    stop: CancellationToken,
    /// What viewers see: live frames, or NO SIGNAL pictures while offline.
    frames: SlotSender,
    status: watch::Sender<CameraStatus>,
    viewers: watch::Receiver<usize>,
    watched: usize,
    subscription: Option<FrameSubscriber>,
    subscribed_at: Instant,
    subscribe_at: Option<Instant>,
    unsubscribe_at: Option<Instant>,
    /// The node's liveliness token is present.
    token: bool,
    online: bool,
    online_at: Instant,
    offline_since: Option<SystemTime>,
    last_live: Option<Arc<Frame>>,
    last_live_at: Option<Instant>,
    rate: Rate,
    fps: f64,
    /// Serves one publisher, drops frames that arrive too late to be live.
    checks: Checks,
    /// Warnings about rejected samples, at most one per reason per 10 s.
    rejected: LogThrottle<&'static str>,
    /// The NO SIGNAL picture of the current offline period, re-sent at `no_signal_at`.
    no_signal: Option<nosignal::Pictures>,
    no_signal_at: Option<Instant>,
    info: Option<Arc<CameraInfo>>,
    info_error: Option<Arc<str>>,
    info_at: Option<Instant>,
    /// The session whose info was believed last (`replier`): snapshots are taken from it.
    info_from: Option<SourceId>,
    /// Offline with no viewers since then; forgotten after `forget_after`.
    idle_since: Option<Instant>,
    forget_requested: bool,
    /// Variant feeds of both kinds: encoders and node-variant subscribers.
    feeds: Feeds,
    /// Whether it has sent a valid frame or info since it was announced.
    proof: Proof,
    jobs: JoinSet<Outcome>,
    /// How recordings name this camera, when recording or clips are on.
    recorded: Option<Arc<camera_record::RecordedCamera>>,
}

impl CameraTask {
    pub(super) fn new(parts: Parts) -> Self {
        let now = Instant::now();
        let max_frame_lag = parts.env.settings.max_frame_lag;
        let offline_after = parts.env.settings.offline_after;
        let checks = Checks::new(
            &parts.id,
            &parts.source.frame_key(),
            offline_after,
            max_frame_lag,
        );
        let feeds = Feeds::new(parts.env.settings.max_encoders, parts.env.encoders.clone());
        Self {
            recorded: subscription::recorded_as(&parts.env, &parts.source, &parts.id),
            id: parts.id,
            source: parts.source,
            generation: parts.generation,
            env: parts.env,
            stop: parts.stop,
            frames: parts.frames,
            status: parts.status,
            viewers: parts.viewers,
            watched: 0,
            subscription: None,
            subscribed_at: now,
            subscribe_at: None,
            unsubscribe_at: None,
            token: false,
            online: false,
            online_at: now,
            offline_since: Some(SystemTime::now()),
            last_live: None,
            last_live_at: None,
            rate: Rate::new(FPS_WINDOW),
            fps: 0.0,
            checks,
            rejected: LogThrottle::default(),
            no_signal: None,
            no_signal_at: None,
            info: None,
            info_error: None,
            info_at: None,
            info_from: None,
            idle_since: Some(now),
            forget_requested: false,
            feeds,
            proof: Proof::new(now),
            jobs: JoinSet::new(),
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        if let Some(repeats) = self.env.events.hit(&self.id, "discovered") {
            tracing::info!(camera = %self.id, %repeats, "camera discovered");
        }
        self.env.metrics.add_camera(&self.id);
        if self.env.settings.subscribe == SubscribeMode::Always || self.recording() {
            self.subscribe().await;
        }
        self.publish_status();
        loop {
            let deadline = self.next_deadline();
            let event = tokio::select! {
                _ = self.stop.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => Event::Command(command),
                    None => break,
                },
                sample = next_sample(self.subscription.as_ref()) => match sample {
                    Some(sample) => Event::Sample(sample),
                    None => Event::SubscriptionClosed,
                },
                changed = self.viewers.changed() => match changed {
                    Ok(()) => Event::Viewers(*self.viewers.borrow_and_update()),
                    Err(_) => break,
                },
                Some(done) = self.jobs.join_next() => match done {
                    Ok(outcome) => Event::Done(outcome),
                    Err(_) => continue,
                },
                () = tokio::time::sleep_until(deadline.into()) => Event::Timer,
            };
            match event {
                Event::Command(command) => self.on_command(command).await,
                Event::Sample(sample) => self.on_sample(sample),
                Event::SubscriptionClosed => {
                    tracing::debug!(camera = %self.id, "frame subscription closed");
                    self.subscription = None;
                }
                Event::Viewers(count) => self.on_viewers(count).await,
                Event::Done(outcome) => self.on_outcome(outcome),
                Event::Timer => self.on_timer().await,
            }
            self.track_idle();
            self.publish_status();
        }
        self.env.metrics.remove_camera(&self.id);
        self.env.record.forget(&self.id);
        tracing::debug!(camera = %self.id, "camera task ended");
    }

    fn on_sample(&mut self, sample: Received) {
        let received_ns = unix_now_ns();
        let accepted = ingest::accept(sample, &mut self.checks, received_ns, Instant::now());
        match accepted {
            Ok(frame) => {
                self.record(&frame);
                self.live(frame, received_ns);
            }
            Err(reject) => {
                let reason = reject.reason();
                self.env.metrics.frame_rejected(&self.id, reason);
                if let Rejected::OtherSource(_) = reject {
                    return; // warned once per conflict by `Checks`
                }
                let Some(count) = self.rejected.hit(reason) else {
                    return;
                };
                if let Rejected::Stale(_) = reject {
                    // Expected after a short cut of the link: not a fault of the publisher.
                    tracing::info!(camera = %self.id, %reject, dropped = count,
                        "dropped late frame(s)");
                } else {
                    tracing::warn!(camera = %self.id, error = %reject, reason, rejected = count,
                        "rejected frame sample(s)");
                }
            }
        }
    }

    /// Stores a live frame and hands it to every viewer.
    fn live(&mut self, frame: Frame, received_ns: u64) {
        let now = Instant::now();
        let metrics = &self.env.metrics;
        metrics.frame_received(&self.id);
        // A jump backwards or beyond a plausible gap is a restart, not billions of drops.
        let dropped = self
            .last_live
            .as_ref()
            .and_then(|last| frame.meta.frames_lost_since(&last.meta));
        if let Some(dropped @ 1..) = dropped {
            metrics.frames_dropped(&self.id, dropped);
        }
        self.fps = self.rate.arrived(now);
        let frame = Arc::new(frame);
        self.last_live = Some(frame.clone());
        self.last_live_at = Some(now);
        self.proof.frame();
        self.came_online("frames flowing");
        slot::show(&self.frames, frame, received_ns);
    }

    fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Info(reply) => {
                match reply {
                    Ok((info, from)) => {
                        let named_now = self.info_from.is_none() && from.is_some();
                        self.info_from = from;
                        if named_now {
                            self.fetch_first_snapshot();
                        }
                        self.proof.answered();
                        self.info = Some(Arc::new(info.clone()));
                        self.offered_changed(&info);
                        self.info_error = None;
                    }
                    Err(InfoFailure { message, answered }) => {
                        if answered {
                            self.proof.answered();
                        }
                        tracing::debug!(camera = %self.id, error = %message, "info query failed");
                        self.info_error = Some(message.into());
                    }
                }
                if self.token {
                    self.info_at = Some(Instant::now() + INFO_REFRESH);
                }
            }
            Outcome::Snapshot(Ok(Some(frame))) if self.last_live.is_none() => {
                self.live(frame, unix_now_ns())
            }
            Outcome::Snapshot(Ok(_)) => {}
            Outcome::Snapshot(Err(error)) => {
                tracing::debug!(camera = %self.id, %error, "snapshot query failed");
            }
            Outcome::NoSignal { since, jpeg } => match jpeg {
                Ok(jpeg) if !self.online && self.offline_since == Some(since) => {
                    self.no_signal = Some(jpeg);
                    self.no_signal_at = Some(Instant::now());
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(camera = %self.id, %error, "cannot draw NO SIGNAL picture");
                }
            },
        }
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        let due = |at: Option<Instant>| at.is_some_and(|at| at <= now);
        if due(self.subscribe_at) {
            self.subscribe().await;
        }
        if due(self.unsubscribe_at) {
            self.unsubscribe_at = None;
            self.subscription = None;
            tracing::info!(camera = %self.id, "unwatched for {LINGER:?}: unsubscribed from frames");
        }
        if due(self.offline_check_at()) {
            let after = self.env.settings.offline_after;
            self.went_offline(&format!("no frame for {after:?}"));
        }
        if due(self.no_signal_at) {
            self.show_no_signal(now);
        }
        if due(self.info_at) {
            self.info_at = None;
            if let Some((zenoh, keys, timeout)) = self.query_parts() {
                let (owner, metrics) = (self.checks.owner(now), self.env.metrics.clone());
                self.jobs.spawn(async move {
                    let reply = replier::query_info(&zenoh, &keys, timeout, owner, &metrics);
                    Outcome::Info(reply.await)
                });
            }
        }
        if due(self.feeds.release_at()) {
            self.feeds.release_unwatched(&self.id, now);
        }
        if due(self.forget_at()) {
            self.forget_requested = true;
            let after = self.env.settings.forget_after;
            if let Some(repeats) = self.env.events.hit(&self.id, "forgetting") {
                tracing::info!(camera = %self.id, %repeats, "offline and unwatched for {after:?}: forgetting it");
            }
            self.ask_forget(false);
        }
        if due(self.proof.phantom_at()) {
            self.proof.reported();
            self.ask_forget(true);
        }
    }

    fn next_deadline(&self) -> Instant {
        [
            self.subscribe_at,
            self.unsubscribe_at,
            self.offline_check_at(),
            self.no_signal_at,
            self.info_at,
            self.feeds.release_at(),
            self.forget_at(),
            self.proof.phantom_at(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + IDLE_WAKE)
    }

    fn ask_forget(&self, phantom: bool) {
        let _ = self.env.forget.send(ForgetRequest {
            camera: self.id.clone(),
            generation: self.generation,
            phantom,
        });
    }
}

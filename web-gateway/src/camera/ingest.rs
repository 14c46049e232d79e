//! From a zenoh sample to a frame the camera serves: the one [`accept`] step every sample
//! passes (valid, from the served publisher, fresh), the freshness rule, and the measured
//! frame rate.
//!
//! Everything that decides whether a sample may be shown belongs in [`accept`], so that no
//! path (stream, snapshot, WebSocket, variant) can serve a sample that skipped a check.

use super::sources::{self, Conflict, Sources, Verdict};
use crate::labels::Unshown;
use camera_protocol::frame::DecodeError;
use camera_protocol::meta::MAX_PLAUSIBLE_SEQ_GAP;
use camera_protocol::subscriber::Received;
use camera_protocol::{Frame, FrameMeta};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Why a received sample is not shown.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// Not a valid frame (`camera_protocol::FrameLimits`, attachment, JPEG).
    #[error(transparent)]
    Invalid(#[from] DecodeError),
    /// A valid frame that arrived too late to be shown as live.
    #[error(transparent)]
    Stale(#[from] Stale),
    /// A valid frame of another publisher than the one served (see [`super::sources`]).
    #[error("frame of publisher {0} ignored: another publisher of this camera is served")]
    OtherSource(String),
}

impl Rejected {
    /// Label for `gateway_rejected_frames_total{reason=...}`.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejected::Invalid(error) => error.reason(),
            Rejected::Stale(_) => Unshown::Stale.label(),
            Rejected::OtherSource(_) => Unshown::OtherSource.label(),
        }
    }
}

/// A frame older than the camera's newest by more than the allowed lag.
#[derive(Debug, thiserror::Error)]
#[error("frame {seq} arrived {late:?} behind the camera's newest (by the camera's clock; limit {limit:?}): held back on the link, dropped")]
pub struct Stale {
    pub seq: u64,
    pub late: Duration,
    pub limit: Duration,
}

/// What [`accept`] remembers about one feed (a camera's frames, or one node variant's).
#[derive(Debug)]
pub struct Checks {
    sources: Sources,
    freshness: Freshness,
}

impl Checks {
    /// `key`: the feed's frame key; `quiet_after`: the offline timeout (when a silent served
    /// publisher gives way to another); `max_lag`: see [`Freshness`].
    pub fn new(camera: &str, key: &str, quiet_after: Duration, max_lag: Duration) -> Self {
        Self {
            sources: Sources::new(camera, key, quiet_after),
            freshness: Freshness::new(max_lag),
        }
    }

    /// The node started a new session: see [`Freshness::restart`].
    pub fn restart(&mut self) {
        self.freshness.restart();
    }

    /// The served publisher's session, if it published lately (see [`Sources::serving`]).
    pub fn owner(&self, now: Instant) -> Option<camera_protocol::meta::SourceId> {
        self.sources.serving(now)
    }

    /// Other publishers on this feed's key as of `now`.
    pub fn conflict(&self, now: Instant) -> Option<Conflict> {
        self.sources.conflict(now)
    }
}

/// Checks one received sample; `Ok` frames go to viewers, `Err` ones are counted by
/// [`Rejected::reason`] and dropped. The validity checks (`camera_protocol::FrameLimits`: payload
/// size before the copy, dimension caps, SOF header equal to the attachment) ran when the
/// subscriber decoded the sample, so nothing here sees an unchecked size; then frames of
/// another publisher than the served one are ignored, and frames that come too late to be
/// live are dropped. `arrived_ns`: the gateway's clock (Unix ns).
pub fn accept(
    received: Received,
    checks: &mut Checks,
    arrived_ns: u64,
    now: Instant,
) -> Result<Frame, Rejected> {
    let frame = received.frame?;
    match checks.sources.check(received.source, frame.meta.seq, now) {
        Verdict::Serve => {}
        // Another publisher, another clock and sequence.
        Verdict::Switched => checks.freshness.restart(),
        Verdict::Ignore => return Err(Rejected::OtherSource(sources::name(received.source))),
    }
    checks.freshness.check(&frame.meta, arrived_ns, now)?;
    Ok(frame)
}

/// A `seq` at most this far behind the newest is a frame of the same run arriving out of
/// order (zenoh delivers one session's samples in order, but two routes may not), unless it
/// is this close to 0: a restarted node counts from 0.
const REORDER_WINDOW: u64 = 64;

/// The freshness rule: no frame older than `max_lag` — by the camera's clock, relative to the
/// camera's newest — is shown as live. Stale frames queued on the robot during a short cut
/// (shorter than the zenoh lease, so the session and its queue survive) arrive in a burst when
/// the link returns; they are dropped instead of replayed.
///
/// Camera and gateway clocks need not agree: the camera's "now" is estimated as the gateway's
/// clock minus the smallest `arrival − capture` difference seen in this run of the camera (the
/// link's fastest delivery plus the clock offset). A frame whose difference exceeds that by more
/// than `max_lag` was held back; this also covers frames older than the newest one accepted.
/// The estimate starts again when the camera restarts (its `generation` changes, or `seq` goes
/// back or leaps, see [`FrameMeta::frames_lost_since`]), when its liveliness token reappears
/// (a new session: nothing queued survives), and when every frame has been refused for
/// `resync_after` (the camera's clock was stepped back: its frames are late forever otherwise).
#[derive(Debug)]
pub struct Freshness {
    max_lag: Duration,
    resync_after: Duration,
    /// Smallest `arrival − capture` in ns of this run (signed: clocks may disagree either way).
    base_offset: Option<i128>,
    /// The newest frame accepted in this run.
    last: Option<FrameMeta>,
    /// Since when every frame has been refused.
    refusing_since: Option<Instant>,
}

impl Freshness {
    pub fn new(max_lag: Duration) -> Self {
        Self {
            max_lag,
            // Longer than any burst of queued frames takes to drain, short enough that a
            // camera whose clock was stepped back is shown again within a few seconds.
            resync_after: (max_lag * 3).max(Duration::from_secs(3)),
            base_offset: None,
            last: None,
            refusing_since: None,
        }
    }

    /// Forgets this run: the next frame starts a new estimate.
    pub fn restart(&mut self) {
        self.base_offset = None;
        self.last = None;
        self.refusing_since = None;
    }

    /// Whether a frame with `meta`, arriving at `arrived_ns` (gateway clock), may be shown.
    pub fn check(&mut self, meta: &FrameMeta, arrived_ns: u64, now: Instant) -> Result<(), Stale> {
        if self.last.is_some_and(|last| restarted(meta, &last)) {
            self.restart();
        }
        let offset = i128::from(arrived_ns) - i128::from(meta.capture_ts_ns);
        let base = self.base_offset.map_or(offset, |base| base.min(offset));
        let late = u64::try_from(offset - base).unwrap_or(u64::MAX);
        let late = Duration::from_nanos(late);
        let resync = self
            .refusing_since
            .is_some_and(|since| now.duration_since(since) >= self.resync_after);
        if late > self.max_lag && !resync {
            self.refusing_since.get_or_insert(now);
            return Err(Stale {
                seq: meta.seq,
                late,
                limit: self.max_lag,
            });
        }
        self.base_offset = Some(if resync { offset } else { base });
        self.refusing_since = None;
        if self.last.is_none_or(|last| meta.seq >= last.seq) {
            self.last = Some(*meta);
        }
        Ok(())
    }
}

/// Whether `meta` comes from a new run of the camera rather than from the run of `last`: a
/// new generation, `seq` back to near 0 or back by more than a reordering, or an implausible
/// leap forward.
fn restarted(meta: &FrameMeta, last: &FrameMeta) -> bool {
    let back =
        meta.seq < last.seq && (meta.seq < REORDER_WINDOW || meta.seq + REORDER_WINDOW < last.seq);
    meta.generation != last.generation
        || back
        || meta.seq > last.seq.saturating_add(MAX_PLAUSIBLE_SEQ_GAP)
}

/// Frames per second over the last `window`.
#[derive(Debug)]
pub struct Rate {
    window: Duration,
    arrivals: VecDeque<Instant>,
}

impl Rate {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            arrivals: VecDeque::new(),
        }
    }

    /// Records a frame arriving at `now` and returns the rate including it.
    pub fn arrived(&mut self, now: Instant) -> f64 {
        self.arrivals.push_back(now);
        while self.arrivals.len() > 2
            && self
                .arrivals
                .front()
                .is_some_and(|at| now.duration_since(*at) > self.window)
        {
            self.arrivals.pop_front();
        }
        let (Some(first), Some(last)) = (self.arrivals.front(), self.arrivals.back()) else {
            return 0.0;
        };
        let span = last.duration_since(*first).as_secs_f64();
        if self.arrivals.len() < 2 || span <= 0.0 {
            return 0.0;
        }
        (self.arrivals.len() - 1) as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    /// A gateway clock 5 s ahead of the camera's, plus 20 ms of link.
    const OFFSET: u64 = 5_020 * MS;

    fn meta(generation: u32, seq: u64, capture_ms: u64) -> FrameMeta {
        FrameMeta {
            seq,
            capture_ts_ns: 1_000_000 * MS + capture_ms * MS,
            width: 8,
            height: 6,
            generation,
            online: true,
        }
    }

    /// Feeds `(meta, arrival ms after capture 0 by the camera's clock)`; returns what passed.
    fn feed(freshness: &mut Freshness, start: Instant, frames: &[(FrameMeta, u64)]) -> Vec<u64> {
        frames
            .iter()
            .filter(|(meta, arrival_ms)| {
                let arrived = 1_000_000 * MS + arrival_ms * MS + OFFSET;
                let now = start + Duration::from_millis(*arrival_ms);
                freshness.check(meta, arrived, now).is_ok()
            })
            .map(|(meta, _)| meta.seq)
            .collect()
    }

    #[test]
    fn frames_held_back_by_a_cut_are_dropped_then_fresh_ones_pass() {
        let mut freshness = Freshness::new(Duration::from_secs(1));
        let start = Instant::now();
        // 10 fps; frames 0..10 on time; 10..20 captured during a 2 s cut and delivered in a
        // burst when the link returns at 3.0 s; 30.. on time again.
        let mut frames: Vec<_> = (0..10)
            .map(|seq| (meta(1, seq, seq * 100), seq * 100))
            .collect();
        frames.extend((10..30).map(|seq| (meta(1, seq, seq * 100), 3_000 + seq)));
        frames.extend((31..35).map(|seq| (meta(1, seq, seq * 100), seq * 100)));
        let passed = feed(&mut freshness, start, &frames);
        // Frame 20 (captured at 2.0 s) is 1.02 s late: dropped; 21 (0.92 s late) passes.
        let expected: Vec<u64> = (0..10).chain(21..30).chain(31..35).collect();
        assert_eq!(passed, expected);
    }

    #[test]
    fn an_older_frame_than_the_newest_by_more_than_the_lag_is_dropped() {
        let mut freshness = Freshness::new(Duration::from_secs(1));
        let start = Instant::now();
        let frames = [
            (meta(1, 100, 5_000), 5_000),
            (meta(1, 99, 3_500), 5_010), // 1.5 s older, reordered
            (meta(1, 101, 5_100), 5_100),
        ];
        assert_eq!(feed(&mut freshness, start, &frames), vec![100, 101]);
    }

    #[test]
    fn a_restart_with_an_earlier_clock_is_accepted() {
        let mut freshness = Freshness::new(Duration::from_secs(1));
        let start = Instant::now();
        // The restarted node (seq from 0) stamps 4 s earlier than the old one did.
        let frames = [
            (meta(1, 500, 10_000), 10_000),
            (meta(1, 501, 10_100), 10_100),
            (meta(1, 0, 6_500), 10_500),
            (meta(1, 1, 6_600), 10_600),
        ];
        assert_eq!(feed(&mut freshness, start, &frames), vec![500, 501, 0, 1]);
        // A node that ran only a few frames restarts: seq back to 0 is a restart too.
        let frames = [(meta(1, 3, 10_700), 10_700), (meta(1, 0, 8_000), 10_800)];
        assert_eq!(feed(&mut freshness, start, &frames), vec![3, 0]);
        // A new generation with the same seq range is a restart too.
        let frames = [(meta(2, 2, 2_700), 10_900), (meta(2, 3, 2_800), 11_000)];
        assert_eq!(feed(&mut freshness, start, &frames), vec![2, 3]);
    }

    #[test]
    fn a_clock_stepped_back_is_resynced_after_a_while() {
        let mut freshness = Freshness::new(Duration::from_secs(1));
        let start = Instant::now();
        // Same run (seq continues) but the camera's clock steps back by 10 s at seq 10.
        let mut frames: Vec<_> = (0..10)
            .map(|seq| (meta(1, seq, 20_000 + seq * 100), seq * 100))
            .collect();
        frames.extend((10..60).map(|seq| (meta(1, seq, 10_000 + seq * 100), seq * 100)));
        let passed = feed(&mut freshness, start, &frames);
        // Refused from 1.0 s until 3 s of refusals have passed (4.0 s), then shown again.
        let expected: Vec<u64> = (0..10).chain(40..60).collect();
        assert_eq!(passed, expected);
    }

    #[test]
    fn restart_forgets_the_estimate() {
        let mut freshness = Freshness::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(
            feed(&mut freshness, start, &[(meta(1, 5, 9_000), 9_000)]),
            vec![5]
        );
        freshness.restart();
        // Same seq range, clock 3 s earlier: accepted once the run is forgotten.
        assert_eq!(
            feed(&mut freshness, start, &[(meta(1, 6, 6_100), 9_100)]),
            vec![6]
        );
    }

    #[test]
    fn rate_counts_intervals_within_the_window() {
        let mut rate = Rate::new(Duration::from_secs(2));
        let start = Instant::now();
        assert_eq!(rate.arrived(start), 0.0);
        let mut last = 0.0;
        for tick in 1..=40 {
            last = rate.arrived(start + Duration::from_millis(100 * tick));
        }
        assert!((last - 10.0).abs() < 0.6, "{last}");
    }
}

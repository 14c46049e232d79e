//! Forcing keyframes: the upstream event encoders obey, and the rate limit on it, at most one
//! per lane per [`MIN_FORCED_GAP`] (docs/protocol.md), so a flood of keyframe queries costs a
//! few keyframes, never an encoder busy with nothing but them. Requests inside the gap are
//! coalesced, not refused.

use gstreamer as gst;
use std::time::Duration;
use tokio::time::Instant;

/// At most one forced keyframe per lane this often.
pub const MIN_FORCED_GAP: Duration = Duration::from_millis(250);

/// A GstForceKeyUnit upstream event for the next frame, with SPS/PPS: the structure
/// gstreamer-video's `gst_video_event_new_upstream_force_key_unit` builds (same name and
/// fields since GStreamer 1.0), which x264enc, openh264enc, nvv4l2h264enc (all
/// GstVideoEncoder) and h264parse act on. Built here to spare a dependency for one event.
pub fn force_key_unit() -> gst::Event {
    let request = gst::Structure::builder("GstForceKeyUnit")
        .field("running-time", u64::MAX) // GST_CLOCK_TIME_NONE: as soon as possible
        .field("all-headers", true)
        .field("count", 0u32)
        .build();
    gst::event::CustomUpstream::new(request)
}

/// At most one forced keyframe per [`MIN_FORCED_GAP`]; a request inside the gap is kept (one,
/// however many came) and forced when the gap ends, unless a keyframe came meanwhile.
#[derive(Debug, Default)]
pub struct KeyLimiter {
    last_forced: Option<Instant>,
    pending: bool,
}

impl KeyLimiter {
    /// A keyframe is wanted at `now`: true when it is to be forced now.
    pub fn request(&mut self, now: Instant) -> bool {
        match self.last_forced {
            Some(last) if now < last + MIN_FORCED_GAP => {
                self.pending = true;
                false
            }
            _ => {
                self.last_forced = Some(now);
                self.pending = false;
                true
            }
        }
    }

    /// When the pending request is to be forced, if one is.
    pub fn due(&self) -> Option<Instant> {
        self.last_forced
            .filter(|_| self.pending)
            .map(|last| last + MIN_FORCED_GAP)
    }

    /// A keyframe went out: a pending request has what it asked for.
    pub fn satisfied(&mut self) {
        self.pending = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_keyframes_are_coalesced_to_one_per_gap() {
        let start = Instant::now();
        let mut limiter = KeyLimiter::default();
        assert!(limiter.request(start));
        assert_eq!(limiter.due(), None);
        // A flood inside the gap forces nothing now and one keyframe at its end.
        let forced_now = (1..1000)
            .filter(|i| limiter.request(start + Duration::from_micros(i * 200)))
            .count();
        assert_eq!(forced_now, 0);
        assert_eq!(limiter.due(), Some(start + MIN_FORCED_GAP));
        assert!(limiter.request(start + MIN_FORCED_GAP));
        assert_eq!(limiter.due(), None);
        // A keyframe that came by itself answers a pending request.
        assert!(!limiter.request(start + MIN_FORCED_GAP + Duration::from_millis(1)));
        limiter.satisfied();
        assert_eq!(limiter.due(), None);
    }
}

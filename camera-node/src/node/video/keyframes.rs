//! The rate limit on forced keyframes: at most one per lane per [`MIN_FORCED_GAP`]
//! (docs/protocol.md), so a flood of keyframe queries costs a few keyframes, never an
//! encoder busy with nothing but them. Requests inside the gap are coalesced, not refused.

use std::time::Duration;
use tokio::time::Instant;

/// At most one forced keyframe per lane this often.
pub const MIN_FORCED_GAP: Duration = Duration::from_millis(250);

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

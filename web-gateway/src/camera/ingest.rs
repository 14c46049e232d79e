//! From a zenoh sample to a frame the camera serves: the one [`accept`] step every sample
//! passes, the measured frame rate, and rate-limited warnings about rejected samples.
//!
//! Everything that decides whether a sample may be shown belongs in [`accept`], so that no
//! path (stream, snapshot, WebSocket, variant) can serve a sample that skipped a check.

use camera_node::frame::DecodeError;
use camera_node::subscriber::Received;
use camera_node::Frame;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most one warning per camera per this interval about rejected samples.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Why a sample on a camera's frame key is not served.
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    /// Not a complete JPEG with a valid metadata attachment.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
}

/// Checks one received sample; `Ok` frames go to viewers, `Err` ones are counted and dropped.
pub fn accept(received: Received) -> Result<Frame, Reject> {
    Ok(received.frame?)
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

/// Counts rejected samples and says when to warn about them (so a misbehaving publisher
/// cannot flood the log).
#[derive(Debug)]
pub struct Throttle {
    last_warning: Option<Instant>,
    suppressed: u64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

impl Throttle {
    pub fn new() -> Self {
        Self {
            last_warning: None,
            suppressed: 0,
        }
    }

    /// Records one rejection; returns how many to report if a warning is due now.
    pub fn rejected(&mut self, now: Instant) -> Option<u64> {
        self.suppressed += 1;
        let due = self
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= WARN_EVERY);
        if !due {
            return None;
        }
        self.last_warning = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn throttle_warns_once_per_interval_with_the_count() {
        let mut throttle = Throttle::new();
        let start = Instant::now();
        assert_eq!(throttle.rejected(start), Some(1));
        assert_eq!(throttle.rejected(start + Duration::from_secs(1)), None);
        assert_eq!(throttle.rejected(start + Duration::from_secs(2)), None);
        assert_eq!(throttle.rejected(start + WARN_EVERY), Some(3));
    }
}

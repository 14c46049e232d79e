//! From a zenoh sample to a frame the camera serves: the one [`accept`] step every sample
//! passes, and the measured frame rate.
//!
//! Everything that decides whether a sample may be shown belongs in [`accept`], so that no
//! path (stream, snapshot, WebSocket, variant) can serve a sample that skipped a check.

use camera_node::frame::DecodeError;
use camera_node::subscriber::Received;
use camera_node::Frame;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Checks one received sample; `Ok` frames go to viewers, `Err` ones are counted by
/// [`DecodeError::reason`] and dropped. The checks themselves (`camera_node::FrameLimits`:
/// payload size before the copy, dimension caps, SOF header equal to the attachment) ran when
/// the subscriber decoded the sample, so nothing here sees an unchecked size.
pub fn accept(received: Received) -> Result<Frame, DecodeError> {
    received.frame
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

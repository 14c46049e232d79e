//! `LogThrottle`: at most one warning per key (camera, reason) per interval.
//!
//! Everything on the frame path can repeat at the frame rate, and its input comes off the
//! network: an unthrottled `warn!` there lets one bad publisher fill the disk.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How often the same warning may be repeated.
pub const WARN_EVERY: Duration = Duration::from_secs(10);
/// Keys remembered before stale ones are dropped; keeps the map bounded when ids churn.
const MAX_KEYS: usize = 1024;

#[derive(Debug)]
pub struct LogThrottle<K> {
    every: Duration,
    seen: HashMap<K, (Instant, u64)>,
}

impl<K: Hash + Eq> Default for LogThrottle<K> {
    fn default() -> Self {
        Self::new(WARN_EVERY)
    }
}

impl<K: Hash + Eq> LogThrottle<K> {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            seen: HashMap::new(),
        }
    }

    /// Records one occurrence of `key`; `Some(n)` when it may be logged now, `n` counting this
    /// one and those suppressed since the last log.
    pub fn hit(&mut self, key: K) -> Option<u64> {
        let now = Instant::now();
        if self.seen.len() >= MAX_KEYS && !self.seen.contains_key(&key) {
            let every = self.every;
            self.seen
                .retain(|_, (last, _)| now.duration_since(*last) < every);
            if self.seen.len() >= MAX_KEYS {
                // Still full of fresh keys: stay silent rather than grow.
                return None;
            }
        }
        match self.seen.get_mut(&key) {
            Some((last, count)) => {
                *count += 1;
                if now.duration_since(*last) < self.every {
                    return None;
                }
                let total = *count;
                *last = now;
                *count = 0;
                Some(total)
            }
            None => {
                self.seen.insert(key, (now, 0));
                Some(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_once_per_interval_and_counts_the_rest() {
        let mut throttle = LogThrottle::new(Duration::from_millis(50));
        assert_eq!(throttle.hit(("cam", "not_jpeg")), Some(1));
        for _ in 0..99 {
            assert_eq!(throttle.hit(("cam", "not_jpeg")), None);
        }
        assert_eq!(throttle.hit(("cam", "too_large")), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(throttle.hit(("cam", "not_jpeg")), Some(100));
    }

    #[test]
    fn stays_bounded_when_keys_churn() {
        let mut throttle = LogThrottle::new(Duration::from_secs(60));
        for key in 0..5 * MAX_KEYS {
            throttle.hit(key);
        }
        assert!(throttle.seen.len() <= MAX_KEYS);
    }
}

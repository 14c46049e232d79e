//! `LogThrottle`: at most one warning per key (camera, reason, peer) per interval.
//!
//! Everything on the frame path can repeat at the frame rate, and its input comes off the
//! network: an unthrottled `warn!` there lets one bad publisher fill the disk. The same goes
//! for failed logins and Host/Origin refusals (`auth/failures.rs`, keyed by peer address).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How often the same warning may be repeated.
pub const WARN_EVERY: Duration = Duration::from_secs(10);
/// Keys remembered before stale ones are dropped; keeps the map bounded when ids churn.
pub const MAX_KEYS: usize = 1024;

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
        if !self.has_room_for(&key) {
            // Still full of fresh keys: stay silent rather than grow.
            return None;
        }
        self.record(key)
    }

    /// [`hit`](Self::hit), but an occurrence the full table has no room for is counted under
    /// `overflow` instead of vanishing (that key is always admitted, so the table holds at
    /// most one more): a flood from more sources than the table holds still shows, as one
    /// line for all of them. `Some((key it was counted under, n))` when it may be logged now.
    pub fn hit_or(&mut self, key: K, overflow: K) -> Option<(K, u64)>
    where
        K: Clone,
    {
        let key = if self.has_room_for(&key) {
            key
        } else {
            overflow
        };
        let count = self.record(key.clone())?;
        Some((key, count))
    }

    /// Keys tracked now (at most [`MAX_KEYS`], plus the overflow key of [`Self::hit_or`]).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Whether `key` is or can be tracked, after dropping stale keys if the table is full.
    fn has_room_for(&mut self, key: &K) -> bool {
        if self.seen.len() < MAX_KEYS || self.seen.contains_key(key) {
            return true;
        }
        let (now, every) = (Instant::now(), self.every);
        self.seen
            .retain(|_, (last, _)| now.duration_since(*last) < every);
        self.seen.len() < MAX_KEYS
    }

    fn record(&mut self, key: K) -> Option<u64> {
        let now = Instant::now();
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

    #[test]
    fn a_full_table_counts_newcomers_under_the_overflow_key() {
        let mut throttle = LogThrottle::new(Duration::from_secs(60));
        for key in 0..MAX_KEYS {
            assert_eq!(throttle.hit_or(Some(key), None), Some((Some(key), 1)));
        }
        // Known keys keep their own line; newcomers share one, logged once and then counted.
        assert_eq!(throttle.hit_or(Some(0), None), None);
        assert_eq!(throttle.hit_or(Some(MAX_KEYS), None), Some((None, 1)));
        for key in MAX_KEYS + 1..3 * MAX_KEYS {
            assert_eq!(throttle.hit_or(Some(key), None), None);
        }
        assert_eq!(throttle.seen.len(), MAX_KEYS + 1);
        assert_eq!(
            throttle.seen.get(&None).map(|(_, count)| *count),
            Some(2 * MAX_KEYS as u64 - 1)
        );
    }
}

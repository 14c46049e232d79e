//! `LogThrottle`: at most one warning per key (camera, reason, peer) per interval.
//!
//! Everything on the frame path can repeat at the frame rate, and its input comes off the
//! network: an unthrottled `warn!` there lets one bad publisher fill the disk. The same goes
//! for failed logins and Host/Origin refusals (`auth/failures.rs`, keyed by peer address), and
//! for cameras appearing and disappearing ([`SharedThrottle`]: every camera task and discovery
//! share one small table, so churning liveliness tokens write a bounded number of lines).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the same warning may be repeated.
pub const WARN_EVERY: Duration = Duration::from_secs(10);
/// Keys remembered before stale ones are dropped; keeps the map bounded when ids churn.
pub const MAX_KEYS: usize = 1024;

#[derive(Debug)]
pub struct LogThrottle<K> {
    every: Duration,
    max_keys: usize,
    seen: HashMap<K, (Instant, u64)>,
}

impl<K: Hash + Eq> Default for LogThrottle<K> {
    fn default() -> Self {
        Self::new(WARN_EVERY)
    }
}

impl<K: Hash + Eq> LogThrottle<K> {
    pub fn new(every: Duration) -> Self {
        Self::with_max_keys(every, MAX_KEYS)
    }

    /// A throttle tracking at most `max_keys` keys (see [`Self::hit_or`] for the rest).
    pub fn with_max_keys(every: Duration, max_keys: usize) -> Self {
        Self {
            every,
            max_keys,
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

    /// Keys tracked now (at most its `max_keys`, plus the overflow key of [`Self::hit_or`]).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Whether `key` is or can be tracked, after dropping stale keys if the table is full.
    fn has_room_for(&mut self, key: &K) -> bool {
        if self.seen.len() < self.max_keys || self.seen.contains_key(key) {
            return true;
        }
        let (now, every) = (Instant::now(), self.every);
        self.seen
            .retain(|_, (last, _)| now.duration_since(*last) < every);
        self.seen.len() < self.max_keys
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

/// Sources (camera ids) with a line of their own per reason and interval in a
/// [`SharedThrottle`]; beyond them, one line per reason stands for all the others.
pub const SHARED_SOURCES: usize = 32;

/// One [`LogThrottle`] for lines an outside party can trigger in bulk from many tasks (a camera
/// appearing, going offline, being forgotten): per source and reason once per [`WARN_EVERY`],
/// at most [`SHARED_SOURCES`] keys, the rest counted together. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SharedThrottle(Arc<Mutex<LogThrottle<SourceReason>>>);

/// A [`SharedThrottle`] key: the source (`None`: the shared line of the rest) and the reason.
type SourceReason = (Option<String>, &'static str);

impl Default for SharedThrottle {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LogThrottle::with_max_keys(
            WARN_EVERY,
            SHARED_SOURCES,
        ))))
    }
}

/// A line that may be written now: how many occurrences it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    pub count: u64,
    /// Counted together with sources the table had no room for.
    pub shared: bool,
}

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.shared {
            write!(
                f,
                "{} (this and other cameras, since the last such line)",
                self.count
            )
        } else {
            write!(f, "{}", self.count)
        }
    }
}

impl SharedThrottle {
    /// Records `reason` happening to `source`; `Some` when a line may be written now.
    pub fn hit(&self, source: &str, reason: &'static str) -> Option<Logged> {
        let mut throttle = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (key, count) = throttle.hit_or((Some(source.to_owned()), reason), (None, reason))?;
        Some(Logged {
            count,
            shared: key.0.is_none(),
        })
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

    #[test]
    fn a_shared_throttle_writes_a_bounded_number_of_lines_whatever_the_sources() {
        let log = SharedThrottle::default();
        let mut lines = 0;
        for _round in 0..43 {
            for camera in 0..200 {
                for reason in ["online", "offline"] {
                    lines += usize::from(log.hit(&format!("junk-{camera}"), reason).is_some());
                }
            }
        }
        // Within one interval: one line per tracked key, plus one shared line per reason.
        assert_eq!(lines, SHARED_SOURCES + 2);
        assert_eq!(log.hit("junk-0", "online"), None);
        let shared = log.hit("newcomer", "online");
        assert_eq!(shared, None, "the shared line was written already");
    }
}

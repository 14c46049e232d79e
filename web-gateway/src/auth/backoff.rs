//! Failed logins remembered per key (a client address, a user name), so that guessing slows
//! down: a few failures are free, each further one blocks the key for twice as long as the
//! last (1 s, 2 s, 4 s … [`MAX_BACKOFF`]), and a key without a failure for [`FORGET_AFTER`]
//! starts afresh. Blocked requests are answered 429 without a password check (`logins.rs`).
//!
//! Pure bookkeeping over `Instant`s given by the caller, in a table of at most [`MAX_KEYS`].

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Longest block after a failure.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A key whose last failure is this old (and that is no longer blocked) is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Keys remembered; past it the key that failed least recently makes room.
pub const MAX_KEYS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    blocked_until: Instant,
}

impl Record {
    fn stale(&self, now: Instant) -> bool {
        self.blocked_until <= now && now.duration_since(self.last) >= FORGET_AFTER
    }
}

/// Failures per key, `free` of them before the first block.
#[derive(Debug)]
pub struct Backoff<K> {
    free: u32,
    records: HashMap<K, Record>,
}

impl<K: Hash + Eq + Clone> Backoff<K> {
    pub fn new(free: u32) -> Self {
        Self {
            free,
            records: HashMap::new(),
        }
    }

    /// How long `key` is still blocked, if it is.
    pub fn blocked(&self, key: &K, now: Instant) -> Option<Duration> {
        let record = self.records.get(key)?;
        (record.blocked_until > now).then(|| record.blocked_until - now)
    }

    /// Whether `key` has no failure on record (within [`FORGET_AFTER`]).
    pub fn is_clean(&self, key: &K, now: Instant) -> bool {
        self.records.get(key).is_none_or(|record| record.stale(now))
    }

    /// Records a failure of `key`; past the free ones it blocks the key.
    pub fn failed(&mut self, key: K, now: Instant) {
        if !self.records.contains_key(&key) {
            self.make_room(now);
        }
        let record = self.records.entry(key).or_insert(Record {
            failures: 0,
            last: now,
            blocked_until: now,
        });
        if record.stale(now) {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        if let Some(over) = record.failures.checked_sub(self.free + 1) {
            // 2^over seconds: shifting past 9 already exceeds MAX_BACKOFF.
            let block = Duration::from_secs(1 << over.min(9)).min(MAX_BACKOFF);
            record.blocked_until = record.blocked_until.max(now + block);
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Drops stale keys; if the table is still full, the one that failed least recently.
    fn make_room(&mut self, now: Instant) {
        if self.records.len() < MAX_KEYS {
            return;
        }
        self.records.retain(|_, record| !record.stale(now));
        if self.records.len() >= MAX_KEYS {
            let oldest = self
                .records
                .iter()
                .min_by_key(|(_, record)| record.last)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.records.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_blocks_then_forgotten() {
        let mut backoff = Backoff::new(5);
        let start = Instant::now();
        assert!(backoff.is_clean(&"a", start));
        for _ in 0..5 {
            backoff.failed("a", start);
            assert_eq!(backoff.blocked(&"a", start), None);
        }
        assert!(!backoff.is_clean(&"a", start));
        backoff.failed("a", start);
        assert_eq!(backoff.blocked(&"a", start), Some(Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        assert_eq!(backoff.blocked(&"a", later), None);
        backoff.failed("a", later);
        assert_eq!(backoff.blocked(&"a", later), Some(Duration::from_secs(2)));
        for _ in 0..40 {
            backoff.failed("a", later);
        }
        assert_eq!(backoff.blocked(&"a", later), Some(MAX_BACKOFF));
        // Another key is untouched.
        assert!(backoff.is_clean(&"b", later));
        let forgotten = later + MAX_BACKOFF + FORGET_AFTER;
        assert!(backoff.is_clean(&"a", forgotten));
        backoff.failed("a", forgotten);
        assert_eq!(backoff.blocked(&"a", forgotten), None, "counts from zero");
    }

    #[test]
    fn the_table_stays_bounded_and_evicts_the_least_recent() {
        let mut backoff = Backoff::new(0);
        let start = Instant::now();
        for key in 0..MAX_KEYS + 100 {
            backoff.failed(key, start + Duration::from_millis(key as u64));
        }
        assert_eq!(backoff.len(), MAX_KEYS);
        assert!(backoff.is_clean(&0, start), "the oldest went first");
        assert!(!backoff.is_clean(&(MAX_KEYS + 99), start));
    }
}

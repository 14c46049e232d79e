//! HTTP Basic passwords checked against the htpasswd file's bcrypt hashes.
//!
//! bcrypt is slow on purpose (~50–300 ms per check at cost 10–12 here), and a browser
//! sends the same credentials with the page, each `<img>` stream and the API polls. So a
//! successful check is remembered for [`CACHE_TTL`], keyed by a salted digest of the
//! credentials (the password itself is not kept), in a table of at most [`CACHE_MAX`].
//! Checks run on the blocking pool, at most [`CONCURRENT_CHECKS`] at a time, so a flood of
//! wrong passwords costs one core at most and never stalls the streams on the async workers.

use super::digest;
use super::htpasswd::Entry;
use crate::error::ApiError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a verified user:password pair is accepted without bcrypt.
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// Most remembered pairs (a new one evicts the oldest).
pub const CACHE_MAX: usize = 256;
/// bcrypt checks running at once.
pub const CONCURRENT_CHECKS: usize = 1;
/// Longest wait for a check slot before 503.
const CHECK_WAIT: Duration = Duration::from_secs(10);

/// The users of the htpasswd file and the cache of recent successes.
#[derive(Debug)]
pub struct Passwords {
    users: HashMap<String, String>,
    /// A real hash of the file, checked for unknown users so that they take as long as
    /// known ones (the timing does not tell which users exist).
    decoy: String,
    /// Per-process salt of the cache keys.
    salt: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Verified>>,
    checks: Arc<Semaphore>,
}

#[derive(Debug)]
struct Verified {
    user: String,
    until: Instant,
}

impl Passwords {
    /// `entries` is non-empty (the loader refuses an empty file).
    pub fn new(entries: Vec<Entry>) -> Self {
        let decoy = entries
            .first()
            .map(|entry| entry.hash.clone())
            .unwrap_or_default();
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).expect("the OS random source works");
        Self {
            users: entries
                .into_iter()
                .map(|entry| (entry.user, entry.hash))
                .collect(),
            decoy,
            salt,
            verified: Mutex::new(HashMap::new()),
            checks: Arc::new(Semaphore::new(CONCURRENT_CHECKS)),
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` with `password` is in the file: from the cache, else by bcrypt.
    pub async fn check(&self, user: &str, password: &str) -> Result<bool, ApiError> {
        let key = digest(&[&self.salt, user.as_bytes(), b":", password.as_bytes()]);
        if self.cached(&key, user) {
            return Ok(true);
        }
        let (hash, known) = match self.users.get(user) {
            Some(hash) => (hash.clone(), true),
            None => (self.decoy.clone(), false),
        };
        let permit = tokio::time::timeout(CHECK_WAIT, self.checks.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::LoginsBusy)?
            .map_err(|_| ApiError::LoginsBusy)?;
        let password = password.to_owned();
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            bcrypt::verify(password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = matched && known;
        if ok {
            self.remember(key, user);
        }
        Ok(ok)
    }

    fn cached(&self, key: &[u8; 32], user: &str) -> bool {
        let now = Instant::now();
        let table = self.lock();
        table
            .get(key)
            .is_some_and(|verified| verified.until > now && verified.user == user)
    }

    fn remember(&self, key: [u8; 32], user: &str) {
        let now = Instant::now();
        let mut table = self.lock();
        super::make_room(&mut table, CACHE_MAX, |verified| verified.until);
        let verified = Verified {
            user: user.to_owned(),
            until: now + CACHE_TTL,
        };
        table.insert(key, verified);
    }

    /// Takes every check slot until the permit is dropped (tests of the 503).
    #[cfg(test)]
    pub(super) async fn hold_checks(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.checks
            .clone()
            .acquire_many_owned(CONCURRENT_CHECKS as u32)
            .await
            .expect("never closed")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Verified>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::htpasswd::{parse, tests::REFERENCE_LINE};
    use std::path::Path;

    #[tokio::test]
    async fn reference_hash_verifies_and_is_cached() {
        let passwords = Passwords::new(parse(REFERENCE_LINE, Path::new("f")).expect("valid"));
        assert!(passwords.check("gw", "secret").await.expect("checked"));
        assert!(!passwords.check("gw", "Secret").await.expect("checked"));
        assert!(!passwords.check("nobody", "secret").await.expect("checked"));
        assert_eq!(passwords.lock().len(), 1);
        // From the cache now: same answer.
        assert!(passwords.check("gw", "secret").await.expect("checked"));
    }
}

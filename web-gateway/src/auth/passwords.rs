//! HTTP Basic passwords checked against the htpasswd file's bcrypt hashes.
//!
//! bcrypt is slow on purpose (~50–600 ms per check at cost 10–12 here), and a browser
//! sends the same credentials with the page, each `<img>` stream and the API polls. So a
//! successful check is remembered for [`CACHE_TTL`], keyed by a salted digest of the
//! credentials (the password itself is not kept), in a table of at most [`CACHE_MAX`].
//! Checks run on the blocking pool, in the lanes of [`Logins`](super::logins), so they
//! never stall the streams on the async workers.
//!
//! Every check costs at least one bcrypt at the file's highest cost: an unknown user is
//! checked against that entry (the decoy), and a user whose own hash is cheaper against it
//! too, so the answer's timing tells neither which users exist nor which are cheap to guess.

use super::digest;
use super::htpasswd::Entry;
use super::logins::Attempt;
use crate::error::ApiError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a verified user:password pair is accepted without bcrypt.
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// Most remembered pairs (a new one evicts the oldest).
pub const CACHE_MAX: usize = 256;

/// The users of the htpasswd file and the cache of recent successes.
#[derive(Debug)]
pub struct Passwords {
    /// Each user's hash and its cost.
    users: HashMap<String, (Arc<str>, u32)>,
    /// The file's hash of the highest cost, checked for unknown users and beside cheaper
    /// hashes (see the module comment).
    decoy: Arc<str>,
    /// `decoy`'s cost.
    max_cost: u32,
    /// Users whose hash is under [`WEAK_COST`](super::htpasswd::WEAK_COST), with its cost.
    weak: Vec<(String, u32)>,
    /// Per-process salt of the cache keys.
    salt: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

#[derive(Debug)]
struct Verified {
    user: String,
    until: Instant,
}

impl Passwords {
    /// `entries` is non-empty (the loader refuses an empty file).
    pub fn new(entries: Vec<Entry>) -> Self {
        let strongest = entries.iter().max_by_key(|entry| entry.cost());
        let decoy: Arc<str> = strongest.map_or("".into(), |entry| entry.hash.as_str().into());
        let max_cost = strongest.map_or(0, Entry::cost);
        let weak = entries
            .iter()
            .filter(|entry| entry.cost() < super::htpasswd::WEAK_COST)
            .map(|entry| (entry.user.clone(), entry.cost()))
            .collect();
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).expect("the OS random source works");
        Self {
            users: entries
                .into_iter()
                .map(|entry| {
                    let cost = entry.cost();
                    (entry.user, (entry.hash.into(), cost))
                })
                .collect(),
            decoy,
            max_cost,
            weak,
            salt,
            verified: Mutex::new(HashMap::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Users whose bcrypt cost is under `WEAK_COST`, with the cost (warned about at start).
    pub fn weak(&self) -> &[(String, u32)] {
        &self.weak
    }

    /// The hashes a check of `user` runs, the user's own first (`None` for an unknown user):
    /// always one of the file's highest cost.
    fn plan(&self, user: &str) -> (Option<Arc<str>>, Vec<Arc<str>>) {
        match self.users.get(user) {
            Some((hash, cost)) if *cost >= self.max_cost => (Some(hash.clone()), vec![]),
            Some((hash, _)) => (Some(hash.clone()), vec![self.decoy.clone()]),
            None => (None, vec![self.decoy.clone()]),
        }
    }

    /// Whether `user` with `password` is in the file: from the cache, else by bcrypt in
    /// `attempt`'s lane (which counts a wrong one against it).
    pub async fn check(
        &self,
        attempt: Attempt,
        user: &str,
        password: &str,
    ) -> Result<bool, ApiError> {
        let key = digest(&[&self.salt, user.as_bytes(), b":", password.as_bytes()]);
        if self.cached(&key, user) {
            return Ok(true);
        }
        let (own, decoys) = self.plan(user);
        let password = password.to_owned();
        let ok = attempt
            .run(move || {
                let matched = own
                    .as_deref()
                    .is_some_and(|hash| bcrypt::verify(&password, hash).unwrap_or(false));
                for decoy in &decoys {
                    let _ = bcrypt::verify(&password, decoy);
                }
                matched
            })
            .await?;
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
    use crate::auth::logins::Logins;
    use std::path::Path;

    /// A cost-12 entry (Python bcrypt, password "other"): the file's highest cost.
    const STRONG_LINE: &str = "ops:$2y$12$FEZBHlodsmv/YlD8SRNteOZNukove8AU5MRfy65XS7M7CFJia1MrO";

    #[tokio::test]
    async fn reference_hash_verifies_and_is_cached() {
        let passwords = Passwords::new(parse(REFERENCE_LINE, Path::new("f")).expect("valid"));
        let logins = Arc::new(Logins::default());
        let source = Some(std::net::IpAddr::from([192, 0, 2, 1]));
        let check = |user: &'static str, password: &'static str| {
            let attempt = logins.begin(source, user).expect("admitted");
            passwords.check(attempt, user, password)
        };
        assert!(check("gw", "secret").await.expect("checked"));
        assert!(!check("gw", "Secret").await.expect("checked"));
        assert!(!check("nobody", "secret").await.expect("checked"));
        assert_eq!(passwords.lock().len(), 1);
        // From the cache now: same answer.
        assert!(check("gw", "secret").await.expect("checked"));
    }

    #[test]
    fn every_check_runs_a_hash_of_the_highest_cost() {
        let text = format!("{REFERENCE_LINE}\n{STRONG_LINE}\n");
        let passwords = Passwords::new(parse(&text, Path::new("f")).expect("valid"));
        let costs = |user: &str| {
            let (own, decoys) = passwords.plan(user);
            let cost = |hash: &Arc<str>| hash.get(4..6).expect("cost").parse::<u32>().expect("n");
            (
                own.as_ref().map(cost),
                decoys.iter().map(cost).collect::<Vec<_>>(),
            )
        };
        // Unknown: the decoy only, at 12. Cheap user: their 5, then the 12. Strong: 12 alone.
        assert_eq!(costs("nobody"), (None, vec![12]));
        assert_eq!(costs("gw"), (Some(5), vec![12]));
        assert_eq!(costs("ops"), (Some(12), vec![]));
        assert_eq!(passwords.weak(), [("gw".to_owned(), 5)]);
    }
}

//! How much password checking a client can make the gateway do, so that a flood of guesses
//! from some addresses cannot delay another address's login (docs/security.md, "Limits per
//! address"):
//!
//! - failed logins are remembered per client address ([`FREE_PER_ADDRESS`] free, then a
//!   doubling back-off) and per user name ([`FREE_PER_USER`], applied only to addresses that
//!   have failed before, so a flood on `admin` cannot lock `admin` out of a fresh address);
//!   a blocked request gets 429 with `Retry-After` and no bcrypt;
//! - one password check in flight per address (a second gets 429, `Retry-After: 1`);
//! - bcrypt runs in two lanes of one check each: addresses with no failure on record use the
//!   `clean` lane (the blocking pool), the others the `failing` one, a thread of its own at the
//!   lowest CPU priority (nice 19), so guessers queue only behind each other and their checks
//!   take no CPU from anyone else's;
//! - a 429 is held back [`MAX_HOLD`]/2 to [`MAX_HOLD`] (at random, so that many loops do not
//!   all wake at once) before it is sent, at most [`MAX_HELD`] at once: a guessing loop sleeps
//!   instead of spinning, so its client and the gateway stay idle and the CPU stays free for
//!   the logins that are checked. (150 `curl` loops answered at once spawn hundreds of
//!   processes a second and starve everything else on a small machine.)

use super::backoff::Backoff;
use super::lanes::{Counted, Lane, Runner};
use crate::error::ApiError;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins an address may make before its first block.
pub const FREE_PER_ADDRESS: u32 = 5;
/// Failed logins on one user name (from every address) before addresses that have failed
/// too are blocked for it.
pub const FREE_PER_USER: u32 = 20;
/// Longest a 429 is held back (at least half of it); below common client timeouts.
pub const MAX_HOLD: Duration = Duration::from_secs(10);
/// 429s held back at once; further ones are sent at once.
pub const MAX_HELD: usize = 1024;

/// Whom the limits count: the client address, IPv6 by its /64 (one host's usual share), or
/// `None` for requests with no known peer.
pub type Source = Option<IpAddr>;

/// The source `peer` (the client address, after `--trusted-proxy`) is counted under.
pub fn source_of(peer: Option<IpAddr>) -> Source {
    peer.map(|address| match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    })
}

/// Why a login was answered 429 instead of being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The address failed too often; blocked for this long.
    Address(Duration),
    /// The user name failed too often and this address failed before.
    User(Duration),
    /// The address already has a check running.
    InFlight,
}

impl Throttle {
    fn wait(self) -> Duration {
        match self {
            Self::Address(wait) | Self::User(wait) => wait,
            Self::InFlight => Duration::from_secs(1),
        }
    }

    fn less(self, held: Duration) -> Self {
        match self {
            Self::Address(wait) => Self::Address(wait.saturating_sub(held)),
            Self::User(wait) => Self::User(wait.saturating_sub(held)),
            Self::InFlight => Self::InFlight,
        }
    }

    /// The 429 answer, `Retry-After` in whole seconds (at least 1).
    pub fn error(self) -> ApiError {
        let reason = match self {
            Self::Address(_) => "too many failed logins from this address",
            Self::User(_) => "too many failed logins for this user",
            Self::InFlight => "a password check from this address is already running",
        };
        let wait = self.wait();
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::LoginThrottled {
            reason,
            retry_after_secs: secs.max(1),
        }
    }
}

#[derive(Debug)]
struct Tables {
    addresses: Backoff<Source>,
    /// Keyed by a digest of the name: a client-chosen string of any length.
    users: Backoff<[u8; 32]>,
    /// Addresses with a check waiting or running.
    in_flight: HashSet<Source>,
}

/// The limits, shared by every request of one [`Access`](super::Access).
#[derive(Debug)]
pub struct Logins {
    tables: Mutex<Tables>,
    clean: Lane,
    failing: Lane,
    /// 429s being held back now.
    held: AtomicUsize,
}

impl Default for Logins {
    fn default() -> Self {
        Self {
            tables: Mutex::new(Tables {
                addresses: Backoff::new(FREE_PER_ADDRESS),
                users: Backoff::new(FREE_PER_USER),
                in_flight: HashSet::new(),
            }),
            clean: Lane::new(Runner::Pool),
            failing: Lane::new(Runner::background()),
            held: AtomicUsize::new(0),
        }
    }
}

impl Logins {
    /// Admits a password check of `user` from `source`, or says why not.
    pub fn begin(self: &Arc<Self>, source: Source, user: &str) -> Result<Attempt, Throttle> {
        let now = Instant::now();
        let user = super::digest(&[user.as_bytes()]);
        let mut tables = self.lock();
        if let Some(wait) = tables.addresses.blocked(&source, now) {
            return Err(Throttle::Address(wait));
        }
        if tables.in_flight.contains(&source) {
            return Err(Throttle::InFlight);
        }
        let clean = tables.addresses.is_clean(&source, now);
        if let Some(wait) = tables.users.blocked(&user, now).filter(|_| !clean) {
            return Err(Throttle::User(wait));
        }
        tables.in_flight.insert(source);
        Ok(Attempt {
            logins: self.clone(),
            source,
            user,
            clean,
        })
    }

    /// A wrong bearer token from `source`: `Err` when the address is blocked (the answer is
    /// 429 then), else counted against it.
    pub fn token_failed(&self, source: Source) -> Result<(), Throttle> {
        let now = Instant::now();
        let mut tables = self.lock();
        if let Some(wait) = tables.addresses.blocked(&source, now) {
            return Err(Throttle::Address(wait));
        }
        tables.addresses.failed(source, now);
        Ok(())
    }

    /// Waits before a 429 (see the module comment); the throttle with what is left of it.
    pub async fn hold(&self, throttle: Throttle) -> Throttle {
        if self.held.fetch_add(1, Ordering::AcqRel) >= MAX_HELD {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return throttle;
        }
        // Also past the end of a short block: how often a loop comes back is what costs.
        let jitter = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
        let hold = MAX_HOLD.mul_f64(0.5 + 0.5 * jitter);
        {
            let _held = Counted(&self.held);
            tokio::time::sleep(hold).await;
        }
        throttle.less(hold)
    }

    /// Addresses and user names on record (tests of the bounds).
    #[cfg(test)]
    pub(super) fn tracked(&self) -> (usize, usize, usize) {
        let tables = self.lock();
        let Tables {
            addresses,
            users,
            in_flight,
        } = &*tables;
        (addresses.len(), users.len(), in_flight.len())
    }

    /// Takes every lane until the permits are dropped (tests of the 503).
    #[cfg(test)]
    pub(super) async fn hold_lanes(&self) -> [tokio::sync::OwnedSemaphorePermit; 2] {
        [
            self.clean.acquire().await.expect("free"),
            self.failing.acquire().await.expect("free"),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One admitted password check; its address counts as in flight until it is dropped (after
/// the bcrypt run, or when the client leaves while it waits for a lane).
#[derive(Debug)]
pub struct Attempt {
    logins: Arc<Logins>,
    source: Source,
    user: [u8; 32],
    clean: bool,
}

impl Attempt {
    /// Runs `check` (true: the password matched) in this attempt's lane once it has a slot.
    /// A mismatch is counted against the address and the user name by the job itself, so a
    /// client that hangs up during the check is counted all the same.
    pub async fn run(
        self,
        check: impl FnOnce() -> bool + Send + 'static,
    ) -> Result<bool, ApiError> {
        let logins = self.logins.clone();
        let lane = match self.clean {
            true => &logins.clean,
            false => &logins.failing,
        };
        let permit = lane.acquire().await?;
        let (sender, result) = tokio::sync::oneshot::channel();
        lane.run(Box::new(move || {
            let matched = check();
            if !matched {
                self.failed();
            }
            // Free the address and the lane before answering: the client's next try finds
            // them free.
            drop(self);
            drop(permit);
            let _ = sender.send(matched);
        }));
        Ok(result.await.unwrap_or(false))
    }

    /// The password was wrong: counted against the address and the user name.
    fn failed(&self) {
        let now = Instant::now();
        let mut tables = self.logins.lock();
        tables.addresses.failed(self.source, now);
        tables.users.failed(self.user, now);
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.logins.lock().in_flight.remove(&self.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Source {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn an_address_that_keeps_failing_is_blocked_but_not_its_neighbours() {
        let logins = Arc::new(Logins::default());
        for _ in 0..=FREE_PER_ADDRESS {
            let attempt = logins.begin(address(1), "admin").expect("admitted");
            assert_eq!(
                logins.begin(address(1), "other").map(|_| ()),
                Err(Throttle::InFlight),
                "one check at a time per address"
            );
            attempt.failed();
        }
        match logins.begin(address(1), "admin").map(|_| ()) {
            Err(Throttle::Address(wait)) => assert!(wait <= Duration::from_secs(1)),
            other => panic!("expected a block, got {other:?}"),
        }
        let error = Throttle::Address(Duration::from_millis(1500)).error();
        assert_eq!(error.status(), 429);
        assert!(matches!(
            error,
            ApiError::LoginThrottled {
                retry_after_secs: 2,
                ..
            }
        ));
        let fresh = logins.begin(address(2), "admin").expect("another address");
        assert!(fresh.clean);
        drop(fresh);
        assert_eq!(logins.tracked().2, 0, "nothing left in flight");
    }

    #[test]
    fn a_user_under_attack_still_admits_fresh_addresses() {
        let logins = Arc::new(Logins::default());
        // Many addresses, a few failures each: the user's count passes its free ones.
        for last in 0..=(FREE_PER_USER as u8) {
            logins
                .begin(address(last), "admin")
                .expect("admitted")
                .failed();
        }
        assert!(matches!(
            logins.begin(address(0), "admin").map(|_| ()),
            Err(Throttle::User(_))
        ));
        let fresh = logins.begin(address(200), "admin").expect("fresh address");
        assert!(fresh.clean);
        // Other users are not concerned.
        drop(fresh);
        assert!(logins.begin(address(0), "viewer").is_ok());
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("v6");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("v6");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("v6");
        assert_eq!(source_of(Some(a)), source_of(Some(b)));
        assert_ne!(source_of(Some(a)), source_of(Some(c)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("mapped");
        assert_eq!(source_of(Some(mapped)), address(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_is_held_back_at_most_max_hold_and_says_what_is_left() {
        let logins = Logins::default();
        let started = tokio::time::Instant::now();
        let left = logins
            .hold(Throttle::Address(Duration::from_secs(12)))
            .await;
        let held = started.elapsed();
        assert!(held >= MAX_HOLD / 2 && held <= MAX_HOLD, "{held:?}");
        // What is left: 12 s less the hold (to tokio's millisecond).
        let Throttle::Address(left) = left else {
            panic!("{left:?}")
        };
        let expected = Duration::from_secs(12) - held;
        assert!(
            left.abs_diff(expected) <= Duration::from_millis(1),
            "{left:?}"
        );
        let started = tokio::time::Instant::now();
        assert_eq!(logins.hold(Throttle::InFlight).await, Throttle::InFlight);
        let held = started.elapsed();
        assert!(held >= MAX_HOLD / 2 && held <= MAX_HOLD, "{held:?}");
        let short = logins.hold(Throttle::User(Duration::from_secs(1))).await;
        assert_eq!(short.error().status(), 429, "Retry-After 1 s at least");
        // A full hold list sends at once.
        logins.held.store(MAX_HELD, Ordering::Release);
        let started = tokio::time::Instant::now();
        logins.hold(Throttle::User(Duration::from_secs(60))).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}

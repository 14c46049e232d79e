//! Session cookies: a browser that logged in once (Basic) is recognised by a cookie.
//!
//! Why: browsers re-send cached Basic credentials on same-origin page loads, `fetch` and
//! `<img>`, but not reliably on WebSocket handshakes. So the first request that passes Basic
//! or a token gets a random 256-bit cookie (`HttpOnly; SameSite=Strict`), accepted on every
//! later request. `SameSite=Strict` keeps it off cross-site requests, and the Origin guard
//! refuses cross-site WebSockets, so together they stop cross-site WebSocket hijacking.
//!
//! The table is in memory (a restart logs everyone out; browsers then log in again with
//! their cached password, silently), bounded, and keyed by a digest of the cookie so a
//! lookup's timing says nothing about valid cookies. The cookie is derived from the
//! credentials and a per-process secret, so a script sending the same Basic header on
//! every request renews one session instead of filling the table with new ones.

use super::digest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most sessions held; the one idle longest goes first.
pub const MAX_SESSIONS: usize = 1024;
/// A session unused this long ends (each use renews it, so an open page stays logged in).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug)]
struct Session {
    user: String,
    expires: Instant,
}

/// The live sessions and how their cookie is written.
#[derive(Debug)]
pub struct Sessions {
    table: Mutex<HashMap<[u8; 32], Session>>,
    /// Includes the port: cookies are per host, not per port, so two gateways on one machine
    /// would otherwise overwrite each other's.
    cookie_name: String,
    /// `Secure` attribute, under HTTPS.
    secure: bool,
    /// Random per process: cookies cannot be computed from credentials alone.
    secret: [u8; 32],
}

impl Sessions {
    pub fn new(port: u16, secure: bool) -> Self {
        let mut secret = [0u8; 32];
        // No randomness means no safe cookie; the OS source failing is not recoverable.
        getrandom::fill(&mut secret).expect("the OS random source works");
        Self {
            table: Mutex::new(HashMap::new()),
            cookie_name: format!("web_gateway_{port}"),
            secure,
            secret,
        }
    }

    /// The user of the session whose cookie is among `cookie_headers`, renewing it.
    pub fn user<'h>(&self, cookie_headers: impl Iterator<Item = &'h str>) -> Option<String> {
        let value = cookie_headers
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie_name)
            .map(|(_, value)| value)?;
        let key = digest(&[value.as_bytes()]);
        let now = Instant::now();
        let mut table = self.lock();
        let session = table.get_mut(&key)?;
        if session.expires <= now {
            table.remove(&key);
            return None;
        }
        session.expires = now + IDLE_TIMEOUT;
        Some(session.user.clone())
    }

    /// Starts (or renews) the session of `user` who logged in with `credentials` (a digest
    /// of them); returns the `Set-Cookie` value.
    pub fn start(&self, user: &str, credentials: &[u8; 32]) -> String {
        let value = hex(&digest(&[&self.secret, b"session", credentials]));
        let key = digest(&[value.as_bytes()]);
        let now = Instant::now();
        let mut table = self.lock();
        if !table.contains_key(&key) {
            super::make_room(&mut table, MAX_SESSIONS, |session| session.expires);
        }
        let session = Session {
            user: user.to_owned(),
            expires: now + IDLE_TIMEOUT,
        };
        table.insert(key, session);
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; HttpOnly; SameSite=Strict; Path=/{secure}",
            self.cookie_name
        )
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic while holding the lock leaves a consistent map (inserts/removes are whole).
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_value(set_cookie: &str) -> &str {
        set_cookie.split(';').next().expect("pair")
    }

    #[test]
    fn issued_cookie_is_recognised_and_bounded() {
        let sessions = Sessions::new(8080, true);
        let set = sessions.start("alice", &[1; 32]);
        // The same credentials again: the same session, not a new one.
        assert_eq!(sessions.start("alice", &[1; 32]), set);
        assert_eq!(sessions.len(), 1);
        assert!(set.starts_with("web_gateway_8080="), "{set}");
        assert!(
            set.contains("HttpOnly; SameSite=Strict; Path=/; Secure"),
            "{set}"
        );
        let pair = cookie_value(&set);
        assert_eq!(pair.len(), "web_gateway_8080=".len() + 64);
        let header = format!("theme=dark; {pair}");
        assert_eq!(
            sessions.user([header.as_str()].into_iter()),
            Some("alice".into())
        );
        // The last hex digit changed (whatever it was).
        let last = if pair.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &pair[..pair.len() - 1]);
        assert_eq!(sessions.user([forged.as_str()].into_iter()), None);
        let other_port = pair.replace("8080", "8081");
        assert_eq!(sessions.user([other_port.as_str()].into_iter()), None);

        for n in 0..MAX_SESSIONS + 10 {
            sessions.start("bob", &digest(&[&n.to_le_bytes()]));
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        // The first session was the oldest: evicted.
        assert_eq!(sessions.user([header.as_str()].into_iter()), None);
    }
}

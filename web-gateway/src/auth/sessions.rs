//! Session cookies: a browser that logged in once (Basic or a token) is recognised by a cookie.
//!
//! Why: browsers re-send cached Basic credentials on same-origin page loads, `fetch` and
//! `<img>`, but not reliably on WebSocket handshakes. So a request that passes Basic or a
//! token without a valid cookie gets a random 256-bit cookie (`HttpOnly; SameSite=Strict`),
//! accepted on every later request. `SameSite=Strict` keeps it off cross-site requests, and
//! the Origin guard refuses cross-site WebSockets: together they stop cross-site WebSocket
//! hijacking.
//!
//! Sessions belong to the verified identity (a user, a token), never to the header's bytes:
//! each identity holds at most [`MAX_PER_IDENTITY`], a new one replacing its own least
//! recently used, so nobody can fill the table or push out another identity's session. The
//! table is in memory (a restart logs everyone out; browsers then log in again with their
//! cached password, silently) and keyed by a digest of the cookie, so a lookup's timing says
//! nothing about valid cookies.

use super::{digest, Identity};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Live sessions one identity may hold (browsers and devices of one user, or of one token).
pub const MAX_PER_IDENTITY: usize = 8;
/// A session unused this long ends (each use renews it, so an open page stays logged in).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug)]
struct Session {
    identity: Identity,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Table {
    sessions: HashMap<[u8; 32], Session>,
    /// Each identity's session keys: at most [`MAX_PER_IDENTITY`] each, and only identities
    /// that passed a check, so the table is bounded by the users and tokens configured.
    by_identity: HashMap<Identity, Vec<[u8; 32]>>,
}

/// The live sessions and how their cookie is written.
#[derive(Debug)]
pub struct Sessions {
    table: Mutex<Table>,
    /// Includes the port: cookies are per host, not per port, so two gateways on one machine
    /// would otherwise overwrite each other's.
    cookie_name: String,
    /// `Secure` attribute, under HTTPS.
    secure: bool,
}

impl Sessions {
    pub fn new(port: u16, secure: bool) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            cookie_name: format!("web_gateway_{port}"),
            secure,
        }
    }

    /// The identity of the session whose cookie is among `cookie_headers`, renewing it.
    pub fn identity<'h>(&self, cookie_headers: impl Iterator<Item = &'h str>) -> Option<Identity> {
        let value = cookie_headers
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie_name)
            .map(|(_, value)| value)?;
        let key = digest(&[value.as_bytes()]);
        let now = Instant::now();
        let mut table = self.lock();
        let session = table.sessions.get_mut(&key)?;
        if session.expires <= now {
            table.sessions.remove(&key);
            return None;
        }
        session.expires = now + IDLE_TIMEOUT;
        Some(session.identity.clone())
    }

    /// Starts a session of `identity` (replacing its least recently used one when it has
    /// [`MAX_PER_IDENTITY`]); returns the `Set-Cookie` value.
    pub fn start(&self, identity: &Identity) -> String {
        let mut random = [0u8; 32];
        // No randomness means no safe cookie; the OS source failing is not recoverable.
        getrandom::fill(&mut random).expect("the OS random source works");
        let value = hex(&random);
        let key = digest(&[value.as_bytes()]);
        let now = Instant::now();
        let mut table = self.lock();
        let Table {
            sessions,
            by_identity,
        } = &mut *table;
        let keys = by_identity.entry(identity.clone()).or_default();
        keys.retain(|key| match sessions.get(key) {
            Some(session) if session.expires > now => true,
            _ => {
                sessions.remove(key);
                false
            }
        });
        if keys.len() >= MAX_PER_IDENTITY {
            let oldest = keys
                .iter()
                .enumerate()
                .min_by_key(|(_, key)| sessions.get(*key).map(|session| session.expires))
                .map(|(index, _)| index);
            if let Some(index) = oldest {
                sessions.remove(&keys.swap_remove(index));
            }
        }
        keys.push(key);
        let session = Session {
            identity: identity.clone(),
            expires: now + IDLE_TIMEOUT,
        };
        sessions.insert(key, session);
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; HttpOnly; SameSite=Strict; Path=/{secure}",
            self.cookie_name
        )
    }

    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
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

    fn user(name: &str) -> Identity {
        Identity::User(name.to_owned())
    }

    fn lookup(sessions: &Sessions, cookie: &str) -> Option<Identity> {
        sessions.identity([cookie].into_iter())
    }

    #[test]
    fn issued_cookie_is_recognised() {
        let sessions = Sessions::new(8080, true);
        let set = sessions.start(&user("alice"));
        assert!(set.starts_with("web_gateway_8080="), "{set}");
        assert!(
            set.contains("HttpOnly; SameSite=Strict; Path=/; Secure"),
            "{set}"
        );
        let pair = cookie_value(&set);
        assert_eq!(pair.len(), "web_gateway_8080=".len() + 64);
        let header = format!("theme=dark; {pair}");
        assert_eq!(lookup(&sessions, &header), Some(user("alice")));
        // The last hex digit changed (whatever it was).
        let last = if pair.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &pair[..pair.len() - 1]);
        assert_eq!(lookup(&sessions, &forged), None);
        let other_port = pair.replace("8080", "8081");
        assert_eq!(lookup(&sessions, &other_port), None);
        // Each login is a new random session, tokens keep their identity.
        assert_ne!(sessions.start(&user("alice")), set);
        let token = sessions.start(&Identity::Token(3));
        assert_eq!(
            lookup(&sessions, cookie_value(&token)),
            Some(Identity::Token(3))
        );
    }

    #[test]
    fn one_identity_replaces_only_its_own_least_recently_used_session() {
        let sessions = Sessions::new(8080, false);
        let alice = sessions.start(&user("alice"));
        let first_bob = sessions.start(&user("bob"));
        let kept_bob = sessions.start(&user("bob"));
        for _ in 0..1100 {
            // The session bob keeps using is renewed each time.
            assert_eq!(
                lookup(&sessions, cookie_value(&kept_bob)),
                Some(user("bob"))
            );
            sessions.start(&user("bob"));
        }
        assert_eq!(sessions.len(), 1 + MAX_PER_IDENTITY);
        assert_eq!(lookup(&sessions, cookie_value(&alice)), Some(user("alice")));
        assert_eq!(lookup(&sessions, cookie_value(&first_bob)), None);
        assert_eq!(
            lookup(&sessions, cookie_value(&kept_bob)),
            Some(user("bob"))
        );
    }
}

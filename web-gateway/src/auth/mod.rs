//! Who may use the gateway: the Host/Origin [`guard`], then authentication —
//! HTTP Basic against an htpasswd file (people), bearer tokens (machines), and the session
//! cookie a browser gets after either (so its WebSocket works too). docs/security.md.
//!
//! [`Access`] is built once at start and applied to every request by [`enforce`], one axum
//! middleware in the router and on the Foxglove listener. `/healthz` is always open
//! (container health checks; it tells "up", a camera count and which zenoh endpoints are
//! reached); `/metrics` is open with `--metrics-access open`. Refusals are counted and failed
//! logins logged ([`failures`]); what failing clients may cost is bounded per address
//! ([`logins`]).

pub mod backoff;
pub mod client;
pub mod failures;
pub mod guard;
pub mod htpasswd;
pub mod lanes;
pub mod logins;
pub mod passwd;
pub mod passwords;
pub mod sessions;
pub mod tokens;

use crate::config::{Config, MetricsAccess};
use crate::error::ApiError;
use crate::metrics::Metrics;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use client::ClientAddress;
use failures::{Failure, Failures, Refusal};
use guard::Guard;
use logins::{Logins, Source};
use passwords::Passwords;
use sessions::Sessions;
use sha3::Digest;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokens::Tokens;

pub use crate::error::CHALLENGE;
/// Longest `Authorization` value looked at; real ones are far shorter.
const MAX_AUTHORIZATION: usize = 4096;

/// Why the access settings cannot be used (each message names the file, line and fix).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Htpasswd(#[from] htpasswd::HtpasswdError),
    #[error(transparent)]
    Tokens(#[from] tokens::TokenFileError),
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// Authentication is off.
    Anonymous,
    /// A user of the htpasswd file (by password or by their session cookie).
    User(String),
    /// The n-th configured token (0-based; tokens are never logged).
    Token(usize),
}

/// A request that may go on, and the session cookie to set on its response, if any.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub identity: Identity,
    pub set_cookie: Option<String>,
}

/// The checks every request goes through.
#[derive(Debug)]
pub struct Access {
    clients: ClientAddress,
    guard: Guard,
    auth: Option<Authenticator>,
    metrics: MetricsAccess,
    failures: Failures,
}

/// Credentials: passwords, tokens, the sessions they open, the limits on failing clients.
#[derive(Debug)]
struct Authenticator {
    passwords: Option<Passwords>,
    tokens: Tokens,
    sessions: Sessions,
    logins: Arc<Logins>,
}

/// In a request's extensions: admit it without starting a session (no `Set-Cookie`). The
/// Foxglove listener sets it, so that its `?token=` opens that WebSocket and nothing else.
#[derive(Debug, Clone, Copy)]
pub struct NoSession;

impl Access {
    /// Reads the htpasswd and token files named in `config`. `local` is the address actually
    /// listened on (its port names the cookie); `https` adds `Secure` to the cookie; refusals
    /// are counted in `metrics`.
    pub fn load(
        config: &Config,
        local: SocketAddr,
        https: bool,
        metrics: Arc<Metrics>,
    ) -> Result<Self, AccessError> {
        let access = &config.access;
        let auth = if access.auth_enabled() {
            let passwords = match &access.auth_file {
                Some(path) => Some(Passwords::new(htpasswd::load(path)?)),
                None => None,
            };
            Some(Authenticator {
                passwords,
                tokens: Tokens::load(&access.tokens, access.token_file.as_deref())?,
                sessions: Sessions::new(local.port(), https),
                logins: Arc::default(),
            })
        } else {
            None
        };
        Ok(Self {
            clients: ClientAddress::new(&access.trusted_proxies),
            guard: Guard::new(access),
            auth,
            metrics: access.metrics,
            failures: Failures::new(metrics),
        })
    }

    /// Says at start who can reach the cameras: loudly when anyone on the network can.
    pub fn log_start(&self, config: &Config, local: SocketAddr) {
        let names = self.guard.host_names().join(", ");
        tracing::info!(
            "accepted host names: any IP address, {names}; other names get 421 \
             (add a DNS name with --allow-host NAME)"
        );
        if self.clients.trusts_any() {
            tracing::info!(proxies = ?config.access.trusted_proxies,
                "X-Forwarded-For believed from these reverse proxies: failed logins name (and the login limits count) the client they forward");
        }
        match &self.auth {
            Some(auth) => {
                let users = auth.passwords.as_ref().map_or(0, Passwords::len);
                let file = config
                    .access
                    .auth_file
                    .as_deref()
                    .map(|p| p.display().to_string());
                if let (Some(passwords), Some(file)) = (&auth.passwords, &file) {
                    warn_weak(passwords.weak(), file);
                }
                tracing::info!(
                    users,
                    tokens = auth.tokens.len(),
                    "authentication on ({}); /healthz open, /metrics {}",
                    file.unwrap_or_else(|| "tokens only".into()),
                    match self.metrics {
                        MetricsAccess::Auth => "needs credentials",
                        MetricsAccess::Open => "open (--metrics-access open)",
                    }
                );
            }
            None if !local.ip().is_loopback() => tracing::warn!(
                "listening on {local} WITHOUT authentication: anyone who can reach this address \
                 can watch every camera; turn it on with --auth-file FILE (create FILE with \
                 `web-gateway passwd FILE USER`) or --token-file FILE, see docs/security.md"
            ),
            None => tracing::info!("authentication off (loopback only: this machine's users)"),
        }
        let foxglove = config.foxglove.listen;
        if let Some(addr) = foxglove.filter(|addr| self.auth.is_none() && !addr.ip().is_loopback())
        {
            tracing::warn!(
                "Foxglove WebSocket on {addr} WITHOUT authentication: anyone who can reach it \
                 can watch every camera; turn it on with --auth-file FILE or --token-file FILE"
            );
        }
    }

    /// Host and Origin, then credentials (unless the path is open) of a request from `peer`
    /// (a trusted proxy's client, when it names one); `session`: whether a login by
    /// credentials starts a session (see [`NoSession`]).
    pub async fn check(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        session: bool,
    ) -> Result<Admitted, ApiError> {
        let anonymous = Admitted {
            identity: Identity::Anonymous,
            set_cookie: None,
        };
        if uri.path() == "/healthz" {
            return Ok(anonymous);
        }
        let peer = self.clients.of(peer, headers);
        if let Err(denied) = self.guard.check(uri, headers) {
            self.failures.refused(peer, &denied);
            return Err(denied.into());
        }
        match &self.auth {
            Some(_) if uri.path() == "/metrics" && self.metrics == MetricsAccess::Open => {
                Ok(anonymous)
            }
            Some(auth) => auth
                .check(headers, logins::source_of(peer), session)
                .await
                .map_err(|refusal| self.failures.failed(peer, refusal)),
            None => Ok(anonymous),
        }
    }
}

impl Authenticator {
    async fn check(
        &self,
        headers: &HeaderMap,
        source: Source,
        session: bool,
    ) -> Result<Admitted, Refusal> {
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok());
        if let Some(identity) = self.sessions.identity(cookies) {
            return Ok(Admitted {
                identity,
                set_cookie: None,
            });
        }
        let identity = self.credentials(headers, source).await?;
        // The verified identity, not the header: its variants all share one identity's slots.
        let set_cookie = session.then(|| self.sessions.start(&identity));
        Ok(Admitted {
            identity,
            set_cookie,
        })
    }

    /// The `Authorization` header's Basic or Bearer credentials, checked within the limits
    /// of `source` ([`logins`]).
    async fn credentials(&self, headers: &HeaderMap, source: Source) -> Result<Identity, Refusal> {
        let malformed = |detail| Refusal::new(Failure::Malformed, detail);
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or(Refusal::new(Failure::NoCredentials, "no credentials"))?;
        let value = value
            .to_str()
            .ok()
            .filter(|value| value.len() <= MAX_AUTHORIZATION)
            .ok_or(malformed("unreadable Authorization header"))?;
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(index) = self.tokens.find(rest) {
                return Ok(Identity::Token(index));
            }
            return Err(match self.logins.token_failed(source) {
                Ok(()) => Refusal::new(Failure::UnknownToken, "unknown bearer token"),
                Err(throttle) => Refusal::throttled(self.logins.hold(throttle).await, None),
            });
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(malformed(
                "Authorization scheme is neither Basic nor Bearer",
            ));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(malformed(
                "Basic credentials are not base64 of UTF-8 user:password",
            ))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or(malformed("Basic credentials lack the `:` after the user"))?;
        let wrong = |detail| Refusal::new(Failure::WrongPassword, detail).by(user);
        let passwords = self
            .passwords
            .as_ref()
            .ok_or_else(|| wrong("passwords are off (no --auth-file); use a bearer token"))?;
        let attempt = match self.logins.begin(source, user) {
            Ok(attempt) => attempt,
            Err(throttle) => {
                let throttle = self.logins.hold(throttle).await;
                return Err(Refusal::throttled(throttle, Some(user)));
            }
        };
        match passwords.check(attempt, user, password).await {
            Ok(true) => Ok(Identity::User(user.to_owned())),
            Ok(false) => Err(wrong("wrong user or password")),
            Err(error) => Err(Refusal {
                failure: Failure::Busy,
                user: Some(user.to_owned()),
                error,
            }),
        }
    }
}

/// The middleware: refuses with the [`ApiError`] of the first failed check, else runs the
/// request with its [`Identity`] in the extensions and sets a new session cookie.
pub async fn enforce(
    State(access): State<Arc<Access>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        // An IPv4 client of a `[::]` listener arrives as `::ffff:a.b.c.d`; log it as `a.b.c.d`.
        .map(|ConnectInfo(peer)| peer.ip().to_canonical());
    let session = request.extensions().get::<NoSession>().is_none();
    let admitted = match access
        .check(request.uri(), request.headers(), peer, session)
        .await
    {
        Ok(admitted) => admitted,
        Err(error) => return error.into_response(),
    };
    request.extensions_mut().insert(admitted.identity);
    let mut response = next.run(request).await;
    if let Some(cookie) = admitted.set_cookie {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Warns about users of `file` whose bcrypt cost makes guessing cheap (listing a few).
fn warn_weak(weak: &[(String, u32)], file: &str) {
    const LISTED: usize = 8;
    if weak.is_empty() {
        return;
    }
    let names: Vec<String> = weak
        .iter()
        .take(LISTED)
        .map(|(user, cost)| format!("{user:?} (cost {cost})"))
        .collect();
    let more = weak.len().saturating_sub(LISTED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    tracing::warn!(
        "auth file {file}: users with a bcrypt cost under {}, cheap to guess: {}{more}; every \
         login now costs as much as the file's highest-cost entry; set each password again \
         with `web-gateway passwd {file} USER` (cost 12) or `htpasswd -B -C 12 {file} USER`",
        htpasswd::WEAK_COST,
        names.join(", ")
    );
}

/// Drops expired entries of `table`, then, if it still holds `max`, the one expiring first:
/// room for one more in the bounded auth tables.
fn make_room<V>(
    table: &mut std::collections::HashMap<[u8; 32], V>,
    max: usize,
    expires: impl Fn(&V) -> std::time::Instant,
) {
    let now = std::time::Instant::now();
    table.retain(|_, value| expires(value) > now);
    if table.len() >= max {
        let first = table
            .iter()
            .min_by_key(|(_, value)| expires(value))
            .map(|(key, _)| *key);
        if let Some(first) = first {
            table.remove(&first);
        }
    }
}

/// SHA3-256 of the concatenated `parts`: what the auth tables keep instead of secrets.
fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = sha3::Sha3_256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

//! Failed logins, so an operator sees brute force: each is counted by reason
//! (`gateway_auth_failures_total{reason}`), and wrong credentials are logged at WARN with the
//! peer's address, the reason and the Basic user name (never the password or token).
//!
//! The log is limited to one line per peer address and reason per
//! [`WARN_EVERY`](crate::throttle::WARN_EVERY), the next line counting those left out, in a
//! bounded table ([`LogThrottle::hit_or`]): a flood from many addresses shares one line per
//! reason instead of growing the table or filling the disk.
//! A request without credentials is counted, not logged: it is every browser's first request,
//! before the 401 makes it ask for a password.
//!
//! Host (421) and Origin (403) refusals of the guard go the same way: counted
//! (`gateway_requests_refused_total{reason}`) and logged with the peer, the reason and the
//! refused value (cut when long: it comes from the client), one line per peer and reason per
//! interval. docs/security.md.

use super::guard::Denied;
use crate::error::{shown, ApiError};
pub use crate::labels::LoginFailure as Failure;
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Longest user name written to the log (the rest is cut; the name comes from the client).
const MAX_LOGGED_USER: usize = 64;

/// A refused login: why (for the metric and log), who it claimed to be, and the answer.
#[derive(Debug)]
pub struct Refusal {
    pub failure: Failure,
    /// The Basic user name presented, if any.
    pub user: Option<String>,
    pub error: ApiError,
}

impl Refusal {
    /// A 401 whose JSON `detail` is `detail`.
    pub fn new(failure: Failure, detail: &'static str) -> Self {
        Self {
            failure,
            user: None,
            error: ApiError::Unauthorized { reason: detail },
        }
    }

    pub fn by(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    /// A 429 of the login limits; `user` is the Basic user name, if any.
    pub fn throttled(throttle: super::logins::Throttle, user: Option<&str>) -> Self {
        Self {
            failure: Failure::Throttled,
            user: user.map(str::to_owned),
            error: throttle.error(),
        }
    }
}

/// Counts and logs refused logins; one per [`Access`](super::Access).
#[derive(Debug)]
pub struct Failures {
    metrics: Arc<Metrics>,
    /// Per peer address and reason; `None` stands for peers the full table has no room for.
    log: Mutex<LogThrottle<(Option<IpAddr>, &'static str)>>,
    /// Host/Origin refusals, per peer address and reason (`None` as in `log`).
    refusals: Mutex<LogThrottle<(Option<IpAddr>, &'static str)>>,
}

impl Failures {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            log: Mutex::new(LogThrottle::default()),
            refusals: Mutex::new(LogThrottle::default()),
        }
    }

    /// Counts and logs a Host/Origin refusal of the guard from `peer`.
    pub fn refused(&self, peer: Option<IpAddr>, denied: &Denied) {
        let refusal = denied.reason();
        self.metrics.request_refused(refusal);
        let reason = refusal.label();
        let hit = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .hit_or((peer, reason), (None, reason));
        let Some(((key, _), count)) = hit else {
            return;
        };
        let peer = logged_peer(key, peer);
        let suppressed = count - 1;
        match denied {
            Denied::UnknownHost { host } => {
                let host = shown(host);
                tracing::warn!(%peer, reason, %host, suppressed, "request refused");
            }
            Denied::ForeignOrigin { origin } => {
                let origin = shown(origin);
                tracing::warn!(%peer, reason, %origin, suppressed, "request refused");
            }
        }
    }

    /// Counts (and unless it had no credentials, logs) `refusal` from `peer`; gives the answer.
    pub fn failed(&self, peer: Option<IpAddr>, refusal: Refusal) -> ApiError {
        let Refusal {
            failure,
            user,
            error,
        } = refusal;
        self.metrics.auth_failed(failure);
        if failure == Failure::NoCredentials {
            return error;
        }
        let reason = failure.label();
        let hit = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .hit_or((peer, reason), (None, reason));
        let Some(((key, _), count)) = hit else {
            return error;
        };
        let peer = logged_peer(key, peer);
        let suppressed = count - 1;
        match user {
            Some(user) => {
                let user: String = user.chars().take(MAX_LOGGED_USER).collect();
                tracing::warn!(%peer, reason, ?user, suppressed, "login failed");
            }
            None => tracing::warn!(%peer, reason, suppressed, "login failed"),
        }
        error
    }
}

/// The peer as logged: `key` is what the throttle counted the occurrence under (`None`: the
/// overflow line shared by peers the full table has no room for).
fn logged_peer(key: Option<IpAddr>, peer: Option<IpAddr>) -> String {
    match (key, peer) {
        (Some(address), _) => address.to_string(),
        (None, Some(address)) => format!("{address} (and others: too many peers to tell apart)"),
        (None, None) => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::htpasswd::{parse, tests::REFERENCE_LINE};
    use crate::auth::{Authenticator, Passwords, Sessions, Tokens};
    use crate::throttle::MAX_KEYS;
    use axum::http::{header, HeaderMap, HeaderValue};

    const TOKEN: &str = "listed-token-0123456789";

    fn authenticator() -> Authenticator {
        let entries = parse(REFERENCE_LINE, std::path::Path::new("f")).expect("valid");
        Authenticator {
            passwords: Some(Passwords::new(entries)),
            tokens: Tokens::load(&[TOKEN.to_owned()], None).expect("valid"),
            sessions: Sessions::new(8080, false),
            logins: Arc::default(),
        }
    }

    const PEER: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));

    /// The failure, user and status `authorization` gets (`None`: no header).
    async fn refused(
        auth: &Authenticator,
        authorization: Option<&str>,
    ) -> (Failure, Option<String>, u16) {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(value).expect("header"),
            );
        }
        let refusal = auth.credentials(&headers, PEER).await.expect_err("refused");
        (
            refusal.failure,
            refusal.user,
            refusal.error.status().as_u16(),
        )
    }

    #[tokio::test]
    async fn each_refusal_has_its_reason_and_only_basic_names_a_user() {
        let auth = authenticator();
        let long = format!("Bearer {}", "x".repeat(5000));
        let cases = [
            (None, Failure::NoCredentials, None),
            (Some("Digest username=gw"), Failure::Malformed, None),
            (Some("Basic !!!"), Failure::Malformed, None),
            (Some("Basic Z3c="), Failure::Malformed, None), // "gw", no ':'
            (Some(long.as_str()), Failure::Malformed, None),
            (
                Some("Bearer listed-token-0123456780"),
                Failure::UnknownToken,
                None,
            ),
            (
                Some("Basic Z3c6U2VjcmV0"),
                Failure::WrongPassword,
                Some("gw"),
            ), // gw:Secret
            (
                Some("Basic bm9ib2R5OnNlY3JldA=="),
                Failure::WrongPassword,
                Some("nobody"),
            ),
        ];
        for (authorization, failure, user) in cases {
            let got = refused(&auth, authorization).await;
            assert_eq!(
                got,
                (failure, user.map(str::to_owned), 401),
                "{authorization:?}"
            );
        }
        let good = HeaderValue::from_static("Basic Z3c6c2VjcmV0"); // gw:secret
        let headers = HeaderMap::from_iter([(header::AUTHORIZATION, good)]);
        assert!(auth.credentials(&headers, PEER).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_password_check_that_finds_no_slot_is_busy() {
        let auth = authenticator();
        let _held = auth.logins.hold_lanes().await;
        let got = refused(&auth, Some("Basic Z3c6c2VjcmV0")).await;
        assert_eq!(got, (Failure::Busy, Some("gw".to_owned()), 503));
        assert_eq!(auth.logins.tracked().2, 0, "the address is free again");
    }

    // Paused: the 429s are held back on tokio's clock, the back-off runs on the real one.
    #[tokio::test(start_paused = true)]
    async fn wrong_credentials_past_the_free_ones_are_throttled_without_a_check() {
        let auth = authenticator();
        let wrong_password = Some("Basic Z3c6U2VjcmV0"); // gw:Secret
        let wrong_token = Some("Bearer listed-token-0123456780");
        for _ in 0..3 {
            assert_eq!(
                refused(&auth, wrong_password).await.0,
                Failure::WrongPassword
            );
            assert_eq!(refused(&auth, wrong_token).await.0, Failure::UnknownToken);
        }
        let (failure, user, status) = refused(&auth, wrong_password).await;
        assert_eq!(
            (failure, user.as_deref(), status),
            (Failure::Throttled, Some("gw"), 429)
        );
        assert_eq!(refused(&auth, wrong_token).await.2, 429);
        // A right token still works from the blocked address (checking it costs nothing);
        // the right password waits for the back-off like any other.
        let token = HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("header");
        let headers = HeaderMap::from_iter([(header::AUTHORIZATION, token)]);
        assert_eq!(
            auth.credentials(&headers, PEER).await.ok(),
            Some(super::super::Identity::Token(0))
        );
        assert_eq!(refused(&auth, Some("Basic Z3c6c2VjcmV0")).await.2, 429);
    }

    #[test]
    fn counted_by_reason_and_the_log_table_stays_bounded_under_a_flood() {
        let metrics = Arc::new(Metrics::new());
        let failures = Failures::new(metrics.clone());
        for n in 0..5000u32 {
            let refusal = Refusal::new(Failure::WrongPassword, "wrong").by("guess");
            let error = failures.failed(Some(IpAddr::from(n.to_be_bytes())), refusal);
            assert_eq!(error.status(), 401);
        }
        let none = Refusal::new(Failure::NoCredentials, "no credentials");
        failures.failed(Some(IpAddr::from([10, 0, 0, 1])), none);
        let text = metrics.encode();
        for series in [
            "gateway_auth_failures_total{reason=\"wrong_password\"} 5000",
            "gateway_auth_failures_total{reason=\"no_credentials\"} 1",
            "gateway_auth_failures_total{reason=\"unknown_token\"} 0",
        ] {
            assert!(text.contains(series), "{series} missing: {text}");
        }
        let log = failures.log.lock().expect("not poisoned");
        assert_eq!(
            log.len(),
            MAX_KEYS + 1,
            "every peer it had room for, plus 'others' for the reason"
        );
    }

    #[test]
    fn refusals_are_counted_and_tracked_per_peer_and_reason_within_bounds() {
        let metrics = Arc::new(Metrics::new());
        let failures = Failures::new(metrics.clone());
        let host = Denied::UnknownHost {
            host: "evil.example".to_owned(),
        };
        let origin = Denied::ForeignOrigin {
            origin: "http://evil.example".to_owned(),
        };
        let peer = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            failures.refused(peer, &host);
            failures.refused(peer, &origin);
        }
        assert_eq!(failures.refusals.lock().expect("not poisoned").len(), 2);
        for n in 0..5000u32 {
            failures.refused(Some(IpAddr::from(n.to_be_bytes())), &host);
        }
        let text = metrics.encode();
        for series in [
            "gateway_requests_refused_total{reason=\"unknown_host\"} 5003",
            "gateway_requests_refused_total{reason=\"foreign_origin\"} 3",
        ] {
            assert!(text.contains(series), "{series} missing: {text}");
        }
        let log = failures.refusals.lock().expect("not poisoned");
        assert_eq!(log.len(), MAX_KEYS + 1, "bounded, plus 'others'");
    }
}

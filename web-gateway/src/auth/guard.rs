//! Host and Origin checks: the browser-side attacks that need no password.
//!
//! - **DNS rebinding**: a page on `evil.example` re-points its name at 127.0.0.1 (or the
//!   robot's address) and reads the gateway as "its own" site. The browser still sends
//!   `Host: evil.example`, so a request naming a host we do not know is refused (421).
//!   IP literals are always accepted: an address cannot be re-pointed, and a robot is often
//!   reached by whatever address its Wi-Fi gave it.
//! - **Cross-site WebSocket hijacking**: WebSockets are not bound by the same-origin policy,
//!   so any page could open `/ws` (with the victim's cookies). Browsers always send `Origin`
//!   on a WebSocket handshake and on cross-origin fetches, so a present `Origin` must be
//!   this gateway's own (same host and port as `Host`) or a configured one (403).
//!
//! Requests without `Host`/`Origin` (curl, scripts, HTTP/1.0) pass: only browsers are fooled
//! into sending requests, and browsers always send both where it matters.

use crate::config::origin::{host_name, normalise_host, parse_origin};
use crate::config::AccessConfig;
use crate::error::ApiError;
use crate::labels::Refusal;
use axum::http::{header, HeaderMap, Uri};
use std::collections::HashSet;
use std::net::IpAddr;

/// The allow-lists, built once at start.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Lower-case host names (no port).
    hosts: HashSet<String>,
    /// Normalised `scheme://host[:port]`.
    origins: HashSet<String>,
}

impl Guard {
    /// `localhost`, this machine's host name (and its mDNS `.local` name) and `config.hosts`.
    pub fn new(config: &AccessConfig) -> Self {
        let mut hosts: HashSet<String> = ["localhost".to_owned()].into();
        if let Some(name) = machine_hostname() {
            hosts.insert(format!("{name}.local"));
            hosts.insert(name);
        }
        hosts.extend(config.hosts.iter().map(|host| normalise_host(host)));
        let origins = config
            .origins
            .iter()
            .filter_map(|origin| parse_origin(origin))
            .collect();
        Self { hosts, origins }
    }

    /// The accepted host names, sorted, for the start-up log.
    pub fn host_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Refuses a request whose `Host` names an unknown host (421) or whose `Origin` is a
    /// foreign page (403).
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), Denied> {
        // HTTP/2 carries the host in the URI's authority instead of a Host header.
        let host = match headers.get(header::HOST) {
            Some(value) => Some(value.to_str().map_err(|_| unknown_host("(not text)"))?),
            None => uri.authority().map(|authority| authority.as_str()),
        };
        if let Some(host) = host {
            if !self.host_allowed(host) {
                return Err(unknown_host(host));
            }
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("(not text)");
        if self.origin_allowed(origin, host) {
            Ok(())
        } else {
            Err(Denied::ForeignOrigin {
                origin: origin.to_owned(),
            })
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        name.parse::<IpAddr>().is_ok() || self.hosts.contains(&name)
    }

    /// Same host and port as the request (either scheme: behind a TLS proxy the page is
    /// https while the gateway sees http), or listed.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let Some(normalised) = parse_origin(origin) else {
            return false; // "null" (sandboxed frames, file://) and garbage
        };
        if self.origins.contains(&normalised) {
            return true;
        }
        let authority = normalised
            .split_once("://")
            .map(|(_, authority)| authority)
            .unwrap_or_default();
        host.is_some_and(|host| authority == host.to_ascii_lowercase())
    }
}

fn unknown_host(host: &str) -> Denied {
    Denied::UnknownHost {
        host: host.to_owned(),
    }
}

/// Why [`Guard::check`] refused a request: the refused value (from the client, so logged
/// cut short) and, through [`Denied::reason`], its metric label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    UnknownHost { host: String },
    ForeignOrigin { origin: String },
}

impl Denied {
    pub fn reason(&self) -> Refusal {
        match self {
            Self::UnknownHost { .. } => Refusal::UnknownHost,
            Self::ForeignOrigin { .. } => Refusal::ForeignOrigin,
        }
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::UnknownHost { host } => ApiError::UnknownHost { host },
            Denied::ForeignOrigin { origin } => ApiError::ForeignOrigin { origin },
        }
    }
}

/// This machine's host name as the kernel knows it, e.g. `robot` (Linux only; elsewhere
/// the names must be configured).
fn machine_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = normalise_host(&name);
    (!name.is_empty() && name != "localhost").then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn guard(hosts: &[&str], origins: &[&str]) -> Guard {
        let config = AccessConfig {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            origins: origins.iter().map(|o| o.to_string()).collect(),
            ..AccessConfig::default()
        };
        Guard::new(&config)
    }

    fn check(guard: &Guard, host: Option<&str>, origin: Option<&str>) -> Result<(), u16> {
        let mut headers = HeaderMap::new();
        for (name, value) in [(header::HOST, host), (header::ORIGIN, origin)] {
            if let Some(value) = value {
                headers.insert(name, HeaderValue::from_str(value).expect("header"));
            }
        }
        guard
            .check(&Uri::from_static("/ws"), &headers)
            .map_err(|denied| ApiError::from(denied).status().as_u16())
    }

    #[test]
    fn hosts() {
        let guard = guard(&["Robot.Example.com"], &[]);
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST.",
            "[::1]:8080",
            "[::1]",
            "192.168.1.20:8080",
            "robot.example.com:80",
        ] {
            assert_eq!(check(&guard, Some(host), None), Ok(()), "{host}");
        }
        for host in [
            "evil.example:8080",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost:99999",
            "[::1",
            "",
        ] {
            assert_eq!(check(&guard, Some(host), None), Err(421), "{host}");
        }
        assert_eq!(check(&guard, None, None), Ok(()));
    }

    #[test]
    fn origins() {
        let guard = guard(&[], &["https://dash.example:8443/"]);
        let host = Some("127.0.0.1:8080");
        for origin in [
            "http://127.0.0.1:8080",
            "https://127.0.0.1:8080",
            "https://DASH.example:8443",
        ] {
            assert_eq!(check(&guard, host, Some(origin)), Ok(()), "{origin}");
        }
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:8081",
            "http://127.0.0.1",
            "null",
            "file://",
            "http://127.0.0.1:8080/path",
            "https://dash.example",
        ] {
            assert_eq!(check(&guard, host, Some(origin)), Err(403), "{origin}");
        }
    }
}

//! Which address a request comes from: the TCP peer, or, when the peer is a reverse proxy the
//! operator trusts (`--trusted-proxy`), the client that proxy names in `X-Forwarded-For`. It
//! names the peer in the failed-login and refusal logs and keys their throttle and the login
//! limits per address (`logins.rs`, docs/security.md); nothing is granted by address.

use axum::http::HeaderMap;
use std::net::IpAddr;

/// `X-Forwarded-For` entries looked at, from the right; a longer chain is cut there.
const MAX_HOPS: usize = 16;

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct ClientAddress {
    trusted: Vec<IpAddr>,
}

impl ClientAddress {
    pub fn new(trusted: &[IpAddr]) -> Self {
        Self {
            trusted: trusted.iter().map(IpAddr::to_canonical).collect(),
        }
    }

    pub fn trusts_any(&self) -> bool {
        !self.trusted.is_empty()
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy. Each proxy
    /// appends the address it saw, so the client is the rightmost entry that is not a
    /// trusted proxy; anything left of it was written by the client and proves nothing. A
    /// malformed entry stops the walk at the trusted proxy that passed it on.
    pub fn of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = peer?;
        if !self.trusted.contains(&client) {
            return Some(client);
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in forwarded.iter().rev().take(MAX_HOPS) {
            match entry.trim().parse::<IpAddr>() {
                Ok(address) => client = address.to_canonical(),
                Err(_) => return Some(client),
            }
            if !self.trusted.contains(&client) {
                break;
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let clients = ClientAddress::new(&[ip("127.0.0.1"), ip("10.0.0.5")]);
        let forwarded = headers(&["198.51.100.7, 203.0.113.9"]);
        // Not a proxy: its header is whatever it wrote.
        assert_eq!(
            clients.of(Some(ip("192.0.2.1")), &forwarded),
            Some(ip("192.0.2.1"))
        );
        // A proxy: the address it appended, not what the client claimed before it.
        assert_eq!(
            clients.of(Some(ip("127.0.0.1")), &forwarded),
            Some(ip("203.0.113.9"))
        );
        // Two proxies in a row, split over two header lines, IPv4 mapped into IPv6.
        let chained = headers(&["198.51.100.7", "203.0.113.9, ::ffff:10.0.0.5"]);
        assert_eq!(
            clients.of(Some(ip("127.0.0.1")), &chained),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(clients.of(None, &forwarded), None);
    }

    #[test]
    fn garbage_or_nothing_leaves_the_proxy() {
        let clients = ClientAddress::new(&[ip("127.0.0.1")]);
        let proxy = Some(ip("127.0.0.1"));
        assert_eq!(clients.of(proxy, &HeaderMap::new()), proxy);
        assert_eq!(
            clients.of(proxy, &headers(&["203.0.113.9, not-an-ip"])),
            proxy
        );
        assert_eq!(
            clients.of(proxy, &headers(&["2001:db8::7"])),
            Some(ip("2001:db8::7"))
        );
        let long = vec!["127.0.0.1"; 40].join(",");
        assert_eq!(
            clients.of(proxy, &headers(&[&long])),
            proxy,
            "cut at MAX_HOPS"
        );
        assert!(!ClientAddress::default().trusts_any());
    }
}

//! Host and Origin values as the gateway compares them: parsed and normalised once, here, for
//! both the `[access]` validation and the request check (`auth/guard.rs`).

/// `scheme://host[:port]` in lower case, or `None` when `origin` is not one (a path, a
/// userinfo, another scheme, `null`).
pub fn parse_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    let plain = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    (matches!(scheme, "http" | "https") && plain && host_name(authority).is_some())
        .then_some(origin)
}

/// The host of a `Host` value without its port, lower case, without a trailing dot;
/// IPv6 literals without brackets.
pub fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|port| port.parse::<u16>().is_ok());
        port_ok.then_some(inside)?
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => {
                port.parse::<u16>().ok()?;
                name
            }
            None => host,
        }
    };
    (!name.is_empty()).then(|| normalise_host(name))
}

pub fn normalise_host(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

//! The endpoints the gateway was told to connect to, read back from the open session's zenoh
//! config (embedded default, profile file, `--zenoh-connect`), with what a probe needs to
//! reach each one the way zenoh does: the protocol, `host:port`, and for `tls/` the CA,
//! client certificate and key files and the mTLS and name-check switches.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Most endpoints watched: a config lists a handful; the rest are ignored, with a warning.
pub const MAX_ENDPOINTS: usize = 64;
/// Longest endpoint string kept (a config is trusted, but the JSON and metrics labels stay small).
const MAX_ENDPOINT_LEN: usize = 256;

/// How a probe reaches an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Tls,
    /// udp/, quic/, ws/ …: watched through zenoh's links, not probed.
    Other,
}

/// One configured connect endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    /// As configured, e.g. `tls/robot1:7448` (metadata and config suffixes included).
    pub endpoint: String,
    /// The protocol as zenoh names it in link locators (`tcp`, `tls`, ...).
    pub scheme: String,
    pub protocol: Protocol,
    /// `host:port` as zenoh resolves it.
    pub address: String,
    /// The address when it is an IP literal: no name to resolve.
    pub literal: Option<SocketAddr>,
    pub tls: Option<Arc<TlsSettings>>,
}

impl Target {
    /// The host part of [`Self::address`], as zenoh takes it for the TLS server name.
    pub fn host(&self) -> &str {
        self.address
            .rsplit_once(':')
            .map_or(self.address.as_str(), |(host, _)| host)
    }
}

/// The `transport/link/tls` settings a zenoh TLS connect uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub root_ca: Option<PathBuf>,
    pub certificate: Option<PathBuf>,
    pub private_key: Option<PathBuf>,
    /// Present `certificate` (zenoh's `enable_mtls`, off by default).
    pub mtls: bool,
    /// Check the server certificate against the endpoint's host (zenoh's default: on).
    pub verify_name: bool,
}

/// What the session was configured to connect to.
#[derive(Debug)]
pub struct Configured {
    /// At most [`MAX_ENDPOINTS`], in configuration order.
    pub targets: Vec<Target>,
    /// Endpoints beyond [`MAX_ENDPOINTS`] (or unparsable), not watched.
    pub left_out: usize,
    /// Client mode: zenoh connects to one of the endpoints, the others are alternatives.
    pub client: bool,
}

pub fn from_session(session: &zenoh::Session) -> Configured {
    let config = session.config();
    let get = |key: &str| {
        config
            .get_typed::<serde_json::Value>(key)
            .unwrap_or(serde_json::Value::Null)
    };
    let mode = get("mode").as_str().unwrap_or("peer").to_owned();
    let tls = Arc::new(tls_settings(&get));
    let (targets, left_out) = parse(&get("connect/endpoints"), &mode, &tls);
    Configured {
        targets,
        left_out,
        client: mode == "client",
    }
}

fn tls_settings(get: &dyn Fn(&str) -> serde_json::Value) -> TlsSettings {
    let path = |key: &str| {
        get(&format!("transport/link/tls/{key}"))
            .as_str()
            .map(PathBuf::from)
    };
    let flag = |key: &str, default: bool| {
        get(&format!("transport/link/tls/{key}"))
            .as_bool()
            .unwrap_or(default)
    };
    TlsSettings {
        root_ca: path("root_ca_certificate"),
        certificate: path("connect_certificate"),
        private_key: path("connect_private_key"),
        mtls: flag("enable_mtls", false),
        verify_name: flag("verify_name_on_connect", true),
    }
}

/// `connect/endpoints` as zenoh serialises it: a list, or one list per mode
/// (`{peer: [...], router: [...]}`); each entry a string or `{locators: [...]}`.
fn parse(value: &serde_json::Value, mode: &str, tls: &Arc<TlsSettings>) -> (Vec<Target>, usize) {
    let list = match value {
        serde_json::Value::Object(by_mode) => by_mode.get(mode).cloned().unwrap_or_default(),
        other => other.clone(),
    };
    let strings = list
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| match entry {
            serde_json::Value::String(endpoint) => vec![endpoint.clone()],
            other => other["locators"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|locator| locator.as_str().map(str::to_owned))
                .collect(),
        });
    let mut targets: Vec<Target> = Vec::new();
    let mut left_out = 0;
    for endpoint in strings {
        if targets.iter().any(|target| target.endpoint == endpoint) {
            continue;
        }
        match target(&endpoint, tls) {
            Some(target) if targets.len() < MAX_ENDPOINTS => targets.push(target),
            _ => left_out += 1,
        }
    }
    (targets, left_out)
}

pub(super) fn target(endpoint: &str, tls: &Arc<TlsSettings>) -> Option<Target> {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return None;
    }
    let parsed: zenoh::config::EndPoint = endpoint.parse().ok()?;
    let scheme = parsed.protocol().as_str().to_owned();
    let address = parsed.address().as_str().to_owned();
    let protocol = match scheme.as_str() {
        "tcp" => Protocol::Tcp,
        "tls" => Protocol::Tls,
        _ => Protocol::Other,
    };
    Some(Target {
        endpoint: endpoint.to_owned(),
        literal: address.parse().ok(),
        tls: (protocol == Protocol::Tls).then(|| tls.clone()),
        scheme,
        protocol,
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoints(value: serde_json::Value, mode: &str) -> Vec<String> {
        let tls = Arc::new(TlsSettings::default());
        let (targets, _) = parse(&value, mode, &tls);
        targets.into_iter().map(|target| target.endpoint).collect()
    }

    #[test]
    fn reads_lists_per_mode_lists_and_locator_groups() {
        let plain = json!(["tcp/127.0.0.1:7447", "tls/robot1:7448"]);
        assert_eq!(
            endpoints(plain, "peer"),
            ["tcp/127.0.0.1:7447", "tls/robot1:7448"]
        );
        let by_mode = json!({ "router": ["tcp/10.0.0.1:7447"], "peer": ["tcp/10.0.0.2:7447"] });
        assert_eq!(endpoints(by_mode.clone(), "peer"), ["tcp/10.0.0.2:7447"]);
        assert!(endpoints(by_mode, "client").is_empty());
        let group = json!([{ "strategy": "first", "locators": ["tcp/a:1", "tcp/b:2"] }]);
        assert_eq!(endpoints(group, "peer"), ["tcp/a:1", "tcp/b:2"]);
        assert!(endpoints(serde_json::Value::Null, "peer").is_empty());
    }

    #[test]
    fn splits_protocol_host_and_port_and_keeps_the_table_bounded() {
        let tls = Arc::new(TlsSettings::default());
        let robot = target("tls/robot1:7448", &tls).expect("valid");
        assert_eq!(
            (robot.protocol, robot.host(), robot.literal),
            (Protocol::Tls, "robot1", None)
        );
        assert!(robot.tls.is_some());
        let local = target("tcp/127.0.0.1:7447", &tls).expect("valid");
        assert_eq!(local.literal, Some("127.0.0.1:7447".parse().expect("addr")));
        assert!(local.tls.is_none());
        assert_eq!(
            target("udp/[::1]:7447", &tls).map(|t| t.protocol),
            Some(Protocol::Other)
        );

        let many: Vec<String> = (0..MAX_ENDPOINTS + 5)
            .map(|port| format!("tcp/127.0.0.1:{}", 1000 + port))
            .chain(["tcp/127.0.0.1:1000".to_owned()])
            .collect();
        let (targets, left_out) = parse(&json!(many), "peer", &tls);
        assert_eq!((targets.len(), left_out), (MAX_ENDPOINTS, 5));
    }
}

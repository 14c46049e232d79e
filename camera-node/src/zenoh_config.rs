//! Building a `zenoh::Config` from defaults, a zenoh JSON5 file and command-line overrides.
//!
//! Shared by the node, the gateway and example subscribers so that all of them agree on the
//! defaults: loopback only and multicast scouting off. Reaching other machines is always an
//! explicit choice (a config file, `--listen`/`--connect`, or `--lan-discovery`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;

/// The default zenoh port a camera node listens on and subscribers connect to.
pub const DEFAULT_ENDPOINT: &str = "tcp/127.0.0.1:7447";

/// Camera node default: a peer listening on loopback only.
pub const NODE_DEFAULT: &str = r#"{
  mode: "peer",
  listen: { endpoints: ["tcp/127.0.0.1:7447"] },
  scouting: { multicast: { enabled: false }, gossip: { enabled: true } },
}"#;

/// Subscriber (gateway, examples) default: a peer that connects to the local camera node and
/// keeps retrying quickly, so it may start first and recovers soon after a node restart.
pub const SUBSCRIBER_DEFAULT: &str = r#"{
  mode: "peer",
  connect: {
    endpoints: ["tcp/127.0.0.1:7447"],
    exit_on_failure: false,
    // -1: keep retrying in the background forever (0 would mean "try once, never retry").
    timeout_ms: -1,
    retry: { period_init_ms: 250, period_max_ms: 1000, period_increase_factor: 2 },
  },
  listen: { endpoints: ["tcp/127.0.0.1:0"] },
  scouting: { multicast: { enabled: false }, gossip: { enabled: true } },
}"#;

/// A zenoh configuration that could not be built.
#[derive(Debug, Error)]
pub enum ZenohConfigError {
    // `error`, not `source`: the message includes it, so `{:#}` must not print it again.
    #[error("cannot read zenoh config file {path}: {error} (pass a zenoh JSON5 file, e.g. config/zenoh/local.json5)")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid zenoh config {origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("{origin} names {path} as transport/link/tls/{key}, which does not exist (run launch/make-certs.sh, or fix the path: relative paths are taken from the config file's folder)")]
    TlsFile {
        origin: String,
        key: &'static str,
        path: PathBuf,
    },
    #[error("invalid zenoh endpoint {endpoint:?} in {flag}: {message} (expected e.g. tcp/192.168.1.10:7447)")]
    Endpoint {
        flag: &'static str,
        endpoint: String,
        message: String,
    },
}

/// Where zenoh settings come from, in increasing precedence: embedded default, `config_file`,
/// then the explicit endpoint lists. The `[zenoh]` table of both binaries' config files; arg
/// ids are the dotted keys (see `settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ZenohSettings {
    /// zenoh JSON5 config file (zenoh's own format); replaces the embedded default.
    #[cfg_attr(
        feature = "cli",
        arg(id = "zenoh.config_file", long = "zenoh-config", value_name = "FILE")
    )]
    pub config_file: Option<PathBuf>,
    /// Endpoint to listen on, e.g. tcp/192.168.1.10:7447 (repeatable; replaces the config's list).
    #[cfg_attr(
        feature = "cli",
        arg(id = "zenoh.listen", long = "zenoh-listen", value_name = "ENDPOINT")
    )]
    pub listen: Vec<String>,
    /// Endpoint to connect to, e.g. tcp/192.168.1.10:7447 (repeatable; replaces the config's list).
    #[cfg_attr(
        feature = "cli",
        arg(id = "zenoh.connect", long = "zenoh-connect", value_name = "ENDPOINT")
    )]
    pub connect: Vec<String>,
    /// Opt in to zenoh multicast scouting to find peers on the LAN (off by default).
    #[cfg_attr(
        feature = "cli",
        arg(id = "zenoh.lan_discovery", long = "lan-discovery")
    )]
    pub lan_discovery: bool,
}

impl ZenohSettings {
    /// Takes a relative `config_file` as relative to `dir`: a TOML file naming a zenoh file
    /// means "next to me", whatever the working directory.
    pub fn resolve_relative_to(&mut self, dir: &std::path::Path) {
        if let Some(file) = &self.config_file {
            self.config_file = Some(dir.join(file));
        }
    }

    /// Builds the zenoh config; `embedded_default` is used when no file is given.
    pub fn build(&self, embedded_default: &str) -> Result<zenoh::Config, ZenohConfigError> {
        let (text, origin) = match &self.config_file {
            Some(path) => (
                std::fs::read_to_string(path).map_err(|error| ZenohConfigError::Read {
                    path: path.clone(),
                    error,
                })?,
                path.display().to_string(),
            ),
            None => (embedded_default.to_owned(), "(embedded default)".to_owned()),
        };
        let mut config =
            zenoh::Config::from_json5(&text).map_err(|error| ZenohConfigError::Invalid {
                origin: origin.clone(),
                message: error.to_string(),
            })?;
        if let Some(dir) = self
            .config_file
            .as_deref()
            .and_then(std::path::Path::parent)
        {
            resolve_tls_files(&mut config, dir, &origin)?;
        }
        set_endpoints(
            &mut config,
            "listen/endpoints",
            "--zenoh-listen",
            &self.listen,
        )?;
        set_endpoints(
            &mut config,
            "connect/endpoints",
            "--zenoh-connect",
            &self.connect,
        )?;
        // Forced rather than defaulted: zenoh's own default turns multicast on, and a config
        // file that simply omits the key must not start announcing the robot on the LAN.
        let multicast = if self.lan_discovery { "true" } else { "false" };
        config
            .insert_json5("scouting/multicast/enabled", multicast)
            .map_err(|error| ZenohConfigError::Invalid {
                origin,
                message: error.to_string(),
            })?;
        Ok(config)
    }
}

/// Where zenoh keeps its bound on a message reassembled from fragments, and zenoh's default.
const MAX_MESSAGE_KEY: &str = "transport/link/rx/max_message_size";
const ZENOH_DEFAULT_MAX_MESSAGE: usize = 1 << 30;

/// Lowers the largest message zenoh reassembles from fragments to `bytes`, unless the config
/// file sets its own; returns the bound in force. zenoh drops a larger message as its
/// fragments arrive, before it is whole: the only point where what a peer can make this
/// process allocate for one sample is bounded (an application check comes after the copy).
pub fn bound_message_size(
    config: &mut zenoh::Config,
    bytes: usize,
) -> Result<usize, ZenohConfigError> {
    let invalid = |message: String| ZenohConfigError::Invalid {
        origin: MAX_MESSAGE_KEY.to_owned(),
        message,
    };
    let current: usize = config
        .get_json(MAX_MESSAGE_KEY)
        .map_err(|error| invalid(error.to_string()))?
        .parse()
        .map_err(|error: std::num::ParseIntError| invalid(error.to_string()))?;
    if current != ZENOH_DEFAULT_MAX_MESSAGE {
        return Ok(current);
    }
    config
        .insert_json5(MAX_MESSAGE_KEY, &bytes.to_string())
        .map_err(|error| invalid(error.to_string()))?;
    Ok(bytes)
}

/// The TLS settings that name files.
const TLS_FILE_KEYS: [&str; 5] = [
    "root_ca_certificate",
    "listen_certificate",
    "listen_private_key",
    "connect_certificate",
    "connect_private_key",
];

/// Makes the TLS file paths of a config file relative to that file's folder (zenoh itself takes
/// them relative to the working directory), so `certs/ca.pem` in config/zenoh/robot-tls.json5
/// means config/zenoh/certs/ca.pem wherever the binary is started from. A named file that does
/// not exist is reported here, with the key that names it, rather than as a failed handshake.
fn resolve_tls_files(
    config: &mut zenoh::Config,
    dir: &std::path::Path,
    origin: &str,
) -> Result<(), ZenohConfigError> {
    for key in TLS_FILE_KEYS {
        let json_key = format!("transport/link/tls/{key}");
        let value = config.get_json(&json_key).unwrap_or_default();
        let Ok(Some(path)) = serde_json::from_str::<Option<PathBuf>>(&value) else {
            continue;
        };
        let path = dir.join(path);
        if !path.is_file() {
            return Err(ZenohConfigError::TlsFile {
                origin: origin.to_owned(),
                key,
                path,
            });
        }
        let json = serde_json::to_string(&path).unwrap_or_default();
        config
            .insert_json5(&json_key, &json)
            .map_err(|error| ZenohConfigError::Invalid {
                origin: origin.to_owned(),
                message: error.to_string(),
            })?;
    }
    Ok(())
}

fn set_endpoints(
    config: &mut zenoh::Config,
    key: &str,
    flag: &'static str,
    endpoints: &[String],
) -> Result<(), ZenohConfigError> {
    if endpoints.is_empty() {
        return Ok(());
    }
    for endpoint in endpoints {
        endpoint
            .parse::<zenoh::config::EndPoint>()
            .map_err(|error| ZenohConfigError::Endpoint {
                flag,
                endpoint: endpoint.clone(),
                message: error.to_string(),
            })?;
    }
    let json = serde_json::to_string(endpoints).unwrap_or_else(|_| "[]".to_owned());
    config
        .insert_json5(key, &json)
        .map_err(|error| ZenohConfigError::Invalid {
            origin: flag.to_owned(),
            message: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_keep_multicast_off() {
        for default in [NODE_DEFAULT, SUBSCRIBER_DEFAULT] {
            let config = ZenohSettings::default()
                .build(default)
                .expect("default config");
            let multicast = config.get_json("scouting/multicast/enabled").expect("key");
            assert_eq!(multicast, "false");
        }
        let lan = ZenohSettings {
            lan_discovery: true,
            ..Default::default()
        };
        let config = lan.build(NODE_DEFAULT).expect("config");
        assert_eq!(
            config.get_json("scouting/multicast/enabled").expect("key"),
            "true"
        );
    }

    #[test]
    fn message_bound_applies_unless_the_file_sets_one() {
        let mut config = ZenohSettings::default()
            .build(SUBSCRIBER_DEFAULT)
            .expect("config");
        assert_eq!(
            bound_message_size(&mut config, 17 << 20).expect("bound"),
            17 << 20
        );
        assert_eq!(
            config.get_json(MAX_MESSAGE_KEY).expect("key"),
            (17 << 20).to_string()
        );
        let mut own = zenoh::Config::from_json5(
            "{ transport: { link: { rx: { max_message_size: 4096 } } } }",
        )
        .expect("config");
        assert_eq!(bound_message_size(&mut own, 17 << 20).expect("bound"), 4096);
    }

    #[test]
    fn overrides_replace_endpoints_and_reject_garbage() {
        let settings = ZenohSettings {
            connect: vec!["tcp/127.0.0.1:7500".into()],
            ..Default::default()
        };
        let config = settings.build(SUBSCRIBER_DEFAULT).expect("config");
        assert!(config
            .get_json("connect/endpoints")
            .expect("key")
            .contains("7500"));
        let bad = ZenohSettings {
            connect: vec!["not an endpoint".into()],
            ..Default::default()
        };
        let error = bad
            .build(SUBSCRIBER_DEFAULT)
            .expect_err("garbage accepted")
            .to_string();
        assert!(
            error.contains("not an endpoint") && error.contains("--zenoh-connect"),
            "{error}"
        );
    }

    #[test]
    fn tls_files_resolve_against_the_config_folder() {
        let dir = std::env::temp_dir().join(format!("zenoh-config-tls-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("certs")).expect("mkdir");
        let file = dir.join("profile.json5");
        std::fs::write(
            &file,
            r#"{ transport: { link: { tls: { root_ca_certificate: "certs/ca.pem" } } } }"#,
        )
        .expect("write profile");
        let settings = ZenohSettings {
            config_file: Some(file),
            ..Default::default()
        };
        let error = settings
            .build(NODE_DEFAULT)
            .expect_err("missing CA")
            .to_string();
        assert!(
            error.contains("root_ca_certificate") && error.contains("make-certs.sh"),
            "{error}"
        );
        std::fs::write(dir.join("certs/ca.pem"), "not checked here").expect("write ca");
        let config = settings.build(NODE_DEFAULT).expect("config");
        let ca = config
            .get_json("transport/link/tls/root_ca_certificate")
            .expect("key");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            serde_json::from_str::<PathBuf>(&ca).expect("a path"),
            dir.join("certs/ca.pem")
        );
    }

    #[test]
    fn missing_file_is_named() {
        let settings = ZenohSettings {
            config_file: Some("/nonexistent/zenoh.json5".into()),
            ..Default::default()
        };
        let error = settings
            .build(NODE_DEFAULT)
            .expect_err("missing file")
            .to_string();
        assert!(error.contains("/nonexistent/zenoh.json5"), "{error}");
    }
}

//! Building a `zenoh::Config` from defaults, a zenoh JSON5 file and command-line overrides.
//!
//! Shared by the node, the gateway, the hub (`zenoh-router`) and the examples so that all of
//! them agree on the defaults: everything on the robot meets at one hub on
//! `tcp/127.0.0.1:7447`, multicast scouting off. Reaching other machines is always an explicit
//! choice (a config file, `--zenoh-listen`/`--zenoh-connect`, or `--lan-discovery`).

use crate::zenoh_certs::{self, NoCertificates};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;

/// The hub's loopback endpoint: every process on the robot reaches the others through it.
pub const DEFAULT_ENDPOINT: &str = "tcp/127.0.0.1:7447";

/// Camera node (and publish examples) default: a client of the hub on loopback. A client sends
/// everything through its router, which forwards it to every subscriber on or off the robot.
/// zenoh makes opening a client wait until the hub answers (see `session`); after a hub
/// restart it reconnects and declares its token and queryables again.
pub const NODE_DEFAULT: &str = r#"{
  mode: "client",
  connect: {
    endpoints: ["tcp/127.0.0.1:7447"],
    exit_on_failure: false,
    // -1: keep retrying forever (zenoh's client default, 0, would try once and exit).
    timeout_ms: -1,
    retry: { period_init_ms: 250, period_max_ms: 1000, period_increase_factor: 2 },
  },
  scouting: { multicast: { enabled: false } },
}"#;

/// Subscriber (gateway, examples) default: a peer connecting to the hub on loopback and
/// retrying in the background, so opening never waits and it may start before the hub. A peer
/// (not a client) so the same default works against this project's hub, rmw_zenohd or zenohd,
/// and against a single camera peer in tests. No listener: nothing connects to a subscriber.
/// Gossip off: it must not try the locators other peers announce.
pub const SUBSCRIBER_DEFAULT: &str = r#"{
  mode: "peer",
  connect: {
    endpoints: ["tcp/127.0.0.1:7447"],
    exit_on_failure: false,
    // -1: keep retrying in the background forever (0 would mean "try once, never retry").
    timeout_ms: -1,
    retry: { period_init_ms: 250, period_max_ms: 1000, period_increase_factor: 2 },
  },
  listen: { endpoints: [] },
  scouting: { multicast: { enabled: false }, gossip: { enabled: false } },
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
    #[error("{origin} names {path} as transport/link/tls/{key}, which {problem} (make this machine's certificate folder with launch/make-certs.sh DIR ROLE MACHINE and pass --zenoh-certs DIR/MACHINE, or put its files in the certs/ folder beside the profile)")]
    TlsFile {
        origin: String,
        key: &'static str,
        path: PathBuf,
        problem: String,
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
#[derive(clap::Args)]
pub struct ZenohSettings {
    /// zenoh JSON5 config file (zenoh's own format); replaces the embedded default.
    #[arg(id = "zenoh.config_file", long = "zenoh-config", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Endpoint to listen on, e.g. tcp/192.168.1.10:7447 (repeatable; replaces the config's list).
    #[arg(id = "zenoh.listen", long = "zenoh-listen", value_name = "ENDPOINT")]
    pub listen: Vec<String>,
    /// Endpoint to connect to, e.g. tcp/192.168.1.10:7447 (repeatable; replaces the config's list).
    #[arg(id = "zenoh.connect", long = "zenoh-connect", value_name = "ENDPOINT")]
    pub connect: Vec<String>,
    /// Opt in to zenoh multicast scouting to find peers on the LAN (off by default).
    #[arg(id = "zenoh.lan_discovery", long = "lan-discovery")]
    pub lan_discovery: bool,
    /// This machine's certificate folder (ca.pem, cert.pem, key.pem from launch/make-certs.sh):
    /// TLS file names in the zenoh config are taken from it (default: certs/ beside the config).
    #[arg(id = "zenoh.certs", long = "zenoh-certs", value_name = "DIR")]
    pub certs: Option<PathBuf>,
}

/// What to do when the config names TLS files that are not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MissingCerts {
    /// An error naming the file: a node or gateway told to use TLS must not run without it.
    Fail,
    /// Drop the `tls/` endpoints and go on: the hub still serves its loopback listener.
    DropTls,
}

impl ZenohSettings {
    /// Takes a relative `config_file` and `certs` as relative to `dir`: a TOML file naming a
    /// zenoh file or folder means "next to me", whatever the working directory.
    pub fn resolve_relative_to(&mut self, dir: &std::path::Path) {
        for path in [&mut self.config_file, &mut self.certs]
            .into_iter()
            .flatten()
        {
            *path = dir.join(&*path);
        }
    }

    /// Builds the zenoh config; `embedded_default` is used when no file is given. TLS files
    /// the config names must exist (in the certificate folder, see [`crate::zenoh_certs`]).
    pub fn build(&self, embedded_default: &str) -> Result<zenoh::Config, ZenohConfigError> {
        self.build_with(embedded_default, MissingCerts::Fail)
            .map(|(config, _)| config)
    }

    /// Builds a hub's config: as [`Self::build`], except that missing certificates turn the
    /// `tls/` endpoints off instead of failing, and say so in the returned [`NoCertificates`].
    pub fn build_hub(
        &self,
        embedded_default: &str,
    ) -> Result<(zenoh::Config, Option<NoCertificates>), ZenohConfigError> {
        self.build_with(embedded_default, MissingCerts::DropTls)
    }

    fn build_with(
        &self,
        embedded_default: &str,
        missing: MissingCerts,
    ) -> Result<(zenoh::Config, Option<NoCertificates>), ZenohConfigError> {
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
        let invalid = |message: String| ZenohConfigError::Invalid {
            origin: origin.clone(),
            message,
        };
        let mut config =
            zenoh::Config::from_json5(&text).map_err(|error| invalid(error.to_string()))?;
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
        let dir = zenoh_certs::certs_dir(self.certs.as_deref(), self.config_file.as_deref());
        let mut no_certs = None;
        if let Err(file) = zenoh_certs::resolve(&mut config, &dir).map_err(invalid)? {
            if missing == MissingCerts::Fail {
                return Err(ZenohConfigError::TlsFile {
                    origin,
                    key: file.key,
                    path: file.path,
                    problem: file.problem,
                });
            }
            let dropped = zenoh_certs::drop_tls(&mut config).map_err(invalid)?;
            let kept = config
                .get_json("listen/endpoints")
                .ok()
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            no_certs = Some(NoCertificates {
                dir,
                missing: file,
                dropped,
                kept,
            });
        }
        // Forced rather than defaulted: zenoh's own default turns multicast on, and a config
        // file that simply omits the key must not start announcing the robot on the LAN.
        let multicast = if self.lan_discovery { "true" } else { "false" };
        config
            .insert_json5("scouting/multicast/enabled", multicast)
            .map_err(|error| invalid(error.to_string()))?;
        Ok((config, no_certs))
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
mod tests;

//! The robot's zenoh hub: one zenoh router per robot that every process on it reaches on
//! `tcp/127.0.0.1:7447`, and that base stations reach over mutual TLS (config/zenoh/robot.json5).
//!
//! Router mode is forced whatever the profile says (a peer does not forward between the
//! processes it serves). A profile whose certificates are missing still starts, with its
//! `tls/` endpoints off and one warning saying how to turn them on, so a fresh robot runs its
//! own cameras before it has certificates. Same zenoh library, version and profiles as the
//! node and the gateway; no plugins, no REST API (zenohd or rmw_zenohd, where installed, do
//! the same job: docs/zenohd-router.md).

use robot_cli::settings::{Invocation, Settings};
use robot_cli::zenoh_config::{bound_message_size, ZenohConfigError};
use robot_cli::ZenohSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

/// Embedded default: a router on the loopback zenoh port only, nothing announced.
pub const ROUTER_DEFAULT: &str = r#"{
  mode: "router",
  listen: { endpoints: ["tcp/127.0.0.1:7447"] },
  scouting: { multicast: { enabled: false } },
}"#;

/// The largest message the hub reassembles when the profile sets no bound of its own: zenoh's
/// 1 GiB default lets any connected process make the hub allocate that much per message.
/// 16 MiB holds any camera frame the gateway accepts (8 MiB) and an uncompressed 1080p ROS 2
/// image; a robot moving bigger messages sets transport/link/rx/max_message_size itself.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// How long closing the session may take on SIGINT/SIGTERM.
const CLOSE_BUDGET: Duration = Duration::from_millis(500);

/// The hub's settings: only zenoh's (`[zenoh]` in a `--config` TOML file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct RouterSettings {
    #[command(flatten, next_help_heading = "zenoh ([zenoh])")]
    pub zenoh: ZenohSettings,
}

impl Settings for RouterSettings {
    fn relative_to(&mut self, dir: &Path) {
        self.zenoh.resolve_relative_to(dir);
    }
}

/// Command-line flags; each setting overrides `ZENOH_ROUTER_<KEY>`, which overrides the file.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "zenoh-router",
    version,
    // The shared --zenoh-* flags, with this binary's defaults stated where they apply.
    mut_arg("zenoh.config_file", |arg| arg.help(
        "zenoh JSON5 config file (zenoh's own format), usually config/zenoh/robot.json5 \
[default: embedded: router mode on tcp/127.0.0.1:7447, multicast off, messages up to 16 MiB]"
    )),
    mut_arg("zenoh.listen", |arg| arg.help(
        "Endpoint to listen on, e.g. tls/0.0.0.0:7448 (repeatable; replaces the config's list) \
[default: the config's, else tcp/127.0.0.1:7447]"
    )),
    mut_arg("zenoh.certs", |arg| arg.help(
        "This machine's certificate folder (ca.pem, cert.pem, key.pem from launch/make-certs.sh) \
[default: certs/ beside --zenoh-config; without certificates the tls/ endpoints are off]"
    )),
    about = "The robot's zenoh hub: a zenoh router for every process on the robot (loopback) \
and, with certificates, for base stations over mutual TLS.",
    after_help = "Usual start: zenoh-router --zenoh-config config/zenoh/robot.json5 \
--zenoh-certs DIR (the folder launch/make-certs.sh made for this machine). Without a \
--zenoh-config: a router on tcp/127.0.0.1:7447 only. Every setting is also an environment \
variable ZENOH_ROUTER_ZENOH_<KEY> and a [zenoh] key of --config. See zenoh-router/README.md."
)]
pub struct Cli {
    /// TOML config file with a [zenoh] table (the same keys as the flags).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: RouterSettings,
}

impl Invocation for Cli {
    type Settings = RouterSettings;
    const ENV_PREFIX: &'static str = "ZENOH_ROUTER_";

    fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    fn settings_mut(&mut self) -> &mut RouterSettings {
        &mut self.settings
    }
}

/// The hub could not run.
#[derive(Debug, Error)]
pub enum RouterError {
    #[error(transparent)]
    Config(#[from] ZenohConfigError),
    #[error("cannot set router mode: {0}")]
    Mode(String),
    #[error("cannot open the zenoh router: {0} (is the port taken by another router, rmw_zenohd or zenohd? see --zenoh-listen)")]
    Open(zenoh::Error),
    #[error("the router session did not close within {CLOSE_BUDGET:?}")]
    Close,
}

/// The zenoh config the hub runs: the profile (or [`ROUTER_DEFAULT`]) in router mode, its
/// message size bounded. Missing certificates turn its `tls/` endpoints off, logged once.
pub fn config(settings: &RouterSettings) -> Result<zenoh::Config, RouterError> {
    let (mut config, no_certs) = settings.zenoh.build_hub(ROUTER_DEFAULT)?;
    if let Some(no_certs) = no_certs {
        tracing::warn!("{no_certs}");
    }
    // A profile written for peers would silently make this a peer, which does not forward.
    config
        .insert_json5("mode", "\"router\"")
        .map_err(|error| RouterError::Mode(error.to_string()))?;
    bound_message_size(&mut config, MAX_MESSAGE_BYTES)?;
    Ok(config)
}

/// Runs the hub until `cancel`, then closes it.
pub async fn run(settings: &RouterSettings, cancel: CancellationToken) -> Result<(), RouterError> {
    let config = config(settings)?;
    let listen = config.get_json("listen/endpoints").unwrap_or_default();
    let session = zenoh::open(config).await.map_err(RouterError::Open)?;
    tracing::info!(zid = %session.zid(), %listen, "router running");
    cancel.cancelled().await;
    match tokio::time::timeout(CLOSE_BUDGET, session.close()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!("closing the router session: {error}");
            Ok(())
        }
        Err(_) => Err(RouterError::Close),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use robot_cli::settings::try_load_from;

    #[test]
    fn default_is_a_loopback_router_with_a_bounded_message_size() {
        let config = config(&RouterSettings::default()).expect("config");
        assert_eq!(config.get_json("mode").expect("mode"), "\"router\"");
        assert_eq!(
            config.get_json("listen/endpoints").expect("listen"),
            r#"["tcp/127.0.0.1:7447"]"#
        );
        assert_eq!(
            config
                .get_json("transport/link/rx/max_message_size")
                .expect("bound"),
            MAX_MESSAGE_BYTES.to_string()
        );
    }

    #[test]
    fn a_peer_profile_still_runs_as_a_router() {
        let dir = tempfile::tempdir().expect("temp dir");
        let profile = dir.path().join("peer.json5");
        std::fs::write(&profile, r#"{ mode: "peer" }"#).expect("write");
        let cli: Cli = try_load_from([
            "zenoh-router".as_ref(),
            "--zenoh-config".as_ref(),
            profile.as_os_str(),
            "--zenoh-certs".as_ref(),
            dir.path().as_os_str(),
        ])
        .expect("flags");
        assert_eq!(cli.settings.zenoh.certs.as_deref(), Some(dir.path()));
        let config = config(&cli.settings).expect("config");
        assert_eq!(config.get_json("mode").expect("mode"), "\"router\"");
    }

    #[test]
    fn flags_have_the_router_environment_names() {
        let help = robot_cli::settings::command::<Cli>()
            .render_long_help()
            .to_string();
        for env in [
            "ZENOH_ROUTER_ZENOH_CONFIG_FILE",
            "ZENOH_ROUTER_ZENOH_CERTS",
            "ZENOH_ROUTER_ZENOH_LISTEN",
        ] {
            assert!(help.contains(env), "{env} missing from --help:\n{help}");
        }
    }
}

//! `zenoh-router`: a zenoh session in router mode, from a JSON5 profile, until SIGINT/SIGTERM.
//!
//! Stands in for `zenohd` where it is not installed (the two-host tests, a quick trial): the
//! same zenoh library and version as the node and the gateway, the same config files
//! (config/zenoh/router-tls.json5), but relative certificate paths are taken from the
//! profile's folder, and no plugins or REST API. docs/zenohd-router.md shows the real zenohd.

use anyhow::Context;
use camera_node::process::{cancel_on_signal, init_logging};
use camera_node::ZenohSettings;
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// Embedded default: a router on the loopback zenoh port, nothing announced.
const ROUTER_DEFAULT: &str = r#"{
  mode: "router",
  listen: { endpoints: ["tcp/127.0.0.1:7447"] },
  scouting: { multicast: { enabled: false } },
}"#;

/// Runs a zenoh router (a stand-in for zenohd) until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "zenoh-router", version)]
struct Cli {
    #[command(flatten)]
    zenoh: ZenohSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let cli = Cli::parse();
    let mut config = cli.zenoh.build(ROUTER_DEFAULT)?;
    // A profile written for peers would silently make this a peer, which does not forward.
    config
        .insert_json5("mode", "\"router\"")
        .map_err(|error| anyhow::anyhow!("cannot set router mode: {error}"))?;
    let session = zenoh::open(config)
        .await
        .map_err(|error| anyhow::anyhow!("cannot open zenoh router: {error}"))?;
    tracing::info!(zid = %session.zid(), "router running");
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    cancel.cancelled().await;
    tokio::time::timeout(std::time::Duration::from_millis(500), session.close())
        .await
        .context("router session did not close within 500 ms")?
        .map_err(|error| anyhow::anyhow!("closing the router session: {error}"))?;
    Ok(())
}

//! `[foxglove]`: the live Foxglove WebSocket listener (docs/recording.md).

use robot_cli::settings::defaults;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Live view in Foxglove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct FoxgloveConfig {
    /// Serve the Foxglove WebSocket protocol (foxglove.websocket.v1) on ADDR, e.g.
    /// 127.0.0.1:8765 (loopback: reach it through SSH or a proxy); one image channel per camera.
    /// Off when unset.
    #[arg(id = "foxglove.listen", long = "foxglove-listen", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

impl Default for FoxgloveConfig {
    fn default() -> Self {
        defaults()
    }
}

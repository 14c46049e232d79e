//! A test's own zenoh peers: one connected to an endpoint, one listening for others (a node
//! stand-in reached directly, without a hub); multicast off; polling a camera's info.

use crate::DEADLINE;
use camera_protocol::info::{query_info, CameraInfo};
use camera_protocol::CameraKeys;
use robot_cli::zenoh_config::SUBSCRIBER_DEFAULT;
use robot_cli::ZenohSettings;
use std::time::{Duration, Instant};

/// A peer that others connect to: what a camera node was before the hub, and what
/// [`crate::SyntheticCamera`] still is, so a gateway under test reaches it without a hub.
const LISTENING_PEER: &str = r#"{
  mode: "peer",
  scouting: { multicast: { enabled: false }, gossip: { enabled: true } },
}"#;

/// The config of a peer listening on `endpoint` only.
pub fn listening_config(endpoint: &str) -> zenoh::Config {
    ZenohSettings {
        listen: vec![endpoint.to_owned()],
        ..Default::default()
    }
    .build(LISTENING_PEER)
    .expect("listening peer config")
}

/// A zenoh peer connected only to `endpoint`, listening on a free loopback port.
pub async fn session_to(endpoint: &str) -> zenoh::Session {
    let config = ZenohSettings {
        connect: vec![endpoint.to_owned()],
        listen: vec!["tcp/127.0.0.1:0".to_owned()],
        ..Default::default()
    }
    .build(SUBSCRIBER_DEFAULT)
    .expect("subscriber config");
    zenoh::open(config).await.expect("open zenoh session")
}

/// A node-side zenoh peer listening on `endpoint` only (others connect to it).
pub async fn listening_session(endpoint: &str) -> zenoh::Session {
    zenoh::open(listening_config(endpoint))
        .await
        .expect("open zenoh session")
}

/// Queries info until `accept` holds or [`DEADLINE`] passes (then panics with the last reply).
pub async fn wait_for_info(
    session: &zenoh::Session,
    keys: &CameraKeys,
    what: &str,
    accept: impl Fn(&CameraInfo) -> bool,
) -> CameraInfo {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < DEADLINE {
        match query_info(session, keys, Duration::from_secs(2)).await {
            Ok(info) if accept(&info) => return info,
            Ok(info) => last = Some(format!("{info:?}")),
            Err(error) => last = Some(error.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("info never showed {what} within {DEADLINE:?}; last: {last:?}");
}

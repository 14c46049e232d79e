//! Opening a publishing process's zenoh session (the camera node, `examples/publish.rs`),
//! including the several-publishers-on-one-host fallback.
//!
//! With default settings every publisher wants `tcp/127.0.0.1:7447`. When that port is taken
//! (by another camera node), this one listens on a free port and connects to the taken one
//! instead; zenoh gossip then tells every peer about every other, so subscribers that know
//! only 7447 still reach all cameras. Explicit config files and connect lists are left alone.

use crate::zenoh_config::{ZenohConfigError, ZenohSettings, DEFAULT_ENDPOINT, NODE_DEFAULT};
use std::net::{SocketAddr, TcpListener};
use thiserror::Error;

/// The session could not be opened.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ZenohConfigError),
    #[error("cannot open zenoh session: {0} (is the listen endpoint free? see --zenoh-listen)")]
    Open(zenoh::Error),
}

/// The settings to use: `settings` unchanged, or the fallback when its single loopback
/// listen endpoint is already in use.
pub fn with_port_fallback(settings: &ZenohSettings) -> ZenohSettings {
    if settings.config_file.is_some() || !settings.connect.is_empty() {
        return settings.clone();
    }
    let listen = match settings.listen.as_slice() {
        [] => DEFAULT_ENDPOINT.to_owned(),
        [one] => one.clone(),
        _ => return settings.clone(),
    };
    let Some(addr) = listen
        .strip_prefix("tcp/")
        .and_then(|addr| addr.parse::<SocketAddr>().ok())
        .filter(|addr| addr.ip().is_loopback() && addr.port() != 0)
    else {
        return settings.clone();
    };
    if TcpListener::bind(addr).is_ok() {
        return settings.clone();
    }
    tracing::info!(
        taken = %listen,
        "zenoh port already in use (another camera node?): listening on a free loopback port \
         and connecting to {listen}; gossip meshes the peers"
    );
    ZenohSettings {
        listen: vec![format!("tcp/{}:0", addr.ip())],
        connect: vec![listen],
        ..settings.clone()
    }
}

/// Opens a publisher's session from `settings` over the node's embedded default.
pub async fn open_publisher(settings: &ZenohSettings) -> Result<zenoh::Session, SessionError> {
    let config = with_port_fallback(settings).build(NODE_DEFAULT)?;
    zenoh::open(config).await.map_err(SessionError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_loopback_port_falls_back_to_connecting() {
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("tcp/{}", taken.local_addr().expect("addr"));
        let settings = ZenohSettings {
            listen: vec![endpoint.clone()],
            ..Default::default()
        };
        let fallback = with_port_fallback(&settings);
        assert_eq!(fallback.listen, vec!["tcp/127.0.0.1:0".to_owned()]);
        assert_eq!(fallback.connect, vec![endpoint.clone()]);
        drop(taken);
        assert_eq!(with_port_fallback(&settings), settings);
        let explicit = ZenohSettings {
            connect: vec![endpoint],
            ..settings
        };
        assert_eq!(with_port_fallback(&explicit), explicit);
    }
}

//! Opening a publishing process's zenoh session (the camera node, the publish and replay
//! examples).
//!
//! By default a publisher is a client of the robot's hub on `tcp/127.0.0.1:7447`, and zenoh
//! 1.10 makes opening a client wait until a router answers, however long that takes — and
//! blocks the calling thread meanwhile (`open(..).await` resolves synchronously). So the open
//! runs on a thread of its own, raced against the caller's stop signal (SIGTERM while waiting
//! still exits at once), and the wait is logged once, naming the endpoints.

use crate::zenoh_config::{bound_message_size, ZenohConfigError, ZenohSettings, NODE_DEFAULT};
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

/// The largest message a publisher reassembles from what peers send it (unless its zenoh config
/// sets its own). A publisher only receives queries and declarations, all small; zenoh's 1 GiB
/// default let two queries carrying 900 MB payloads grow a camera node to 1.5 GB (issue 23).
pub const PUBLISHER_MESSAGE_BOUND: usize = 1 << 20;

/// How long opening may take before the log says what it is waiting for.
pub const WAIT_NOTICE_AFTER: Duration = Duration::from_secs(2);

/// The session could not be opened.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ZenohConfigError),
    #[error("cannot open zenoh session: {0} (check the zenoh config, --zenoh-connect and --zenoh-listen)")]
    Open(zenoh::Error),
    #[error("cannot run the thread that opens the zenoh session: {0}")]
    Thread(std::io::Error),
}

/// Opens a publisher's session from `settings` over the node's embedded default (a client of
/// the hub); `None` when `stop` completes first.
pub async fn open_publisher(
    settings: &ZenohSettings,
    stop: impl Future<Output = ()>,
) -> Result<Option<zenoh::Session>, SessionError> {
    let mut config = settings.build(NODE_DEFAULT)?;
    bound_message_size(&mut config, PUBLISHER_MESSAGE_BOUND)?;
    open_or_stop(config, stop).await
}

/// Opens `config`, or gives up with `None` once `stop` completes. Says once, after
/// [`WAIT_NOTICE_AFTER`], which endpoints it is still waiting for.
pub async fn open_or_stop(
    config: zenoh::Config,
    stop: impl Future<Output = ()>,
) -> Result<Option<zenoh::Session>, SessionError> {
    let hub = config
        .get_json("connect/endpoints")
        .ok()
        .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
        .filter(|endpoints| !endpoints.is_empty())
        .map_or_else(
            || "(no --zenoh-connect endpoint)".to_owned(),
            |e| e.join(", "),
        );
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
    // A plain thread, not `spawn_blocking`: if `stop` wins, the thread is left waiting for the
    // hub, and a tokio runtime would wait for it at shutdown; the process exits regardless.
    std::thread::Builder::new()
        .name("zenoh-open".into())
        .spawn(move || {
            let _ = opened_tx.send(zenoh::Wait::wait(zenoh::open(config)));
        })
        .map_err(SessionError::Thread)?;
    let mut open = std::pin::pin!(opened_rx);
    let mut stop = std::pin::pin!(stop);
    let mut notice = std::pin::pin!(tokio::time::sleep(WAIT_NOTICE_AFTER));
    let mut waited = false;
    loop {
        tokio::select! {
            opened = &mut open => {
                let session = opened
                    .map_err(|_| SessionError::Thread(std::io::Error::other("the thread died")))?
                    .map_err(SessionError::Open)?;
                if waited {
                    tracing::info!("reached the zenoh hub at {hub}");
                }
                return Ok(Some(session));
            }
            () = &mut stop => return Ok(None),
            () = &mut notice, if !waited => {
                waited = true;
                tracing::warn!(
                    "waiting for the zenoh hub at {hub} (start zenoh-router, or rmw_zenohd; \
                     --zenoh-connect ENDPOINT names another)"
                );
            }
        }
    }
}

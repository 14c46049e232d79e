//! The node's shared status and the two queryables that expose it:
//! `<prefix>/<camera>/info` (JSON [`CameraInfo`]) and `<prefix>/<camera>/jpeg` (latest frame).
//!
//! The supervisor writes [`NodeStatus`]; the queryable task only reads it, so a slow or
//! malicious querier cannot delay capture.

use crate::frame::Frame;
use crate::info::CameraInfo;
use crate::keys::CameraKeys;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;
use zenoh::query::Query;

#[derive(Debug)]
struct Inner {
    info: CameraInfo,
    latest: Option<Frame>,
}

/// What the node currently reports about itself, shared between tasks.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    inner: Arc<Mutex<Inner>>,
}

impl NodeStatus {
    pub fn new(info: CameraInfo) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner { info, latest: None })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the info reply down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn update(&self, change: impl FnOnce(&mut CameraInfo)) {
        change(&mut self.lock().info);
    }

    pub fn info(&self) -> CameraInfo {
        self.lock().info.clone()
    }

    pub fn set_latest(&self, frame: Frame) {
        self.lock().latest = Some(frame);
    }

    pub fn latest(&self) -> Option<Frame> {
        self.lock().latest.clone()
    }
}

/// Answers info and snapshot queries until `cancel` fires.
pub async fn serve(
    session: zenoh::Session,
    keys: CameraKeys,
    status: NodeStatus,
    cancel: CancellationToken,
) -> zenoh::Result<()> {
    let info = session.declare_queryable(keys.info()).await?;
    let snapshot = session.declare_queryable(keys.jpeg()).await?;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            query = info.recv_async() => match query {
                Ok(query) => reply_info(&query, &keys, &status).await,
                Err(_) => return Ok(()),
            },
            query = snapshot.recv_async() => match query {
                Ok(query) => reply_snapshot(&query, &keys, &status).await,
                Err(_) => return Ok(()),
            },
        }
    }
}

async fn reply_info(query: &Query, keys: &CameraKeys, status: &NodeStatus) {
    let result = match serde_json::to_vec(&status.info()) {
        Ok(json) => {
            query
                .reply(keys.info(), json)
                .encoding(Encoding::APPLICATION_JSON)
                .await
        }
        Err(error) => {
            query
                .reply_err(format!("cannot serialize info: {error}"))
                .await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "info reply not sent");
    }
}

async fn reply_snapshot(query: &Query, keys: &CameraKeys, status: &NodeStatus) {
    let result = match status.latest() {
        Some(frame) => {
            query
                .reply(keys.jpeg(), frame.jpeg)
                .encoding(Encoding::IMAGE_JPEG)
                .attachment(frame.meta.encode().to_vec())
                .await
        }
        // Documented in docs/protocol.md: no frame yet means no reply, not an error.
        None => return,
    };
    if let Err(error) = result {
        tracing::debug!(%error, "snapshot reply not sent");
    }
}

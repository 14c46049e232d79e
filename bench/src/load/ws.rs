//! The load client's WebSocket side: one `/ws` socket, each binary message checked and
//! counted like an MJPEG part.

use super::{ClientStats, LoadSpec, Shared, READ_TIMEOUT};
use anyhow::{bail, Context, Result};
use camera_protocol::meta::{FrameMeta, ENCODED_LEN};
use futures::StreamExt;
use std::sync::atomic::Ordering;
use test_support::multipart::Part;
use tokio_util::sync::CancellationToken;

pub(super) async fn ws_client(
    spec: &LoadSpec,
    shared: &Shared,
    stop: &CancellationToken,
    stats: &mut ClientStats,
) -> Result<()> {
    let url = format!("ws://{}{}", spec.addr, spec.path);
    let (mut socket, _) =
        tokio::time::timeout(READ_TIMEOUT, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .context("WebSocket connect timed out")??;
    let mut first = true;
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            next = tokio::time::timeout(READ_TIMEOUT, socket.next()) => next.context("no message for 10 s")?,
        };
        let Some(message) = message else {
            bail!("server closed the WebSocket")
        };
        let tokio_tungstenite::tungstenite::Message::Binary(data) = message? else {
            continue;
        };
        let part = ws_part(&data)?;
        if first {
            first = false;
            shared.started.fetch_add(1, Ordering::Relaxed);
        }
        stats.record(&part, shared.measuring.load(Ordering::Relaxed));
    }
}

/// `[u8 id_len][id][32-byte metadata][JPEG]` (docs/http-api.md) as a part.
fn ws_part(data: &[u8]) -> Result<Part> {
    let id_len = usize::from(*data.first().context("empty WebSocket message")?);
    let meta_at = 1 + id_len;
    let jpeg_at = meta_at + ENCODED_LEN;
    if data.len() < jpeg_at {
        bail!(
            "WebSocket message of {} bytes is shorter than its header",
            data.len()
        );
    }
    let meta = FrameMeta::decode(&data[meta_at..jpeg_at])?;
    let jpeg = &data[jpeg_at..];
    Ok(Part {
        len: jpeg.len(),
        is_jpeg: camera_protocol::frame::check_complete_jpeg(jpeg).is_ok(),
        seq: Some(meta.seq),
        timestamp_ns: Some(meta.capture_ts_ns),
        gateway_ns: None,
        hash: None,
        headers: Vec::new(),
        body: None,
    })
}

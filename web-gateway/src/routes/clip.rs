//! `GET /cameras/{id}/clip.mcap[?seconds=N]`: "what just happened" — the last N seconds
//! (default and most: the clip buffer's length) of a camera as one MCAP file, as Foxglove and
//! `mcap` read it (docs/recording.md).
//!
//! The file is streamed: each piece (a 256 KiB chunk, or one larger frame) is written from the
//! clip buffer when the client has taken the previous one, so a download holds a few chunks however slowly it is
//! read; downloads at once are bounded per client and in total ([`crate::clip_slots`]), and
//! one lasts at most [`EXPORT_TIME_LIMIT`].

use super::camera;
use crate::auth::client::ClientAddress;
use crate::error::ApiError;
use crate::extract::{ApiQuery, CameraPath};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use camera_record::{ClipBuffer, ClipError};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// A download still running after this is cut (the client gets a truncated file): a slow
/// client cannot hold its slot forever. A 256 MiB clip needs 450 KB/s to make it.
pub const EXPORT_TIME_LIMIT: Duration = Duration::from_secs(600);

pub async fn clip(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    CameraPath(id): CameraPath,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["seconds"])?;
    let clips = state.clips.clone().ok_or(ApiError::ClipsOff)?;
    let length = state.config.record.clip_secs;
    let seconds = query
        .number::<u64>("seconds", 1..=length)?
        .unwrap_or(length);
    // The id must be a known camera: a clip is never made up from a path segment.
    camera(&state, &id)?;
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer.ip().to_canonical());
    let client = ClientAddress::new(&state.config.access.trusted_proxies)
        .of(peer, &headers)
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let slot = state.clip_slots.take(client)?;
    let export = match ClipBuffer::stream(clips, &id, Duration::from_secs(seconds)) {
        Ok(export) => export,
        Err(ClipError::Empty(_)) => return Err(ApiError::NoClip { camera: id }),
        Err(error) => {
            return Err(ApiError::ClipFailed {
                camera: id,
                message: error.to_string(),
            })
        }
    };
    let cut_at = Instant::now() + EXPORT_TIME_LIMIT;
    // Polled only when the connection has sent the previous piece: the client's pace is the
    // export's. The slot travels with the export and is freed when the body is dropped.
    let pieces =
        futures::stream::try_unfold((export, slot), move |(mut export, slot)| async move {
            if Instant::now() >= cut_at {
                return Err(std::io::Error::other(format!(
                    "clip download cut after {EXPORT_TIME_LIMIT:?}"
                )));
            }
            // Copying a chunk (and a frame up to max_frame_bytes) is real work: off the async workers.
            let (export, piece) = tokio::task::spawn_blocking(move || {
                let piece = export.next_piece();
                (export, piece)
            })
            .await
            .map_err(std::io::Error::other)?;
            let piece = piece.map_err(std::io::Error::other)?;
            Ok(piece.map(|bytes| (bytes, (export, slot))))
        });
    let disposition = format!("attachment; filename=\"{id}-last-{seconds}s.mcap\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(pieces),
    )
        .into_response())
}

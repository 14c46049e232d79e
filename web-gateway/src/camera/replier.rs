//! Whose answer to an info or snapshot query counts: only the camera's own session's.
//!
//! Any zenoh session can declare a queryable on `camera/front/info`. The camera is the session
//! that publishes the frames the gateway serves (`sources.rs`); while none is served yet
//! (no frame, or the node just restarted), a session that answers the info query alone is
//! taken for the camera (a node always answers it, so a stranger answering too makes it
//! ambiguous, and none is believed). Snapshots are taken only from a session known either way:
//! a node before its first frame answers no snapshot, so a lone answer proves nothing. Every reply left out is counted in
//! `gateway_replies_dropped_total{query, reason}`; sizes are bounded as replies arrive
//! (`camera_protocol::replies`). zenoh does not say which session declared a liveliness token,
//! so the token cannot name the camera (docs/security.md).

use crate::metrics::{Dropped, Metrics, Query};
use camera_protocol::info::{CameraInfo, MAX_INFO_BYTES};
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::SourceId;
use camera_protocol::replies::{gather, Answer, Body, Replies};
use camera_protocol::{Frame, FrameLimits};
use std::time::Duration;

/// An info query that gave nothing usable.
#[derive(Debug, Clone)]
pub struct InfoFailure {
    pub message: String,
    /// Some session sent a document that parsed: something answers for this camera (the
    /// camera itself, maybe, beside a stranger), so it is not a phantom.
    pub answered: bool,
}

/// The reply of the camera's session among `replies`: `owner`'s when known, else the sole
/// replier's. The others are counted as dropped.
fn choose(
    replies: Replies,
    owner: Option<SourceId>,
    query: Query,
    metrics: &Metrics,
) -> Result<Option<Answer>, String> {
    let count = |reason: Dropped, n: usize| metrics.reply_dropped(query, reason, n);
    count(Dropped::Excess, replies.excess);
    let repliers = replies.repliers();
    let camera = match owner {
        Some(owner) => Some(owner),
        None if repliers.len() > 1 => {
            count(Dropped::Ambiguous, replies.answers.len());
            return Err(format!(
                "{} zenoh sessions answered; none is believed until the camera's frames name \
                 its session",
                repliers.len()
            ));
        }
        None => None,
    };
    let mut chosen = None;
    for answer in replies.answers {
        if owner.is_some() && answer.replier != camera {
            count(Dropped::OtherSession, 1);
        } else if let Body::TooLarge(_) = answer.body {
            count(Dropped::TooLarge, 1);
            chosen.get_or_insert(answer);
        } else if chosen.is_none() {
            chosen = Some(answer);
        }
    }
    Ok(chosen)
}

/// Asks camera `keys` for its info; only its own session's answer counts.
pub async fn query_info(
    zenoh: &zenoh::Session,
    keys: &CameraKeys,
    timeout: Duration,
    owner: Option<SourceId>,
    metrics: &Metrics,
) -> Result<(CameraInfo, Option<SourceId>), InfoFailure> {
    let failed = |message: String, answered: bool| InfoFailure { message, answered };
    let replies = gather(zenoh, &keys.info(), timeout, MAX_INFO_BYTES)
        .await
        .map_err(|error| failed(format!("zenoh query failed: {error}"), false))?;
    let answered = replies.answers.iter().any(|answer| match &answer.body {
        Body::Sample(sample) => {
            CameraInfo::from_reply(keys.camera(), &sample.payload().to_bytes()).is_ok()
        }
        _ => false,
    });
    let chosen = choose(replies, owner, Query::Info, metrics)
        .map_err(|message| failed(message, answered))?;
    let Some(answer) = chosen else {
        let message = format!("no answer from the camera's session within {timeout:?}");
        return Err(failed(message, answered));
    };
    let replier = answer.replier;
    let parsed = match answer.body {
        Body::Sample(sample) => CameraInfo::from_reply(keys.camera(), &sample.payload().to_bytes())
            .map_err(|error| error.to_string()),
        Body::Error(message) => {
            return Err(failed(format!("the camera answered: {message}"), answered))
        }
        Body::TooLarge(bytes) => {
            return Err(failed(
                format!("info reply of {bytes} bytes refused (bound {MAX_INFO_BYTES})"),
                answered,
            ))
        }
    };
    let info = parsed.map_err(|message| {
        metrics.reply_dropped(Query::Info, Dropped::Invalid, 1);
        failed(message, answered)
    })?;
    Ok((info, replier))
}

/// Asks camera `keys` for its latest frame; only `owner`'s answer counts (none without one),
/// held to `limits`.
pub async fn fetch_snapshot(
    zenoh: &zenoh::Session,
    keys: &CameraKeys,
    timeout: Duration,
    owner: Option<SourceId>,
    limits: &FrameLimits,
    metrics: &Metrics,
) -> Result<Option<Frame>, String> {
    let replies = gather(zenoh, &keys.jpeg(), timeout, limits.max_frame_bytes)
        .await
        .map_err(|error| format!("zenoh query failed: {error}"))?;
    if owner.is_none() {
        metrics.reply_dropped(
            Query::Snapshot,
            Dropped::UnknownSession,
            replies.answers.len(),
        );
        return Ok(None);
    }
    match choose(replies, owner, Query::Snapshot, metrics)?.map(|answer| answer.body) {
        None => Ok(None),
        Some(Body::Sample(sample)) => {
            Frame::from_sample_with(&sample, limits)
                .map(Some)
                .map_err(|error| {
                    metrics.reply_dropped(Query::Snapshot, Dropped::Invalid, 1);
                    error.to_string()
                })
        }
        Some(Body::Error(message)) => Err(format!("the camera answered: {message}")),
        Some(Body::TooLarge(bytes)) => Err(format!("snapshot of {bytes} bytes refused")),
    }
}

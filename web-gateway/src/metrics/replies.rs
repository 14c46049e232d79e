//! `gateway_replies_dropped_total{query, reason}`: replies to the gateway's info and snapshot
//! queries left out (another session's, ambiguous, too large ...); `camera/replier.rs` decides.

use super::Metrics;
use prometheus_client::encoding::EncodeLabelSet;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReplyLabel {
    pub query: &'static str,
    pub reason: &'static str,
}

/// The `query` label of `gateway_replies_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    Info,
    Snapshot,
}

/// The `reason` label of `gateway_replies_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// From a session other than the camera's.
    OtherSession,
    /// Several sessions answered while the camera's session is unknown: none is believed.
    Ambiguous,
    /// A snapshot while the camera's session is not known yet: none is believed.
    UnknownSession,
    /// Over the size bound (info: 64 KiB; snapshot: `--max-frame-bytes`).
    TooLarge,
    /// Beyond the replies kept per query (`camera_protocol::replies::MAX_REPLIES`).
    Excess,
    /// The camera's own reply, but not a valid document or frame.
    Invalid,
}

impl Query {
    pub const ALL: [Self; 2] = [Self::Info, Self::Snapshot];

    pub fn label(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Snapshot => "snapshot",
        }
    }
}

impl Dropped {
    pub const ALL: [Self; 6] = [
        Self::OtherSession,
        Self::Ambiguous,
        Self::UnknownSession,
        Self::TooLarge,
        Self::Excess,
        Self::Invalid,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::OtherSession => "other_session",
            Self::Ambiguous => "ambiguous",
            Self::UnknownSession => "unknown_session",
            Self::TooLarge => "too_large",
            Self::Excess => "excess",
            Self::Invalid => "invalid",
        }
    }
}

impl Metrics {
    /// `n` replies to a `query` left out for `reason`.
    pub fn reply_dropped(&self, query: Query, reason: Dropped, n: usize) {
        if n > 0 {
            let label = ReplyLabel {
                query: query.label(),
                reason: reason.label(),
            };
            self.replies_dropped.get_or_create(&label).inc_by(n as u64);
        }
    }
}

/// Every series at zero from the start, so an alert on a rate sees 0, not "no data".
pub(super) fn all_labels() -> impl Iterator<Item = ReplyLabel> {
    Query::ALL.into_iter().flat_map(|query| {
        Dropped::ALL.into_iter().map(move |reason| ReplyLabel {
            query: query.label(),
            reason: reason.label(),
        })
    })
}

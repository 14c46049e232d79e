//! Every fixed label set the gateway exports as a metric `reason`, in one leaf module: the
//! metrics registry registers each value at zero from here, help texts list them from here,
//! and the modules that count (server, auth, camera) name a variant, never a string. A new
//! reason is a new variant, which the compiler makes every `match` handle.

/// Why the server ended a connection early: `gateway_clients_dropped_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No complete request head (or TLS handshake) within the header timeout.
    HeaderTimeout,
    /// No byte moved either way for the idle timeout.
    Idle,
    /// The client accepted no byte of a response for the write-stall timeout.
    WriteStall,
}

impl DropReason {
    pub const ALL: [Self; 3] = [Self::HeaderTimeout, Self::Idle, Self::WriteStall];

    pub fn label(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::Idle => "idle_timeout",
            Self::WriteStall => "write_stall",
        }
    }
}

/// Why credentials were refused: `gateway_auth_failures_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginFailure {
    /// No `Authorization` header (and no valid session cookie).
    NoCredentials,
    /// An `Authorization` header that is not readable Basic or Bearer credentials.
    Malformed,
    /// Basic credentials of an unknown user, a wrong password, or with passwords off.
    WrongPassword,
    /// A bearer token that is not configured.
    UnknownToken,
    /// No password-check slot within the wait (503): a flood of password guesses.
    Busy,
    /// Not checked (429): the address or user is in back-off, or the address already has a
    /// check running.
    Throttled,
}

impl LoginFailure {
    pub const ALL: [Self; 6] = [
        Self::NoCredentials,
        Self::Malformed,
        Self::WrongPassword,
        Self::UnknownToken,
        Self::Busy,
        Self::Throttled,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::NoCredentials => "no_credentials",
            Self::Malformed => "malformed",
            Self::WrongPassword => "wrong_password",
            Self::UnknownToken => "unknown_token",
            Self::Busy => "busy",
            Self::Throttled => "throttled",
        }
    }
}

/// Why the Host/Origin check refused a request: `gateway_requests_refused_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// `Host` names a host this gateway does not answer for (DNS rebinding): 421.
    UnknownHost,
    /// `Origin` is a foreign page (cross-site WebSocket hijacking): 403.
    ForeignOrigin,
}

impl Refusal {
    pub const ALL: [Self; 2] = [Self::UnknownHost, Self::ForeignOrigin];

    pub fn label(self) -> &'static str {
        match self {
            Self::UnknownHost => "unknown_host",
            Self::ForeignOrigin => "foreign_origin",
        }
    }
}

/// Why the gateway did not show a valid frame, beyond the protocol's own
/// `camera_protocol::DecodeError::REASONS`: `gateway_rejected_frames_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unshown {
    /// Arrived too late to be shown as live.
    Stale,
    /// Sent by another publisher than the one served.
    OtherSource,
}

impl Unshown {
    pub const ALL: [Self; 2] = [Self::Stale, Self::OtherSource];

    pub fn label(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::OtherSource => "other_source",
        }
    }
}

/// `labels` as a help text lists them: `a, b, c`.
pub fn listed(labels: impl IntoIterator<Item = &'static str>) -> String {
    labels.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_within_each_set() {
        fn distinct(labels: Vec<&'static str>) {
            let mut sorted = labels.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), labels.len(), "{labels:?}");
        }
        distinct(DropReason::ALL.map(DropReason::label).to_vec());
        distinct(LoginFailure::ALL.map(LoginFailure::label).to_vec());
        distinct(Refusal::ALL.map(Refusal::label).to_vec());
        distinct(Unshown::ALL.map(Unshown::label).to_vec());
        assert_eq!(listed(["a", "b"]), "a, b");
    }
}

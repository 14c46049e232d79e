//! Why an endpoint cannot be reached: a stable machine code (`reason`) plus a sentence for
//! people (`error`) that says what was seen and what to do. Built from socket and TLS errors
//! by the probes; the sentences name addresses and certificate names, never local file paths
//! (`/healthz` is open to anyone who reaches the gateway).

use std::fmt;
use tokio_rustls::rustls;

/// The stable codes `/healthz` reports in `reason` (docs/http-api.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Refused,
    TimedOut,
    Unreachable,
    NameNotResolved,
    ConnectFailed,
    NotTls,
    Closed,
    CertificateName,
    UnknownCa,
    CertificateExpired,
    BadCertificate,
    CertificateRefused,
    AccessDenied,
    CertificateRequired,
    TlsFailed,
    TlsConfig,
    NoSession,
    NotProbed,
}

impl Reason {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::TimedOut => "timed_out",
            Self::Unreachable => "unreachable",
            Self::NameNotResolved => "name_not_resolved",
            Self::ConnectFailed => "connect_failed",
            Self::NotTls => "not_tls",
            Self::Closed => "closed",
            Self::CertificateName => "certificate_name",
            Self::UnknownCa => "unknown_ca",
            Self::CertificateExpired => "certificate_expired",
            Self::BadCertificate => "bad_certificate",
            Self::CertificateRefused => "certificate_refused",
            Self::AccessDenied => "access_denied",
            Self::CertificateRequired => "certificate_required",
            Self::TlsFailed => "tls_failed",
            Self::TlsConfig => "tls_config",
            Self::NoSession => "no_session",
            Self::NotProbed => "not_probed",
        }
    }
}

/// One diagnosis of an unreachable endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub error: String,
}

impl Failure {
    pub fn new(reason: Reason, error: impl Into<String>) -> Self {
        Self {
            reason,
            error: error.into(),
        }
    }

    /// A failed TCP connect to `addr`.
    pub fn connect(addr: std::net::SocketAddr, error: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::ConnectionRefused => Self::new(
                Reason::Refused,
                format!("connection refused by {addr}: nothing listens on that port (is zenoh running there, and is this its port?)"),
            ),
            ErrorKind::TimedOut => Self::timed_out(addr),
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Self::new(
                Reason::Unreachable,
                format!("{addr} is unreachable ({error}): no route to it from this machine (check the network link and address)"),
            ),
            _ => Self::new(
                Reason::ConnectFailed,
                format!("cannot connect to {addr}: {error}"),
            ),
        }
    }

    pub fn timed_out(addr: std::net::SocketAddr) -> Self {
        Self::new(
            Reason::TimedOut,
            format!("timed out: {addr} did not answer (machine off, out of range, or packets dropped by a firewall)"),
        )
    }

    /// A TLS handshake or post-handshake read that failed with `error`.
    pub fn tls(host: &str, addr: std::net::SocketAddr, error: &std::io::Error) -> Self {
        let rustls_error = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(certificate)) => {
                Self::server_certificate(host, certificate)
            }
            Some(rustls::Error::AlertReceived(alert)) => Self::alert(*alert),
            Some(rustls::Error::InvalidMessage(_)) => Self::not_tls(addr),
            Some(other) => Self::new(
                Reason::TlsFailed,
                format!("TLS handshake with {addr} failed: {other}"),
            ),
            None if error.kind() == std::io::ErrorKind::UnexpectedEof => Self::new(
                Reason::Closed,
                format!("{addr} closed the connection during the TLS handshake (not a TLS endpoint, or at its connection limit?)"),
            ),
            None => Self::new(
                Reason::TlsFailed,
                format!("TLS handshake with {addr} failed: {error}"),
            ),
        }
    }

    pub fn not_tls(addr: std::net::SocketAddr) -> Self {
        Self::new(
            Reason::NotTls,
            format!("not a TLS endpoint: {addr} accepted the connection but did not answer TLS (a plain tcp/ zenoh port? use tcp/ for it, or the TLS port)"),
        )
    }

    /// Our check of the server's certificate failed.
    fn server_certificate(host: &str, error: &rustls::CertificateError) -> Self {
        use rustls::CertificateError as E;
        match error {
            E::NotValidForName => Self::new(
                Reason::CertificateName,
                format!("certificate not valid for the name {host}: the remote's certificate does not hold it (connect by a name it holds, or make it a certificate for {host} with launch/make-certs.sh)"),
            ),
            E::NotValidForNameContext { presented, .. } => Self::new(
                Reason::CertificateName,
                format!("certificate not valid for the name {host}: the remote's certificate holds only {} (connect by one of those, or make it a certificate for {host} with launch/make-certs.sh)", names(presented)),
            ),
            E::UnknownIssuer => Self::new(
                Reason::UnknownCa,
                "unknown CA: the remote's certificate is not signed by our root_ca_certificate (give the gateway the ca.pem that signed the robot's certificate)",
            ),
            E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
                Self::new(
                    Reason::CertificateExpired,
                    format!("the remote's certificate has expired or is not valid yet ({error}; check both machines' clocks)"),
                )
            }
            other => Self::new(
                Reason::BadCertificate,
                format!("the remote's certificate is not acceptable: {other}"),
            ),
        }
    }

    /// The remote ended the handshake with a fatal alert: it refused something of ours.
    fn alert(alert: rustls::AlertDescription) -> Self {
        use rustls::AlertDescription as A;
        let refused = |why: &str| {
            Self::new(
                Reason::CertificateRefused,
                format!("the robot refused our certificate: {why}"),
            )
        };
        match alert {
            A::UnknownCA => refused("unknown CA (it does not trust the CA that signed ours; give it our ca.pem, or us a certificate from its CA)"),
            A::BadCertificate | A::UnsupportedCertificate | A::CertificateUnknown => {
                refused("bad certificate (not one it accepts: wrong role, wrong CA, or no client-auth use)")
            }
            A::CertificateExpired | A::CertificateRevoked => {
                refused("certificate expired or revoked (make a new one; check both clocks)")
            }
            A::AccessDenied => Self::new(
                Reason::AccessDenied,
                "access denied: the robot accepted our certificate as valid but refuses this identity",
            ),
            A::CertificateRequired => Self::new(
                Reason::CertificateRequired,
                "the robot wants a client certificate and we sent none (set transport/link/tls enable_mtls, connect_certificate and connect_private_key)",
            ),
            other => Self::new(
                Reason::TlsFailed,
                format!("the remote ended the TLS handshake: {other:?}"),
            ),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error, self.reason.code())
    }
}

/// The names a remote certificate presents, bounded: they come off the network.
fn names(presented: &[String]) -> String {
    const MAX_NAMES: usize = 8;
    const MAX_LEN: usize = 64;
    if presented.is_empty() {
        return "no name".to_owned();
    }
    let mut shown: Vec<String> = presented
        .iter()
        .take(MAX_NAMES)
        .map(|name| bare(name).chars().take(MAX_LEN).collect())
        .collect();
    if presented.len() > MAX_NAMES {
        shown.push(format!("{} more", presented.len() - MAX_NAMES));
    }
    shown.join(", ")
}

/// `robot1` out of rustls's `DnsName("robot1")`, `10.0.0.1` out of `IpAddress(10.0.0.1)`.
fn bare(name: &str) -> &str {
    match (name.find('('), name.rfind(')')) {
        (Some(open), Some(close)) if open < close => name[open + 1..close].trim_matches('"'),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    const ADDR: &str = "127.0.0.1:7448";

    fn tls(error: rustls::Error) -> Failure {
        let io = Error::new(ErrorKind::InvalidData, error);
        Failure::tls("robot1", ADDR.parse().expect("addr"), &io)
    }

    #[test]
    fn socket_errors_map_to_their_codes() {
        let addr = ADDR.parse().expect("addr");
        let code = |kind| Failure::connect(addr, &Error::from(kind)).reason.code();
        assert_eq!(code(ErrorKind::ConnectionRefused), "refused");
        assert_eq!(code(ErrorKind::TimedOut), "timed_out");
        assert_eq!(code(ErrorKind::HostUnreachable), "unreachable");
        assert_eq!(code(ErrorKind::PermissionDenied), "connect_failed");
    }

    #[test]
    fn certificate_errors_say_what_to_fix() {
        let name = tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForNameContext {
                expected: rustls::pki_types::ServerName::try_from("robot1")
                    .expect("name")
                    .to_owned(),
                presented: vec!["DnsName(\"robot2\")".into(), "x".repeat(500)],
            },
        ));
        assert_eq!(name.reason, Reason::CertificateName);
        assert!(name
            .error
            .starts_with("certificate not valid for the name robot1"));
        assert!(name.error.contains("only robot2, xxx"), "{name}");
        assert!(name.error.len() < 400, "{name}");
        let ca = tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(ca.reason == Reason::UnknownCa && ca.error.starts_with("unknown CA"));
        let refused = tls(rustls::Error::AlertReceived(
            rustls::AlertDescription::BadCertificate,
        ));
        assert_eq!(refused.reason.code(), "certificate_refused");
        assert!(refused.error.contains("bad certificate"), "{refused}");
        let denied = tls(rustls::Error::AlertReceived(
            rustls::AlertDescription::AccessDenied,
        ));
        assert!(denied.error.starts_with("access denied"), "{denied}");
    }
}

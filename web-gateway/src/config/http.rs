//! `[http]`: connection limits and optional HTTPS (docs/security.md).

use robot_cli::settings::{defaults, Invalid};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a connection may wait or stall, and the TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Longest wait for a request's headers, from the connection's start or the end of the
    /// previous response: an idle keep-alive connection is closed after this too. Also bounds
    /// the TLS handshake.
    #[arg(
        id = "http.header_timeout_ms",
        long = "header-timeout-ms",
        value_name = "MS",
        default_value_t = 10_000
    )]
    pub header_timeout_ms: u64,
    /// A connection on which no byte moves either way for this long is closed (a silent
    /// upgraded WebSocket, a request body that never comes).
    #[arg(
        id = "http.idle_timeout_ms",
        long = "idle-timeout-ms",
        value_name = "MS",
        default_value_t = 120_000
    )]
    pub idle_timeout_ms: u64,
    /// A client that accepts no byte of a response (stream, WebSocket, snapshot) for this long
    /// is dropped and its max_clients slot freed (gateway_clients_dropped_total{reason="write_stall"}).
    #[arg(
        id = "http.write_stall_timeout_ms",
        long = "write-stall-timeout-ms",
        value_name = "MS",
        default_value_t = 30_000
    )]
    pub write_stall_timeout_ms: u64,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key); plain HTTP when unset.
    #[arg(id = "http.tls_cert", long = "tls-cert", value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(id = "http.tls_key", long = "tls-key", value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        defaults()
    }
}

impl HttpConfig {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn write_stall_timeout(&self) -> Duration {
        Duration::from_millis(self.write_stall_timeout_ms)
    }

    /// The certificate and key paths when HTTPS is on.
    pub fn tls(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        // The example in the message is the default, from the one declaration above.
        let default = Self::default();
        for (key, value, example) in [
            (
                "http.header_timeout_ms",
                self.header_timeout_ms,
                default.header_timeout_ms,
            ),
            (
                "http.idle_timeout_ms",
                self.idle_timeout_ms,
                default.idle_timeout_ms,
            ),
            (
                "http.write_stall_timeout_ms",
                self.write_stall_timeout_ms,
                default.write_stall_timeout_ms,
            ),
        ] {
            if value == 0 {
                let fix = format!("use a value above 0 (e.g. {key} = {example})");
                return Err(Invalid::new(key, value, fix));
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => Err(Invalid::new(
                "http.tls_key",
                "unset",
                "HTTPS needs both: pass --tls-key PATH with --tls-cert (or neither for HTTP)",
            )),
            (None, Some(_)) => Err(Invalid::new(
                "http.tls_cert",
                "unset",
                "HTTPS needs both: pass --tls-cert PATH with --tls-key (or neither for HTTP)",
            )),
            _ => Ok(()),
        }
    }

    /// Relative paths in a config file mean next to the file.
    pub(super) fn relative_to(&mut self, base: &Path) {
        for path in [&mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

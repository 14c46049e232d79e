//! `[access]`: who may use the gateway — the Host and Origin allow-lists and authentication
//! (docs/security.md). Parsing and validation only; the `auth` module loads the files.

use robot_cli::settings::{defaults, Invalid};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Host names, origins, passwords and tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// Also accept requests for this host name, e.g. robot.example.com (repeatable). Always
    /// accepted: IP addresses, localhost, and this machine's host name (+ .local); other names
    /// get 421, which stops DNS-rebinding pages.
    #[arg(id = "access.hosts", long = "allow-host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Also accept WebSocket and API requests from pages of this origin, e.g.
    /// https://dashboard.example:8443 (repeatable). Pages of other sites get 403.
    #[arg(id = "access.origins", long = "allow-origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// htpasswd file of bcrypt entries (`web-gateway passwd FILE USER` or `htpasswd -B`
    /// writes one): turns on HTTP Basic authentication.
    #[arg(id = "access.auth_file", long = "auth-file", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// File of bearer tokens for scripts and machines, one per line (at least 16 characters):
    /// turns on authentication.
    #[arg(id = "access.token_file", long = "token-file", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Bearer tokens, comma-separated; prefer GATEWAY_TOKENS or --token-file, since a flag
    /// shows in `ps`. Turns on authentication.
    #[arg(
        id = "access.tokens",
        long = "token",
        value_name = "TOKEN",
        env = "GATEWAY_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub tokens: Vec<String>,
    /// Whether GET /metrics needs authentication when it is on: `auth` (yes) or `open`
    /// (for a Prometheus scraper without credentials).
    #[arg(
        id = "access.metrics",
        long = "metrics-access",
        value_name = "MODE",
        value_enum,
        default_value_t = MetricsAccess::Auth
    )]
    pub metrics: MetricsAccess,
    /// Address of a reverse proxy in front of the gateway, e.g. 127.0.0.1 (repeatable, or
    /// comma-separated): for its requests, the client named in X-Forwarded-For is the peer
    /// logged for failed logins and refusals, and the one the login limits hold back. Never
    /// list an address that
    /// untrusted clients connect from.
    #[arg(
        id = "access.trusted_proxies",
        long = "trusted-proxy",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Whether `/metrics` is behind authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum MetricsAccess {
    /// Like every other endpoint: credentials needed when authentication is on.
    Auth,
    /// Open to anyone who can reach the gateway (it lists camera ids and rates).
    Open,
}

impl Default for AccessConfig {
    fn default() -> Self {
        defaults()
    }
}

impl AccessConfig {
    /// Whether any credential source is configured (then every request needs one).
    pub fn auth_enabled(&self) -> bool {
        self.auth_file.is_some() || self.token_file.is_some() || !self.tokens.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        for host in &self.hosts {
            let plain = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !plain {
                return Err(Invalid::new(
                    "access.hosts",
                    format!("{host:?}"),
                    "give a bare host name without scheme, port or path (e.g. --allow-host robot.example.com)",
                ));
            }
        }
        for origin in &self.origins {
            if super::origin::parse_origin(origin).is_none() {
                return Err(Invalid::new(
                    "access.origins",
                    format!("{origin:?}"),
                    "give scheme://host[:port] without a path (e.g. --allow-origin http://dashboard.local:3000)",
                ));
            }
        }
        if let Some(short) = self.tokens.iter().find(|token| token.len() < MIN_TOKEN_LEN) {
            return Err(Invalid::new(
                "access.tokens",
                format!("a token of {} characters", short.len()),
                format!(
                    "use tokens of at least {MIN_TOKEN_LEN} characters (e.g. `head -c 24 /dev/urandom | base64`)"
                ),
            ));
        }
        Ok(())
    }

    /// Relative files in a config file mean next to the file.
    pub(super) fn relative_to(&mut self, base: &Path) {
        for file in [&mut self.auth_file, &mut self.token_file]
            .into_iter()
            .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }
}

/// Shortest bearer token accepted: guessing must stay hopeless.
pub const MIN_TOKEN_LEN: usize = 16;

//! Gateway configuration: a TOML file (`--config`) overridden by command-line flags.
//!
//! Owns parsing and validation only; nothing here opens sockets. Unknown TOML keys are
//! rejected so that a typo (`max_client = 10`) is reported instead of silently ignored.

use camera_node::zenoh_config::ZenohSettings;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Command-line flags; each one overrides the same setting from the config file.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    name = "web-gateway",
    version,
    about = "Serves every camera on zenoh as MJPEG, WebSocket, snapshots and a web page over HTTP."
)]
pub struct Flags {
    /// TOML config file (see config/web-gateway.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTP listen address [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long = "listen", id = "http_listen", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Key prefix the cameras publish under [default: camera].
    #[arg(long)]
    pub prefix: Option<String>,
    /// Most concurrent stream/WebSocket clients; more get 503 [default: 64].
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,
    /// A camera without frames for this long is shown offline and streams get NO SIGNAL [default: 3000].
    #[arg(long, value_name = "MS")]
    pub offline_after_ms: Option<u64>,
    /// A camera offline and unwatched for this long is removed from the gateway (list,
    /// metrics); it comes back when its node does [default: 600000].
    #[arg(long, value_name = "MS")]
    pub forget_after_ms: Option<u64>,
    /// When to receive a camera's frames [default: always]. `always`: one subscriber on every
    /// camera, so streams start instantly and /api/cameras shows fps for all, but a camera
    /// node with `on_demand = true` never pauses. `while-watched`: subscribe to a camera only
    /// while a client streams it (and 2 s after), so on-demand cameras idle and save power
    /// while nobody watches; a new viewer waits for the camera to resume.
    #[arg(long, value_name = "MODE")]
    pub subscribe: Option<SubscribeMode>,
    #[command(flatten)]
    pub zenoh: ZenohSettings,
}

/// The settings the gateway runs with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub prefix: String,
    pub max_clients: usize,
    pub offline_after_ms: u64,
    /// A camera offline and unwatched this long is forgotten (its list entry and metrics go).
    pub forget_after_ms: u64,
    /// How often an offline camera's NO SIGNAL picture is re-sent to open streams.
    pub no_signal_interval_ms: u64,
    /// Longest wait of `snapshot.jpg?after_seq=N` before 504.
    pub snapshot_wait_ms: u64,
    /// Timeout of the info query sent to each discovered camera.
    pub info_timeout_ms: u64,
    pub subscribe: SubscribeMode,
    pub zenoh: ZenohSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            prefix: camera_node::keys::DEFAULT_PREFIX.to_owned(),
            max_clients: 64,
            offline_after_ms: 3000,
            forget_after_ms: 600_000,
            no_signal_interval_ms: 2000,
            snapshot_wait_ms: 5000,
            info_timeout_ms: 1000,
            subscribe: SubscribeMode::Always,
            zenoh: ZenohSettings::default(),
        }
    }
}

/// When the gateway receives a camera's frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SubscribeMode {
    /// One wildcard subscriber on every camera's frames, all the time.
    #[default]
    Always,
    /// A camera's frames only while a client watches it, so on-demand cameras can pause.
    WhileWatched,
}

/// A configuration that cannot be used, with what to change.
#[derive(Debug, Error)]
pub enum ConfigError {
    // `error`, not `source`: the message already includes it, anyhow would print it twice.
    #[error("cannot read config file {path}: {error} (pass an existing TOML file, e.g. config/web-gateway.toml)")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl Config {
    /// Reads the file named by `--config` (if any), then applies the flags and validates.
    pub fn load(flags: &Flags) -> Result<Self, ConfigError> {
        let base = match &flags.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        base.with_flags(flags)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let mut config: Self = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            config.zenoh.resolve_relative_to(dir);
        }
        Ok(config)
    }

    /// Applies flags over `self` and checks every value.
    pub fn with_flags(mut self, flags: &Flags) -> Result<Self, ConfigError> {
        if let Some(listen) = flags.listen {
            self.listen = listen;
        }
        if let Some(prefix) = &flags.prefix {
            self.prefix.clone_from(prefix);
        }
        if let Some(max) = flags.max_clients {
            self.max_clients = max;
        }
        if let Some(ms) = flags.offline_after_ms {
            self.offline_after_ms = ms;
        }
        if let Some(ms) = flags.forget_after_ms {
            self.forget_after_ms = ms;
        }
        if let Some(mode) = flags.subscribe {
            self.subscribe = mode;
        }
        self.zenoh = flags.zenoh.clone().or(&self.zenoh);
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        camera_node::keys::validate_prefix(&self.prefix).map_err(|error| ConfigError::Invalid {
            field: "prefix",
            message: error.to_string(),
        })?;
        let positive = [
            ("max_clients", self.max_clients as u64, "e.g. 64"),
            ("offline_after_ms", self.offline_after_ms, "e.g. 3000"),
            ("forget_after_ms", self.forget_after_ms, "e.g. 600000"),
            (
                "no_signal_interval_ms",
                self.no_signal_interval_ms,
                "e.g. 2000",
            ),
            ("snapshot_wait_ms", self.snapshot_wait_ms, "e.g. 5000"),
            ("info_timeout_ms", self.info_timeout_ms, "e.g. 1000"),
        ];
        for (field, value, example) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    field,
                    message: format!("must be greater than 0 ({example})"),
                });
            }
        }
        Ok(())
    }

    pub fn offline_after(&self) -> Duration {
        Duration::from_millis(self.offline_after_ms)
    }

    pub fn forget_after(&self) -> Duration {
        Duration::from_millis(self.forget_after_ms)
    }

    pub fn no_signal_interval(&self) -> Duration {
        Duration::from_millis(self.no_signal_interval_ms)
    }

    pub fn snapshot_wait(&self) -> Duration {
        Duration::from_millis(self.snapshot_wait_ms)
    }

    pub fn info_timeout(&self) -> Duration {
        Duration::from_millis(self.info_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_override_the_file() {
        let file: Config = toml::from_str("prefix = \"robot1/camera\"\nmax_clients = 5\n[zenoh]\nconnect = [\"tcp/10.0.0.2:7447\"]\n")
            .expect("valid toml");
        let flags = Flags::parse_from([
            "web-gateway",
            "--max-clients",
            "9",
            "--listen",
            "127.0.0.1:9000",
        ]);
        let config = file.with_flags(&flags).expect("valid");
        assert_eq!(config.prefix, "robot1/camera");
        assert_eq!(config.max_clients, 9);
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.zenoh.connect, vec!["tcp/10.0.0.2:7447".to_owned()]);
        assert_eq!(config.subscribe, SubscribeMode::Always);
    }

    #[test]
    fn subscribe_mode_from_file_and_flag() {
        let file: Config = toml::from_str("subscribe = \"while_watched\"").expect("valid toml");
        assert_eq!(file.subscribe, SubscribeMode::WhileWatched);
        let flags = Flags::parse_from(["web-gateway", "--subscribe", "always"]);
        let config = file.with_flags(&flags).expect("valid");
        assert_eq!(config.subscribe, SubscribeMode::Always);
        let flags = Flags::parse_from(["web-gateway", "--subscribe", "while-watched"]);
        let config = Config::default().with_flags(&flags).expect("valid");
        assert_eq!(config.subscribe, SubscribeMode::WhileWatched);
        assert!(toml::from_str::<Config>("subscribe = \"sometimes\"").is_err());
    }

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Flags::command().debug_assert();
    }

    #[test]
    fn errors_name_the_field() {
        let unknown = toml::from_str::<Config>("max_client = 3").expect_err("typo accepted");
        assert!(unknown.to_string().contains("max_client"), "{unknown}");
        let flags = Flags::parse_from(["web-gateway", "--prefix", "a/*"]);
        let error = Config::default()
            .with_flags(&flags)
            .expect_err("wildcard prefix accepted");
        assert!(error.to_string().contains("`prefix`"), "{error}");
        let flags = Flags::parse_from(["web-gateway", "--max-clients", "0"]);
        let error = Config::default()
            .with_flags(&flags)
            .expect_err("zero accepted");
        assert!(error.to_string().contains("max_clients"), "{error}");
    }

    #[test]
    fn example_file_parses() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/web-gateway.toml");
        let config = Config::from_file(&path).expect("example config");
        assert_eq!(config, Config::default());
    }
}

//! Gateway settings: defaults < TOML file (`--config`) < `GATEWAY_<KEY>` < flags.
//!
//! Each setting is declared once below: its doc comment is the `--help` text, its `#[arg]` the
//! flag and the one default (the layer is `robot_cli::settings`). Owns parsing and
//! validation only; nothing here opens sockets. Unknown TOML keys are rejected so that a typo
//! (`max_client = 10`) is reported instead of silently ignored.

use camera_protocol::keys::PrefixSet;
use camera_protocol::FrameLimits;
use robot_cli::settings::{self, defaults, Invalid, Invocation, Settings, SettingsError};
use robot_cli::zenoh_config::ZenohSettings;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod access;
mod foxglove;
mod http;
pub mod origin;
pub mod passwd;
mod prefix;
mod record;
mod ros2;
mod variants;
pub use access::{AccessConfig, MetricsAccess, MIN_TOKEN_LEN};
pub use foxglove::FoxgloveConfig;
pub use http::HttpConfig;
pub use record::{ClipState, RecordConfig};
pub use ros2::Ros2Topics;
pub use variants::VariantsConfig;

/// The `web-gateway` command line: `--config` and every setting of [`Config`].
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "web-gateway",
    version,
    about = "Serves every camera on zenoh as MJPEG, WebSocket, snapshots and a web page over HTTP.",
    after_help = "Every setting is also a TOML key (--config, see config/web-gateway.toml) and an \
environment variable GATEWAY_<KEY>, a table's keys with the table's name: GATEWAY_HTTP_<KEY>, \
GATEWAY_ACCESS_<KEY>, GATEWAY_RECORD_<KEY>, GATEWAY_FOXGLOVE_<KEY>, GATEWAY_ROS2_<KEY>, \
GATEWAY_ZENOH_<KEY> (each flag's [env: ...] names its own). Flags beat the environment, which \
beats the file."
)]
pub struct Flags {
    /// TOML config file (see config/web-gateway.toml).
    #[arg(id = "config", long = "config", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Config,
    /// A helper instead of serving (`web-gateway passwd FILE USER`).
    #[command(subcommand)]
    pub command: Option<passwd::Command>,
}

impl Invocation for Flags {
    type Settings = Config;
    const ENV_PREFIX: &'static str = "GATEWAY_";

    fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    fn settings_mut(&mut self) -> &mut Config {
        &mut self.settings
    }
}

/// The settings the gateway runs with (the TOML file's top level).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address; port 0 picks a free port. 0.0.0.0 serves the LAN.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Key prefix the cameras publish under. Repeat it (or comma-separate; TOML: a list) to
    /// watch several; `*` stands for one whole segment (`*/camera`: every robot's cameras).
    /// With one plain prefix, ids are the camera names (`front`); otherwise they name the
    /// robot too (`robot1.camera.front`).
    #[arg(
        long,
        value_name = "P",
        default_value = camera_protocol::keys::DEFAULT_PREFIX,
        value_delimiter = ','
    )]
    #[serde(deserialize_with = "prefix::one_or_many")]
    pub prefix: Vec<String>,
    /// Most concurrent stream/WebSocket clients; more get 503.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_clients: usize,
    /// Most cameras the gateway keeps (list, tasks, metrics series). A new camera beyond it
    /// evicts the offline, unwatched camera seen longest ago; when every camera is online or
    /// watched, the new one is refused (gateway_cameras_refused_total) and admitted once a
    /// slot frees, so junk liveliness tokens cannot grow the gateway without bound.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_cameras: usize,
    /// Largest frame payload accepted from zenoh; bigger samples are rejected before they are
    /// copied (gateway_rejected_frames_total{reason="too_large"}). zenoh itself drops a
    /// message over twice this plus 1 MiB while it arrives, before it is whole in memory
    /// (unless the zenoh config sets transport/link/rx/max_message_size).
    #[arg(long, value_name = "BYTES", default_value_t = FrameLimits::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,
    /// Largest frame width accepted; the JPEG header must also match the attachment's size.
    #[arg(long, value_name = "PIXELS", default_value_t = FrameLimits::DEFAULT_MAX_DIMENSION)]
    pub max_frame_width: u32,
    /// Largest frame height accepted.
    #[arg(long, value_name = "PIXELS", default_value_t = FrameLimits::DEFAULT_MAX_DIMENSION)]
    pub max_frame_height: u32,
    /// A camera without frames for this long is shown offline and streams get NO SIGNAL.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub offline_after_ms: u64,
    /// A frame captured more than this before the camera's newest (by the camera's clock) is
    /// dropped, not served: frames held back on the link during a short cut are not replayed
    /// as live (gateway_rejected_frames_total{reason="stale"}).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub max_frame_lag_ms: u64,
    /// A camera offline and unwatched for this long is removed from the gateway (list,
    /// metrics); it comes back when its node does.
    #[arg(long, value_name = "MS", default_value_t = 600_000)]
    pub forget_after_ms: u64,
    /// How often an offline camera's NO SIGNAL picture is re-sent to open streams.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub no_signal_interval_ms: u64,
    /// Longest wait of `snapshot.jpg?after_seq=N` before 504.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub snapshot_wait_ms: u64,
    /// Timeout of the info query sent to each discovered camera.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub info_timeout_ms: u64,
    /// When to receive a camera's frames. `always`: one subscriber on every camera, so streams
    /// start instantly and /api/cameras shows fps for all, but a camera node with
    /// `on_demand = true` never pauses. `while-watched`: subscribe to a camera only while a
    /// client streams it (and 2 s after), so on-demand cameras idle and save power while
    /// nobody watches; a new viewer waits for the camera to resume. --record counts as a
    /// viewer of every camera (recording needs the frames), so with it cameras never idle.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = SubscribeMode::Always)]
    pub subscribe: SubscribeMode,
    #[command(
        flatten,
        next_help_heading = "Connections and HTTPS ([http], docs/security.md)"
    )]
    pub http: HttpConfig,
    #[command(
        flatten,
        next_help_heading = "Variants the gateway encodes ([variants], docs/http-api.md)"
    )]
    pub variants: VariantsConfig,
    #[command(flatten, next_help_heading = "ROS 2 cameras ([ros2], docs/ros2.md)")]
    pub ros2: Ros2Topics,
    #[command(
        flatten,
        next_help_heading = "Recording and clips ([record], docs/recording.md)"
    )]
    pub record: RecordConfig,
    #[command(
        flatten,
        next_help_heading = "Foxglove live view ([foxglove], docs/recording.md)"
    )]
    pub foxglove: FoxgloveConfig,
    #[command(
        flatten,
        next_help_heading = "Access: host names, origins, authentication ([access], docs/security.md)"
    )]
    pub access: AccessConfig,
    #[command(flatten, next_help_heading = "zenoh ([zenoh])")]
    pub zenoh: ZenohSettings,
}

impl Default for Config {
    /// What the `#[arg]` attributes declare, so the two cannot drift.
    fn default() -> Self {
        defaults()
    }
}

/// When the gateway receives a camera's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SubscribeMode {
    /// Every camera's frames, all the time (one subscriber per camera).
    Always,
    /// A camera's frames only while a client watches it or --record records it, so
    /// on-demand cameras can pause.
    // Both spellings everywhere: the file's snake_case also works as a flag, and back.
    #[serde(alias = "while-watched")]
    #[value(alias = "while_watched")]
    WhileWatched,
}

impl Settings for Config {
    fn validate(&self) -> Result<(), Invalid> {
        prefix::validate(&self.prefix)?;
        let positive = [
            ("max_clients", self.max_clients as u64, 512),
            ("max_cameras", self.max_cameras as u64, 256),
            ("max_frame_bytes", self.max_frame_bytes as u64, 8_388_608),
            ("max_frame_width", u64::from(self.max_frame_width), 8192),
            ("max_frame_height", u64::from(self.max_frame_height), 8192),
            ("offline_after_ms", self.offline_after_ms, 3000),
            ("max_frame_lag_ms", self.max_frame_lag_ms, 1000),
            ("forget_after_ms", self.forget_after_ms, 600_000),
            ("no_signal_interval_ms", self.no_signal_interval_ms, 2000),
            ("snapshot_wait_ms", self.snapshot_wait_ms, 5000),
            ("info_timeout_ms", self.info_timeout_ms, 1000),
        ];
        for (key, value, example) in positive {
            if value == 0 {
                let fix = format!("use a value above 0 (e.g. {key} = {example})");
                return Err(Invalid::new(key, value, fix));
            }
        }
        let jpeg_max = camera_protocol::meta::MAX_DIMENSION;
        for (key, value) in [
            ("max_frame_width", self.max_frame_width),
            ("max_frame_height", self.max_frame_height),
        ] {
            if value > jpeg_max {
                let fix = format!("JPEG stops at {jpeg_max} (e.g. {key} = 8192)");
                return Err(Invalid::new(key, value, fix));
            }
        }
        self.ros2.validate()?;
        self.http.validate()?;
        self.access.validate()?;
        self.record.validate()
    }

    fn relative_to(&mut self, dir: &Path) {
        self.zenoh.resolve_relative_to(dir);
        self.record.relative_to(dir);
        self.http.relative_to(dir);
        self.access.relative_to(dir);
    }
}

impl Config {
    /// Whether the clip buffer runs under these settings, and why not.
    pub fn clip_state(&self) -> ClipState {
        self.record.clip_state(self.subscribe)
    }

    /// Loads from explicit arguments (the first is the program name), the file they name and
    /// the environment, as the binary does; for tests and embedding.
    pub fn from_args<A, T>(args: A) -> Result<Self, SettingsError>
    where
        A: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        settings::try_load_from::<Flags, _, _>(args).map(|flags| flags.settings)
    }

    /// The prefixes watched, which also name the cameras ([`PrefixSet::name`]). A config
    /// that skipped validation and holds a bad prefix watches the default one, and says so.
    pub fn prefixes(&self) -> PrefixSet {
        prefix::validate(&self.prefix).unwrap_or_else(|invalid| {
            tracing::error!(%invalid, "watching the default prefix instead");
            PrefixSet::default()
        })
    }

    /// What a received frame must satisfy before it is kept, served or decoded.
    pub fn frame_limits(&self) -> FrameLimits {
        FrameLimits {
            max_frame_bytes: self.max_frame_bytes,
            max_width: self.max_frame_width,
            max_height: self.max_frame_height,
        }
    }

    /// The largest zenoh message to reassemble: frames a little over `max_frame_bytes` still
    /// arrive to be refused and counted (a camera set up wrong shows in the metrics), absurd
    /// sizes never take memory.
    pub fn zenoh_message_bound(&self) -> usize {
        self.max_frame_bytes
            .saturating_mul(2)
            .saturating_add(1 << 20)
    }

    pub fn offline_after(&self) -> Duration {
        Duration::from_millis(self.offline_after_ms)
    }

    pub fn max_frame_lag(&self) -> Duration {
        Duration::from_millis(self.max_frame_lag_ms)
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
mod tests;

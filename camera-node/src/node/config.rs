//! The node's settings: one struct for the TOML file, the environment and the flags.
//!
//! Each field's doc comment is its `--help` text and its `#[arg]` its one default (see
//! `robot_cli::settings` for the layering and env names); `[table]` fields use dotted ids. Owns
//! validation; does not build pipelines (`source.rs`) or zenoh configs (`zenoh_config.rs`).
//! Errors are one line naming the key and the fix, because a robot operator reads them in
//! `journalctl`, not in a debugger.

use super::ros2::Ros2Options;
use super::variant_config::{self, Resolved, VariantConfig};
use camera_protocol::keys::{self, DEFAULT_PREFIX};
use robot_cli::settings::{defaults, Invalid, Settings};
use robot_cli::zenoh_config::ZenohSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which capture source to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// argus if nvarguscamerasrc exists, else v4l2 if /dev/video0 exists, else test.
    Auto,
    /// Jetson CSI camera through nvarguscamerasrc and the hardware JPEG encoder.
    Argus,
    /// USB/V4L2 camera; the camera's own MJPEG is passed through when it offers the size.
    V4l2,
    /// videotestsrc moving pattern: runs anywhere, no camera needed.
    Test,
    /// Your own launch string ending in `appsink name=sink`, producing image/jpeg.
    Pipeline,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Auto => "auto",
            SourceKind::Argus => "argus",
            SourceKind::V4l2 => "v4l2",
            SourceKind::Test => "test",
            SourceKind::Pipeline => "pipeline",
        }
    }
}

/// zenoh priority of frame samples (`priority = "data"` in TOML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum FramePriority {
    RealTime,
    InteractiveHigh,
    InteractiveLow,
    DataHigh,
    Data,
    DataLow,
    Background,
}

impl From<FramePriority> for zenoh::qos::Priority {
    fn from(priority: FramePriority) -> Self {
        use zenoh::qos::Priority as P;
        match priority {
            FramePriority::RealTime => P::RealTime,
            FramePriority::InteractiveHigh => P::InteractiveHigh,
            FramePriority::InteractiveLow => P::InteractiveLow,
            FramePriority::DataHigh => P::DataHigh,
            FramePriority::Data => P::Data,
            FramePriority::DataLow => P::DataLow,
            FramePriority::Background => P::Background,
        }
    }
}

/// The whole node configuration (the TOML file's top level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Camera id, the key segment after the prefix.
    #[arg(long, value_name = "ID", default_value = "front")]
    pub camera: String,
    /// Key prefix, e.g. robot1/camera.
    #[arg(long, value_name = "P", default_value = DEFAULT_PREFIX)]
    pub prefix: String,
    /// Capture source.
    #[arg(long, value_enum, default_value_t = SourceKind::Auto)]
    pub source: SourceKind,
    /// Published frame width in pixels.
    #[arg(long, value_name = "W", default_value_t = 640)]
    pub width: u32,
    /// Published frame height in pixels.
    #[arg(long, value_name = "H", default_value_t = 480)]
    pub height: u32,
    /// Frames per second.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub fps: u32,
    /// JPEG quality 1-100 when this node encodes (ignored for camera MJPEG passthrough).
    #[arg(long, value_name = "Q", default_value_t = 85)]
    pub quality: u32,
    /// Pause capture while nobody subscribes to the frames (saves power).
    #[arg(long)]
    pub on_demand: bool,
    /// zenoh priority of frame samples.
    #[arg(long, value_enum, default_value_t = FramePriority::Data)]
    pub priority: FramePriority,
    /// Camera loss (restart) when no frame arrives for this many frame intervals (at least 1 s).
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub stall_frames: u32,
    #[command(flatten, next_help_heading = "Test source ([test])")]
    pub test: TestOptions,
    #[command(flatten, next_help_heading = "V4L2 source ([v4l2])")]
    pub v4l2: V4l2Options,
    #[command(flatten, next_help_heading = "Argus source ([argus])")]
    pub argus: ArgusOptions,
    #[command(flatten, next_help_heading = "Own pipeline ([pipeline])")]
    pub pipeline: PipelineOptions,
    #[command(
        flatten,
        next_help_heading = "ROS 2 on rmw_zenoh ([ros2], docs/ros2.md)"
    )]
    pub ros2: Ros2Options,
    #[command(flatten, next_help_heading = "zenoh ([zenoh])")]
    pub zenoh: ZenohSettings,
    /// `[[variants]]`: more streams encoded in the capture pipeline, JPEG (`codec = "jpeg"`,
    /// node/variants.rs) or H.264 (`codec = "h264"`, node/video.rs); TOML only, a list of
    /// tables has no flag (the `--help` footer describes its keys).
    #[arg(skip)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantConfig>,
}

/// `[test]`: the videotestsrc source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct TestOptions {
    /// videotestsrc pattern for --source test: "ball" (moving), "smpte", "snow", ...
    #[arg(
        id = "test.pattern",
        long = "pattern",
        value_name = "NAME",
        default_value = "ball"
    )]
    pub pattern: String,
}

/// `[v4l2]`: USB cameras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct V4l2Options {
    /// V4L2 device for --source v4l2.
    #[arg(
        id = "v4l2.device",
        long = "device",
        value_name = "/dev/videoN",
        default_value = "/dev/video0"
    )]
    pub device: PathBuf,
}

/// `[argus]`: Jetson CSI cameras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ArgusOptions {
    /// Argus sensor id for --source argus.
    #[arg(
        id = "argus.sensor_id",
        long = "sensor-id",
        value_name = "N",
        default_value_t = 0
    )]
    pub sensor_id: u32,
    /// Sensor mode width to request [default: the published width].
    #[arg(id = "argus.capture_width", long = "capture-width", value_name = "W")]
    pub capture_width: Option<u32>,
    /// Sensor mode height to request [default: the published height].
    #[arg(id = "argus.capture_height", long = "capture-height", value_name = "H")]
    pub capture_height: Option<u32>,
    /// Sensor mode rate to request [default: the published fps].
    #[arg(id = "argus.capture_fps", long = "capture-fps", value_name = "N")]
    pub capture_fps: Option<u32>,
    /// nvvidconv flip-method 0-7 (0 none, 2 rotate 180, 4 horizontal flip, 6 vertical flip).
    #[arg(
        id = "argus.flip_method",
        long = "flip-method",
        value_name = "M",
        default_value_t = 0
    )]
    pub flip_method: u32,
}

/// `[pipeline]`: a user-supplied launch string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineOptions {
    /// Launch string for --source pipeline, ending in `appsink name=sink` (image/jpeg).
    #[arg(id = "pipeline.launch", long = "pipeline", value_name = "LAUNCH")]
    pub launch: Option<String>,
}

/// `Default` is what the `#[arg]` attributes declare, so the two cannot drift.
macro_rules! defaults_from_args {
    ($($settings:ty),*) => {$(
        impl Default for $settings {
            fn default() -> Self {
                defaults()
            }
        }
    )*};
}

defaults_from_args!(
    NodeConfig,
    TestOptions,
    V4l2Options,
    ArgusOptions,
    PipelineOptions
);

fn invalid(key: &'static str, value: impl ToString, fix: impl Into<String>) -> Invalid {
    Invalid::new(key, value, fix)
}

impl NodeConfig {
    /// The `[[variants]]` resolved against the frame size (validated with the rest).
    pub fn variants(&self) -> Result<Resolved, Invalid> {
        variant_config::resolve_all(&self.variants, self.width, self.height, self.fps)
            .map_err(|(key, value, fix)| invalid(key, value, fix))
    }
}

impl Settings for NodeConfig {
    fn relative_to(&mut self, dir: &Path) {
        self.zenoh.resolve_relative_to(dir);
        self.ros2.relative_to(dir);
    }

    fn validate(&self) -> Result<(), Invalid> {
        if keys::validate_camera_id(&self.camera).is_err() {
            return Err(invalid(
                "camera",
                format!("{:?}", self.camera),
                "use 1-64 characters from A-Z a-z 0-9 _ - (e.g. camera = \"front\")",
            ));
        }
        if keys::validate_prefix(&self.prefix).is_err() {
            return Err(invalid(
                "prefix",
                format!("{:?}", self.prefix),
                "use '/'-separated segments of A-Z a-z 0-9 _ - (e.g. prefix = \"robot1/camera\")",
            ));
        }
        for (field, value) in [("width", self.width), ("height", self.height)] {
            if !(16..=8192).contains(&value) {
                return Err(invalid(field, value, "use 16..=8192 pixels (e.g. 640x480)"));
            }
        }
        if !(1..=240).contains(&self.fps) {
            return Err(invalid("fps", self.fps, "use 1..=240 (e.g. fps = 30)"));
        }
        if !(1..=100).contains(&self.quality) {
            return Err(invalid(
                "quality",
                self.quality,
                "use 1..=100 (e.g. quality = 85)",
            ));
        }
        if self.stall_frames == 0 {
            return Err(invalid(
                "stall_frames",
                0,
                "use at least 1 (e.g. stall_frames = 60)",
            ));
        }
        if self.argus.flip_method > 7 {
            return Err(invalid(
                "argus.flip_method",
                self.argus.flip_method,
                "use 0..=7 (0 none, 2 rotate 180, 4 horizontal flip, 6 vertical flip)",
            ));
        }
        let pattern = &self.test.pattern;
        if pattern.is_empty()
            || !pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid(
                "test.pattern",
                format!("{pattern:?}"),
                "use a videotestsrc pattern name such as \"ball\", \"smpte\" or \"snow\"",
            ));
        }
        if self.source == SourceKind::Pipeline {
            let launch = self.pipeline.launch.as_deref().unwrap_or("");
            if !launch.contains("appsink") || !launch.contains("name=sink") {
                return Err(invalid(
                    "pipeline.launch",
                    format!("{launch:?}"),
                    "source = \"pipeline\" needs a launch string ending in `appsink name=sink` \
                     producing image/jpeg (set [pipeline] launch or --pipeline)",
                ));
            }
        }
        self.variants()?;
        self.ros2.validate(&self.camera)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use robot_cli::settings::parse_toml;

    #[test]
    fn defaults_validate() {
        NodeConfig::default()
            .validate()
            .expect("defaults are valid");
    }

    #[test]
    fn errors_name_the_field_on_one_line() {
        let unknown = parse_toml::<NodeConfig>("camera = \"a\"\nwidht = 3\n").expect_err("typo");
        assert!(
            unknown.contains("widht") && unknown.contains("line 2"),
            "{unknown}"
        );
        let nested = parse_toml::<NodeConfig>("[argus]\nsensor = 1\n").expect_err("typo");
        assert!(nested.contains("sensor"), "{nested}");
        let typed = parse_toml::<NodeConfig>("[argus]\nsensor_id = \"x\"\n").expect_err("type");
        assert!(
            typed.contains("argus.sensor_id") && typed.contains("line 2"),
            "{typed}"
        );
        let config = NodeConfig {
            quality: 0,
            ..Default::default()
        };
        let error = config.validate().expect_err("quality 0").to_string();
        assert!(
            error.starts_with("quality = 0 is invalid") && !error.contains('\n'),
            "{error}"
        );
        let lane = "[[variants]]\nname = \"main\"\ncodec = \"h264\"\nwidth = 320\nquality = 70\n";
        let error = parse_toml::<NodeConfig>(lane)
            .expect("parses")
            .validate()
            .expect_err("quality on an H.264 lane")
            .to_string();
        assert!(
            error.starts_with("variants.quality = 70 is invalid") && error.contains("bitrate_kbps"),
            "{error}"
        );
        let config = NodeConfig {
            source: SourceKind::Pipeline,
            ..Default::default()
        };
        assert!(config
            .validate()
            .expect_err("no launch")
            .to_string()
            .contains("pipeline.launch"));
    }
}

//! The node's configuration: TOML file structs, defaults and validation.
//!
//! Owns every option name and default (flags live in `cli.rs`); does not build pipelines (`source.rs`) or zenoh
//! configs (`zenoh_config.rs`). Errors are one line naming the field and the fix, because a
//! robot operator reads them in `journalctl`, not in a debugger.

use crate::keys::{self, DEFAULT_PREFIX};
use crate::zenoh_config::ZenohSettings;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Which capture source to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramePriority {
    RealTime,
    InteractiveHigh,
    InteractiveLow,
    DataHigh,
    #[default]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    pub camera: String,
    pub prefix: String,
    pub source: SourceKind,
    /// Published frame size and rate.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// JPEG quality 1..=100 when this node encodes (ignored for camera MJPEG passthrough).
    pub quality: u32,
    pub on_demand: bool,
    pub priority: FramePriority,
    /// Camera loss when no frame arrives for this many frame intervals (at least 1 s).
    pub stall_frames: u32,
    pub test: TestOptions,
    pub v4l2: V4l2Options,
    pub argus: ArgusOptions,
    pub pipeline: PipelineOptions,
    pub zenoh: ZenohSettings,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            camera: "front".to_owned(),
            prefix: DEFAULT_PREFIX.to_owned(),
            source: SourceKind::Auto,
            width: 640,
            height: 480,
            fps: 30,
            quality: 85,
            on_demand: false,
            priority: FramePriority::Data,
            stall_frames: 60,
            test: TestOptions::default(),
            v4l2: V4l2Options::default(),
            argus: ArgusOptions::default(),
            pipeline: PipelineOptions::default(),
            zenoh: ZenohSettings::default(),
        }
    }
}

/// `[test]`: the videotestsrc source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestOptions {
    /// videotestsrc pattern nick, e.g. "ball" (moving), "smpte", "snow".
    pub pattern: String,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            pattern: "ball".to_owned(),
        }
    }
}

/// `[v4l2]`: USB cameras.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct V4l2Options {
    pub device: PathBuf,
}

impl Default for V4l2Options {
    fn default() -> Self {
        Self {
            device: PathBuf::from("/dev/video0"),
        }
    }
}

/// `[argus]`: Jetson CSI cameras.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArgusOptions {
    pub sensor_id: u32,
    /// Sensor mode to request; defaults to the published width/height/fps.
    pub capture_width: Option<u32>,
    pub capture_height: Option<u32>,
    pub capture_fps: Option<u32>,
    /// nvvidconv flip-method 0..=7 (0 none, 2 rotate 180, 4 horizontal flip, ...).
    pub flip_method: u32,
}

/// `[pipeline]`: a user-supplied launch string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineOptions {
    pub launch: Option<String>,
}

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{field} = {value} is invalid: {fix}")]
    Invalid {
        field: &'static str,
        value: String,
        fix: String,
    },
}

/// The dotted key assigned on `line` (1-based), e.g. `argus.sensor_id`, for error messages.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    })
}

fn invalid(field: &'static str, value: impl ToString, fix: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        value: value.to_string(),
        fix: fix.into(),
    }
}

impl NodeConfig {
    /// Reads and parses a TOML file (without validating values); a relative
    /// `zenoh.config_file` is taken relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        if let Some(dir) = path.parent() {
            config.zenoh.resolve_relative_to(dir);
        }
        Ok(config)
    }

    /// Parses TOML text; the error is one line with the line number and the offending key.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|error: toml::de::Error| {
            let message = error.message().trim().replace('\n', " ");
            match error.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    match key_at(text, line) {
                        Some(key) => format!("line {line}, key `{key}`: {message}"),
                        None => format!("line {line}: {message}"),
                    }
                }
                None => message,
            }
        })
    }

    /// Checks every value, naming the first bad field and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        NodeConfig::default()
            .validate()
            .expect("defaults are valid");
    }

    #[test]
    fn shipped_profiles_parse_and_validate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/camera-node");
        for (name, source) in [
            ("test-pattern", SourceKind::Test),
            ("jetson-csi", SourceKind::Argus),
            ("usb-camera", SourceKind::V4l2),
        ] {
            let config = NodeConfig::from_file(&dir.join(format!("{name}.toml")))
                .unwrap_or_else(|error| panic!("{error}"));
            config
                .validate()
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(config.source, source, "{name}");
        }
    }

    #[test]
    fn errors_name_the_field_on_one_line() {
        let unknown = NodeConfig::from_toml("camera = \"a\"\nwidht = 3\n").expect_err("typo");
        assert!(
            unknown.contains("widht") && unknown.contains("line 2"),
            "{unknown}"
        );
        let nested = NodeConfig::from_toml("[argus]\nsensor = 1\n").expect_err("typo");
        assert!(nested.contains("sensor"), "{nested}");
        let typed = NodeConfig::from_toml("[argus]\nsensor_id = \"x\"\n").expect_err("type");
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

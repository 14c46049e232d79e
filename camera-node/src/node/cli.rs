//! Command-line flags and how they override the TOML config.
//!
//! Flag doc comments are the `--help` text. Every flag is optional so that "not given" is
//! distinguishable from "given the default", which is what lets flags override a file.

use super::config::{ConfigError, NodeConfig, SourceKind};
use crate::zenoh_config::ZenohSettings;
use std::path::PathBuf;

/// Command-line flags; each one overrides the same setting from `--config`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "camera-node",
    version,
    about = "Captures a camera with GStreamer and publishes JPEG frames on zenoh.",
    after_help = "Keys: <prefix>/<camera>/jpeg (frames, snapshot query), <prefix>/<camera>/info (JSON), \
liveliness <prefix>/<camera>. See camera-node/README.md and docs/protocol.md."
)]
pub struct Cli {
    /// TOML config file (see config/camera-node/*.toml); flags override its values.
    #[arg(long, value_name = "FILE", env = "CAMERA_NODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Capture source [default: auto].
    #[arg(long, value_enum)]
    pub source: Option<SourceKind>,
    /// Camera id, the key segment after the prefix [default: front].
    #[arg(long, value_name = "ID")]
    pub camera: Option<String>,
    /// Published frame width in pixels [default: 640].
    #[arg(long, value_name = "W")]
    pub width: Option<u32>,
    /// Published frame height in pixels [default: 480].
    #[arg(long, value_name = "H")]
    pub height: Option<u32>,
    /// Frames per second [default: 30].
    #[arg(long, value_name = "N")]
    pub fps: Option<u32>,
    /// JPEG quality 1-100 [default: 85].
    #[arg(long, value_name = "Q")]
    pub quality: Option<u32>,
    /// Key prefix, e.g. robot1/camera [default: camera].
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Launch string for --source pipeline, ending in `appsink name=sink` (image/jpeg).
    #[arg(long, value_name = "LAUNCH")]
    pub pipeline: Option<String>,
    /// V4L2 device for --source v4l2 [default: /dev/video0].
    #[arg(long, value_name = "/dev/videoN")]
    pub device: Option<PathBuf>,
    /// videotestsrc pattern for --source test [default: ball].
    #[arg(long, value_name = "NAME")]
    pub pattern: Option<String>,
    /// Argus sensor id for --source argus [default: 0].
    #[arg(long, value_name = "N")]
    pub sensor_id: Option<u32>,
    /// Pause capture while nobody subscribes to the frames (saves power).
    #[arg(long)]
    pub on_demand: bool,
    /// Print the GStreamer pipeline that would be built, then exit.
    #[arg(long)]
    pub print_pipeline: bool,
    #[command(flatten)]
    pub zenoh: ZenohSettings,
}

impl NodeConfig {
    /// The file (if any) with the flags applied on top, validated.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let mut config = match &cli.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply(cli);
        config.validate()?;
        Ok(config)
    }

    /// Overrides every setting given on the command line.
    pub fn apply(&mut self, cli: &Cli) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                *target = value.clone();
            }
        }
        set(&mut self.source, &cli.source);
        set(&mut self.camera, &cli.camera);
        set(&mut self.width, &cli.width);
        set(&mut self.height, &cli.height);
        set(&mut self.fps, &cli.fps);
        set(&mut self.quality, &cli.quality);
        set(&mut self.prefix, &cli.prefix);
        set(&mut self.v4l2.device, &cli.device);
        set(&mut self.test.pattern, &cli.pattern);
        set(&mut self.argus.sensor_id, &cli.sensor_id);
        if cli.pipeline.is_some() {
            self.pipeline.launch.clone_from(&cli.pipeline);
        }
        self.on_demand |= cli.on_demand;
        self.zenoh = cli.zenoh.clone().or(&self.zenoh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_override_the_file() {
        let mut config =
            NodeConfig::from_toml("camera = \"rear\"\nwidth = 320\n[test]\npattern = \"smpte\"\n")
                .expect("parses");
        let cli = Cli::parse_from([
            "camera-node",
            "--width",
            "800",
            "--zenoh-listen",
            "tcp/127.0.0.1:9",
        ]);
        config.apply(&cli);
        assert_eq!(
            (
                config.camera.as_str(),
                config.width,
                config.test.pattern.as_str()
            ),
            ("rear", 800, "smpte")
        );
        assert_eq!(config.zenoh.listen, vec!["tcp/127.0.0.1:9".to_owned()]);
    }
}

//! The `camera-node` command line: `--config`, `--print-pipeline` and every setting of
//! [`NodeConfig`] as a flag (see `robot_cli::settings` for file → environment → flags).

use super::config::NodeConfig;
use robot_cli::settings::Invocation;
use std::path::{Path, PathBuf};

/// Command-line flags; each setting overrides `CAMERA_NODE_<KEY>`, which overrides the file.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "camera-node",
    version,
    about = "Captures a camera with GStreamer and publishes JPEG frames on zenoh.",
    after_help = "Every setting is also a TOML key (--config) and an environment variable \
CAMERA_NODE_<KEY> ([table] key: CAMERA_NODE_<TABLE>_<KEY>); flags beat the environment, which \
beats the file.\nKeys: <prefix>/<camera>/jpeg (frames, snapshot query), <prefix>/<camera>/info \
(JSON), liveliness <prefix>/<camera>.\n[[variants]] (TOML only): name, width, height, fps, and \
codec = \"jpeg\" (default; quality 1-100, default 70) on <prefix>/<camera>/jpeg/<name>, or \
codec = \"h264\" (bitrate_kbps 100-50000, default 2000; keyframe_interval in frames, default \
2 x fps) on <prefix>/<camera>/h264/<name>, whose <key>/keyframe query forces a keyframe. \
Each is encoded only while someone subscribes to it.\n\
See camera-node/README.md and docs/protocol.md."
)]
pub struct Cli {
    /// TOML config file (see config/camera-node/*.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the GStreamer pipeline that would be built, then exit.
    #[arg(long)]
    pub print_pipeline: bool,
    #[command(flatten)]
    pub settings: NodeConfig,
}

impl Invocation for Cli {
    type Settings = NodeConfig;
    const ENV_PREFIX: &'static str = "CAMERA_NODE_";

    fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    fn settings_mut(&mut self) -> &mut NodeConfig {
        &mut self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::config::SourceKind;
    use robot_cli::settings::{command, try_load_from};

    fn profile(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../config/camera-node/{name}.toml"))
    }

    #[test]
    fn flags_override_the_file() {
        let path = profile("test-pattern");
        let cli = try_load_from::<Cli, _, _>([
            "camera-node".as_ref(),
            "--config".as_ref(),
            path.as_os_str(),
            "--width".as_ref(),
            "800".as_ref(),
            "--zenoh-listen".as_ref(),
            "tcp/127.0.0.1:9".as_ref(),
        ])
        .expect("loads");
        let config = cli.settings;
        assert_eq!(
            (config.source, config.width, config.height),
            (SourceKind::Test, 800, 480)
        );
        assert_eq!(config.zenoh.listen, vec!["tcp/127.0.0.1:9".to_owned()]);
    }

    #[test]
    fn shipped_profiles_load_and_validate() {
        for (name, source) in [
            ("test-pattern", SourceKind::Test),
            ("jetson-csi", SourceKind::Argus),
            ("usb-camera", SourceKind::V4l2),
        ] {
            let path = profile(name);
            let cli = try_load_from::<Cli, _, _>([
                "camera-node".as_ref(),
                "--config".as_ref(),
                path.as_os_str(),
            ])
            .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(cli.settings.source, source, "{name}");
        }
    }

    /// Every key of the default config is a flag with an environment name, and `--help`
    /// shows its default, so the README's table and `--help` cannot disagree with the code.
    #[test]
    fn help_shows_every_default_and_environment_name() {
        let help = command::<Cli>().render_long_help().to_string();
        let defaults = toml::Table::try_from(NodeConfig::default()).expect("serializes");
        let mut checked = 0;
        for (key, value) in leaves(&defaults, "") {
            let arg = command::<Cli>()
                .get_arguments()
                .find(|arg| arg.get_id() == key.as_str())
                .unwrap_or_else(|| panic!("no flag for key `{key}`"))
                .clone();
            let long = format!("--{}", arg.get_long().expect("long flag"));
            let entry = help_entry(&help, &long);
            let env = robot_cli::settings::env_name(Cli::ENV_PREFIX, &key);
            assert!(entry.contains(&format!("[env: {env}=")), "{entry}");
            let shown = match value {
                toml::Value::String(text) => text,
                toml::Value::Boolean(_) | toml::Value::Array(_) => continue,
                other => other.to_string(),
            };
            assert!(
                entry.contains(&format!("[default: {shown}]")),
                "{key}: {entry}"
            );
            checked += 1;
        }
        assert!(checked >= 12, "only {checked} defaults checked");
    }

    fn leaves(table: &toml::Table, prefix: &str) -> Vec<(String, toml::Value)> {
        table
            .iter()
            .flat_map(|(key, value)| {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match value {
                    toml::Value::Table(inner) => leaves(inner, &key),
                    other => vec![(key, other.clone())],
                }
            })
            .collect()
    }

    /// The lines of `help` describing `long`, up to the next flag.
    fn help_entry<'h>(help: &'h str, long: &str) -> &'h str {
        let at = help
            .find(&format!("{long} "))
            .or_else(|| help.find(&format!("{long}\n")))
            .unwrap_or_else(|| panic!("{long} missing from --help:\n{help}"));
        let rest = &help[at..];
        let end = rest[long.len()..]
            .find("\n  -")
            .map_or(rest.len(), |end| end + long.len());
        &rest[..end]
    }
}

//! The layer on a small settings struct of its own; each binary tests its real one too.

use super::*;
use serde::Deserialize;
use std::io::Write;

#[derive(Debug, Clone, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Demo {
    /// Frames per second.
    #[arg(long, value_name = "N", default_value_t = 30)]
    fps: u32,
    /// Camera id.
    #[arg(long, default_value = "front")]
    camera: String,
    /// Optional launch string.
    #[arg(long)]
    launch: Option<String>,
    #[command(flatten)]
    inner: Inner,
}

#[derive(Debug, Clone, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Inner {
    /// Pattern name.
    #[arg(id = "inner.pattern", long = "pattern", default_value = "ball")]
    pattern: String,
    /// A file next to the config file.
    #[arg(id = "inner.file", long = "inner-file")]
    file: Option<PathBuf>,
}

impl Default for Demo {
    fn default() -> Self {
        defaults()
    }
}

impl Default for Inner {
    fn default() -> Self {
        defaults()
    }
}

impl Settings for Demo {
    fn validate(&self) -> Result<(), Invalid> {
        if self.fps == 0 {
            return Err(Invalid::new("fps", self.fps, "use 1..=240 (e.g. fps = 30)"));
        }
        Ok(())
    }

    fn relative_to(&mut self, dir: &Path) {
        if let Some(file) = &self.inner.file {
            self.inner.file = Some(dir.join(file));
        }
    }
}

/// Each test uses its own prefix: tests run in parallel in one process, which shares the
/// environment.
macro_rules! demo_cli {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, clap::Parser)]
        #[command(name = "demo")]
        struct $name {
            /// TOML file.
            #[arg(long)]
            config: Option<PathBuf>,
            #[command(flatten)]
            settings: Demo,
        }

        impl Invocation for $name {
            type Settings = Demo;
            const ENV_PREFIX: &'static str = $prefix;
            fn config_file(&self) -> Option<&Path> {
                self.config.as_deref()
            }
            fn settings_mut(&mut self) -> &mut Demo {
                &mut self.settings
            }
        }
    };
}

/// A config file in a fresh temporary directory (removed on drop).
struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl File {
    fn arg(&self) -> &str {
        self.path.to_str().expect("utf-8 temp path")
    }
}

fn file(text: &str) -> File {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("demo.toml");
    std::fs::File::create(&path)
        .and_then(|mut out| out.write_all(text.as_bytes()))
        .expect("write config");
    File { _dir: dir, path }
}

#[test]
fn file_under_env_under_flags() {
    demo_cli!(Cli, "SETTINGS_TEST_PRECEDENCE_");
    let config =
        file("fps = 10\ncamera = \"rear\"\nlaunch = \"x\"\n[inner]\npattern = \"smpte\"\n");
    let base = ["demo", "--config", config.arg()];
    // File over defaults, for every key it sets and only those.
    let loaded = try_load_from::<Cli, _, _>(base).expect("loads");
    assert_eq!(
        loaded.settings,
        Demo {
            fps: 10,
            camera: "rear".into(),
            launch: Some("x".into()),
            inner: Inner {
                pattern: "smpte".into(),
                file: None
            },
        }
    );
    // Environment over the file (the names are derived from the keys).
    std::env::set_var("SETTINGS_TEST_PRECEDENCE_FPS", "20");
    std::env::set_var("SETTINGS_TEST_PRECEDENCE_INNER_PATTERN", "snow");
    let loaded = try_load_from::<Cli, _, _>(base).expect("loads");
    assert_eq!(
        (loaded.settings.fps, loaded.settings.inner.pattern.as_str()),
        (20, "snow")
    );
    assert_eq!(
        loaded.settings.camera, "rear",
        "untouched keys keep the file's value"
    );
    // Flags over the environment.
    let loaded =
        try_load_from::<Cli, _, _>(base.into_iter().chain(["--fps", "40", "--pattern", "bar"]))
            .expect("loads");
    assert_eq!(
        (loaded.settings.fps, loaded.settings.inner.pattern.as_str()),
        (40, "bar")
    );
    std::env::remove_var("SETTINGS_TEST_PRECEDENCE_FPS");
    std::env::remove_var("SETTINGS_TEST_PRECEDENCE_INNER_PATTERN");
    // No file: defaults, then flags.
    let loaded = try_load_from::<Cli, _, _>(["demo", "--camera", "side"]).expect("loads");
    assert_eq!(
        loaded.settings,
        Demo {
            camera: "side".into(),
            ..Demo::default()
        }
    );
}

#[test]
fn config_file_from_the_environment_and_paths_relative_to_it() {
    demo_cli!(Cli, "SETTINGS_TEST_CONFIG_");
    let config = file("[inner]\nfile = \"zenoh.json5\"\n");
    std::env::set_var("SETTINGS_TEST_CONFIG_CONFIG", config.arg());
    let loaded = try_load_from::<Cli, _, _>(["demo"]).expect("loads");
    std::env::remove_var("SETTINGS_TEST_CONFIG_CONFIG");
    let dir = config.path.parent().expect("dir");
    assert_eq!(loaded.settings.inner.file, Some(dir.join("zenoh.json5")));
    // A file given by flag is taken as given.
    let loaded = try_load_from::<Cli, _, _>(["demo", "--inner-file", "a.json5"]).expect("loads");
    assert_eq!(loaded.settings.inner.file, Some(PathBuf::from("a.json5")));
}

#[test]
fn help_shows_each_default_and_environment_name() {
    demo_cli!(Cli, "SETTINGS_TEST_HELP_");
    let help = command::<Cli>().render_long_help().to_string();
    for (flag, default, env) in [
        ("--fps <N>", "[default: 30]", "SETTINGS_TEST_HELP_FPS"),
        (
            "--camera <CAMERA>",
            "[default: front]",
            "SETTINGS_TEST_HELP_CAMERA",
        ),
        (
            "--pattern <PATTERN>",
            "[default: ball]",
            "SETTINGS_TEST_HELP_INNER_PATTERN",
        ),
        ("--config <CONFIG>", "", "SETTINGS_TEST_HELP_CONFIG"),
    ] {
        let at = help
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} in\n{help}"));
        let entry = &help[at..];
        let end = entry[flag.len()..]
            .find("\n  -")
            .map_or(entry.len(), |e| e + flag.len());
        let entry = &entry[..end];
        assert!(entry.contains(default) && entry.contains(env), "{entry}");
    }
    assert_eq!(
        Demo::default().fps,
        30,
        "Default comes from the same attribute"
    );
}

#[test]
fn errors_name_the_key_and_where_it_came_from() {
    demo_cli!(Cli, "SETTINGS_TEST_ERRORS_");
    let typo = file("camera = \"a\"\nfsp = 3\n");
    let error = try_load_from::<Cli, _, _>(["demo", "--config", typo.arg()])
        .expect_err("unknown key accepted")
        .to_string();
    assert!(
        error.contains("line 2, key `fsp`") && error.contains("fps"),
        "{error}"
    );
    let typed = file("[inner]\npattern = 3\n");
    let error = try_load_from::<Cli, _, _>(["demo", "--config", typed.arg()])
        .expect_err("wrong type accepted")
        .to_string();
    assert!(
        error.contains("key `inner.pattern`") && !error.contains('\n'),
        "{error}"
    );
    let zero = file("fps = 0\n");
    let error = try_load_from::<Cli, _, _>(["demo", "--config", zero.arg()])
        .expect_err("fps 0 accepted")
        .to_string();
    assert!(
        error.starts_with("fps = 0 is invalid: use 1..=240") && error.contains("demo.toml"),
        "{error}"
    );
    let error = try_load_from::<Cli, _, _>(["demo", "--fps", "0"])
        .expect_err("fps 0 accepted")
        .to_string();
    assert!(error.ends_with("(set by --fps)"), "{error}");
    let missing = try_load_from::<Cli, _, _>(["demo", "--config", "/nonexistent/demo.toml"])
        .expect_err("missing file accepted");
    assert!(
        matches!(missing, SettingsError::Read { .. })
            && missing.to_string().contains("/nonexistent/demo.toml"),
        "{missing}"
    );
}

#[test]
fn environment_names_follow_the_keys() {
    assert_eq!(env_name("GATEWAY_", "listen"), "GATEWAY_LISTEN");
    assert_eq!(
        env_name("CAMERA_NODE_", "zenoh.config_file"),
        "CAMERA_NODE_ZENOH_CONFIG_FILE"
    );
}

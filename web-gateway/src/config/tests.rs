//! The gateway's settings on the shared layer: precedence, `--help`, errors, the shipped file.

use super::*;
use robot_cli::settings::{command, env_name};
use std::io::Write;

fn example_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/web-gateway.toml")
}

fn load(args: &[&str]) -> Result<Config, SettingsError> {
    Config::from_args(std::iter::once("web-gateway").chain(args.iter().copied()))
}

fn temp_config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gateway.toml");
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .expect("write config");
    let path = path.to_str().expect("utf-8 path").to_owned();
    (dir, path)
}

#[test]
fn flags_override_the_file() {
    let (_dir, path) = temp_config(
        "prefix = \"robot1/camera\"\nmax_clients = 5\n[zenoh]\nconnect = [\"tcp/10.0.0.2:7447\"]\n",
    );
    let config = load(&[
        "--config",
        &path,
        "--max-clients",
        "9",
        "--listen",
        "127.0.0.1:9000",
    ])
    .expect("valid");
    assert_eq!(config.prefix, ["robot1/camera"]);
    assert_eq!(config.max_clients, 9);
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.zenoh.connect, vec!["tcp/10.0.0.2:7447".to_owned()]);
    assert_eq!(config.subscribe, SubscribeMode::Always);
}

#[test]
fn every_setting_has_a_flag() {
    let config = load(&[
        "--no-signal-interval-ms",
        "100",
        "--snapshot-wait-ms",
        "200",
        "--info-timeout-ms",
        "300",
        "--forget-after-ms",
        "400",
        "--offline-after-ms",
        "500",
        "--max-frame-lag-ms",
        "600",
        "--zenoh-config",
        "z.json5",
        "--lan-discovery",
        "--max-cameras",
        "7",
    ])
    .expect("valid");
    assert_eq!(config.max_cameras, 7);
    assert_eq!(
        (
            config.no_signal_interval_ms,
            config.snapshot_wait_ms,
            config.info_timeout_ms,
            config.forget_after_ms,
            config.offline_after_ms,
            config.max_frame_lag_ms,
        ),
        (100, 200, 300, 400, 500, 600)
    );
    assert_eq!(config.zenoh.config_file, Some(PathBuf::from("z.json5")));
    assert!(config.zenoh.lan_discovery);
}

#[test]
fn subscribe_mode_from_file_and_flag_in_either_spelling() {
    let (_dir, path) = temp_config("subscribe = \"while_watched\"");
    let file = load(&["--config", &path]).expect("valid");
    assert_eq!(file.subscribe, SubscribeMode::WhileWatched);
    let flag = load(&["--config", &path, "--subscribe", "always"]).expect("valid");
    assert_eq!(flag.subscribe, SubscribeMode::Always);
    for spelling in ["while-watched", "while_watched"] {
        let config = load(&["--subscribe", spelling]).expect("valid");
        assert_eq!(config.subscribe, SubscribeMode::WhileWatched);
    }
    let (_dir, bad) = temp_config("subscribe = \"sometimes\"");
    let error = load(&["--config", &bad]).expect_err("bad mode accepted");
    assert!(error.to_string().contains("subscribe"), "{error}");
}

#[test]
fn flags_are_consistent() {
    command::<Flags>().debug_assert();
}

/// `--help` shows every default from the same declaration `Config::default()` uses, and each
/// setting's environment name.
#[test]
fn help_shows_every_default_and_environment_name() {
    let help = command::<Flags>().render_long_help().to_string();
    let defaults = toml::Table::try_from(Config::default()).expect("serializes");
    let mut checked = 0;
    for (key, value) in defaults.iter().filter(|(_, v)| !v.is_table()) {
        let long = format!("--{}", key.replace('_', "-"));
        let at = help
            .find(&format!("{long} <"))
            .unwrap_or_else(|| panic!("{long} missing from --help:\n{help}"));
        let entry = &help[at..];
        let entry = &entry[..entry[2..].find("\n  -").map_or(entry.len(), |end| end + 2)];
        let shown = match value {
            toml::Value::String(text) => text.clone(),
            // A repeatable flag's default, as clap shows it.
            toml::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        assert!(
            entry.contains(&format!("[default: {shown}]")),
            "{key}: {entry}"
        );
        let env = env_name(Flags::ENV_PREFIX, key);
        assert!(entry.contains(&format!("[env: {env}=")), "{key}: {entry}");
        checked += 1;
    }
    assert_eq!(checked, 14, "every top-level setting checked");
    assert!(
        help.contains("[env: GATEWAY_LISTEN="),
        "the name scripts use"
    );
    assert!(help.contains("[env: GATEWAY_ZENOH_CONNECT="));
}

#[test]
fn errors_name_the_key_and_where_it_came_from() {
    let (_dir, typo) = temp_config("max_client = 3");
    let error = load(&["--config", &typo])
        .expect_err("typo accepted")
        .to_string();
    assert!(
        error.contains("key `max_client`") && error.contains("max_clients"),
        "{error}"
    );
    let error = load(&["--prefix", "a/**"])
        .expect_err("`**` prefix accepted")
        .to_string();
    assert!(
        error.starts_with("prefix = \"a/**\" is invalid") && error.ends_with("(set by --prefix)"),
        "{error}"
    );
    let (_dir, zero) = temp_config("max_clients = 0");
    let error = load(&["--config", &zero])
        .expect_err("zero accepted")
        .to_string();
    assert!(
        error.contains("max_clients = 0 is invalid") && error.contains("gateway.toml"),
        "{error}"
    );
}

/// `--prefix` repeats (or takes a comma list), TOML takes a string as before or a list, and
/// the result decides how cameras are named.
#[test]
fn prefixes_repeat_and_take_lists() {
    let defaults = load(&[]).expect("defaults");
    assert_eq!(defaults.prefix, ["camera"]);
    assert!(!defaults.prefixes().is_fleet());
    let repeated = load(&["--prefix", "*/camera", "--prefix", "lab/camera"]).expect("valid");
    assert_eq!(repeated.prefix, ["*/camera", "lab/camera"]);
    assert!(repeated.prefixes().is_fleet());
    let listed = load(&["--prefix", "*/camera,lab/camera"]).expect("valid");
    assert_eq!(listed.prefix, repeated.prefix);

    let (_dir, one) = temp_config("prefix = \"robot1/camera\"\n");
    let config = load(&["--config", &one]).expect("a string still works");
    assert_eq!(config.prefix, ["robot1/camera"]);
    let (_dir, list) = temp_config("prefix = [\"robot1/camera\", \"robot2/camera\"]\n");
    let config = load(&["--config", &list]).expect("a list");
    assert_eq!(config.prefix, ["robot1/camera", "robot2/camera"]);
    assert!(config.prefixes().is_fleet());
    // The flag replaces the file's list, as every flag does.
    let config = load(&["--config", &list, "--prefix", "*/camera"]).expect("valid");
    assert_eq!(config.prefix, ["*/camera"]);
    let (_dir, number) = temp_config("prefix = 7\n");
    let error = load(&["--config", &number])
        .expect_err("number")
        .to_string();
    assert!(error.contains("a list of them"), "{error}");
}

/// A wildcard that is not a whole segment, or `**`, is refused naming the value and the fix.
#[test]
fn bad_wildcards_name_the_value_and_the_fix() {
    let error = load(&["--prefix", "robot*/camera"])
        .expect_err("partial wildcard accepted")
        .to_string();
    assert!(
        error.starts_with("prefix = \"robot*/camera\" is invalid")
            && error.contains("whole segment")
            && error.contains("\"*/camera\"")
            && error.ends_with("(set by --prefix)"),
        "{error}"
    );
    let (_dir, list) = temp_config("prefix = [\"lab/camera\", \"**\"]\n");
    let error = load(&["--config", &list])
        .expect_err("** accepted")
        .to_string();
    assert!(
        error.contains("[\"lab/camera\", \"**\"]")
            && error.contains("prefix \"**\" is invalid")
            && error.contains("one `*` per segment")
            && error.contains("(set by `prefix` in "),
        "{error}"
    );
}

#[test]
fn example_file_lists_the_defaults() {
    let path = example_file();
    let config = load(&["--config", path.to_str().expect("utf-8")]).expect("example config");
    assert_eq!(config, Config::default());
}

#[test]
fn ros2_topics_from_file_and_flags() {
    let (_dir, path) =
        temp_config("[ros2]\ntopics = [\"/robot/front/image/compressed\"]\ndomain_id = 3\n");
    let config = load(&["--config", &path]).expect("valid");
    assert!(config.ros2.selects("/robot/front/image/compressed"));
    assert!(!config.ros2.selects("/other/image/compressed"));
    assert_eq!(config.ros2.domain_id(), 3);
    let config = load(&[
        "--config",
        &path,
        "--ros2-topic",
        "*",
        "--ros2-domain-id",
        "4",
    ])
    .expect("valid");
    assert!(config.ros2.selects("/anything"));
    assert_eq!(config.ros2.domain_id(), 4);
    let error = load(&["--ros2-topic", "robot/front"])
        .expect_err("relative topic")
        .to_string();
    assert!(error.starts_with("ros2.topics = "), "{error}");
    let error = load(&["--ros2-topic", "*", "--ros2-domain-id", "300"])
        .expect_err("domain")
        .to_string();
    assert!(error.contains("ros2.domain_id = 300"), "{error}");
    assert!(!Config::default().ros2.enabled());
}

#[test]
fn https_needs_both_files_relative_to_the_config_file() {
    let (dir, path) = temp_config(
        "[http]\ntls_cert = \"certs/gw.crt\"\ntls_key = \"certs/gw.key\"\nheader_timeout_ms = 2000\n",
    );
    let config = load(&["--config", &path]).expect("valid");
    let (cert, key) = config.http.tls().expect("HTTPS on");
    assert_eq!(cert, dir.path().join("certs/gw.crt"));
    assert_eq!(key, dir.path().join("certs/gw.key"));
    assert_eq!(config.http.header_timeout(), Duration::from_secs(2));
    let error = load(&["--tls-cert", "gw.crt"])
        .expect_err("key missing")
        .to_string();
    assert!(error.contains("--tls-key"), "{error}");
    let error = load(&["--write-stall-timeout-ms", "0"])
        .expect_err("zero")
        .to_string();
    assert!(error.contains("write_stall_timeout_ms"), "{error}");
}

#[test]
fn access_from_file_and_flags() {
    let (dir, path) = temp_config(
        "[access]\nhosts = [\"robot.lan\"]\norigins = [\"http://dash.lan:3000\"]\nauth_file = \"htpasswd\"\nmetrics = \"open\"\n",
    );
    let config = load(&["--config", &path, "--allow-host", "base.lan"]).expect("valid");
    assert_eq!(
        config.access.hosts,
        ["base.lan"],
        "the flag replaces the list"
    );
    assert_eq!(config.access.origins, ["http://dash.lan:3000"]);
    assert_eq!(config.access.auth_file, Some(dir.path().join("htpasswd")));
    assert_eq!(config.access.metrics, MetricsAccess::Open);
    assert!(config.access.auth_enabled());
    let tokens = load(&["--token", "aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb"]).expect("valid");
    assert_eq!(tokens.access.tokens.len(), 2);
    assert!(!Config::default().access.auth_enabled());
    let cases = [
        (["--allow-origin", "http://dash.lan/app"], "access.origins"),
        (["--allow-host", "http://robot.lan"], "access.hosts"),
        (["--token", "short"], "at least 16"),
    ];
    for (args, needle) in cases {
        let error = load(&args).expect_err("invalid").to_string();
        assert!(error.contains(needle), "{error}");
    }
}

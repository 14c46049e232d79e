//! The zenoh profiles shipped in `config/zenoh/` parse, keep LAN discovery off, say what their
//! comments say, and work together for real (`sessions`).
//!
//! The docs tell users to start from these files, so a typo in one would only show on a robot.
//! Each profile is loaded the way the binaries load it (`ZenohSettings::build`, the hub's
//! `build_hub`), the TLS ones with a certificate folder made by `launch/make-certs.sh`.

mod sessions;

use robot_cli::zenoh_config::{NODE_DEFAULT, SUBSCRIBER_DEFAULT};
use robot_cli::ZenohSettings;
use std::path::{Path, PathBuf};

fn profile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/zenoh")
}

fn profile(name: &str) -> PathBuf {
    profile_dir().join(format!("{name}.json5"))
}

fn settings(name: &str) -> ZenohSettings {
    ZenohSettings {
        config_file: Some(profile(name)),
        ..Default::default()
    }
}

fn json(config: &zenoh::Config, key: &str) -> String {
    config
        .get_json(key)
        .unwrap_or_else(|error| panic!("{key}: {error}"))
}

/// A CA and machine folders made by launch/make-certs.sh, as a user would make them.
#[derive(Debug)]
struct Certs(tempfile::TempDir);

impl Certs {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    /// `make-certs.sh DIR ROLE MACHINE ADDRESS...`; returns DIR/MACHINE.
    fn machine(&self, role: &str, machine: &str, addresses: &[&str]) -> PathBuf {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../launch/make-certs.sh");
        let output = std::process::Command::new("bash")
            .arg(&script)
            .arg(self.0.path())
            .args([role, machine])
            .args(addresses)
            .output()
            .expect("run make-certs.sh");
        assert!(
            output.status.success(),
            "make-certs.sh failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.0.path().join(machine)
    }
}

/// `name` with its certificates taken from `certs`.
fn with_certs(name: &str, certs: &Path) -> ZenohSettings {
    ZenohSettings {
        certs: Some(certs.to_owned()),
        ..settings(name)
    }
}

#[test]
fn every_shipped_profile_parses_without_multicast() {
    let mut names: Vec<String> = std::fs::read_dir(profile_dir())
        .expect("config/zenoh exists")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json5"))
        .map(|path| {
            let stem = path.file_stem().expect("file name");
            stem.to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "base-station",
            "base-station-plain-lab",
            "local",
            "robot",
            "robot-plain-lab"
        ],
        "profiles the docs name"
    );
    let certs = Certs::new();
    let robot1 = certs.machine("robot", "robot1", &["127.0.0.1"]);
    for name in &names {
        let settings = with_certs(name, &robot1);
        let config = settings
            .build(NODE_DEFAULT)
            .unwrap_or_else(|error| panic!("{name}.json5: {error}"));
        let (mode, gossip) = match name.as_str() {
            "robot" | "robot-plain-lab" => ("\"router\"", "true"),
            "local" => ("\"client\"", "true"),
            _ => ("\"peer\"", "false"),
        };
        assert_eq!(json(&config, "mode"), mode, "{name}");
        if name != "local" {
            assert_eq!(json(&config, "scouting/gossip/enabled"), gossip, "{name}");
            assert_eq!(json(&config, "transport/link/tx/lease"), "3000", "{name}");
            assert_eq!(json(&config, "transport/link/tx/keep_alive"), "4", "{name}");
        }
        if !name.ends_with("plain-lab") && name != "local" {
            // Plain names, now pointing into the machine's certificate folder.
            let ca = json(&config, "transport/link/tls/root_ca_certificate");
            assert_eq!(
                ca,
                format!("\"{}\"", robot1.join("ca.pem").display()),
                "{name}"
            );
            assert_eq!(
                json(&config, "transport/link/tls/enable_mtls"),
                "true",
                "{name}"
            );
        }
        // `build` forces multicast off anyway; the file itself must say so too, because the
        // same file may be handed to other zenoh tools (zenohd -c, zenoh-python).
        let text = std::fs::read_to_string(profile(name)).expect("read profile");
        let raw = zenoh::Config::from_json5(&text).expect("plain zenoh parses it");
        assert_eq!(json(&raw, "scouting/multicast/enabled"), "false", "{name}");
    }
}

#[test]
fn profiles_say_what_their_comments_say() {
    let certs = Certs::new();
    let robot1 = certs.machine("robot", "robot1", &[]);
    let hub = with_certs("robot", &robot1)
        .build(NODE_DEFAULT)
        .expect("robot");
    assert_eq!(
        json(&hub, "listen/endpoints"),
        r#"["tcp/127.0.0.1:7447","tls/0.0.0.0:7448"]"#,
        "plain on loopback, mutual TLS on the network"
    );
    assert_eq!(json(&hub, "transport/link/rx/max_message_size"), "16777216");
    assert_eq!(json(&hub, "access_control/default_permission"), "\"deny\"");
    let base = with_certs("base-station", &robot1)
        .build(SUBSCRIBER_DEFAULT)
        .expect("base-station");
    assert_eq!(
        json(&base, "connect/endpoints"),
        r#"["tls/192.168.1.10:7448"]"#
    );
    assert_eq!(json(&base, "listen/endpoints"), "[]");
    assert_eq!(json(&base, "connect/exit_on_failure"), "false");
    let retry = json(&base, "connect/retry");
    assert!(
        retry.contains(r#""period_init_ms":100"#) && retry.contains(r#""period_max_ms":100"#),
        "an attempt at least every ~600 ms: {retry}"
    );
    assert_eq!(json(&base, "transport/unicast/open_timeout"), "500");
    assert_eq!(
        json(&base, "transport/link/tls/verify_name_on_connect"),
        "true"
    );
    let local = settings("local").build(NODE_DEFAULT).expect("local");
    let default = ZenohSettings::default()
        .build(NODE_DEFAULT)
        .expect("default");
    for key in [
        "mode",
        "connect/endpoints",
        "connect/timeout_ms",
        "connect/retry",
    ] {
        assert_eq!(
            json(&local, key),
            json(&default, key),
            "local.json5 is the default: {key}"
        );
    }
    let lab = settings("robot-plain-lab")
        .build(NODE_DEFAULT)
        .expect("lab");
    assert_eq!(json(&lab, "listen/endpoints"), r#"["tcp/0.0.0.0:7447"]"#);
    let lan = ZenohSettings {
        lan_discovery: true,
        ..settings("robot-plain-lab")
    };
    let lab_lan = lan.build(NODE_DEFAULT).expect("lab with --lan-discovery");
    assert_eq!(json(&lab_lan, "scouting/multicast/enabled"), "true");
}

#[test]
fn tls_profiles_without_certificates_fail_except_at_the_hub() {
    let empty = tempfile::tempdir().expect("temp dir");
    for name in ["robot", "base-station"] {
        let error = with_certs(name, empty.path())
            .build(SUBSCRIBER_DEFAULT)
            .expect_err("no certificates")
            .to_string();
        assert!(
            error.contains(&*empty.path().join("ca.pem").to_string_lossy())
                && error.contains("--zenoh-certs"),
            "{name}: {error}"
        );
    }
    let (hub, no_certs) = with_certs("robot", empty.path())
        .build_hub(NODE_DEFAULT)
        .expect("the hub starts without certificates");
    assert_eq!(json(&hub, "listen/endpoints"), r#"["tcp/127.0.0.1:7447"]"#);
    let no_certs = no_certs.expect("and says so");
    assert_eq!(no_certs.dir, empty.path());
    assert_eq!(no_certs.dropped, ["tls/0.0.0.0:7448"]);
}

//! Unit tests of `zenoh_config`: defaults, overrides, certificate folders.

use super::*;

#[test]
fn defaults_reach_the_hub_on_loopback() {
    for (default, mode) in [
        (NODE_DEFAULT, "\"client\""),
        (SUBSCRIBER_DEFAULT, "\"peer\""),
    ] {
        let config = ZenohSettings::default()
            .build(default)
            .expect("default config");
        assert_eq!(config.get_json("mode").expect("key"), mode);
        assert_eq!(
            config.get_json("connect/endpoints").expect("key"),
            format!("[\"{DEFAULT_ENDPOINT}\"]")
        );
        assert_eq!(config.get_json("connect/timeout_ms").expect("key"), "-1");
    }
    let subscriber = ZenohSettings::default()
        .build(SUBSCRIBER_DEFAULT)
        .expect("config");
    assert_eq!(subscriber.get_json("listen/endpoints").expect("key"), "[]");
    assert_eq!(
        subscriber.get_json("scouting/gossip/enabled").expect("key"),
        "false"
    );
}

#[test]
fn defaults_parse_and_keep_multicast_off() {
    for default in [NODE_DEFAULT, SUBSCRIBER_DEFAULT] {
        let config = ZenohSettings::default()
            .build(default)
            .expect("default config");
        let multicast = config.get_json("scouting/multicast/enabled").expect("key");
        assert_eq!(multicast, "false");
    }
    let lan = ZenohSettings {
        lan_discovery: true,
        ..Default::default()
    };
    let config = lan.build(NODE_DEFAULT).expect("config");
    assert_eq!(
        config.get_json("scouting/multicast/enabled").expect("key"),
        "true"
    );
}

#[test]
fn message_bound_applies_unless_the_file_sets_one() {
    let mut config = ZenohSettings::default()
        .build(SUBSCRIBER_DEFAULT)
        .expect("config");
    assert_eq!(
        bound_message_size(&mut config, 17 << 20).expect("bound"),
        17 << 20
    );
    assert_eq!(
        config.get_json(MAX_MESSAGE_KEY).expect("key"),
        (17 << 20).to_string()
    );
    let mut own =
        zenoh::Config::from_json5("{ transport: { link: { rx: { max_message_size: 4096 } } } }")
            .expect("config");
    assert_eq!(bound_message_size(&mut own, 17 << 20).expect("bound"), 4096);
}

#[test]
fn overrides_replace_endpoints_and_reject_garbage() {
    let settings = ZenohSettings {
        connect: vec!["tcp/127.0.0.1:7500".into()],
        ..Default::default()
    };
    let config = settings.build(SUBSCRIBER_DEFAULT).expect("config");
    assert!(config
        .get_json("connect/endpoints")
        .expect("key")
        .contains("7500"));
    let bad = ZenohSettings {
        connect: vec!["not an endpoint".into()],
        ..Default::default()
    };
    let error = bad
        .build(SUBSCRIBER_DEFAULT)
        .expect_err("garbage accepted")
        .to_string();
    assert!(
        error.contains("not an endpoint") && error.contains("--zenoh-connect"),
        "{error}"
    );
}

/// A profile naming `ca.pem` in a temporary folder; removed on drop.
struct Profile(PathBuf);

impl Profile {
    fn new(name: &str, json5: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("zenoh-config-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("profile.json5"), json5).expect("write profile");
        Self(dir)
    }

    fn settings(&self) -> ZenohSettings {
        ZenohSettings {
            config_file: Some(self.0.join("profile.json5")),
            ..Default::default()
        }
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CA_ONLY: &str = r#"{ transport: { link: { tls: { root_ca_certificate: "ca.pem" } } } }"#;

fn ca_of(config: &zenoh::Config) -> PathBuf {
    let ca = config
        .get_json("transport/link/tls/root_ca_certificate")
        .expect("key");
    serde_json::from_str(&ca).expect("a path")
}

#[test]
fn tls_files_resolve_against_certs_beside_the_profile() {
    let profile = Profile::new("beside", CA_ONLY);
    let error = profile
        .settings()
        .build(NODE_DEFAULT)
        .expect_err("missing CA")
        .to_string();
    assert!(
        error.contains("root_ca_certificate")
            && error.contains("make-certs.sh")
            && error.contains(&*profile.0.join("certs/ca.pem").to_string_lossy()),
        "{error}"
    );
    std::fs::create_dir_all(profile.0.join("certs")).expect("mkdir certs");
    std::fs::write(profile.0.join("certs/ca.pem"), "not checked here").expect("write ca");
    let config = profile.settings().build(NODE_DEFAULT).expect("config");
    assert_eq!(ca_of(&config), profile.0.join("certs/ca.pem"));
}

#[test]
fn zenoh_certs_names_the_folder() {
    let profile = Profile::new("flag", CA_ONLY);
    let machine = profile.0.join("robot1");
    std::fs::create_dir_all(&machine).expect("mkdir");
    std::fs::write(machine.join("ca.pem"), "not checked here").expect("write ca");
    let settings = ZenohSettings {
        certs: Some(machine.clone()),
        ..profile.settings()
    };
    assert_eq!(
        ca_of(&settings.build(NODE_DEFAULT).expect("config")),
        machine.join("ca.pem")
    );
    // A TOML file's relative folder means "beside the TOML file".
    let mut relative = ZenohSettings {
        config_file: Some("profile.json5".into()),
        certs: Some("robot1".into()),
        ..Default::default()
    };
    relative.resolve_relative_to(&profile.0);
    assert_eq!(relative.certs.as_deref(), Some(machine.as_path()));
    assert_eq!(
        ca_of(&relative.build(NODE_DEFAULT).expect("config")),
        machine.join("ca.pem")
    );
}

#[test]
fn hub_without_certificates_keeps_loopback_only() {
    let profile = Profile::new(
        "hub",
        r#"{ mode: "router",
             listen: { endpoints: ["tcp/127.0.0.1:7447", "tls/0.0.0.0:7448"] },
             transport: { link: { tls: { root_ca_certificate: "ca.pem" } } } }"#,
    );
    let (config, no_certs) = profile.settings().build_hub(NODE_DEFAULT).expect("config");
    let no_certs = no_certs.expect("reported");
    assert_eq!(no_certs.dropped, ["tls/0.0.0.0:7448"]);
    assert_eq!(no_certs.kept, ["tcp/127.0.0.1:7447"]);
    assert_eq!(
        config.get_json("listen/endpoints").expect("key"),
        r#"["tcp/127.0.0.1:7447"]"#
    );
    let warning = no_certs.to_string();
    assert!(
        warning.contains(&*profile.0.join("certs").to_string_lossy())
            && warning.contains("make-certs.sh")
            && warning.contains("--zenoh-certs"),
        "{warning}"
    );
    // With the files there, nothing is dropped.
    std::fs::create_dir_all(profile.0.join("certs")).expect("mkdir certs");
    std::fs::write(profile.0.join("certs/ca.pem"), "x").expect("write ca");
    let (config, no_certs) = profile.settings().build_hub(NODE_DEFAULT).expect("config");
    assert_eq!(no_certs, None);
    assert!(config
        .get_json("listen/endpoints")
        .expect("key")
        .contains("tls/"));
}

#[test]
fn missing_file_is_named() {
    let settings = ZenohSettings {
        config_file: Some("/nonexistent/zenoh.json5".into()),
        ..Default::default()
    };
    let error = settings
        .build(NODE_DEFAULT)
        .expect_err("missing file")
        .to_string();
    assert!(error.contains("/nonexistent/zenoh.json5"), "{error}");
}

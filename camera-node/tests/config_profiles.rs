//! The zenoh profiles shipped in `config/zenoh/` parse, keep LAN discovery off, and work as a pair.
//!
//! The docs tell users to start from these files, so a typo in one would only show on a robot.
//! Each profile is loaded the way the binaries load it (`ZenohSettings::build`), and the robot and
//! base-station profiles are opened for real on loopback, with their endpoints overridden exactly
//! as `--zenoh-listen` / `--zenoh-connect` would, to prove that a gateway using one reaches a node
//! using the other.

use camera_node::zenoh_config::{NODE_DEFAULT, SUBSCRIBER_DEFAULT};
use camera_node::ZenohSettings;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// A copy of the TLS profiles beside certificates made by launch/make-certs.sh, as a user
/// would have them after running the script (config/zenoh/certs/ itself is not in git).
fn tls_profile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../launch/make-certs.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(dir.path().join("certs"))
        .arg("127.0.0.1")
        .output()
        .expect("run make-certs.sh");
    assert!(
        output.status.success(),
        "make-certs.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in [
        "robot-tls",
        "robot-router-tls",
        "base-station-tls",
        "router-tls",
    ] {
        std::fs::copy(profile(name), dir.path().join(format!("{name}.json5"))).expect("copy");
    }
    dir
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
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
            "base-station-tls",
            "local",
            "robot",
            "robot-router-tls",
            "robot-tls",
            "router-tls"
        ],
        "profiles the docs name"
    );
    let tls = tls_profile_dir();
    for name in &names {
        let settings = if name.ends_with("-tls") {
            ZenohSettings {
                config_file: Some(tls.path().join(format!("{name}.json5"))),
                ..Default::default()
            }
        } else {
            settings(name)
        };
        let config = settings
            .build(NODE_DEFAULT)
            .unwrap_or_else(|error| panic!("{name}.json5: {error}"));
        // A fleet's robots are clients of the router (robot-router-tls.json5 says why).
        let mode = match name.as_str() {
            "router-tls" => "\"router\"",
            "robot-router-tls" => "\"client\"",
            _ => {
                assert_eq!(json(&config, "scouting/gossip/enabled"), "true", "{name}");
                "\"peer\""
            }
        };
        assert_eq!(json(&config, "mode"), mode, "{name}");
        if name.ends_with("-tls") {
            // Relative certificate paths now point into the profile's own folder.
            let ca = json(&config, "transport/link/tls/root_ca_certificate");
            assert!(ca.contains(&*tls.path().to_string_lossy()), "{name}: {ca}");
            assert_eq!(json(&config, "transport/link/tx/lease"), "3000", "{name}");
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
    let local = settings("local").build(NODE_DEFAULT).expect("local");
    assert!(
        json(&local, "listen/endpoints").contains("tcp/127.0.0.1:7447"),
        "local listens on loopback 7447"
    );
    let robot = settings("robot").build(NODE_DEFAULT).expect("robot");
    assert!(
        json(&robot, "listen/endpoints").contains(":7447"),
        "robot listens on the well-known port"
    );
    let base = settings("base-station")
        .build(SUBSCRIBER_DEFAULT)
        .expect("base-station");
    assert!(json(&base, "connect/endpoints").contains(":7447"));
    assert!(
        json(&base, "connect/exit_on_failure").contains("false"),
        "a gateway must survive an absent robot"
    );
    let lan = ZenohSettings {
        lan_discovery: true,
        ..settings("robot")
    };
    let robot_lan = lan.build(NODE_DEFAULT).expect("robot with --lan-discovery");
    assert_eq!(json(&robot_lan, "scouting/multicast/enabled"), "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_station_profile_reaches_robot_profile() {
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let robot = ZenohSettings {
        listen: vec![endpoint.clone()],
        ..settings("robot")
    }
    .build(NODE_DEFAULT)
    .expect("robot config");
    let base = ZenohSettings {
        listen: vec!["tcp/127.0.0.1:0".into()],
        connect: vec![endpoint],
        ..settings("base-station")
    }
    .build(SUBSCRIBER_DEFAULT)
    .expect("base-station config");

    let robot = zenoh::open(robot).await.expect("open robot session");
    let base = zenoh::open(base).await.expect("open base-station session");
    let subscriber = base
        .declare_subscriber("profiles/test")
        .await
        .expect("subscriber");
    let robot_id = robot.zid();
    // The subscriber's declaration reaches the robot asynchronously; keep publishing until the
    // base station receives one (bounded), rather than guessing how long that takes.
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            robot
                .put("profiles/test", "hello")
                .await
                .expect("put from the robot");
            if let Ok(Ok(sample)) =
                tokio::time::timeout(Duration::from_millis(200), subscriber.recv_async()).await
            {
                return sample;
            }
        }
    })
    .await
    .expect("base station received nothing from the robot within 10 s");
    assert_eq!(
        received.payload().try_to_string().expect("utf-8").as_ref(),
        "hello"
    );
    let peers: Vec<_> = base.info().peers_zid().await.collect();
    assert!(peers.contains(&robot_id), "base station peers: {peers:?}");
    base.close().await.expect("close base");
    robot.close().await.expect("close robot");
}

//! Two robots and one base station, set up as docs/base-station.md says: each robot runs its
//! hub (config/zenoh/robot.json5 with its own certificates) and cameras `front` and `rear`
//! with no zenoh flags; robot1 also runs the Python publish example as camera `annotated` and a
//! zenoh-python subscriber on the hub's loopback port; the base station runs one gateway for
//! the fleet (`--prefix '*/camera'`) connecting to both hubs and to an address nobody answers.

use crate::http::{self, Stream};
use crate::lab::{lab, wait_for_log, Host, Lab};
use crate::setup::{self, FPS};
use crate::START;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use test_support::ChildProcess;

/// Robot n sits on subnet n with the base station: base .1, robot .2.
const ROBOT1_ADDR: &str = "10.77.1.2";
const ROBOT2_ADDR: &str = "10.77.2.2";
/// On robot1's subnet, but no host has it: connection attempts go unanswered.
const NOBODY_ADDR: &str = "10.77.1.99";
const GATEWAY_PORT: u16 = 8080;

/// Every camera of the fleet: (robot prefix, camera, frame width). Distinct widths tell
/// whose frames a stream or snapshot carries.
const CAMERAS: [(&str, &str, u16); 5] = [
    ("robot1/camera", "front", 320),
    ("robot1/camera", "rear", 288),
    ("robot1/camera", "annotated", 192),
    ("robot2/camera", "front", 256),
    ("robot2/camera", "rear", 224),
];

/// The gateway's id of a camera seen through a wildcard prefix (docs/http-api.md).
fn fleet_id(prefix: &str, camera: &str) -> String {
    format!("{}.{camera}", prefix.replace('/', "."))
}

/// Fields drop in order: processes, then hosts.
#[derive(Debug)]
struct Fleet {
    gateway: ChildProcess,
    _robot_processes: Vec<ChildProcess>,
    robot1: Host,
    base: Host,
    _frames: tempfile::TempDir,
    lab: Lab,
}

fn python_example(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/camera-protocol/examples/python")
        .join(name)
}

impl Fleet {
    fn start() -> Option<Fleet> {
        let lab = lab()?;
        let base = lab.host("base");
        let robot1 = lab.host("robot1");
        let robot2 = lab.host("robot2");
        lab.link(&base, &robot1, 1);
        lab.link(&base, &robot2, 2);
        let mut processes = vec![
            setup::hub(&lab, &robot1, "robot1"),
            setup::hub(&lab, &robot2, "robot2"),
        ];
        let frames = tempfile::tempdir().expect("temp dir");
        test_support::jpeg::write_jpeg_dir(frames.path(), &[(192, 144), (192, 144), (192, 144)]);
        for (prefix, camera, width) in CAMERAS {
            let host = if prefix.starts_with("robot1") {
                &robot1
            } else {
                &robot2
            };
            if camera == "annotated" {
                let args: Vec<String> = [
                    python_example("publish.py").to_string_lossy().as_ref(),
                    "--prefix",
                    prefix,
                    "--camera",
                    camera,
                    "--dir",
                    &frames.path().to_string_lossy(),
                    "--fps",
                    "10",
                ]
                .iter()
                .map(|arg| arg.to_string())
                .collect();
                processes.push(host.spawn("publish.py", "python3".as_ref(), &args));
                continue;
            }
            processes.push(setup::camera_node_with(
                host,
                width,
                &["--prefix", prefix, "--camera", camera],
            ));
        }
        let connect = [
            setup::hub_endpoint(&lab, ROBOT1_ADDR),
            setup::hub_endpoint(&lab, ROBOT2_ADDR),
            setup::hub_endpoint(&lab, NOBODY_ADDR),
        ];
        let connect: Vec<&str> = connect.iter().map(String::as_str).collect();
        let gateway = setup::gateway(
            &lab,
            &base,
            &connect,
            GATEWAY_PORT,
            &["--prefix", "*/camera"],
        );
        Some(Fleet {
            gateway,
            _robot_processes: processes,
            robot1,
            base,
            _frames: frames,
            lab,
        })
    }

    fn http(&self) -> std::net::SocketAddr {
        setup::http_addr(GATEWAY_PORT)
    }
}

#[test]
fn one_gateway_shows_every_camera_of_two_robots_and_names_the_dead_one() {
    crate::void_if_crashed(|| {
        let Some(fleet) = Fleet::start() else {
            return;
        };
        let started = Instant::now();
        for (prefix, camera, _) in CAMERAS {
            let id = fleet_id(prefix, camera);
            assert!(
                setup::wait_online(&fleet.base, fleet.http(), &id, true, START).is_some(),
                "{id} never online at the fleet gateway: {:?}\ngateway:\n{}",
                http::cameras(&fleet.base, fleet.http()),
                fleet.gateway.stderr()
            );
        }
        let cameras = http::cameras(&fleet.base, fleet.http()).expect("/api/cameras");
        let listed = cameras.as_array().expect("a list");
        assert_eq!(listed.len(), CAMERAS.len(), "{cameras}");
        for (prefix, camera, width) in CAMERAS {
            let id = fleet_id(prefix, camera);
            let entry = listed
                .iter()
                .find(|entry| entry["id"] == id.as_str())
                .expect("listed");
            assert_eq!(entry["robot"], prefix, "{entry}");
            let (status, body) = http::get_bytes(
                &fleet.base,
                fleet.http(),
                &format!("/cameras/{id}/snapshot.jpg"),
            )
            .expect("snapshot");
            assert_eq!(status, 200, "snapshot of {id}");
            assert_eq!(http::jpeg_width(&body), Some(width), "snapshot of {id}");
            let stream = Stream::open(
                &fleet.base,
                fleet.http(),
                &format!("/cameras/{id}/stream.mjpg"),
            )
            .expect("open stream");
            let part = stream.wait_part(START, |part| part.online);
            assert_eq!(
                part.and_then(|part| part.width),
                Some(width),
                "stream of {id}"
            );
        }

        // The endpoint nobody answers is reported, by name, within 15 s of the start.
        let dead = setup::hub_endpoint(&fleet.lab, NOBODY_ADDR);
        let deadline = started + Duration::from_secs(15);
        loop {
            let (_, body) = http::get(&fleet.base, fleet.http(), "/healthz").expect("healthz");
            let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            let endpoints = health["endpoints"].as_array().cloned().unwrap_or_default();
            let state = |endpoint: &str| {
                endpoints
                    .iter()
                    .find(|entry| entry["endpoint"] == endpoint)
                    .and_then(|entry| entry["connected"].as_bool())
            };
            if state(&dead) == Some(false) {
                assert_eq!(
                    state(&setup::hub_endpoint(&fleet.lab, ROBOT1_ADDR)),
                    Some(true)
                );
                assert_eq!(
                    state(&setup::hub_endpoint(&fleet.lab, ROBOT2_ADDR)),
                    Some(true)
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "/healthz does not show {dead} unreachable 15 s after the start: {health}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        // And a warning names it, within 10 s of the first failure.
        wait_for_log(
            &fleet.gateway,
            NOBODY_ADDR,
            Duration::from_secs(15).saturating_sub(started.elapsed()),
        );

        // Any process on the robot reaches its hub on loopback, with no certificate.
        let args: Vec<String> = [
            python_example("subscribe.py").to_string_lossy().as_ref(),
            "--prefix",
            "robot1/camera",
            "--count",
            &(FPS * 2).to_string(),
            "--timeout",
            "20",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        let mut subscriber = fleet
            .robot1
            .spawn("subscribe.py", "python3".as_ref(), &args);
        let exit = subscriber.wait_exit(Duration::from_secs(30));
        assert!(
            exit.is_some_and(|status| status.success()),
            "a local zenoh-python subscriber did not get robot1's frames ({exit:?}):\n{}",
            subscriber.stderr()
        );
    });
}

//! Two robots, two gateways and a viewer meeting at one router (its own host), over mTLS.
//!
//! Hosts only reach the router: the router does not forward IP, as when robots and base
//! stations sit on networks that only meet at the router's host.

use crate::http::{self, Stream};
use crate::lab::{lab, Host, Lab};
use crate::setup::{self, FPS, ROBOT_WIDTH};
use crate::START;
use std::time::{Duration, Instant};
use test_support::ChildProcess;

/// Where the router is reached from each host: subnet n is router .1, the host .2.
const ROUTER_FROM_ROBOT: &str = "tls/10.77.1.1:7447";
const ROUTER_FROM_ROBOT2: &str = "tls/10.77.2.1:7447";
const ROUTER_FROM_BASE: &str = "tls/10.77.3.1:7447";
const ROUTER_FROM_VIEWER: &str = "tls/10.77.4.1:7447";
const PREFIX: &str = "robot1/camera";
pub const GATEWAY_PORTS: [u16; 2] = [8080, 8081];

/// Fields drop in order: processes, then hosts.
#[derive(Debug)]
pub struct Fleet {
    pub gateways: Vec<ChildProcess>,
    pub robots: Vec<ChildProcess>,
    pub router_proc: ChildProcess,
    pub router: Host,
    pub robot: Host,
    pub base: Host,
    pub viewer: Host,
    pub lab: Lab,
}

impl Fleet {
    pub fn start() -> Option<Fleet> {
        let lab = lab()?;
        let router = lab.host("router");
        let robot = lab.host("robot");
        let robot2 = lab.host("robot2");
        let base = lab.host("base");
        let viewer = lab.host("viewer");
        for (subnet, host) in [(1, &robot), (2, &robot2), (3, &base), (4, &viewer)] {
            lab.link(&router, host, subnet);
        }
        let router_proc = setup::router(&lab, &router);
        let profile = lab.profile("robot");
        let robots = vec![
            setup::camera_node_with(
                &robot,
                &profile,
                ROBOT_WIDTH,
                &["--zenoh-connect", ROUTER_FROM_ROBOT, "--prefix", PREFIX],
            ),
            setup::camera_node_with(
                &robot2,
                &profile,
                ROBOT_WIDTH,
                &[
                    "--zenoh-connect",
                    ROUTER_FROM_ROBOT2,
                    "--prefix",
                    "robot2/camera",
                ],
            ),
        ];
        let gateways = GATEWAY_PORTS
            .iter()
            .map(|port| setup::gateway(&lab, &base, ROUTER_FROM_BASE, *port, &["--prefix", PREFIX]))
            .collect();
        let fleet = Fleet {
            gateways,
            robots,
            router_proc,
            router,
            robot,
            base,
            viewer,
            lab,
        };
        for port in GATEWAY_PORTS {
            let took =
                setup::wait_online(&fleet.base, setup::http_addr(port), "front", true, START);
            assert!(
                took.is_some(),
                "camera never online at gateway :{port}.\n{}\nrouter:\n{}\nrobots:\n{}",
                fleet
                    .gateways
                    .iter()
                    .map(ChildProcess::stderr)
                    .collect::<String>(),
                fleet.router_proc.stderr(),
                fleet
                    .robots
                    .iter()
                    .map(ChildProcess::stderr)
                    .collect::<String>()
            );
        }
        Some(fleet)
    }

    /// The first robot's interface towards the router.
    pub fn robot_link(&self) -> String {
        self.robot.interface_to(&self.router)
    }
}

/// Distinct frames (by seq) among `parts`, in order.
fn frames(parts: &[http::Part]) -> Vec<http::Part> {
    let mut frames: Vec<http::Part> = Vec::new();
    for part in parts.iter().filter(|part| part.online) {
        if frames.last().is_none_or(|last| part.seq > last.seq) {
            frames.push(part.clone());
        }
    }
    frames
}

#[test]
fn each_frame_leaves_the_robot_once_and_viewers_cannot_publish() {
    crate::void_if_crashed(|| {
        let Some(fleet) = Fleet::start() else {
            return;
        };
        // A valid `viewer` certificate publishing its own frames on robot1's key, via the router.
        let impostor_profile =
            fleet
                .lab
                .profile_variant("robot", "viewer-tls", &[("certs/robot.", "certs/viewer.")]);
        let _impostor = setup::camera_node_with(
            &fleet.viewer,
            &impostor_profile,
            160,
            &["--zenoh-connect", ROUTER_FROM_VIEWER, "--prefix", PREFIX],
        );
        let streams: Vec<Stream> = GATEWAY_PORTS
            .iter()
            .flat_map(|port| std::iter::repeat_n(*port, 5))
            .map(|port| {
                Stream::open(
                    &fleet.base,
                    setup::http_addr(port),
                    "/cameras/front/stream.mjpg",
                )
                .expect("open stream")
            })
            .collect();
        // Let every stream start before measuring.
        for stream in &streams {
            assert!(stream.wait_part(START, |part| part.online).is_some());
        }
        let link = fleet.robot_link();
        let tx_before = fleet.robot.tx_bytes(&link);
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(10));
        let tx = fleet.robot.tx_bytes(&link) - tx_before;
        let window = started..Instant::now();

        let seen = frames(&streams[0].parts());
        let in_window: Vec<_> = seen
            .iter()
            .filter(|part| window.contains(&part.at))
            .collect();
        assert!(
            in_window.len() as u32 >= FPS * 5,
            "only {} frames in 10 s",
            in_window.len()
        );
        // Frames the robot sent in the window: the seq span (frames the gateway skipped count too).
        let sent = in_window.last().expect("frames").seq - in_window[0].seq + 1;
        let mean =
            in_window.iter().map(|part| part.len as f64).sum::<f64>() / in_window.len() as f64;
        let bound = 1.2 * sent as f64 * mean;
        eprintln!(
            "FLEET robot tx {tx} B in 10 s for {sent} frames of {mean:.0} B mean: {:.3} x frame bytes (bound 1.2)",
            tx as f64 / (sent as f64 * mean)
        );
        assert!(
            (tx as f64) <= bound,
            "robot link carried {tx} B, more than 1.2 x {sent} frames x {mean:.0} B"
        );

        // Had the viewer's frames reached the gateways, they would report two publishers.
        for port in GATEWAY_PORTS {
            let cameras = http::cameras(&fleet.base, setup::http_addr(port)).expect("api");
            let front = cameras
                .as_array()
                .and_then(|list| list.iter().find(|camera| camera["id"] == "front"))
                .expect("front listed");
            assert!(
                front["conflict"].is_null(),
                "viewer frames reached the gateway: {front}"
            );
        }
        for (index, stream) in streams.iter().enumerate() {
            let parts = stream.parts();
            let foreign = setup::foreign(&parts);
            assert!(
                foreign.is_empty(),
                "client {index} was served the viewer's frames: {:?}",
                &foreign[..foreign.len().min(3)]
            );
            assert!(
                frames(&parts).len() as u32 >= FPS * 5,
                "client {index}: {} frames",
                frames(&parts).len()
            );
        }
    });
}

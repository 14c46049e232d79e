//! The set-ups the tests share: which binary runs where, with which profile and flags.

use crate::http;
use crate::lab::{binary, lab, wait_for_log, Host, Lab};
use crate::START;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use test_support::ChildProcess;

/// The robot's address on the direct robot–base link.
pub const ROBOT_ADDR: &str = "10.77.1.2";
/// Camera frame rate in these tests: low, the machine is shared; enough to time recovery.
pub const FPS: u32 = 15;

/// Where a gateway listens inside its host (each host has its own loopback).
pub fn http_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Width of the robot's frames (height is 3/4 of it); impostors use another width.
pub const ROBOT_WIDTH: u16 = 320;

/// The parts a client got that the robot did not send (another width: an impostor's).
pub fn foreign(parts: &[http::Part]) -> Vec<&http::Part> {
    parts
        .iter()
        .filter(|part| part.width != Some(ROBOT_WIDTH))
        .collect()
}

/// The port of the hub's network (mutual TLS) listener, read from the shipped robot profile
/// as a user would: `tls/0.0.0.0:PORT` in config/zenoh/robot.json5.
pub fn hub_tls_port(lab: &Lab) -> u16 {
    let text = std::fs::read_to_string(lab.profile("robot")).expect("read robot.json5");
    text.split("\"tls/0.0.0.0:")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|port| port.parse().ok())
        .expect("robot.json5 listens on tls/0.0.0.0:PORT")
}

/// `tls/ADDR:PORT` of a robot's hub.
pub fn hub_endpoint(lab: &Lab, addr: &str) -> String {
    format!("tls/{addr}:{}", hub_tls_port(lab))
}

/// The robot's hub: `zenoh-router` with config/zenoh/robot.json5 and the certificates of
/// `machine`, exactly as docs/deploy-jetson.md starts it.
pub fn hub(lab: &Lab, host: &Host, machine: &str) -> ChildProcess {
    let args = vec![
        "--zenoh-config".to_owned(),
        lab.profile("robot").to_string_lossy().into_owned(),
        "--zenoh-certs".to_owned(),
        lab.certs(machine).to_string_lossy().into_owned(),
    ];
    let hub = host.spawn("zenoh-router", &binary("zenoh-router"), &args);
    wait_for_log(&hub, "router running", START);
    hub
}

/// `camera-node` on a robot, reaching its hub with no zenoh flags at all, frames
/// [`ROBOT_WIDTH`] wide.
pub fn camera_node(host: &Host, extra: &[&str]) -> ChildProcess {
    camera_node_with(host, ROBOT_WIDTH, extra)
}

/// `camera-node` with frames `width` wide, plus `extra` flags.
pub fn camera_node_with(host: &Host, width: u16, extra: &[&str]) -> ChildProcess {
    let mut args: Vec<String> = [
        "--source",
        "test",
        "--width",
        &width.to_string(),
        "--height",
        &(width / 4 * 3).to_string(),
        "--fps",
        &FPS.to_string(),
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let node = host.spawn("camera-node", &binary("camera-node"), &args);
    wait_for_log(&node, "capturing", START);
    node
}

/// `web-gateway` with config/zenoh/base-station.json5 and the base station's certificates,
/// connecting to each of `connect`, HTTP on `port`.
pub fn gateway(
    lab: &Lab,
    host: &Host,
    connect: &[&str],
    port: u16,
    extra: &[&str],
) -> ChildProcess {
    gateway_with(
        host,
        &lab.profile("base-station"),
        &lab.certs("base"),
        connect,
        port,
        extra,
    )
}

/// `web-gateway` with zenoh profile `profile` and certificate folder `certs`.
pub fn gateway_with(
    host: &Host,
    profile: &Path,
    certs: &Path,
    connect: &[&str],
    port: u16,
    extra: &[&str],
) -> ChildProcess {
    let mut args: Vec<String> = vec![
        "--zenoh-config".into(),
        profile.to_string_lossy().into_owned(),
        "--zenoh-certs".into(),
        certs.to_string_lossy().into_owned(),
        "--listen".into(),
        http_addr(port).to_string(),
    ];
    for endpoint in connect {
        args.extend(["--zenoh-connect".to_owned(), (*endpoint).to_owned()]);
    }
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let gateway = host.spawn("web-gateway", &binary("web-gateway"), &args);
    wait_for_log(&gateway, "listening on http://", START);
    gateway
}

/// Polls `/api/cameras` until camera `id` has the wanted `online` state; returns how long it
/// took, or `None` after `limit`.
pub fn wait_online(
    host: &Host,
    addr: SocketAddr,
    id: &str,
    online: bool,
    limit: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if http::camera_online(host, addr, id) == Some(online) {
            return Some(start.elapsed());
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Robot and base station on one link (10.77.1.0/24): the robot runs its hub and camera
/// `front`, the base station's gateway connects to the hub over mutual TLS. Fields drop in
/// order: processes, then hosts.
#[derive(Debug)]
pub struct Direct {
    pub gateway: ChildProcess,
    pub node: ChildProcess,
    pub hub: ChildProcess,
    pub robot: Host,
    pub base: Host,
    pub lab: Lab,
}

pub const GATEWAY_PORT: u16 = 8080;

impl Direct {
    /// `None` when skipped (see [`lab`]).
    pub fn start() -> Option<Direct> {
        let lab = lab()?;
        let base = lab.host("base");
        let robot = lab.host("robot");
        lab.link(&base, &robot, 1);
        let hub = hub(&lab, &robot, "robot1");
        let node = camera_node(&robot, &[]);
        let gateway = gateway(
            &lab,
            &base,
            &[&hub_endpoint(&lab, ROBOT_ADDR)],
            GATEWAY_PORT,
            &[],
        );
        let direct = Direct {
            gateway,
            node,
            hub,
            robot,
            base,
            lab,
        };
        let took = wait_online(&direct.base, direct.http(), "front", true, START);
        assert!(
            took.is_some(),
            "camera never online at the gateway.\ngateway:\n{}\ncamera-node:\n{}\nhub:\n{}",
            direct.gateway.stderr(),
            direct.node.stderr(),
            direct.hub.stderr()
        );
        Some(direct)
    }

    pub fn http(&self) -> SocketAddr {
        http_addr(GATEWAY_PORT)
    }

    /// An MJPEG stream of `front` that has received its first online part.
    pub fn streaming(&self) -> http::Stream {
        let stream = http::Stream::open(&self.base, self.http(), "/cameras/front/stream.mjpg")
            .expect("open stream");
        assert!(
            stream.wait_part(START, |part| part.online).is_some(),
            "no online part at the start: {:?}",
            stream.ended()
        );
        stream
    }

    /// The gateway again, as [`Direct::start`] started it.
    pub fn restart_gateway(&mut self) {
        self.gateway = gateway(
            &self.lab,
            &self.base,
            &[&hub_endpoint(&self.lab, ROBOT_ADDR)],
            GATEWAY_PORT,
            &[],
        );
    }

    /// The robot's interface towards the base station.
    pub fn robot_link(&self) -> String {
        self.robot.interface_to(&self.base)
    }
}

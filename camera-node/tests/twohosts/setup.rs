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

/// `camera-node` with the robot TLS profile and a small test pattern.
pub fn camera_node(lab: &Lab, host: &Host, extra: &[&str]) -> ChildProcess {
    camera_node_with(host, &lab.profile("robot"), ROBOT_WIDTH, extra)
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

/// `camera-node` with zenoh profile `profile`, frames `width` wide, plus `extra` flags.
pub fn camera_node_with(host: &Host, profile: &Path, width: u16, extra: &[&str]) -> ChildProcess {
    let mut args: Vec<String> = [
        "--source",
        "test",
        "--width",
        &width.to_string(),
        "--height",
        &(width / 4 * 3).to_string(),
        "--fps",
        &FPS.to_string(),
        "--zenoh-config",
        &profile.to_string_lossy(),
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let node = host.spawn("camera-node", &binary("camera-node"), &args);
    wait_for_log(&node, "capturing", START);
    node
}

/// `web-gateway` with the base-station TLS profile, connecting to `connect`, HTTP on `port`.
pub fn gateway(lab: &Lab, host: &Host, connect: &str, port: u16, extra: &[&str]) -> ChildProcess {
    gateway_with(host, &lab.profile("base-station"), connect, port, extra)
}

/// `web-gateway` with zenoh profile `profile`.
pub fn gateway_with(
    host: &Host,
    profile: &Path,
    connect: &str,
    port: u16,
    extra: &[&str],
) -> ChildProcess {
    let mut args: Vec<String> = vec![
        "--zenoh-config".into(),
        profile.to_string_lossy().into_owned(),
        "--zenoh-connect".into(),
        connect.into(),
        "--listen".into(),
        http_addr(port).to_string(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let gateway = host.spawn("web-gateway", &binary("web-gateway"), &args);
    wait_for_log(&gateway, "listening on http://", START);
    gateway
}

/// The router bin with the router TLS profile.
pub fn router(lab: &Lab, host: &Host) -> ChildProcess {
    let args = vec![
        "--zenoh-config".to_owned(),
        lab.profile("robot").to_string_lossy().into_owned(),
    ];
    let router = host.spawn("zenoh-router", &binary("zenoh-router"), &args);
    wait_for_log(&router, "router running", START);
    router
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

/// Robot and base station on one link (10.77.1.0/24), camera-node and gateway over mTLS,
/// camera `front` streaming at the gateway. Fields drop in order: processes, then hosts.
#[derive(Debug)]
pub struct Direct {
    pub gateway: ChildProcess,
    pub node: ChildProcess,
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
        let node = camera_node(&lab, &robot, &[]);
        let gateway = gateway(
            &lab,
            &base,
            &format!("tls/{ROBOT_ADDR}:7447"),
            GATEWAY_PORT,
            &[],
        );
        let direct = Direct {
            gateway,
            node,
            robot,
            base,
            lab,
        };
        let took = wait_online(&direct.base, direct.http(), "front", true, START);
        assert!(
            took.is_some(),
            "camera never online at the gateway.\ngateway:\n{}\ncamera-node:\n{}",
            direct.gateway.stderr(),
            direct.node.stderr()
        );
        Some(direct)
    }

    pub fn http(&self) -> SocketAddr {
        http_addr(GATEWAY_PORT)
    }

    /// The robot's interface towards the base station.
    pub fn robot_link(&self) -> String {
        self.robot.interface_to(&self.base)
    }
}

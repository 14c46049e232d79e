//! Processes killed and restarted: the camera node (kill -9), the gateway, the robot's hub.
//! Each restarts alone; the others reconnect by themselves.

use crate::http::wall_now;
use crate::lab::{error_lines, wait_for_log};
use crate::setup::{self, Direct, ROBOT_WIDTH};
use crate::START;
use std::time::{Duration, Instant};

/// Frames must flow again within this long of the restarted camera node capturing.
const NODE_RESUME_WITHIN: Duration = Duration::from_secs(2);

#[test]
fn camera_node_killed_and_restarted() {
    crate::void_if_crashed(|| {
        let Some(mut direct) = Direct::start() else {
            return;
        };
        let stream = direct.streaming();
        direct.node.signal("KILL");
        assert!(direct.node.wait_exit(Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_secs(1));
        let spawned = Instant::now();
        let spawned_wall = wall_now();
        // setup::camera_node returns once the new node logs "capturing".
        direct.node = setup::camera_node(&direct.robot, &[]);
        let capturing = Instant::now();
        let resumed = stream
            .wait_part(Duration::from_secs(15), |part| {
                part.online && part.captured > spawned_wall
            })
            .unwrap_or_else(|| {
                panic!(
                    "stream did not resume after the restart ({:?}):\n{}",
                    stream.ended(),
                    direct.gateway.stderr()
                )
            });
        let after_capture = resumed.at.saturating_duration_since(capturing);
        eprintln!(
            "RESTART camera-node kill -9: frames again {:?} after the restart ({:?} after it was capturing)",
            resumed.at - spawned,
            after_capture
        );
        assert!(
            after_capture <= NODE_RESUME_WITHIN,
            "frames resumed {after_capture:?} after the new node was capturing"
        );
        assert!(stream.ended().is_none(), "the client's stream ended");
    });
}

#[test]
fn gateway_restart_leaves_the_camera_node_alone() {
    crate::void_if_crashed(|| {
        let Some(mut direct) = Direct::start() else {
            return;
        };
        direct.gateway.signal("KILL");
        assert!(direct.gateway.wait_exit(Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_secs(2));
        assert!(
            direct.node.is_running(),
            "camera-node died with the gateway"
        );
        let restarted = Instant::now();
        direct.restart_gateway();
        let took = setup::wait_online(&direct.base, direct.http(), "front", true, START)
            .map(|_| restarted.elapsed());
        eprintln!("RESTART gateway: camera online at the new gateway {took:?} after its start");
        assert!(
            took.is_some(),
            "camera never online at the restarted gateway"
        );
        let errors = error_lines(&direct.node);
        assert!(errors.is_empty(), "camera-node logged errors: {errors:?}");
        wait_for_log(&direct.node, "capturing", Duration::from_secs(1));
        assert!(
            !direct.node.stderr().contains("generation=2"),
            "capture restarted when the gateway did"
        );
    });
}

#[test]
fn hub_restart_recovers_by_itself() {
    crate::void_if_crashed(|| {
        let Some(mut direct) = Direct::start() else {
            return;
        };
        let stream = direct.streaming();
        direct.hub.signal("KILL");
        assert!(direct.hub.wait_exit(Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_secs(2));
        let restarted = Instant::now();
        let restarted_wall = wall_now();
        direct.hub = setup::hub(&direct.lab, &direct.robot, "robot1");
        let resumed = stream.wait_part(Duration::from_secs(15), |part| {
            part.online && part.captured > restarted_wall && part.width == Some(ROBOT_WIDTH)
        });
        let Some(resumed) = resumed else {
            panic!(
                "no frame within 15 s of the hub restart ({:?}).\nhub:\n{}\ncamera-node:\n{}\ngateway:\n{}",
                stream.ended(),
                direct.hub.stderr(),
                direct.node.stderr(),
                direct.gateway.stderr()
            );
        };
        eprintln!(
            "RESTART hub: the client (same connection) has frames again {:?} after the restart",
            resumed.at - restarted
        );
        // Neither the camera node nor the gateway was restarted.
        assert!(direct.node.is_running());
        assert!(stream.ended().is_none(), "the client's stream ended");
    });
}

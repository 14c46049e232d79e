//! Mutual TLS and access control between robot and base station.

use crate::http::{self, Stream};
use crate::lab::error_lines;
use crate::setup::{self, Direct, FPS, ROBOT_WIDTH};
use std::time::Duration;

#[test]
fn frames_cross_the_link_over_mutual_tls() {
    crate::void_if_crashed(|| {
        let Some(direct) = Direct::start() else {
            return;
        };
        let stream = Stream::open(&direct.base, direct.http(), "/cameras/front/stream.mjpg")
            .expect("open stream");
        let enough = (FPS * 2) as usize;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while stream.parts().iter().filter(|part| part.online).count() < enough {
            assert!(
                std::time::Instant::now() < deadline,
                "fewer than {enough} parts in 10 s: {:?}\ngateway:\n{}",
                stream.ended(),
                direct.gateway.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let parts = stream.parts();
        assert!(parts.windows(2).all(|pair| pair[1].seq >= pair[0].seq));
        assert!(parts.iter().all(|part| part.width == Some(ROBOT_WIDTH)));
        for (name, process) in [("gateway", &direct.gateway), ("camera-node", &direct.node)] {
            let errors = error_lines(process);
            assert!(errors.is_empty(), "{name}: {errors:?}");
        }
    });
}

#[test]
fn foreign_certificates_get_nothing_and_viewers_cannot_publish() {
    crate::void_if_crashed(|| {
        let Some(direct) = Direct::start() else {
            return;
        };
        let lab = &direct.lab;
        let viewer = lab.host("viewer");
        lab.link(&direct.robot, &viewer, 2);
        let robot = "tls/10.77.2.1:7447";

        // A gateway whose certificates come from another CA: the robot refuses the handshake.
        let rogue = lab.rogue_profiles().join("base-station.json5");
        let rogue_gateway = setup::gateway_with(&viewer, &rogue, robot, 8090, &[]);
        // A camera node holding a valid `viewer` certificate, publishing its own (smaller) frames
        // on the robot's key through the robot: access control drops them.
        let impostor_profile =
            lab.profile_variant("robot", "viewer-tls", &[("certs/robot.", "certs/viewer.")]);
        let impostor = setup::camera_node_with(
            &viewer,
            &impostor_profile,
            160,
            &[
                "--zenoh-connect",
                robot,
                "--zenoh-listen",
                "tls/10.77.2.2:7447",
            ],
        );

        let stream = Stream::open(&direct.base, direct.http(), "/cameras/front/stream.mjpg")
            .expect("open stream");
        std::thread::sleep(Duration::from_secs(5));
        let parts = stream.parts();
        assert!(parts.len() >= (FPS * 3) as usize, "{} parts", parts.len());
        let foreign = setup::foreign(&parts);
        assert!(
            foreign.is_empty(),
            "the gateway served the viewer's frames: {foreign:?}"
        );
        let rogue_view = http::cameras(&viewer, setup::http_addr(8090)).expect("rogue gateway up");
        assert_eq!(
            rogue_view,
            serde_json::json!([]),
            "a gateway with a foreign CA saw cameras.\n{}",
            rogue_gateway.stderr()
        );
        drop(impostor);
    });
}

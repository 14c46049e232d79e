//! Mutual TLS and access control at the robot's hub: only the base station's certificate
//! gets frames across the link, only the `robot` role publishes.

use crate::http::{self, Stream};
use crate::lab::{binary, error_lines};
use crate::setup::{self, Direct, FPS, ROBOT_ADDR, ROBOT_WIDTH};
use crate::START;
use std::time::Duration;

#[test]
fn frames_cross_the_link_once_over_mutual_tls() {
    crate::void_if_crashed(|| {
        let Some(direct) = Direct::start() else {
            return;
        };
        // Five viewers at the base station: the robot's link still carries each frame once.
        let streams: Vec<Stream> = (0..5)
            .map(|_| {
                Stream::open(&direct.base, direct.http(), "/cameras/front/stream.mjpg")
                    .expect("open stream")
            })
            .collect();
        for stream in &streams {
            assert!(stream.wait_part(START, |part| part.online).is_some());
        }
        let link = direct.robot_link();
        let tx_before = direct.robot.tx_bytes(&link);
        let started = std::time::Instant::now();
        std::thread::sleep(Duration::from_secs(5));
        let tx = direct.robot.tx_bytes(&link) - tx_before;
        let window = started..std::time::Instant::now();
        let parts = streams[0].parts();
        let in_window: Vec<_> = parts
            .iter()
            .filter(|part| part.online && window.contains(&part.at))
            .collect();
        assert!(
            in_window.len() as u32 >= FPS * 2,
            "only {} parts in 5 s: {:?}\ngateway:\n{}",
            in_window.len(),
            streams[0].ended(),
            direct.gateway.stderr()
        );
        // Frames the robot sent in the window: the seq span (frames a client skipped count too).
        let sent = in_window.last().expect("parts").seq - in_window[0].seq + 1;
        let mean =
            in_window.iter().map(|part| part.len as f64).sum::<f64>() / in_window.len() as f64;
        eprintln!(
            "LINK robot tx {tx} B in 5 s for {sent} frames of {mean:.0} B mean, 5 viewers: {:.3} x frame bytes (bound 1.2)",
            tx as f64 / (sent as f64 * mean)
        );
        assert!(
            (tx as f64) <= 1.2 * sent as f64 * mean,
            "the robot's link carried {tx} B, more than 1.2 x {sent} frames x {mean:.0} B"
        );
        for stream in &streams {
            let parts = stream.parts();
            assert!(parts.windows(2).all(|pair| pair[1].seq >= pair[0].seq));
            assert!(parts.iter().all(|part| part.width == Some(ROBOT_WIDTH)));
        }
        for (name, process) in [
            ("gateway", &direct.gateway),
            ("camera-node", &direct.node),
            ("hub", &direct.hub),
        ] {
            let errors = error_lines(process);
            assert!(errors.is_empty(), "{name}: {errors:?}");
        }
    });
}

/// Runs the subscribe example inside `host` with `args`: whether it received a frame within
/// 5 s, and its log.
fn subscriber_gets_a_frame(host: &crate::lab::Host, args: &[String]) -> (bool, String) {
    let mut all: Vec<String> = ["--count", "1", "--timeout", "5"]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
    all.extend_from_slice(args);
    let mut subscriber = host.spawn("subscribe", &binary("examples/subscribe"), &all);
    let exit = subscriber.wait_exit(Duration::from_secs(20));
    (
        exit.is_some_and(|status| status.success()),
        subscriber.stderr(),
    )
}

#[test]
fn outsiders_get_nothing_and_only_the_robot_role_publishes() {
    crate::void_if_crashed(|| {
        let Some(direct) = Direct::start() else {
            return;
        };
        let lab = &direct.lab;
        let hub = setup::hub_endpoint(lab, ROBOT_ADDR);
        let string = |args: &[&str]| args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();

        // Plain zenoh to the robot's well-known port: the hub listens on loopback only.
        let (got, log) = subscriber_gets_a_frame(
            &direct.base,
            &string(&["--zenoh-connect", &format!("tcp/{ROBOT_ADDR}:7447")]),
        );
        assert!(
            !got,
            "a plain-TCP peer from the network got a frame:\n{log}"
        );

        // TLS that trusts the robot's CA but presents no client certificate.
        let no_client_cert = lab.profile_variant(
            "base-station",
            "no-client-cert",
            &[("enable_mtls: true", "enable_mtls: false")],
        );
        let certs = lab.certs("base").to_string_lossy().into_owned();
        let (got, log) = subscriber_gets_a_frame(
            &direct.base,
            &string(&[
                "--zenoh-config",
                &no_client_cert.to_string_lossy(),
                "--zenoh-certs",
                &certs,
                "--zenoh-connect",
                &hub,
            ]),
        );
        assert!(
            !got,
            "a TLS peer without a client certificate got a frame:\n{log}"
        );

        // A gateway whose certificates come from another CA: the hub refuses the handshake.
        let rogue_certs = lab.rogue_certs("base");
        let rogue_gateway = setup::gateway_with(
            &direct.base,
            &lab.profile("base-station"),
            &rogue_certs,
            &[&hub],
            8090,
            &[],
        );

        // Publishers from the base station over mTLS, clients of the hub (as camera nodes are)
        // with no access control of their own: a `viewer` certificate on the robot's own key
        // (must be dropped by the hub), and a `robot` certificate as a new camera (the
        // control: must be shown).
        let open_peer = lab.profile_variant(
            "base-station",
            "publishing-client",
            &[
                ("enabled: true", "enabled: false"),
                ("mode: \"peer\"", "mode: \"client\""),
            ],
        );
        let publisher = |certs: &str, camera: &str, width: u16| {
            let certs = lab.certs(certs).to_string_lossy().into_owned();
            setup::camera_node_with(
                &direct.base,
                width,
                &[
                    "--zenoh-config",
                    &open_peer.to_string_lossy(),
                    "--zenoh-certs",
                    &certs,
                    "--zenoh-connect",
                    &hub,
                    "--camera",
                    camera,
                ],
            )
        };
        let _impostor = publisher("viewer", "front", 160);
        let visitor = publisher("intruder", "visitor", 128);

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
        assert!(
            setup::wait_online(&direct.base, direct.http(), "visitor", true, START).is_some(),
            "a robot-certificate publisher was not shown (the control failed):\n{}\npublisher:\n{}\nhub:\n{}",
            direct.gateway.stderr(),
            visitor.stderr(),
            direct.hub.stderr()
        );
        let rogue_view = http::cameras(&direct.base, setup::http_addr(8090)).expect("rogue up");
        assert_eq!(
            rogue_view,
            serde_json::json!([]),
            "a gateway with a foreign CA saw cameras.\n{}",
            rogue_gateway.stderr()
        );
    });
}

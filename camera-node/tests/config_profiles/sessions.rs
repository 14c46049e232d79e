//! The shipped profiles with real sessions around the real hub (`zenoh-router` running
//! robot.json5): a local client publishes, a base station receives over mutual TLS, a `viewer`
//! certificate cannot publish while a `robot` one can, and without certificates the hub
//! serves loopback only.
//!
//! The hub's TLS listener is put on 127.0.0.2: not the loopback interface's own address, so a
//! TLS peer there is judged by its certificate alone, as one from the network is (the `local`
//! subject is the interface `lo`, matched on the link's local address, 127.0.0.1).

use crate::{with_certs, Certs};
use robot_cli::zenoh_config::{NODE_DEFAULT, SUBSCRIBER_DEFAULT};
use robot_cli::ZenohSettings;
use std::path::Path;
use std::time::{Duration, Instant};
use test_support::{free_port, session_to, Hub, DEADLINE};

const KEY: &str = "robot1/camera/front/jpeg";

/// The hub from robot.json5 with the certificate folder `certs`: (hub, its TLS endpoint).
fn hub(certs: &Path) -> (Hub, String) {
    let tls = format!("tls/127.0.0.2:{}", free_port());
    let listen = [format!("tcp/127.0.0.1:{}", free_port()), tls.clone()];
    let profile = crate::profile("robot");
    let args = [
        "--zenoh-config",
        profile.to_str().expect("utf-8 path"),
        "--zenoh-certs",
        certs.to_str().expect("utf-8 path"),
    ];
    (Hub::spawn_on(&listen, &args), tls)
}

/// A process of the robot: the camera node's default (a client of the hub on loopback).
async fn local_client(hub: &Hub) -> zenoh::Session {
    let config = ZenohSettings {
        connect: vec![hub.endpoint.clone()],
        ..Default::default()
    }
    .build(NODE_DEFAULT)
    .expect("client config");
    zenoh::open(config).await.expect("local client")
}

/// A session from base-station.json5 with the certificate folder `certs`, connecting to `tls`.
/// `publishing`: a client of the hub with its own access control off, so that only the hub
/// decides what it may publish (a router forwards a client's samples, not a peer's: peers are
/// expected to reach each other directly).
async fn tls_peer(certs: &Path, tls: &str, publishing: bool) -> zenoh::Session {
    let mut config = ZenohSettings {
        connect: vec![tls.to_owned()],
        ..with_certs("base-station", certs)
    }
    .build(SUBSCRIBER_DEFAULT)
    .expect("base-station config");
    if publishing {
        config
            .insert_json5("access_control/enabled", "false")
            .expect("access control off");
        config.insert_json5("mode", "\"client\"").expect("client");
    }
    let session = zenoh::open(config).await.expect("TLS peer");
    wait_connected(&session).await;
    session
}

/// Waits until `session` has a router (the hub) among its connections.
async fn wait_connected(session: &zenoh::Session) {
    let deadline = Instant::now() + DEADLINE;
    while session.info().routers_zid().await.next().is_none() {
        assert!(Instant::now() < deadline, "never connected to the hub");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts from each `(session, payload)` in turn, every 100 ms, until `receiver` has received
/// `want` samples of payload `until`; returns every payload it received.
async fn exchange(
    senders: &[(&zenoh::Session, &str)],
    receiver: &zenoh::Session,
    until: &str,
    want: usize,
) -> Vec<String> {
    let subscriber = receiver.declare_subscriber(KEY).await.expect("subscriber");
    let deadline = Instant::now() + DEADLINE;
    let mut received = Vec::new();
    while received.iter().filter(|payload| *payload == until).count() < want {
        assert!(Instant::now() < deadline, "only {received:?} arrived");
        for (session, payload) in senders {
            session.put(KEY, *payload).await.expect("put");
        }
        let pause = tokio::time::sleep(Duration::from_millis(100));
        tokio::pin!(pause);
        loop {
            tokio::select! {
                sample = subscriber.recv_async() => {
                    let sample = sample.expect("subscriber open");
                    let payload = sample.payload().try_to_string().expect("utf-8");
                    received.push(payload.into_owned());
                }
                () = &mut pause => break,
            }
        }
    }
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_hub_serves_local_processes_and_base_stations_over_mutual_tls() {
    let certs = Certs::new();
    let (hub, tls) = hub(&certs.machine("robot", "robot1", &["127.0.0.2"]));
    let node = local_client(&hub).await;
    let local_viewer = session_to(&hub.endpoint).await;
    let base = tls_peer(&certs.machine("base-station", "base1", &[]), &tls, false).await;

    // A local process's frames reach the base station over TLS, and a local plain-TCP
    // subscriber (a peer of the hub, as the robot's gateway is).
    exchange(&[(&node, "node")], &base, "node", 3).await;
    exchange(&[(&node, "node")], &local_viewer, "node", 3).await;

    // A `viewer` certificate cannot publish; a `robot` one (the control) can.
    let viewer = tls_peer(&certs.machine("viewer", "viewer1", &[]), &tls, true).await;
    let robot = tls_peer(&certs.machine("robot", "robot1-arm", &[]), &tls, true).await;
    let received = exchange(
        &[(&viewer, "viewer"), (&robot, "robot")],
        &local_viewer,
        "robot",
        5,
    )
    .await;
    assert!(
        !received.iter().any(|payload| payload == "viewer"),
        "the viewer's samples got through: {received:?}\nhub:\n{}",
        hub.stderr()
    );
    // Nor does the base station publish (its own profile does not let it try, so here it is
    // the hub that refuses a `base-station` certificate's samples).
    let base_publisher = tls_peer(&certs.machine("base-station", "base2", &[]), &tls, true).await;
    let received = exchange(
        &[(&base_publisher, "base"), (&node, "node")],
        &local_viewer,
        "node",
        5,
    )
    .await;
    assert!(
        !received.iter().any(|payload| payload == "base"),
        "{received:?}"
    );
    for session in [node, local_viewer, base, viewer, robot, base_publisher] {
        session.close().await.expect("close");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_hub_without_certificates_serves_loopback_only_and_says_so() {
    let empty = tempfile::tempdir().expect("temp dir");
    let (hub, tls) = hub(empty.path());
    let warnings = hub.stderr().matches("no usable TLS certificates").count();
    assert_eq!(warnings, 1, "{}", hub.stderr());
    let warning = hub
        .stderr()
        .lines()
        .find(|line| line.contains("no usable TLS certificates"))
        .expect("the warning")
        .to_owned();
    assert!(
        warning.contains(&*empty.path().to_string_lossy())
            && warning.contains(&tls)
            && warning.contains("make-certs.sh")
            && warning.contains("--zenoh-certs"),
        "{warning}"
    );
    let address = tls.trim_start_matches("tls/");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "something listens on {address}"
    );
    let node = local_client(&hub).await;
    let local_viewer = session_to(&hub.endpoint).await;
    exchange(&[(&node, "node")], &local_viewer, "node", 3).await;
}

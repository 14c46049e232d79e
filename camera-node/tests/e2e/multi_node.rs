//! Camera nodes and the robot's hub (`zenoh-router`): several nodes share one hub, a node
//! started before its hub waits for it (and still stops at once on SIGTERM), and a node
//! survives a hub restart: the gateway lists it again and gets fresh frames.

use crate::NODE;
use camera_protocol::{CameraKeys, Cameras, CaptureState, FrameSubscriber};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use test_support::{
    free_port, session_to, target_binary, wait_for_info, CameraNode, Gateway, Hub, MjpegStream,
    DEADLINE,
};

const SMALL: [&str; 4] = ["--width", "160", "--height", "120"];

fn test_camera(id: &str) -> Vec<&str> {
    let mut args = vec!["--source", "test", "--camera", id];
    args.extend(SMALL);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sharing_the_hub_reach_a_subscriber_of_the_hub() {
    let first = CameraNode::spawn(NODE, &test_camera("one"));
    let second = CameraNode::spawn_connected(NODE, &first.endpoint, &test_camera("two"));
    let session = session_to(&first.endpoint).await;
    let subscriber = FrameSubscriber::declare(&session, "camera", Cameras::All, 64)
        .await
        .expect("subscriber");
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + DEADLINE;
    while seen.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(sample)) = tokio::time::timeout(left, subscriber.recv()).await else {
            panic!(
                "saw only {seen:?}\nfirst:\n{}\nsecond:\n{}",
                first.stderr(),
                second.stderr()
            );
        };
        sample.frame.expect("valid frame");
        seen.insert(sample.camera);
    }
    for id in ["one", "two"] {
        let keys = CameraKeys::new("camera", id).expect("keys");
        wait_for_info(&session, &keys, "node running", |info| {
            info.state == CaptureState::Running
        })
        .await;
    }
    session.close().await.expect("close");
}

#[test]
fn a_node_waits_for_its_hub_and_stops_at_once_while_waiting() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut node = CameraNode::spawn_connected(NODE, &endpoint, &test_camera("early"));
    let waiting = node
        .process
        .wait_for_line("the wait for the hub", DEADLINE, |line| {
            line.contains("waiting for the zenoh hub")
                .then(|| line.to_owned())
        });
    assert!(
        waiting.contains(&endpoint) && waiting.contains("zenoh-router"),
        "{waiting}"
    );
    assert!(node.is_running(), "the node gave up:\n{}", node.stderr());
    let (status, took) = node.terminate();
    assert!(status.success(), "exit {status}:\n{}", node.stderr());
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");
    assert_eq!(
        node.stderr().matches("waiting for the zenoh hub").count(),
        1,
        "said once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_first_and_a_restarted_hub_still_reach_the_gateway() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    // The node and the gateway start before the hub, in any order.
    let node = CameraNode::spawn_connected(NODE, &endpoint, &test_camera("hubbed"));
    let gateway = Gateway::spawn(
        target_binary("web-gateway"),
        std::slice::from_ref(&endpoint),
        &["--offline-after-ms", "1000"],
    );
    node.process
        .wait_for_line("the wait for the hub", DEADLINE, |line| {
            line.contains("waiting for the zenoh hub").then_some(())
        });
    let mut hub = Hub::spawn_on(std::slice::from_ref(&endpoint), &[]);
    let online = |entry: &serde_json::Value| entry["online"] == true;
    gateway.wait_camera("hubbed", DEADLINE, online).await;
    fresh_frames(&gateway, "hubbed").await;
    let session = session_to(&endpoint).await;
    let keys = CameraKeys::new("camera", "hubbed").expect("keys");
    let before = wait_for_info(&session, &keys, "an info reply", |_| true).await;

    hub.kill();
    gateway
        .wait_camera("hubbed", DEADLINE, |entry| entry["online"] == false)
        .await;
    hub.restart();
    // Listed again (token declared again), streaming, and answering info queries (queryable
    // declared again) with a count that went on.
    gateway.wait_camera("hubbed", DEADLINE, online).await;
    fresh_frames(&gateway, "hubbed").await;
    wait_for_info(
        &session,
        &keys,
        "the node's info after the restart",
        |info| info.frames_published > before.frames_published,
    )
    .await;
    assert!(
        node.stderr().contains("reached the zenoh hub"),
        "{}",
        node.stderr()
    );
}

/// A few online parts of `camera`'s MJPEG stream, with increasing sequence numbers.
async fn fresh_frames(gateway: &Gateway, camera: &str) {
    let url = gateway.url(&format!("/cameras/{camera}/stream.mjpg"));
    let mut stream = MjpegStream::open(&url).await.expect("open the stream");
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        let part = stream
            .next_part(DEADLINE)
            .await
            .unwrap_or_else(|| panic!("{camera}: stream ended after {seqs:?}"));
        if part.header("x-camera-online") == Some("true") {
            seqs.push(part.seq());
        }
    }
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
}

//! Several nodes on one host with the same listen endpoint: the second falls back to a free
//! port, connects to the first, and gossip lets a subscriber that knows only the first
//! endpoint receive both cameras.

use crate::NODE;
use camera_node::{CameraKeys, Cameras, CaptureState, FrameSubscriber};
use std::collections::BTreeSet;
use std::time::Instant;
use test_support::{session_to, wait_for_info, CameraNode, DEADLINE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_node_on_a_taken_port_is_reachable_through_the_first() {
    let first = CameraNode::spawn(
        NODE,
        &[
            "--source", "test", "--camera", "one", "--width", "160", "--height", "120",
        ],
    );
    let session = session_to(&first.endpoint).await;
    let one = CameraKeys::new("camera", "one").expect("keys");
    // The first node must own the port before the second starts.
    wait_for_info(&session, &one, "first node up", |info| {
        info.state == CaptureState::Running
    })
    .await;
    let second = CameraNode::spawn_listening(
        NODE,
        &first.endpoint,
        &[
            "--source", "test", "--camera", "two", "--width", "160", "--height", "120",
        ],
    );

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
    assert!(
        second.stderr().contains("already in use"),
        "{}",
        second.stderr()
    );
    let two = CameraKeys::new("camera", "two").expect("keys");
    wait_for_info(&session, &two, "second node running", |info| {
        info.state == CaptureState::Running
    })
    .await;
    session.close().await.expect("close");
}

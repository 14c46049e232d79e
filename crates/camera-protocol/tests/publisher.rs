//! The library's `FramePublisher` against a real subscriber in a second zenoh session, both
//! reaching each other through a real hub (`zenoh-router`) on loopback, as on a robot: frames,
//! attachment, queryables, liveliness, matching status and the checks that keep bad frames off
//! the wire. No GStreamer involved.

use bytes::Bytes;
use camera_protocol::info::query_info;
use camera_protocol::subscriber::fetch_snapshot;
use camera_protocol::{
    CameraInfo, CameraKeys, Cameras, CaptureState, FramePublisher, FrameSubscriber, PublishError,
    PublisherOptions,
};
use robot_cli::zenoh_config::NODE_DEFAULT;
use robot_cli::ZenohSettings;
use std::time::Duration;
use test_support::{draw_frame, session_to, Hub, DEADLINE};

const WAIT: Duration = Duration::from_secs(5);

/// A hub, a publisher on its own session (a client of the hub, as a camera node is), and a
/// subscriber's session (a peer connected to the hub, as a gateway is).
async fn pair(camera: &str) -> (Hub, zenoh::Session, FramePublisher, zenoh::Session) {
    let hub = Hub::spawn();
    let config = ZenohSettings {
        connect: vec![hub.endpoint.clone()],
        ..Default::default()
    }
    .build(NODE_DEFAULT)
    .expect("config");
    let session = zenoh::open(config).await.expect("publisher session");
    let keys = CameraKeys::new("pubtest", camera).expect("keys");
    let info = CameraInfo {
        width: 64,
        height: 48,
        ..CameraInfo::new(camera, "files")
    };
    let publisher = FramePublisher::declare(&session, &keys, info, PublisherOptions::default())
        .await
        .expect("declare");
    let peer = session_to(&hub.endpoint).await;
    (hub, session, publisher, peer)
}

async fn wait_matching(publisher: &FramePublisher) {
    let listener = publisher.matching_listener().await.expect("listener");
    if !publisher.has_subscribers().await.expect("status") {
        let status = tokio::time::timeout(DEADLINE, listener.recv_async())
            .await
            .expect("a subscriber matched within the deadline")
            .expect("listener open");
        assert!(status.matching());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_info_and_snapshot_reach_a_subscriber() {
    let (_hub, _session, mut publisher, peer) = pair("lib").await;
    let subscriber = FrameSubscriber::declare(&peer, "pubtest", Cameras::All, 8)
        .await
        .expect("subscribe");
    wait_matching(&publisher).await;

    let pictures: Vec<Bytes> = (0..3)
        .map(|step| Bytes::from(draw_frame(64, 48, [10, 20, 30], step)))
        .collect();
    for (index, jpeg) in pictures.iter().enumerate() {
        if index == 2 {
            publisher.set_generation(2);
        }
        let ts = 1_700_000_000_000_000_000 + index as u64;
        let sent = publisher
            .publish(jpeg.clone(), 64, 48, ts)
            .await
            .expect("publish");
        let received = tokio::time::timeout(WAIT, subscriber.recv())
            .await
            .expect("frame within 5 s")
            .expect("subscriber open");
        assert_eq!(received.camera, "lib");
        let frame = received.frame.expect("valid frame");
        assert_eq!(frame, sent);
        assert_eq!(frame.jpeg, *jpeg, "payload is the JPEG, byte for byte");
        assert_eq!(
            (frame.meta.seq, frame.meta.width, frame.meta.height),
            (index as u64, 64, 48)
        );
        assert_eq!(frame.meta.capture_ts_ns, ts);
        assert_eq!(frame.meta.generation, if index == 2 { 2 } else { 1 });
        assert!(frame.meta.online);
    }

    publisher.update_info(|info| {
        info.state = CaptureState::Running;
        info.frames_published = 999; // the publisher's own count wins
        info.encoder = "files".into();
    });
    let keys = publisher.keys().clone();
    let info = query_info(&peer, &keys, WAIT).await.expect("info reply");
    assert_eq!(
        (info.state, info.frames_published, info.encoder.as_str()),
        (CaptureState::Running, 3, "files")
    );
    assert_eq!(info, publisher.status().info());
    let snapshot = fetch_snapshot(&peer, &keys, WAIT)
        .await
        .expect("snapshot query")
        .expect("a snapshot after frames");
    assert_eq!(snapshot.jpeg, pictures[2]);
    assert_eq!(snapshot.meta.seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_refused_without_using_a_seq() {
    let (_hub, _session, mut publisher, _peer) = pair("bad").await;
    let jpeg = Bytes::from(draw_frame(32, 16, [0, 0, 0], 0));
    let refused = [
        (jpeg.clone(), 16, 32),
        (jpeg.clone(), 0, 16),
        (Bytes::from_static(b"\xFF\xD8 not a jpeg \xFF\xD9"), 32, 16),
        (jpeg.slice(..jpeg.len() - 10), 32, 16),
    ];
    for (payload, width, height) in refused {
        let error = publisher
            .publish(payload, width, height, 1)
            .await
            .expect_err("bad frame accepted");
        assert!(error.to_string().contains("camera bad"), "{error}");
        match error {
            PublishError::SizeMismatch {
                header_width: 32,
                header_height: 16,
                ..
            }
            | PublishError::InvalidSize { .. }
            | PublishError::Header { .. }
            | PublishError::Incomplete { .. } => {}
            other => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(publisher.published(), 0);
    let frame = publisher
        .publish(jpeg, 32, 16, 1)
        .await
        .expect("good frame");
    assert_eq!(frame.meta.seq, 0);
    assert_eq!(publisher.status().published(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveliness_token_lives_as_long_as_the_publisher() {
    let (_hub, _session, publisher, peer) = pair("alive").await;
    let key = publisher.keys().liveliness();
    let tokens = |peer: &zenoh::Session| {
        let peer = peer.clone();
        let key = key.clone();
        async move {
            let replies = peer
                .liveliness()
                .get(&key)
                .timeout(Duration::from_secs(2))
                .await
                .expect("liveliness query");
            let mut count = 0;
            while replies.recv_async().await.is_ok() {
                count += 1;
            }
            count
        }
    };
    // The token travels to the peer after the session connects; wait for it.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while tokens(&peer).await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "token never seen");
    }
    drop(publisher);
    while tokens(&peer).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "token outlived the publisher"
        );
    }
}

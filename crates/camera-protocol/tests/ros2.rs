//! A real zenoh round trip of [`Ros2Publisher`]: tokens on the liveliness space, samples on the
//! rmw_zenoh data key with the 33-byte attachment, decoded with the library's strict decoder.

use bytes::Bytes;
use camera_protocol::ros2::attachment::gid_of_token;
use camera_protocol::ros2::{
    AnnouncedPublisher, CompressedImage, Ros2Attachment, Ros2Publisher, Ros2Settings,
};
use std::time::Duration;
use test_support::{free_port, listening_session as node_session, session_to, DEADLINE};
use tokio::time::timeout;

fn settings() -> Ros2Settings {
    Ros2Settings {
        domain_id: 7,
        namespace: "/camera/front".to_owned(),
        node_name: "camera_node".to_owned(),
        topic: "image/compressed".to_owned(),
        frame_id: "front_optical".to_owned(),
        depth: 1,
        camera_info: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_compressed_images_with_tokens_and_attachment() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let node = node_session(&endpoint).await;
    let viewer = session_to(&endpoint).await;

    let mut publisher = Ros2Publisher::declare(&node, &settings())
        .await
        .expect("declare");
    let key = publisher.image_topic().data_key();
    assert!(key.starts_with(
        "7/camera/front/image/compressed/sensor_msgs::msg::dds_::CompressedImage_/RIHS01_"
    ));

    let tokens = viewer
        .liveliness()
        .declare_subscriber("@ros2_lv/7/**")
        .history(true)
        .await
        .expect("liveliness subscriber");
    let samples = viewer.declare_subscriber(&key).await.expect("subscriber");

    let (mut node_token, mut pub_token) = (None, None);
    while node_token.is_none() || pub_token.is_none() {
        let sample = timeout(DEADLINE, tokens.recv_async())
            .await
            .expect("tokens within the deadline")
            .expect("token");
        let token = sample.key_expr().as_str().to_owned();
        if token.contains("/NN/") {
            node_token = Some(token);
        } else if token.contains("/MP/") {
            pub_token = Some(token);
        }
    }
    let zid = node.zid().to_string();
    assert_eq!(
        node_token.as_deref(),
        Some(format!("@ros2_lv/7/{zid}/0/0/NN/%/%camera%front/camera_node").as_str())
    );
    let pub_token = pub_token.expect("publisher token");
    let announced = AnnouncedPublisher::parse(&pub_token).expect("well-formed MP token");
    assert_eq!(announced.data_key(), key);
    assert!(pub_token.ends_with("/2::,1:,:,:,,"), "{pub_token}");

    // The subscriber's declaration reaches the node asynchronously: publish until one arrives.
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0xFF, 0xD9];
    let capture_ts_ns = 1_700_000_000_250_000_000;
    let received = timeout(DEADLINE, async {
        loop {
            publisher
                .publish(&jpeg, capture_ts_ns)
                .await
                .expect("publish");
            if let Ok(Ok(sample)) = timeout(Duration::from_millis(100), samples.recv_async()).await
            {
                return sample;
            }
        }
    })
    .await
    .expect("a CompressedImage within the deadline");

    let payload = Bytes::from(received.payload().to_bytes().into_owned());
    let image = CompressedImage::decode(&payload).expect("strict decode");
    assert_eq!(image.data.as_ref(), jpeg);
    assert_eq!(image.format, "jpeg");
    assert_eq!(image.frame_id, "front_optical");
    assert_eq!(image.stamp.to_unix_ns(), Some(capture_ts_ns));

    let attachment = received
        .attachment()
        .expect("rmw_zenoh attachment")
        .to_bytes();
    let attachment = Ros2Attachment::decode(&attachment).expect("33 bytes");
    assert!(attachment.seq >= 1 && attachment.seq as u64 <= publisher.published());
    assert_eq!(attachment.gid, gid_of_token(&pub_token));
    assert!(attachment.source_ts_ns > capture_ts_ns as i64);

    drop(publisher);
    let gone = timeout(DEADLINE, tokens.recv_async())
        .await
        .expect("token removal within the deadline")
        .expect("token");
    assert_eq!(gone.kind(), zenoh::sample::SampleKind::Delete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_are_refused_before_anything_is_declared() {
    let node = node_session("tcp/127.0.0.1:0").await;
    let bad = Ros2Settings {
        namespace: "/camera/front-left".to_owned(),
        ..settings()
    };
    let err = Ros2Publisher::declare(&node, &bad)
        .await
        .expect_err("invalid namespace");
    assert!(err.to_string().contains("front-left"), "{err}");
}

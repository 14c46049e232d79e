//! `[[variants]]`: a preview encoded in the node's own pipeline, published on
//! `<prefix>/<camera>/jpeg/<name>` only while someone subscribes to it.

use crate::NODE;
use camera_protocol::{CameraInfo, CameraKeys, FrameMeta};
use std::time::Duration;
use test_support::{jpeg_size, session_to, wait_for_info, CameraNode, DEADLINE};

fn preview_published(info: &CameraInfo) -> u64 {
    info.variants
        .iter()
        .find(|v| v.name == "preview")
        .map_or(0, |v| v.frames_published)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_is_scaled_capped_and_published_only_while_subscribed() {
    let config =
        std::env::temp_dir().join(format!("camera-node-variants-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        "source = \"test\"\ncamera = \"var\"\nwidth = 640\nheight = 480\nfps = 30\n\n\
         [[variants]]\nname = \"preview\"\nwidth = 160\nquality = 60\nfps = 10\n",
    )
    .expect("write config");
    let node = CameraNode::spawn(NODE, &["--config", config.to_str().expect("utf-8 path")]);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "var").expect("keys");

    // Listed in /info with its resolved size; nothing encoded while nobody subscribes.
    let info = wait_for_info(&session, &keys, "30 main frames", |i| {
        i.frames_published >= 30
    })
    .await;
    let listed = info.variants.first().expect("variant listed in /info");
    assert_eq!(
        (
            listed.name.as_str(),
            listed.key.as_str(),
            listed.width,
            listed.height,
            listed.fps
        ),
        ("preview", "camera/var/jpeg/preview", 160, 120, Some(10))
    );
    assert_eq!(
        preview_published(&info),
        0,
        "preview published without a subscriber"
    );

    let subscriber = session
        .declare_subscriber(keys.variant_jpeg("preview"))
        .await
        .expect("subscriber");
    let mut previous: Option<FrameMeta> = None;
    for _ in 0..6 {
        let sample = tokio::time::timeout(DEADLINE, subscriber.recv_async())
            .await
            .unwrap_or_else(|_| panic!("no preview frame within {DEADLINE:?}:\n{}", node.stderr()))
            .expect("session open");
        let meta = FrameMeta::decode(&sample.attachment().expect("attachment").to_bytes())
            .expect("metadata");
        let jpeg = sample.payload().to_bytes();
        assert_eq!(
            (jpeg_size(&jpeg), meta.width, meta.height),
            ((160, 120), 160, 120)
        );
        if let Some(previous) = previous {
            assert_eq!(meta.seq, previous.seq + 1);
            // fps = 10 out of 30: at least ~90 ms of capture time between two previews.
            let gap = Duration::from_nanos(meta.capture_ts_ns - previous.capture_ts_ns);
            assert!(
                gap >= Duration::from_millis(85),
                "previews {gap:?} apart: fps cap not applied"
            );
        }
        previous = Some(meta);
    }

    // Unsubscribed: the count stops while main frames go on.
    drop(subscriber);
    let mut last = wait_for_info(&session, &keys, "preview frames counted", |i| {
        preview_published(i) >= 6
    })
    .await;
    let mut stopped = false;
    for _ in 0..10 {
        let main = last.frames_published;
        let next = wait_for_info(&session, &keys, "15 more main frames", |i| {
            i.frames_published >= main + 15
        })
        .await;
        if preview_published(&next) == preview_published(&last) {
            stopped = true;
            break;
        }
        last = next;
    }
    assert!(
        stopped,
        "the preview kept being published after its subscriber left"
    );
    let _ = std::fs::remove_file(&config);
}

//! Finding 3: only the camera answers for itself. A second session with a queryable on
//! `camera/front/info` (declared before the gateway starts, so it races the camera from the
//! first query on) answers state `failed`, a variant `preview` and a script tag: none of it
//! ever shows in `/api/cameras`, over many 2 s refreshes, and its replies are counted.

use super::{Scene, LONG};
use crate::frames::SERIAL;
use crate::GATEWAY;
use camera_protocol::info::{CaptureState, VariantInfo};
use camera_protocol::meta::{unix_now_ns, SourceId};
use camera_protocol::{CameraInfo, FrameMeta};
use std::time::{Duration, Instant};
use test_support::phantoms::answer_info;
use test_support::{
    draw_frame, free_port, jpeg_size, listening_session, CameraOptions, Gateway, SyntheticCamera,
};

/// Refreshes watched: the gateway re-queries info every 2 s.
const WATCH: Duration = Duration::from_secs(16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_never_answers_for_a_real_camera() {
    let _serial = SERIAL.lock().await;
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let attacker = listening_session(&endpoint).await;
    let forged = CameraInfo {
        state: CaptureState::Failed,
        last_error: Some("<script>alert(1)</script>".into()),
        variants: vec![VariantInfo {
            name: "preview".into(),
            key: "camera/front/jpeg/preview".into(),
            width: 64,
            height: 48,
            quality: 50,
            fps: None,
            frames_published: 0,
        }],
        ..CameraInfo::new("front", "test")
    };
    let json = serde_json::to_vec(&forged).expect("json");
    let _queryable = answer_info(&attacker, "camera/front", json.into()).await;
    let camera = SyntheticCamera::start(CameraOptions::new("front", 320, 240).fps(10)).await;
    let gateway = Gateway::spawn(GATEWAY, &[endpoint, camera.endpoint()], &[]);
    let scene = Scene {
        camera,
        attacker,
        gateway,
    };

    let start = Instant::now();
    let (mut looks, mut real) = (0, 0);
    while start.elapsed() < WATCH {
        let list = scene.list().await;
        let cameras: serde_json::Value = serde_json::from_str(&list).expect("JSON list");
        if let Some(front) = cameras
            .as_array()
            .and_then(|all| all.iter().find(|c| c["id"] == "front"))
        {
            let text = front.to_string();
            for forged in ["<script", "preview", "failed"] {
                assert!(
                    !text.contains(forged),
                    "{forged:?} shown after {:?}: {text}",
                    start.elapsed()
                );
            }
            real += usize::from(front["info"]["state"] == "running");
            looks += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dropped = scene
        .gateway
        .metric("gateway_replies_dropped_total{query=\"info\",reason=\"other_session\"}")
        .await
        + scene
            .gateway
            .metric("gateway_replies_dropped_total{query=\"info\",reason=\"ambiguous\"}")
            .await;
    eprintln!("{looks} looks at /api/cameras in {WATCH:?}, {real} with the camera's own info; {dropped} replies dropped");
    assert!(looks > 20, "front was listed only {looks} times");
    assert!(
        real > looks / 2,
        "the camera's own info showed in only {real} of {looks} looks"
    );
    assert!(dropped >= 5.0, "only {dropped} forged replies counted");
    assert_eq!(scene.camera.options.id, "front");
    scene
        .gateway
        .wait_camera("front", LONG, |c| c["online"] == true)
        .await;
}

/// The same for snapshots: under `while-watched` the gateway asks the node's `/jpeg` queryable;
/// a second session answering it with its own (well-formed) picture is never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_never_answers_a_snapshot_for_a_real_camera() {
    let _serial = SERIAL.lock().await;
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let attacker = listening_session(&endpoint).await;
    let forged = draw_frame(64, 48, [255, 0, 0], 0);
    let meta = FrameMeta {
        seq: 1,
        capture_ts_ns: unix_now_ns(),
        width: 64,
        height: 48,
        generation: 1,
        online: true,
    };
    let attachment = meta
        .encode_with_source(SourceId::of_session(&attacker))
        .to_vec();
    let queryable = attacker
        .declare_queryable("camera/front/jpeg")
        .await
        .expect("queryable");
    let answer = forged.clone();
    let _task = tokio::spawn(async move {
        while let Ok(query) = queryable.recv_async().await {
            let reply = query.reply("camera/front/jpeg", answer.to_vec());
            let _ = reply.attachment(attachment.clone()).await;
        }
    });
    // Publishing with nobody subscribed, so that its `/jpeg` queryable has a frame to answer.
    let options = CameraOptions::new("front", 320, 240).fps(10);
    let camera = SyntheticCamera::start(options.publish_before_subscribers()).await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[endpoint, camera.endpoint()],
        &["--subscribe", "while-watched"],
    );
    gateway
        .wait_camera("front", LONG, |c| c["online"] == true)
        .await;
    let (mut real, start) = (0, Instant::now());
    while start.elapsed() < Duration::from_secs(8) {
        let response = gateway.get("/cameras/front/snapshot.jpg").await;
        if response.status() == 200 {
            let body = response.bytes().await.expect("body");
            assert_ne!(&body[..], &forged[..], "the forged picture was served");
            assert_eq!(jpeg_size(&body), (320, 240), "a picture not the camera's");
            real += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let dropped = gateway
        .metric("gateway_replies_dropped_total{query=\"snapshot\",reason=\"other_session\"}")
        .await;
    eprintln!("{real} snapshots of the camera's own; {dropped} forged replies dropped");
    assert!(real >= 5, "only {real} snapshots served");
    assert!(dropped >= 1.0, "no forged snapshot counted");
}

//! The Argus path without a Jetson: `camera-node --source auto` under `./launch/fake-jetson.sh`,
//! whose `nvarguscamerasrc`, `nvvidconv`, `nvjpegenc` and `nvv4l2h264enc` follow NVIDIA's
//! properties and pad templates (including `memory:NVMM`), so the real Argus launch string
//! (with an H.264 lane on NVENC) must parse and negotiate. Ignored in a plain `cargo test` (the fakes need Debian's python3-gst-1.0);
//! launch/test.sh runs it as
//! `./launch/fake-jetson.sh cargo test --workspace --test e2e fake_jetson -- --ignored`.

use crate::NODE;
use camera_protocol::frame::FrameLimits;
use camera_protocol::{CameraKeys, Cameras, CaptureState, FrameSubscriber, VideoFrame};
use std::path::PathBuf;
use std::time::Instant;
use test_support::{session_to, wait_for_info, CameraNode, DEADLINE};

const CAMERA: &str = "csi";
const CONFIG: &str = r#"
camera = "csi"
source = "auto"
width = 320
height = 240
fps = 15
quality = 60
# 15 frames at 15 fps: a stall is noticed after 1 s.
stall_frames = 15

[argus]
sensor_id = 1
capture_width = 640
capture_height = 480
flip_method = 2
"#;
const ARGUS_LAUNCH: &str = "nvarguscamerasrc sensor-id=1 ! \
    video/x-raw(memory:NVMM),width=640,height=480,framerate=15/1 ! nvvidconv flip-method=2 ! \
    video/x-raw(memory:NVMM),width=320,height=240,format=I420 ! nvjpegenc quality=60 ! \
    appsink name=sink max-buffers=1 drop=true sync=false";

/// The fake source's control file, written by the test to inject faults.
struct Control {
    path: PathBuf,
    /// The file is one for the whole test binary: a test that sets it holds this lock, else
    /// another test's "run" could undo its "stall" mid-way.
    _exclusive: tokio::sync::MutexGuard<'static, ()>,
}

static CONTROL_FILE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Control {
    async fn from_env() -> Control {
        let path = std::env::var_os("FAKE_JETSON_CONTROL")
            .expect("FAKE_JETSON_CONTROL unset: run under ./launch/fake-jetson.sh");
        let control = Control {
            path: PathBuf::from(path),
            _exclusive: CONTROL_FILE.lock().await,
        };
        control.set("run");
        control
    }

    fn set(&self, word: &str) {
        std::fs::write(&self.path, word).expect("write the fake Jetson control file");
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, "run");
    }
}

/// The node's config file, deleted on drop (also when an assertion fails).
struct TempConfig(PathBuf);

impl TempConfig {
    fn write(text: &str) -> TempConfig {
        Self::named("node", text)
    }

    fn named(name: &str, text: &str) -> TempConfig {
        let path =
            std::env::temp_dir().join(format!("fake-jetson-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).expect("write config");
        TempConfig(path)
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Waits for a frame of a pipeline generation after `after_generation` (frames of older
/// generations may still be queued in the subscriber); returns (generation, width, height).
async fn frame_after(
    subscriber: &FrameSubscriber,
    after_generation: u32,
    node: &CameraNode,
) -> (u32, u32, u32) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let sample = tokio::time::timeout(left, subscriber.recv())
            .await
            .unwrap_or_else(|_| panic!("no new frame within {DEADLINE:?}:\n{}", node.stderr()))
            .expect("subscriber open");
        let frame = sample.frame.expect("a valid frame");
        if frame.meta.generation <= after_generation {
            continue;
        }
        let decoded = image::load_from_memory(&frame.jpeg).expect("frame is a JPEG");
        return (frame.meta.generation, decoded.width(), decoded.height());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the fake Jetson elements: run under ./launch/fake-jetson.sh"]
async fn fake_jetson_argus_pipeline_publishes_and_recovers_from_fail_and_stall() {
    let control = Control::from_env().await;
    let config = TempConfig::write(CONFIG);
    let node = CameraNode::spawn(NODE, &["--config", config.0.to_str().expect("utf-8 path")]);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", CAMERA).expect("keys");
    let subscriber = FrameSubscriber::declare(&session, "camera", Cameras::One(CAMERA.into()), 8)
        .await
        .expect("subscriber");

    // auto picks Argus, the real launch string negotiates, the hardware encoder is reported.
    let info = wait_for_info(&session, &keys, "running", |info| {
        info.state == CaptureState::Running && info.frames_published > 0
    })
    .await;
    assert_eq!(info.source, "argus", "{info:?}");
    assert_eq!(info.encoder, "nvjpegenc", "{info:?}");
    assert_eq!(info.pipeline, ARGUS_LAUNCH);
    assert!(
        node.stderr()
            .contains("auto: nvarguscamerasrc is available"),
        "{}",
        node.stderr()
    );
    let (first_generation, width, height) = frame_after(&subscriber, 0, &node).await;
    assert_eq!((width, height), (320, 240), "nvvidconv must scale");

    // Argus fails: the node restarts the pipeline, then streams again once the source works.
    control.set("fail");
    let failed = wait_for_info(&session, &keys, "a restart after the failure", |info| {
        info.restarts >= 1
    })
    .await;
    let error = failed.last_error.clone().unwrap_or_default();
    assert!(error.contains("CaptureSession"), "{failed:?}");
    control.set("run");
    let (generation, _, _) = frame_after(&subscriber, first_generation, &node).await;

    // Argus stalls (the pipeline stays up, frames stop): only the watchdog can notice.
    control.set("stall");
    let stalled = wait_for_info(&session, &keys, "a restart after the stall", |info| {
        info.restarts > failed.restarts
            && info
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("stalled"))
    })
    .await;
    control.set("run");
    frame_after(&subscriber, generation, &node).await;
    assert!(stalled.restarts >= 2, "{stalled:?}");
    let running = wait_for_info(&session, &keys, "running again", |info| {
        info.state == CaptureState::Running
    })
    .await;
    assert_eq!(running.encoder, "nvjpegenc");

    drop(subscriber);
    session.close().await.expect("close");
}

/// The fakes are as strict as the real elements: nvarguscamerasrc only offers NVMM memory, so
/// a system-memory capsfilter right after it cannot link, and Argus's ISP properties, which
/// the fake does not have, are refused. A fake that accepted anything would prove nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the fake Jetson elements: run under ./launch/fake-jetson.sh"]
async fn fake_jetson_elements_refuse_what_the_real_ones_refuse() {
    let _control = Control::from_env().await;
    for (launch, expected) in [
        (
            "nvarguscamerasrc ! video/x-raw,width=320,height=240 ! nvjpegenc ! appsink name=sink",
            "nvarguscamerasrc",
        ),
        (
            "nvarguscamerasrc wbmode=1 ! nvvidconv ! nvjpegenc ! appsink name=sink",
            "wbmode",
        ),
    ] {
        let node = CameraNode::spawn_pipeline(NODE, "strict", launch);
        let session = session_to(&node.endpoint).await;
        let keys = CameraKeys::new("camera", "strict").expect("keys");
        let info = wait_for_info(&session, &keys, "a failed start", |info| {
            info.last_error.is_some()
        })
        .await;
        assert_eq!(info.frames_published, 0, "{launch}: {info:?}");
        let error = info.last_error.unwrap_or_default();
        assert!(error.contains(expected), "{launch}: {error}");
        session.close().await.expect("close");
    }
}

/// An H.264 lane on a "Jetson" is encoded by NVENC from NVMM buffers: the lane picks
/// nvv4l2h264enc, its launch string negotiates with the NVIDIA elements' pad templates, and
/// the access units are valid, starting at a keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the fake Jetson elements: run under ./launch/fake-jetson.sh"]
async fn fake_jetson_h264_lane_uses_nvenc() {
    let _control = Control::from_env().await;
    let config = TempConfig::named(
        "h264",
        "camera = \"nvenc\"\nsource = \"auto\"\nwidth = 640\nheight = 480\nfps = 15\n\n\
         [[variants]]\nname = \"main\"\ncodec = \"h264\"\nwidth = 320\nbitrate_kbps = 500\n",
    );
    let node = CameraNode::spawn(NODE, &["--config", config.0.to_str().expect("utf-8 path")]);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "nvenc").expect("keys");
    let info = wait_for_info(&session, &keys, "running with a planned lane", |info| {
        info.state == CaptureState::Running
            && info
                .video
                .first()
                .is_some_and(|lane| !lane.encoder.is_empty())
    })
    .await;
    assert_eq!(info.source, "argus", "{info:?}");
    assert_eq!(info.video[0].encoder, "nvv4l2h264enc", "{info:?}");
    assert!(
        info.pipeline
            .contains("format=I420 ! nvv4l2h264enc name=video-encoder-main bitrate=500000"),
        "{}",
        info.pipeline
    );
    let subscriber = session
        .declare_subscriber(keys.video("main"))
        .await
        .expect("subscriber");
    for index in 0..5 {
        let sample = tokio::time::timeout(DEADLINE, subscriber.recv_async())
            .await
            .unwrap_or_else(|_| panic!("no access unit within {DEADLINE:?}:\n{}", node.stderr()))
            .expect("session open");
        let attachment = sample.attachment().map(|a| a.to_bytes().into_owned());
        let frame = VideoFrame::validated(
            sample.payload().to_bytes().into_owned().into(),
            attachment.as_deref(),
            &FrameLimits::default(),
        )
        .unwrap_or_else(|error| panic!("access unit refused: {error}"));
        assert_eq!(
            (frame.meta.frame.width, frame.meta.frame.height),
            (320, 240)
        );
        assert_eq!(frame.meta.is_keyframe(), index == 0, "access unit {index}");
    }
    session.close().await.expect("close");
}

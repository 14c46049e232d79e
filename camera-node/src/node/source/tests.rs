use super::*;
use std::path::PathBuf;

struct FakeEnv {
    elements: &'static [&'static str],
    devices: Vec<PathBuf>,
    caps: Vec<OfferedFormat>,
}

impl Environment for FakeEnv {
    fn has_element(&self, name: &str) -> bool {
        self.elements.contains(&name)
    }
    fn device_exists(&self, path: &Path) -> bool {
        self.devices.iter().any(|d| d == path)
    }
    fn device_caps(&self, _: &Path) -> Result<Vec<OfferedFormat>, SourceError> {
        Ok(self.caps.clone())
    }
}

const DESKTOP: &[&str] = &[
    "videotestsrc",
    "videoconvert",
    "jpegenc",
    "appsink",
    "v4l2src",
];
const JETSON: &[&str] = &[
    "nvarguscamerasrc",
    "nvvidconv",
    "nvjpegenc",
    "appsink",
    "videotestsrc",
    "videoconvert",
];

fn env(elements: &'static [&'static str]) -> FakeEnv {
    FakeEnv {
        elements,
        devices: vec![],
        caps: vec![],
    }
}

#[test]
fn test_source_uses_moving_pattern_and_software_encoder() {
    let plan = plan(&NodeConfig::default(), &env(DESKTOP)).expect("plan");
    assert_eq!(plan.kind, SourceKind::Test);
    assert_eq!(
        plan.launch,
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,framerate=30/1 ! \
         videoconvert ! jpegenc quality=85 ! appsink name=sink max-buffers=1 drop=true sync=false"
    );
    assert!(
        plan.reason.contains("no nvarguscamerasrc"),
        "{}",
        plan.reason
    );
}

#[test]
fn argus_is_auto_on_jetson_with_hardware_encoder() {
    let mut config = NodeConfig::default();
    config.argus.flip_method = 2;
    config.argus.capture_width = Some(1280);
    config.argus.capture_height = Some(720);
    config.quality = 70;
    let plan = plan(&config, &env(JETSON)).expect("plan");
    assert_eq!(plan.kind, SourceKind::Argus);
    assert_eq!(plan.encoder, "nvjpegenc");
    assert_eq!(
        plan.launch,
        "nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1 ! \
         nvvidconv flip-method=2 ! video/x-raw(memory:NVMM),width=640,height=480,format=I420 ! \
         nvjpegenc quality=70 ! appsink name=sink max-buffers=1 drop=true sync=false"
    );
}

#[test]
fn argus_missing_names_jetpack() {
    let config = NodeConfig {
        source: SourceKind::Argus,
        ..Default::default()
    };
    let error = plan(&config, &env(DESKTOP)).expect_err("no argus");
    let SourceError::MissingElement { name, hint } = &error else {
        panic!("{error}")
    };
    assert_eq!(name, "nvarguscamerasrc");
    assert!(hint.contains("JetPack"), "{hint}");
}

#[test]
fn v4l2_passes_camera_mjpeg_through_or_encodes_raw() {
    let mut fake = env(DESKTOP);
    fake.devices.push("/dev/video0".into());
    fake.caps = vec![
        OfferedFormat::new("image/jpeg", 640..=640, 480..=480),
        OfferedFormat::new("video/x-raw", 160..=320, 120..=240),
    ];
    let mjpeg = plan(&NodeConfig::default(), &fake).expect("plan");
    assert_eq!(mjpeg.kind, SourceKind::V4l2);
    assert_eq!(mjpeg.encoder, "passthrough");
    assert_eq!(
        mjpeg.launch,
        "v4l2src device=/dev/video0 ! image/jpeg,width=640,height=480,framerate=30/1 ! \
         appsink name=sink max-buffers=1 drop=true sync=false"
    );
    let config = NodeConfig {
        width: 320,
        height: 240,
        ..Default::default()
    };
    let raw = plan(&config, &fake).expect("plan");
    assert_eq!(raw.encoder, "jpegenc");
    assert!(raw.launch.contains(
        "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! jpegenc quality=85"
    ));
    let config = NodeConfig {
        width: 1920,
        height: 1080,
        ..Default::default()
    };
    let error = plan(&config, &fake).expect_err("size").to_string();
    assert!(
        error.contains("image/jpeg 640x480, video/x-raw 160-320x120-240"),
        "{error}"
    );
}

#[test]
fn pipeline_source_is_used_verbatim() {
    let mut config = NodeConfig {
        source: SourceKind::Pipeline,
        ..Default::default()
    };
    config.pipeline.launch = Some("videotestsrc ! jpegenc ! appsink name=sink".into());
    let plan = plan(&config, &env(DESKTOP)).expect("plan");
    assert_eq!(plan.launch, "videotestsrc ! jpegenc ! appsink name=sink");
    assert_eq!(plan.encoder, "custom");
}

#[test]
fn variants_need_raw_frames() {
    let mut fake = env(DESKTOP);
    fake.elements = &[
        "videotestsrc",
        "videoconvert",
        "videoscale",
        "jpegenc",
        "appsink",
        "v4l2src",
    ];
    fake.devices.push("/dev/video0".into());
    fake.caps = vec![OfferedFormat::new("image/jpeg", 640..=640, 480..=480)];
    let mut config = NodeConfig {
        source: SourceKind::V4l2,
        variants: vec![
            toml::from_str("name = \"preview\"\nwidth = 320\nquality = 70\n").expect("variant"),
        ],
        ..Default::default()
    };
    let error = plan(&config, &fake).expect_err("MJPEG-only camera");
    assert!(
        matches!(error, SourceError::VariantsNeedRaw { .. }),
        "{error}"
    );
    config.source = SourceKind::Test;
    let test = plan(&config, &fake).expect("test source");
    assert!(
        test.launch
            .contains("videoconvert ! tee name=raw ! jpegenc quality=85"),
        "{}",
        test.launch
    );
    assert!(
        test.launch.contains("width=320,height=240"),
        "{}",
        test.launch
    );
    config.source = SourceKind::Pipeline;
    config.pipeline.launch = Some("videotestsrc ! jpegenc ! appsink name=sink".into());
    assert!(matches!(
        plan(&config, &fake),
        Err(SourceError::VariantsNeedRaw { .. })
    ));
}

#[test]
fn h264_lanes_pick_nvenc_on_argus_else_software_else_name_the_packages() {
    let lane = toml::from_str("name = \"main\"\ncodec = \"h264\"\nwidth = 320\n").expect("lane");
    let mut config = NodeConfig {
        source: SourceKind::Test,
        variants: vec![lane],
        ..Default::default()
    };
    let mut fake = env(&[
        "videotestsrc",
        "videoconvert",
        "videoscale",
        "jpegenc",
        "appsink",
        "x264enc",
        "openh264enc",
        "h264parse",
        "nvv4l2h264enc",
    ]);
    let desktop = plan(&config, &fake).expect("plan");
    assert_eq!(desktop.h264_encoder, Some(H264Encoder::X264));
    assert!(
        desktop
            .launch
            .contains("videoconvert ! tee name=raw ! jpegenc quality=85")
            && desktop.launch.contains("x264enc name=video-encoder-main")
            && desktop.launch.contains("h264parse config-interval=-1"),
        "{}",
        desktop.launch
    );
    fake.elements = &[
        "videotestsrc",
        "videoconvert",
        "videoscale",
        "jpegenc",
        "appsink",
    ];
    let error = plan(&config, &fake).expect_err("no H.264 encoder");
    assert!(
        error
            .to_string()
            .contains("gstreamer1.0-plugins-ugly (x264enc)")
            && error
                .to_string()
                .contains("gstreamer1.0-plugins-bad (openh264enc)"),
        "{error}"
    );
    config.source = SourceKind::Argus;
    fake.elements = &[
        "nvarguscamerasrc",
        "nvvidconv",
        "nvjpegenc",
        "appsink",
        "nvv4l2h264enc",
        "x264enc",
    ];
    let jetson = plan(&config, &fake).expect("plan");
    assert_eq!(jetson.h264_encoder, Some(H264Encoder::Nvv4l2));
    assert!(
        jetson.launch.contains("video/x-raw(memory:NVMM),width=320,height=240,format=I420 ! nvv4l2h264enc name=video-encoder-main"),
        "{}",
        jetson.launch
    );
}

use super::*;

fn config(name: &str, width: u32) -> VariantConfig {
    VariantConfig {
        name: name.into(),
        codec: Codec::Jpeg,
        width,
        height: None,
        quality: Some(70),
        fps: Some(10),
        bitrate_kbps: None,
        keyframe_interval: None,
    }
}

fn h264(name: &str, width: u32) -> VariantConfig {
    VariantConfig {
        codec: Codec::H264,
        quality: None,
        fps: None,
        ..config(name, width)
    }
}

fn jpeg_of(lane: Lane) -> Variant {
    match lane {
        Lane::Jpeg(v) => v,
        Lane::H264(v) => panic!("expected a JPEG variant, got {v:?}"),
    }
}

fn field(config: &VariantConfig) -> &'static str {
    config.resolve(1280, 720, 30).expect_err("invalid").0
}

#[test]
fn keeps_aspect_and_rejects_bad_entries() {
    let v = jpeg_of(
        config("preview", 320)
            .resolve(1280, 720, 30)
            .expect("valid"),
    );
    assert_eq!((v.width, v.height, v.fps), (320, 180, Some(10)));
    let odd = jpeg_of(config("p", 333).resolve(640, 480, 30).expect("valid"));
    assert_eq!(odd.height, 250);
    assert_eq!(field(&config("p", 2000)), "variants.width");
    assert_eq!(field(&config("a/b", 320)), "variants.name");
    let mut fast = config("p", 320);
    fast.fps = Some(60);
    assert_eq!(field(&fast), "variants.fps");
    let twice = [config("p", 320), config("p", 160)];
    assert_eq!(
        resolve_all(&twice, 1280, 720, 30).expect_err("duplicate").0,
        "variants.name"
    );
    let across = [config("p", 320), h264("p", 640)];
    assert_eq!(
        resolve_all(&across, 1280, 720, 30)
            .expect_err("same name on both codecs")
            .0,
        "variants.name"
    );
}

#[test]
fn h264_lanes_resolve_with_defaults_and_split_from_jpeg() {
    let all =
        resolve_all(&[config("preview", 320), h264("main", 1280)], 1280, 720, 30).expect("valid");
    assert_eq!(all.jpeg.len(), 1);
    assert_eq!(
        all.h264,
        vec![VideoLane {
            name: "main".into(),
            width: 1280,
            height: 720,
            fps_cap: None,
            fps: 30,
            camera_fps: 30,
            bitrate_kbps: DEFAULT_BITRATE_KBPS,
            keyframe_interval: 60,
        }]
    );
    let capped = VariantConfig {
        fps: Some(10),
        bitrate_kbps: Some(500),
        ..h264("low", 640)
    };
    let Lane::H264(lane) = capped.resolve(1280, 720, 30).expect("valid") else {
        panic!("an H.264 lane");
    };
    assert_eq!(
        (lane.height, lane.fps_cap, lane.fps, lane.keyframe_interval),
        (360, Some(10), 10, 20)
    );
    // The encoder sees 30 fps caps but a third of the frames: three times the budget per second.
    assert_eq!(lane.encoder_kbps(), 1500);
}

#[test]
fn codec_fields_are_refused_on_the_other_codec_with_the_fix() {
    let quality = VariantConfig {
        quality: Some(70),
        ..h264("v", 640)
    };
    let (key, value, fix) = quality.resolve(1280, 720, 30).expect_err("quality on h264");
    assert_eq!((key, value.as_str()), ("variants.quality", "70"));
    assert!(fix.contains("bitrate_kbps"), "{fix}");
    let bitrate = VariantConfig {
        bitrate_kbps: Some(800),
        ..config("p", 320)
    };
    let (key, _, fix) = bitrate.resolve(1280, 720, 30).expect_err("bitrate on jpeg");
    assert_eq!(key, "variants.bitrate_kbps");
    assert!(fix.contains("codec = \"h264\""), "{fix}");
    let interval = VariantConfig {
        keyframe_interval: Some(30),
        ..config("p", 320)
    };
    assert_eq!(field(&interval), "variants.keyframe_interval");
    for bad in [99, 50_001] {
        let lane = VariantConfig {
            bitrate_kbps: Some(bad),
            ..h264("v", 640)
        };
        assert_eq!(field(&lane), "variants.bitrate_kbps", "{bad}");
    }
    for bad in [0, MAX_KEYFRAME_INTERVAL + 1] {
        let lane = VariantConfig {
            keyframe_interval: Some(bad),
            ..h264("v", 640)
        };
        assert_eq!(field(&lane), "variants.keyframe_interval", "{bad}");
    }
    assert_eq!(field(&h264("v", 641)), "variants.width");
    let odd_height = VariantConfig {
        height: Some(361),
        ..h264("v", 640)
    };
    assert_eq!(field(&odd_height), "variants.height");
}

#[test]
fn toml_spells_codec_in_lowercase() {
    let parsed: VariantConfig = toml::from_str(
        "name = \"main\"\ncodec = \"h264\"\nwidth = 1280\nbitrate_kbps = 1500\nkeyframe_interval = 300\n",
    )
    .expect("parses");
    assert_eq!(
        (parsed.codec, parsed.bitrate_kbps, parsed.keyframe_interval),
        (Codec::H264, Some(1500), Some(300))
    );
    let default: VariantConfig = toml::from_str("name = \"p\"\nwidth = 320\n").expect("parses");
    assert_eq!(default.codec, Codec::Jpeg);
    assert!(
        toml::from_str::<VariantConfig>("name = \"p\"\nwidth = 320\ncodec = \"vp8\"\n").is_err()
    );
}

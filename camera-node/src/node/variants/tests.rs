use super::*;

fn config(name: &str, width: u32) -> VariantConfig {
    VariantConfig {
        name: name.into(),
        width,
        height: None,
        quality: 70,
        fps: Some(10),
    }
}

#[test]
fn keeps_aspect_and_rejects_bad_entries() {
    let v = config("preview", 320)
        .resolve(1280, 720, 30)
        .expect("valid");
    assert_eq!((v.width, v.height, v.fps), (320, 180, Some(10)));
    assert_eq!(
        config("p", 333)
            .resolve(640, 480, 30)
            .expect("valid")
            .height,
        250
    );
    assert_eq!(
        config("p", 2000)
            .resolve(1280, 720, 30)
            .expect_err("too wide")
            .0,
        "variants.width"
    );
    assert_eq!(
        config("a/b", 320)
            .resolve(1280, 720, 30)
            .expect_err("bad name")
            .0,
        "variants.name"
    );
    let mut fast = config("p", 320);
    fast.fps = Some(60);
    assert_eq!(
        fast.resolve(1280, 720, 30).expect_err("fps").0,
        "variants.fps"
    );
    let twice = [config("p", 320), config("p", 160)];
    assert_eq!(
        resolve_all(&twice, 1280, 720, 30).expect_err("duplicate").0,
        "variants.name"
    );
}

#[test]
fn branches_hang_off_the_tee() {
    let v = config("preview", 320).resolve(640, 480, 30).expect("valid");
    let tail = with_branches(
        "jpegenc quality=85 ! appsink name=sink",
        std::slice::from_ref(&v),
        Scaler::Software,
    );
    assert!(tail.starts_with("tee name=raw ! jpegenc quality=85 ! appsink name=sink raw. ! queue name=variant-queue-preview leaky=downstream"), "{tail}");
    assert!(tail.contains("videoscale ! video/x-raw,width=320,height=240 ! jpegenc quality=70 ! appsink name=variant-sink-preview"), "{tail}");
    assert_eq!(with_branches("x", &[], Scaler::Software), "x");
    let jetson = branches(
        "raw",
        &[v],
        Scaler::Nvvidconv {
            flip_method: 2,
            nvjpegenc: true,
        },
    );
    assert!(jetson.contains("nvvidconv flip-method=2 ! video/x-raw(memory:NVMM),width=320,height=240,format=I420 ! nvjpegenc quality=70"), "{jetson}");
}

#[test]
fn gate_drops_unwanted_and_caps_fps() {
    let (tx, _rx) = watch::channel(None);
    let lane = Lane {
        variant: config("p", 320).resolve(640, 480, 30).expect("valid"),
        wanted: AtomicBool::new(false),
        last_pts: AtomicU64::new(u64::MAX),
        frames: tx,
    };
    assert!(!lane.admits(Some(0)), "admitted while nobody subscribes");
    lane.wanted.store(true, Ordering::Relaxed);
    // 30 fps input, 10 fps cap: every third frame.
    let admitted = (0..30u64)
        .filter(|i| lane.admits(Some(i * 33_333_333)))
        .count();
    assert_eq!(admitted, 10);
}

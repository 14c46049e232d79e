//! Findings 1–4: what a sample carries. Declared sizes, payload sizes, bytes that are no JPEG
//! and real pictures too large to decode are refused (or decoded scaled) on every path.

use super::{assert_only_honest, meta, read_until, repeatedly, Scene, BAD_SIZE, SERIAL, WINDOW};
use std::time::{Duration, Instant};
use test_support::{draw_frame, flat_jpeg, jpeg_size, pad_jpeg};

/// Finding 1: a small JPEG whose attachment declares 65535×65535 (or 8000×8000) is refused
/// before anything is sized from it: plain streams, `?width=` variants and the NO SIGNAL
/// picture (drawn once `bad` goes offline) all keep the honest frame's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_giant_size_is_refused_on_every_path() {
    let _serial = SERIAL.lock().await;
    let scene = Scene::start(&[
        "--offline-after-ms",
        "1000",
        "--no-signal-interval-ms",
        "500",
    ])
    .await;
    let bomb = draw_frame(320, 240, [250, 0, 0], 0);
    let attack = repeatedly(Duration::from_millis(50), async |n| {
        let declared = if n % 2 == 0 { 65_535 } else { 8000 };
        scene
            .bad
            .put_raw(bomb.clone(), Some(meta(1000 + n, declared, declared)))
            .await;
    });
    let parts = scene
        .attack(
            "65535x65535 attachment",
            &[
                "/cameras/bad/stream.mjpg",
                "/cameras/bad/stream.mjpg?width=64",
            ],
            64,
            attack,
        )
        .await;
    assert_only_honest(&parts[0], BAD_SIZE, &[&bomb]);
    assert_only_honest(&parts[1], (64, 48), &[&bomb]);
    assert!(
        parts[0]
            .iter()
            .any(|part| part.header("x-camera-online") == Some("false")),
        "bad never showed NO SIGNAL (the path that drew at the declared size)"
    );
    assert!(scene.rejected("bad", "too_many_pixels").await > 0.0);
    assert!(scene.rejected("bad", "size_mismatch").await > 0.0);
    assert_eq!(scene.rejected("good", "too_many_pixels").await, 0.0);
}

/// Finding 2: a 50 MB payload never takes its size in memory: zenoh drops it while it
/// arrives (its reassembly bound is twice `--max-frame-bytes` plus 1 MiB), and a 12 MiB one,
/// over `--max-frame-bytes` but under that bound, is refused (too_large) and never kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payload_is_refused_before_it_is_kept() {
    let _serial = SERIAL.lock().await;
    let scene = Scene::start(&[]).await;
    let picture = draw_frame(320, 240, [0, 250, 0], 0);
    let huge = [pad_jpeg(&picture, 50 << 20), pad_jpeg(&picture, 12 << 20)];
    let attack = repeatedly(Duration::from_millis(500), async |n| {
        let payload = huge[n as usize % huge.len()].clone();
        scene
            .bad
            .put_raw(payload, Some(meta(1000 + n, 320, 240)))
            .await;
    });
    // Without zenoh's bound the 50 MB payloads alone took the gateway 76 MiB over its RSS.
    let parts = scene
        .attack(
            "50 MB and 12 MiB payloads",
            &["/cameras/bad/stream.mjpg"],
            48,
            attack,
        )
        .await;
    assert_only_honest(&parts[0], BAD_SIZE, &[]);
    assert!(parts[0].iter().all(|part| part.body.len() < 1024 * 1024));
    let snapshot = scene.gateway.get("/cameras/bad/snapshot.jpg").await;
    assert_eq!(snapshot.status(), 200);
    assert_eq!(
        jpeg_size(&snapshot.bytes().await.expect("snapshot")),
        BAD_SIZE
    );
    assert!(scene.rejected("bad", "too_large").await > 0.0);
}

/// Finding 3: `FF D8` + garbage + `FF D9` is refused (not_jpeg) and never served, with or
/// without `?width=`; its warning is logged at most once per 10 s, and a payload whose header
/// is right but whose scan is garbage (only a decode can tell) warns once per 10 s too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_between_markers_is_refused_and_warned_once() {
    let _serial = SERIAL.lock().await;
    let scene = Scene::start(&[]).await;
    let mut garbage = vec![0xFF, 0xD8];
    garbage.extend(b"garbage ".repeat(500));
    garbage.extend([0xFF, 0xD9]);
    let attack = repeatedly(Duration::from_millis(25), async |n| {
        scene
            .bad
            .put_raw(garbage.clone(), Some(meta(1000 + n, 320, 240)))
            .await;
    });
    let parts = scene
        .attack(
            "FF D8 + garbage + FF D9",
            &[
                "/cameras/bad/stream.mjpg",
                "/cameras/bad/stream.mjpg?width=64",
            ],
            64,
            attack,
        )
        .await;
    assert_only_honest(&parts[0], BAD_SIZE, &[&garbage]);
    assert_only_honest(&parts[1], (64, 48), &[&garbage]);
    let snapshot = scene.gateway.get("/cameras/bad/snapshot.jpg").await;
    assert_eq!(
        jpeg_size(&snapshot.bytes().await.expect("snapshot")),
        BAD_SIZE
    );
    let rejected = scene.rejected("bad", "not_jpeg").await;
    assert!(rejected >= 10.0, "only {rejected} garbage samples counted");
    // The whole attack fits in one 10 s throttle period: one warning line.
    assert_eq!(scene.log_lines(&["rejected frame sample", "camera=bad"]), 1);

    // A right header over a garbage scan passes every check short of decoding: a `?width=`
    // client gets no picture from it and the decode failure is logged once, not per frame.
    let mut bad_scan = flat_jpeg(320, 240);
    let sos = bad_scan
        .windows(2)
        .position(|marker| marker == [0xFF, 0xDA])
        .expect("SOS");
    // After the 12-byte SOS segment: stuffed FF bytes, all 1 bits, which no code of the
    // picture's tables starts with.
    let scan = sos + 2 + 12..bad_scan.len() - 2;
    for (at, byte) in bad_scan[scan].iter_mut().enumerate() {
        *byte = if at % 2 == 0 { 0xFF } else { 0x00 };
    }
    let mut variant = scene.stream("/cameras/bad/stream.mjpg?width=64").await;
    let sent = repeatedly(Duration::from_millis(50), async |n| {
        scene
            .bad
            .put_raw(bad_scan.clone(), Some(meta(5000 + n, 320, 240)))
            .await;
    })
    .await;
    let parts = read_until(&mut variant, Instant::now() + Duration::from_millis(500)).await;
    assert!(sent > 10);
    assert_only_honest(&parts, (64, 48), &[]);
    let warnings = scene.log_lines(&["cannot re-encode", "camera=bad"]);
    assert!(warnings <= 1, "{warnings} re-encode warnings in {WINDOW:?}");
}

/// Finding 4: a real 12000×12000 JPEG is refused (over the 8192 cap) without being decoded,
/// and a real 8000×8000 one within the cap is decoded for `?width=320` at 1/8 scale: a full
/// decode needs 192 MB, the bound below is far under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn giant_real_jpegs_are_refused_or_decoded_scaled() {
    let _serial = SERIAL.lock().await;
    let scene = Scene::start(&[]).await;
    let giant = flat_jpeg(12_000, 12_000);
    assert_eq!(jpeg_size(&giant), (12_000, 12_000));
    let attack = repeatedly(Duration::from_millis(200), async |n| {
        scene
            .bad
            .put_raw(giant.clone(), Some(meta(1000 + n, 12_000, 12_000)))
            .await;
    });
    let parts = scene
        .attack(
            "12000x12000 JPEG",
            &[
                "/cameras/bad/stream.mjpg",
                "/cameras/bad/stream.mjpg?width=64",
            ],
            64,
            attack,
        )
        .await;
    assert_only_honest(&parts[0], BAD_SIZE, &[&giant]);
    assert_only_honest(&parts[1], (64, 48), &[]);
    assert!(scene.rejected("bad", "too_many_pixels").await > 0.0);

    // Within the cap: accepted, and scaled while decoding (8000 / 8 = 1000 ≥ 320).
    let big = flat_jpeg(8000, 8000);
    // A debug build takes about a second per frame even scaled: one frame per second.
    let attack = repeatedly(Duration::from_secs(1), async |n| {
        scene
            .bad
            .put_raw(big.clone(), Some(meta(2000 + n, 8000, 8000)))
            .await;
    });
    let parts = scene
        .attack(
            "8000x8000 JPEG, ?width=320",
            &["/cameras/bad/stream.mjpg?width=320"],
            100,
            attack,
        )
        .await;
    let scaled = parts[0]
        .iter()
        .filter(|part| jpeg_size(&part.body) == (320, 320))
        .count();
    assert!(
        scaled >= 1,
        "no scaled frame among {} parts",
        parts[0].len()
    );
    assert_eq!(scene.rejected("bad", "size_mismatch").await, 0.0);
}

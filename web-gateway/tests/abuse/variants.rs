//! Issue 23, finding 8: gateway-encoded variants were bounded only by `max_clients`, so 300
//! streams with distinct `?width=` ran 300 encoders (130–160 % CPU, RSS 20 → 232 MB) and a
//! normal viewer lost a third of its frames. Now at most `[variants] max_per_camera` (4) run
//! per camera; every further width gets the nearest running variant (`X-Served-Variant`).

use crate::GATEWAY;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use test_support::{CameraOptions, Gateway, MjpegStream, SyntheticCamera, DEADLINE};
use tokio::task::JoinSet;

const STREAMS: u32 = 300;
const FPS: u32 = 30;
/// The default `--max-variants-per-camera`.
const PER_CAMERA: f64 = 4.0;
/// How long the normal viewer's rate is measured while all the streams are open.
const WINDOW: Duration = Duration::from_secs(5);
const ENCODERS: &str = "gateway_variant_encoders";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_widths_share_four_encoders_beside_a_normal_viewer() {
    let camera = SyntheticCamera::start(CameraOptions::new("front", 640, 480).fps(FPS)).await;
    let gateway = Gateway::spawn(GATEWAY, &[camera.endpoint()], &[]);
    gateway
        .wait_camera("front", DEADLINE, |c| {
            c["online"] == true && c["fps"].as_f64() > Some(5.0)
        })
        .await;
    let mut viewer = MjpegStream::open(&gateway.url("/cameras/front/stream.mjpg"))
        .await
        .unwrap_or_else(|response| panic!("viewer: HTTP {}", response.status()));
    assert_eq!(viewer.header("x-served-variant"), Some("original"));
    // Read all along, as a browser does: a reader that paused would find a backlog in its
    // socket buffer and count it as frames.
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let viewer = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(part) = viewer.next_part(DEADLINE).await {
                arrivals.lock().expect("arrivals").push(part.complete_at);
            }
        })
    };

    let rss_before_mib = gateway.vm_rss_kib() / 1024;
    // Each attacker stream asks its own width and reads as fast as it can, as a browser would.
    let parts = Arc::new(AtomicU64::new(0));
    let mut served = BTreeSet::new();
    let mut attackers = JoinSet::new();
    for n in 0..STREAMS {
        let url = gateway.url(&format!("/cameras/front/stream.mjpg?width={}", 100 + n));
        let mut stream = MjpegStream::open(&url)
            .await
            .unwrap_or_else(|response| panic!("{url}: HTTP {}", response.status()));
        served.insert(
            stream
                .header("x-served-variant")
                .unwrap_or("none")
                .to_owned(),
        );
        let parts = parts.clone();
        attackers.spawn(async move {
            while stream.next_part(DEADLINE).await.is_some() {
                parts.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    assert_eq!(
        served.len(),
        PER_CAMERA as usize,
        "{STREAMS} widths served as the first {PER_CAMERA} asked: {served:?}"
    );
    assert!(served.contains("width=100&quality=80"), "{served:?}");
    let capped = gateway.metric("gateway_variants_capped_total").await;
    assert_eq!(capped, f64::from(STREAMS) - PER_CAMERA);

    let published = camera.published();
    let started = Instant::now();
    let mut most_encoders = 0.0f64;
    let mut sample = tokio::time::interval(Duration::from_millis(500));
    while started.elapsed() < WINDOW {
        sample.tick().await;
        most_encoders = most_encoders.max(gateway.metric(ENCODERS).await);
    }
    let received = arrivals
        .lock()
        .expect("arrivals")
        .iter()
        .filter(|at| **at >= started)
        .count();
    let received = u32::try_from(received).expect("a few hundred parts");
    assert!(!viewer.is_finished(), "the viewer's stream ended");
    let elapsed = started.elapsed().as_secs_f64();
    let sent = camera.published() - published;
    let fps = f64::from(received) / elapsed;
    let attacker_parts = parts.load(Ordering::Relaxed);
    let rss_mib = gateway.vm_hwm_kib() / 1024;
    eprintln!(
        "variants: viewer {received}/{sent} frames in {elapsed:.1} s ({fps:.1} fps); \
         {STREAMS} streams read {attacker_parts} parts; most encoders {most_encoders}; \
         gateway RSS {rss_before_mib} → peak {rss_mib} MiB"
    );
    assert_eq!(most_encoders, PER_CAMERA, "encoders stay at the cap");
    assert_eq!(gateway.metric(ENCODERS).await, PER_CAMERA);
    // Loose on purpose (shared CI cores): the count above is the real check.
    assert!(
        f64::from(received) >= f64::from(u32::try_from(sent).unwrap_or(u32::MAX)) * 0.5,
        "the normal viewer got {received} of {sent} frames"
    );
    assert!(attacker_parts > 0, "the attacker streams were served too");

    attackers.shutdown().await;
    viewer.abort();
    let deadline = Instant::now() + DEADLINE;
    while gateway.metric(ENCODERS).await > 0.0 {
        assert!(
            Instant::now() < deadline,
            "encoders still running {DEADLINE:?} after their clients left"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

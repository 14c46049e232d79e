//! A client that stops reading must not slow down others nor grow the gateway's memory.

use crate::GATEWAY;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use test_support::{CameraOptions, Gateway, MjpegStream, SyntheticCamera};

const FAST_CLIENTS: usize = 10;
/// Big frames so that queueing them for the stalled client would show in RSS:
/// 5 s x 20 fps x 256 KiB = 25 MiB.
const PADDING: usize = 256 * 1024;

/// The camera a stalled client would fall behind on: camera `busy`, 20 fps of big frames.
pub(crate) async fn busy_camera() -> SyntheticCamera {
    let options = CameraOptions::new("busy", 320, 240).fps(20);
    SyntheticCamera::start(options.padding(PADDING)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_client_does_not_hurt_others_or_memory() {
    let _load = crate::exclusive().await;
    let camera = busy_camera().await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        // No clip buffer: filling it is memory growth by design (up to --clip-buffer-bytes),
        // and would hide what this test measures, growth caused by the stalled client.
        &["--offline-after-ms", "600000", "--clip-buffer", "0"],
    );
    gateway
        .wait_camera("busy", Duration::from_secs(30), |c| {
            c["online"] == true && c["width"] == 320
        })
        .await;
    let url = gateway.url("/cameras/busy/stream.mjpg");

    let mut stalled = MjpegStream::open(&url).await.expect("stalled client opens");
    stalled
        .next_part(Duration::from_secs(10))
        .await
        .expect("stalled client's first part");
    let run_for = Duration::from_secs(9);
    // Frames lost before the gateway (publisher congestion on a loaded machine) are no
    // client's fault; they show as sequence gaps in the gateway's own counter.
    let lost_before = lost_upstream(&gateway).await;
    let readers: Vec<_> = (0..FAST_CLIENTS)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut stream = MjpegStream::open(&url).await.expect("reader opens");
                let mut seqs = BTreeSet::new();
                let started = Instant::now();
                while started.elapsed() < run_for {
                    let part = stream
                        .next_part(Duration::from_secs(10))
                        .await
                        .expect("reader part");
                    assert!(seqs.insert(part.seq()), "duplicate part {}", part.seq());
                }
                seqs
            })
        })
        .collect();
    // Let every client reach steady state before the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = gateway.vm_rss_kib();
    // The stalled client now reads nothing for 5 s while the others go on.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = gateway.vm_rss_kib();
    let mut totals = Vec::new();
    let mut seq_sets = Vec::new();
    for reader in readers {
        seq_sets.push(reader.await.expect("reader task"));
    }
    let lost = lost_upstream(&gateway).await - lost_before;
    for seqs in seq_sets {
        let (first, last) = (*seqs.first().expect("parts"), *seqs.last().expect("parts"));
        let expected = (last - first + 1).saturating_sub(lost).max(1);
        let ratio = seqs.len() as f64 / expected as f64;
        totals.push((seqs.len(), expected));
        assert!(
            ratio >= 0.95,
            "a reading client got {} of {expected} frames",
            seqs.len()
        );
    }
    // The stalled client resumes: what it reads first was already in the kernel's socket
    // buffers; within a bounded number of parts it is back at the newest frames.
    let mut stale_parts = 0;
    loop {
        let part = stalled
            .next_part(Duration::from_secs(10))
            .await
            .expect("stalled client resumes");
        if part.seq() + 10 >= camera.published() {
            break;
        }
        stale_parts += 1;
        assert!(
            stale_parts < 100,
            "stalled client is still {} frames behind",
            camera.published() - part.seq()
        );
    }
    let growth_kib = during.saturating_sub(baseline);
    eprintln!(
        "RSS baseline {baseline} KiB, during stall {during} KiB, readers (got, expected) {totals:?}, \
         lost upstream {lost}, stale parts after resuming {stale_parts}"
    );
    assert!(
        growth_kib < 10 * 1024,
        "gateway RSS grew by {growth_kib} KiB during the stall"
    );
}

async fn lost_upstream(gateway: &Gateway) -> u64 {
    let metrics = gateway.metrics().await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("gateway_frames_dropped_total{camera=\"busy\"}"))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

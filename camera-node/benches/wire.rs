//! Wire-path benchmark: what the protocol costs, without a camera.
//!
//! Prints (1) the attachment codec's cost per frame and (2) put → receive latency and
//! throughput of JPEG-sized payloads between two zenoh sessions over loopback TCP, the
//! path every camera-node → subscriber frame takes on one host. Run with
//! `cargo bench -p camera-node --bench wire` (add `-- --quick` for a short run).
//! Figures are recorded in docs/benchmarks.md.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use bytes::Bytes;
use camera_node::subscriber::{Cameras, FrameSubscriber};
use camera_node::{CameraKeys, FrameMeta};
use std::hint::black_box;
use std::time::{Duration, Instant};
use zenoh::bytes::Encoding;
use zenoh::qos::CongestionControl;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn session_config(json5: &str) -> zenoh::Config {
    zenoh::Config::from_json5(json5).unwrap()
}

fn codec(iterations: u64) {
    let meta = FrameMeta {
        seq: 1,
        capture_ts_ns: 1_764_000_000_000_000_000,
        width: 1280,
        height: 720,
        generation: 1,
        online: true,
    };
    let start = Instant::now();
    for seq in 0..iterations {
        let bytes = black_box(FrameMeta { seq, ..meta }).encode();
        black_box(FrameMeta::decode(&bytes).unwrap());
    }
    let per = start.elapsed().as_nanos() as f64 / iterations as f64;
    println!("attachment encode+decode: {per:.1} ns/frame ({iterations} iterations)");
}

/// A JPEG-shaped payload (SOI … EOI) so the receiver's completeness check passes.
fn payload(size: usize) -> Bytes {
    let mut jpeg = vec![0x5Au8; size];
    jpeg[..2].copy_from_slice(&[0xFF, 0xD8]);
    jpeg[size - 2..].copy_from_slice(&[0xFF, 0xD9]);
    Bytes::from(jpeg)
}

async fn latency(size: usize, frames: u64, interval: Duration) {
    let port = free_port();
    let publisher_session = zenoh::open(session_config(&format!(
        r#"{{mode:"peer",listen:{{endpoints:["tcp/127.0.0.1:{port}"]}},scouting:{{multicast:{{enabled:false}}}}}}"#
    )))
    .await
    .unwrap();
    let subscriber_session = zenoh::open(session_config(&format!(
        r#"{{mode:"peer",connect:{{endpoints:["tcp/127.0.0.1:{port}"]}},listen:{{endpoints:[]}},scouting:{{multicast:{{enabled:false}}}}}}"#
    )))
    .await
    .unwrap();
    let keys = CameraKeys::new("bench", "cam").unwrap();
    let subscriber = FrameSubscriber::declare(&subscriber_session, "bench", Cameras::All, 64)
        .await
        .unwrap();
    let publisher = publisher_session
        .declare_publisher(keys.jpeg())
        .encoding(Encoding::IMAGE_JPEG)
        .congestion_control(CongestionControl::Block)
        .await
        .unwrap();
    // Wait until the subscription has propagated: the matching status is the event for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !publisher.matching_status().await.unwrap().matching() {
        assert!(Instant::now() < deadline, "subscriber never matched");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let jpeg = payload(size);
    let receiver = tokio::spawn(async move {
        let mut latencies = Vec::new();
        while let Ok(Some(received)) =
            tokio::time::timeout(Duration::from_secs(2), subscriber.recv()).await
        {
            let frame = received.frame.unwrap();
            let now = camera_node::meta::unix_now_ns();
            latencies.push(now.saturating_sub(frame.meta.capture_ts_ns));
            if frame.meta.seq + 1 == frames {
                break;
            }
        }
        latencies
    });
    let start = Instant::now();
    for seq in 0..frames {
        let meta = FrameMeta {
            seq,
            capture_ts_ns: camera_node::meta::unix_now_ns(),
            width: 1280,
            height: 720,
            generation: 1,
            online: true,
        };
        publisher
            .put(jpeg.clone())
            .attachment(meta.encode().to_vec())
            .await
            .unwrap();
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
    }
    let mut latencies = receiver.await.unwrap();
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize] as f64 / 1e3;
    let paced = if interval.is_zero() {
        "back-to-back"
    } else {
        "paced"
    };
    println!(
        "{size:>8} B {paced:>12}: received {}/{frames}, latency p50 {:.0} µs p99 {:.0} µs max {:.0} µs, {:.0} frames/s, {:.0} MB/s",
        latencies.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        (latencies.len() * size) as f64 / elapsed.as_secs_f64() / 1e6,
    );
    publisher_session.close().await.unwrap();
    subscriber_session.close().await.unwrap();
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (iterations, frames) = if quick {
        (100_000, 100)
    } else {
        (10_000_000, 1_000)
    };
    codec(iterations);
    // 30 KB ≈ 640x480 q85 test pattern, 150 KB ≈ 1080p q85, 600 KB ≈ 4K.
    for size in [30_000, 150_000, 600_000] {
        latency(size, frames, Duration::from_millis(33)).await;
        latency(size, frames, Duration::ZERO).await;
    }
}

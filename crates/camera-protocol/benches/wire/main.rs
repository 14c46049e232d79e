//! Wire-path benchmark: what the protocol costs, without a camera.
//!
//! Prints (1) the attachment codec's cost per frame and (2) put → receive latency,
//! throughput and CPU per frame of JPEGs padded to typical sizes, published with the library's
//! `FramePublisher` (with `Block` congestion control, so that no frame is lost) to a
//! `FrameSubscriber` in a second zenoh session on one host: over loopback TCP, the path every
//! camera-node → subscriber frame takes today, and, when built with `--features shm`, over
//! zenoh shared memory (the payload copied from heap into an SHM buffer per frame, as a
//! GStreamer-fed node would have to). Run with
//! `cargo bench -p camera-protocol --bench wire [--features shm]` (add `-- --quick` for a short
//! run). Figures are recorded in docs/benchmarks.md.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod sender;

use bytes::Bytes;
use camera_protocol::subscriber::{Cameras, FrameSubscriber};
use camera_protocol::{CameraKeys, FrameMeta};
use sender::{Sender, Wire, PICTURE};
use std::hint::black_box;
use std::time::{Duration, Instant};
use test_support::{draw_frame, free_port, pad_jpeg};

/// CPU time of every live thread of this process (publisher and subscriber sessions both).
fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
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
    // What FramePublisher::publish checks before each put: EOI, then the SOF header.
    let jpeg = payload(150_000);
    let start = Instant::now();
    for _ in 0..iterations {
        camera_protocol::frame::check_complete_jpeg(black_box(&jpeg)).unwrap();
        black_box(camera_protocol::jpeg_dimensions(black_box(&jpeg)).unwrap());
    }
    let per = start.elapsed().as_nanos() as f64 / iterations as f64;
    println!(
        "publisher frame check (150 KB JPEG, 3 padding segments before SOF): {per:.1} ns/frame"
    );
}

/// A real JPEG of [`PICTURE`]'s size padded to `size` bytes.
fn payload(size: usize) -> Bytes {
    let (width, height) = PICTURE;
    let jpeg = draw_frame(width, height, [40, 80, 120], 1);
    let padding = size
        .checked_sub(jpeg.len() + 4)
        .expect("payload larger than the picture");
    Bytes::from(pad_jpeg(&jpeg, padding))
}

/// Puts warm-up frames until one arrives on the path this row claims: zenoh creates its
/// implicit SHM pool in the background on the first large put, which goes over TCP.
async fn warm_up(
    wire: Wire,
    sender: &mut Sender,
    jpeg: &Bytes,
    subscriber: &FrameSubscriber,
    probe: &zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        sender.put(jpeg).await;
        let sample = probe.recv_async().await.unwrap();
        subscriber.recv().await.unwrap().frame.unwrap();
        #[cfg(feature = "shm")]
        let on_path = sample.payload().as_shm().is_some() == (wire != Wire::Tcp);
        #[cfg(not(feature = "shm"))]
        let on_path = {
            let _ = (wire, sample);
            true
        };
        if on_path {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} frames never took their path",
            wire.label()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One run's figures; latencies in µs.
#[derive(Debug)]
struct Run {
    p50: f64,
    p99: f64,
    cpu_per_frame: f64,
    mb_per_s: f64,
    idle_per_interval: f64,
}

async fn latency(wire: Wire, size: usize, frames: u64, interval: Duration) -> Run {
    let port = free_port();
    let transport = wire.transport_json5();
    let publisher_session = zenoh::open(zenoh::Config::from_json5(&format!(
        r#"{{mode:"peer",listen:{{endpoints:["tcp/127.0.0.1:{port}"]}},scouting:{{multicast:{{enabled:false}}}},{transport}}}"#
    )).unwrap())
    .await
    .unwrap();
    let subscriber_session = zenoh::open(zenoh::Config::from_json5(&format!(
        r#"{{mode:"peer",connect:{{endpoints:["tcp/127.0.0.1:{port}"]}},listen:{{endpoints:[]}},scouting:{{multicast:{{enabled:false}}}},{transport}}}"#
    )).unwrap())
    .await
    .unwrap();
    let keys = CameraKeys::new("bench", "cam").unwrap();
    let subscriber = FrameSubscriber::declare(&subscriber_session, "bench", Cameras::All, 64)
        .await
        .unwrap();
    let probe = subscriber_session
        .declare_subscriber(keys.jpeg())
        .await
        .unwrap();
    let mut sender = Sender::declare(wire, &publisher_session, &keys, size).await;
    // Wait until the subscription has propagated: the matching status is the event for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sender.matching().await {
        assert!(Instant::now() < deadline, "subscriber never matched");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let jpeg = payload(size);
    warm_up(wire, &mut sender, &jpeg, &subscriber, &probe).await;
    drop(probe);
    let last_seq = sender.published() + frames - 1;

    let receiver = tokio::spawn(async move {
        let mut latencies = Vec::new();
        while let Ok(Some(received)) =
            tokio::time::timeout(Duration::from_secs(2), subscriber.recv()).await
        {
            let frame = received.frame.unwrap();
            let now = camera_protocol::meta::unix_now_ns();
            latencies.push(now.saturating_sub(frame.meta.capture_ts_ns));
            if frame.meta.seq == last_seq {
                break;
            }
        }
        latencies
    });
    // What the two open sessions cost doing nothing, so the paced CPU figure can be read
    // against it.
    let idle_start = process_cpu_ns();
    tokio::time::sleep(interval.max(Duration::from_millis(1)) * 30).await;
    let idle_per_interval = process_cpu_ns().saturating_sub(idle_start) as f64 / 30e3;
    let cpu_start = process_cpu_ns();
    let start = Instant::now();
    for _ in 0..frames {
        sender.put(&jpeg).await;
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
    }
    let mut latencies = receiver.await.unwrap();
    let elapsed = start.elapsed();
    let cpu_ns = process_cpu_ns().saturating_sub(cpu_start);
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize] as f64 / 1e3;
    let paced = if interval.is_zero() {
        "back-to-back"
    } else {
        "paced"
    };
    let run = Run {
        p50: pick(0.5),
        p99: pick(0.99),
        cpu_per_frame: cpu_ns as f64 / 1e3 / latencies.len() as f64,
        mb_per_s: (latencies.len() * size) as f64 / elapsed.as_secs_f64() / 1e6,
        idle_per_interval,
    };
    println!(
        "{:>12} {size:>8} B {paced:>12}: received {}/{frames}, latency p50 {:.0} µs p99 {:.0} µs max {:.0} µs, {:.0} frames/s, {:.0} MB/s, CPU {:.0} µs/frame (idle {:.0} µs per interval)",
        wire.label(),
        latencies.len(),
        run.p50,
        run.p99,
        pick(1.0),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        run.mb_per_s,
        run.cpu_per_frame,
        run.idle_per_interval,
    );
    drop(sender);
    publisher_session.close().await.unwrap();
    subscriber_session.close().await.unwrap();
    run
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
    let mut table = Vec::new();
    // 30 KB ≈ 640x480 q85 test pattern, 150 KB ≈ 1080p q85, 600 KB ≈ 4K.
    for size in [30_000, 150_000, 600_000] {
        for (pacing, interval) in [
            ("30 fps", Duration::from_millis(33)),
            ("back-to-back", Duration::ZERO),
        ] {
            let mut row = format!("{size:>8} B {pacing:>12}");
            for &wire in Wire::ALL {
                let run = latency(wire, size, frames, interval).await;
                row += &if interval.is_zero() {
                    format!(
                        " | {:>5.0} MB/s, cpu {:>4.0}      ",
                        run.mb_per_s, run.cpu_per_frame
                    )
                } else {
                    format!(
                        " | {:>4.0}/{:>5.0}, cpu {:>4.0} ({:>3.0})",
                        run.p50, run.p99, run.cpu_per_frame, run.idle_per_interval
                    )
                };
            }
            table.push(row);
        }
    }
    let header: String = Wire::ALL
        .iter()
        .map(|wire| format!(" | {:<26}", wire.label()))
        .collect();
    println!(
        "\nside by side, µs (30 fps: p50/p99 latency, CPU per frame of both sessions (idle CPU per 33 ms); back-to-back: throughput, CPU per frame):"
    );
    println!("{:>23}{header}", "size, pacing");
    for row in table {
        println!("{row}");
    }
}

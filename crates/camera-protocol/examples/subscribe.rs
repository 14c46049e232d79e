//! Prints one line per received frame: camera, seq, size, bytes and capture-to-receive latency.
//!
//! `cargo run -p camera-protocol --example subscribe -- --count 50` subscribes to every camera
//! under the prefix; `--camera front` to one. Exits 0 after `--count` frames, 1 if
//! `--timeout` passes first (so scripts and tests can rely on it).
#![allow(clippy::print_stdout)]

use camera_protocol::{Cameras, FrameSubscriber};
use clap::Parser;
use robot_cli::zenoh_config::SUBSCRIBER_DEFAULT;
use robot_cli::ZenohSettings;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(about = "Print the frames camera nodes publish on zenoh")]
struct Args {
    /// Key prefix the nodes publish under.
    #[arg(long, default_value = camera_protocol::keys::DEFAULT_PREFIX)]
    prefix: String,
    /// Only this camera (default: all cameras under the prefix).
    #[arg(long)]
    camera: Option<String>,
    /// Exit after this many valid frames (default: run until Ctrl+C).
    #[arg(long)]
    count: Option<u64>,
    /// Give up after this many seconds without reaching --count.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    #[command(flatten)]
    zenoh: ZenohSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let session = zenoh::open(args.zenoh.build(SUBSCRIBER_DEFAULT)?)
        .await
        .map_err(anyhow::Error::from_boxed)?;
    let cameras = args.camera.clone().map_or(Cameras::All, Cameras::One);
    let subscriber = FrameSubscriber::declare(&session, &args.prefix, cameras, 8).await?;
    let deadline = args
        .timeout
        .map(|secs| Instant::now() + Duration::from_secs_f64(secs));
    let mut received = 0u64;
    while args.count.is_none_or(|count| received < count) {
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        let Ok(Some(sample)) = tokio::time::timeout(left, subscriber.recv()).await else {
            eprintln!("subscribe: timed out after {received} frames");
            return Ok(ExitCode::FAILURE);
        };
        match sample.frame {
            Ok(frame) => {
                received += 1;
                let meta = frame.meta;
                println!(
                    "camera={} seq={} size={}x{} bytes={} latency_ms={:.1}",
                    sample.camera,
                    meta.seq,
                    meta.width,
                    meta.height,
                    frame.jpeg.len(),
                    meta.age().as_secs_f64() * 1000.0
                );
            }
            Err(error) => eprintln!("subscribe: invalid frame from {}: {error}", sample.camera),
        }
    }
    session.close().await.map_err(anyhow::Error::from_boxed)?;
    Ok(ExitCode::SUCCESS)
}

//! Table 6: bytes per second on the robot → base-station link (camera-node → web-gateway,
//! through the counting proxy) with 1 and 10 viewers of full frames or of a preview.

use super::{fps_cell, Settings};
use crate::load::{self, Protocol, WindowProbe};
use crate::pair::{CameraSpec, Pair, CAMERA};
use crate::report::{num, Table};
use anyhow::Result;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use test_support::proxy::Counters;

/// Down bytes over the window.
struct LinkProbe {
    counters: Arc<Counters>,
    start: Option<(Instant, u64)>,
    bytes_per_second: f64,
}

impl WindowProbe for LinkProbe {
    fn start(&mut self) {
        self.start = Some((Instant::now(), self.counters.down.load(Ordering::Relaxed)));
    }
    fn stop(&mut self) {
        if let Some((at, before)) = self.start.take() {
            let bytes = self.counters.down.load(Ordering::Relaxed) - before;
            self.bytes_per_second = bytes as f64 / at.elapsed().as_secs_f64();
        }
    }
}

pub async fn link_bytes(settings: &Settings) -> Result<Table> {
    let mut table = Table::new(
        "Robot → base-station link, 1280×720@30",
        "Bytes per second from camera-node to web-gateway (zenoh over TCP through a counting \
         proxy), gateway with `--subscribe while-watched` as on a robot link, `pinwheel` pattern. \
         A preview is what a phone tile asks for: the node's own 320-wide variant \
         (`[[variants]]`, forwarded by the gateway), or one the gateway encodes itself.",
        &[
            "viewers",
            "stream",
            "link kB/s",
            "link Mbit/s",
            "viewer fps",
        ],
    );
    // The node also declares the preview of config/camera-node/test-pattern.toml (320 wide,
    // quality 70, at most 15 fps); it costs nothing until subscribed.
    let config = settings.logs.join("link-camera.toml");
    std::fs::write(
        &config,
        "[[variants]]\nname = \"preview\"\nwidth = 320\nquality = 70\nfps = 15\n",
    )?;
    let camera = CameraSpec {
        width: 1280,
        height: 720,
        fps: 30,
        pattern: "pinwheel".into(),
        extra: vec!["--config".into(), config.display().to_string()],
    };
    let pair = Pair::start(
        &settings.bins,
        &camera,
        true,
        &["--subscribe", "while-watched"],
        &settings.logs,
    )
    .await?;
    let counters = pair.link.clone().expect("proxied pair");
    let stream = format!("/cameras/{CAMERA}/stream.mjpg");
    let rows = [
        ("full", stream.clone()),
        // No node variant is 300 wide: the gateway needs full frames to encode this one.
        (
            "preview, gateway-encoded (?width=300)",
            format!("{stream}?width=300"),
        ),
        (
            "preview, node-encoded (?variant=preview, 15 fps)",
            format!("{stream}?variant=preview"),
        ),
    ];
    let viewers: &[usize] = if settings.quick { &[1] } else { &[1, 10] };
    for (name, path) in &rows {
        if path.ends_with("variant=preview") {
            wait_quiet(&counters).await?;
        }
        for &n in viewers {
            let spec = settings.spec(pair.http, path, Protocol::Mjpeg, n);
            let mut probe = LinkProbe {
                counters: counters.clone(),
                start: None,
                bytes_per_second: f64::NAN,
            };
            match load::run(&spec, &mut probe).await {
                Ok(result) => table.push(vec![
                    n.to_string(),
                    (*name).into(),
                    num(probe.bytes_per_second / 1e3, 0),
                    num(probe.bytes_per_second * 8.0 / 1e6, 2),
                    fps_cell(&result),
                ]),
                Err(error) => table.push(vec![
                    n.to_string(),
                    (*name).into(),
                    format!("failed: {error:#}"),
                ]),
            }
        }
    }
    Ok(table)
}

/// Waits until the gateway stopped pulling full frames after the last full-frame viewer
/// left (`--subscribe while-watched` lingers ~2 s): < 20 kB in 500 ms, a full frame is ~90 kB.
async fn wait_quiet(counters: &Arc<Counters>) -> Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let before = counters.down.load(Ordering::Relaxed);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if counters.down.load(Ordering::Relaxed) - before < 20_000 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("the link did not go quiet after the gateway's viewers left");
        }
    }
}

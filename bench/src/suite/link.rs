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
         The preview is what a phone tile asks for.",
        &[
            "viewers",
            "stream",
            "link kB/s",
            "link Mbit/s",
            "viewer fps",
        ],
    );
    // The node also declares a 320-wide preview variant; it costs nothing until subscribed.
    let config = settings.logs.join("link-camera.toml");
    std::fs::write(
        &config,
        "[[variants]]\nname = \"preview\"\nwidth = 320\nquality = 70\n",
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
    let full = format!("/cameras/{CAMERA}/stream.mjpg");
    let preview = format!("/cameras/{CAMERA}/stream.mjpg?width=320");
    let viewers: &[usize] = if settings.quick { &[1] } else { &[1, 10] };
    for (name, path) in [("full", &full), ("preview (?width=320)", &preview)] {
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
                    name.into(),
                    num(probe.bytes_per_second / 1e3, 0),
                    num(probe.bytes_per_second * 8.0 / 1e6, 2),
                    fps_cell(&result),
                ]),
                Err(error) => table.push(vec![
                    n.to_string(),
                    name.into(),
                    format!("failed: {error:#}"),
                ]),
            }
        }
    }
    // The preview variant as a base-station subscriber sees it: one zenoh session behind the
    // same proxy, with 1 or 10 subscribers of `camera/front/jpeg/preview` (what the gateway
    // will declare for `?variant=preview`; zenoh carries one copy per session either way).
    let proxy = pair.link_endpoint.clone().expect("proxied pair");
    for &n in viewers {
        let label = format!("preview variant (node-encoded, {n} zenoh subscriber(s) at the base)");
        match preview_row(&proxy, n, settings.window, &counters).await {
            Ok((bytes_per_second, fps)) => table.push(vec![
                n.to_string(),
                label,
                num(bytes_per_second / 1e3, 0),
                num(bytes_per_second * 8.0 / 1e6, 2),
                format!("{} (per subscriber)", num(fps, 1)),
            ]),
            Err(error) => table.push(vec![n.to_string(), label, format!("failed: {error:#}")]),
        }
    }
    Ok(table)
}

/// Link bytes per second and frames per second per subscriber with `n` subscribers of the
/// preview variant in one session connected through the proxy.
async fn preview_row(
    proxy: &str,
    n: usize,
    window: std::time::Duration,
    counters: &Arc<Counters>,
) -> Result<(f64, f64)> {
    // The gateway stops pulling full frames some time after its last viewer left: wait for
    // the link to go quiet (< 20 kB in 500 ms; a full frame is ~90 kB) before subscribing.
    let quiet_deadline = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let before = counters.down.load(Ordering::Relaxed);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if counters.down.load(Ordering::Relaxed) - before < 20_000 {
            break;
        }
        if Instant::now() > quiet_deadline {
            anyhow::bail!("the link did not go quiet after the gateway's viewers left");
        }
    }
    let config = camera_node::ZenohSettings {
        connect: vec![proxy.to_owned()],
        listen: vec!["tcp/127.0.0.1:0".to_owned()],
        ..Default::default()
    }
    .build(camera_node::zenoh_config::SUBSCRIBER_DEFAULT)?;
    let session = zenoh::open(config)
        .await
        .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?;
    let key = camera_node::CameraKeys::new(camera_node::keys::DEFAULT_PREFIX, CAMERA)?
        .variant_jpeg("preview");
    let mut subscribers = Vec::with_capacity(n);
    for _ in 0..n {
        subscribers.push(
            session
                .declare_subscriber(&key)
                .await
                .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?,
        );
    }
    // Settle: the first preview frame arrives once the branch is gated on.
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        subscribers[0].recv_async(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no preview frame within 10 s"))?
    .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?;
    while subscribers[0].try_recv().ok().flatten().is_some() {}
    let mut probe = LinkProbe {
        counters: counters.clone(),
        start: None,
        bytes_per_second: f64::NAN,
    };
    probe.start();
    let started = Instant::now();
    let mut frames = 0u64;
    while started.elapsed() < window {
        let left = window.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, subscribers[0].recv_async()).await {
            Ok(Ok(_)) => frames += 1,
            Ok(Err(e)) => anyhow::bail!("zenoh: {e}"),
            Err(_) => break,
        }
    }
    probe.stop();
    let fps = frames as f64 / started.elapsed().as_secs_f64();
    drop(subscribers);
    session
        .close()
        .await
        .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?;
    Ok((probe.bytes_per_second, fps))
}

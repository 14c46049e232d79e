//! The tables of `launch/bench.sh`, each row measured side by side in one run.
//!
//! 1–3: fan-out through the gateway against the bare writer (fps, duplicates, CPU per
//! client-frame, RSS, latency); 4: camera-node against `gst-launch-1.0`; 5: the seed program
//! against our two processes; 6: bytes on the robot → base-station link.

mod link;
mod node;
mod seed;

pub use link::link_bytes;
pub use node::node_cost;
pub use seed::seed_vs_ours;

use crate::load::{self, LoadResult, LoadSpec, Protocol};
use crate::pair::{start_bare_writer, Bins, CameraSpec, Pair, CAMERA};
use crate::procstat::{memory_kib, CpuWindow};
use crate::report::{ms, num, Table};
use anyhow::Result;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// WebSocket rows from this many clients on split their latency with one MJPEG probe client
/// (`load::LoadSpec::stamps_from`), whose part of the gateway's CPU is then ≤ 1 %.
const STAMP_PROBE_FROM: usize = 100;

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bins: Bins,
    pub quick: bool,
    pub window: Duration,
    pub logs: PathBuf,
    /// The seed program (`shared/seed/web_streaming_testsrc.py`), if found.
    pub seed: Option<PathBuf>,
    /// Python with OpenCV and Flask for the seed.
    pub python: PathBuf,
    /// Fan-out rows replacing the default ones (`--rows`).
    pub rows: Vec<(Protocol, usize)>,
}

/// `mjpeg:300` or `ws:100`: a fan-out row.
pub fn parse_row(text: &str) -> Result<(Protocol, usize), String> {
    let (protocol, clients) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected PROTOCOL:CLIENTS, e.g. mjpeg:300"))?;
    let protocol = match protocol {
        "mjpeg" => Protocol::Mjpeg,
        "ws" => Protocol::WebSocket,
        other => return Err(format!("{other:?}: expected mjpeg or ws")),
    };
    let clients = clients
        .parse()
        .map_err(|_| format!("{clients:?}: expected a number of clients"))?;
    Ok((protocol, clients))
}

/// `1280x720`: a fan-out frame size.
/// `WIDTHxHEIGHT[:PATTERN]` (videotestsrc pattern, default `pinwheel`).
pub fn parse_size(text: &str) -> Result<(u32, u32, String), String> {
    let bad =
        || format!("{text:?}: expected WIDTHxHEIGHT[:PATTERN], e.g. 1280x720 or 640x480:ball");
    let (size, pattern) = text.split_once(':').unwrap_or((text, "pinwheel"));
    let (width, height) = size.split_once('x').ok_or_else(bad)?;
    if pattern.is_empty()
        || !pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(bad());
    }
    Ok((
        width.parse().map_err(|_| bad())?,
        height.parse().map_err(|_| bad())?,
        pattern.to_owned(),
    ))
}

impl Settings {
    fn spec(&self, addr: SocketAddr, path: &str, protocol: Protocol, clients: usize) -> LoadSpec {
        LoadSpec {
            addr,
            path: path.to_owned(),
            protocol,
            clients,
            window: self.window,
            connect_timeout: Duration::from_secs(60),
            slow: None,
            stamps_from: None,
        }
    }
}

/// Runs `spec` while measuring the CPU of `pids`.
pub async fn measure(spec: &LoadSpec, pids: Vec<u32>) -> Result<(LoadResult, CpuWindow)> {
    let mut cpu = CpuWindow::new(pids);
    let result = load::run(spec, &mut cpu).await?;
    Ok((result, cpu))
}

fn fps_cell(result: &LoadResult) -> String {
    let fps = result.fps_sorted();
    let median = fps.get(fps.len() / 2).copied().unwrap_or(f64::NAN);
    let min = fps.first().copied().unwrap_or(f64::NAN);
    format!("{} / {}", num(median, 1), num(min, 1))
}

fn latency_cell(result: &LoadResult) -> String {
    format!(
        "{} / {}",
        ms(result.latency_us(50.0)),
        ms(result.latency_us(99.0))
    )
}

/// Capture → gateway and gateway → client, p50 / p99 each ("—" without gateway stamps).
fn split_cells(result: &LoadResult) -> [String; 2] {
    let cell = |of: &dyn Fn(f64) -> Option<u32>| match (of(50.0), of(99.0)) {
        (Some(p50), Some(p99)) => format!("{} / {}", ms(Some(p50)), ms(Some(p99))),
        _ => "—".to_owned(),
    };
    [
        cell(&|p| result.to_gateway_us(p)),
        cell(&|p| result.from_gateway_us(p)),
    ]
}

/// µs of CPU per delivered client-frame.
fn per_part_us(cpu_seconds: f64, result: &LoadResult) -> f64 {
    cpu_seconds * 1e6 / result.total_parts() as f64
}

fn problems(result: &LoadResult) -> String {
    let errors = result.errors();
    let mut out = format!("{} / {}", result.duplicates(), result.not_jpeg());
    if !errors.is_empty() {
        out += &format!(" ({} failed: {})", errors.len(), errors[0]);
    }
    out
}

/// Tables 1–3: fan-out at one resolution, gateway against the bare writer.
pub async fn fan_out(settings: &Settings, camera: &CameraSpec) -> Result<Table> {
    let mut table = Table::new(
        &format!("Fan-out, {} (`{}` pattern)", camera.label(), camera.pattern),
        "fps per client median / min; duplicates / parts that are not a complete JPEG; CPU per \
         delivered client-frame of the gateway and of the bare writer serving the same frames \
         to the same number of clients; gateway RSS at the end of the row; latency = X-Timestamp \
         (the buffer's capture time, so the node's JPEG encoding is included) → last byte of the \
         part read by the client, p50 / p99, split at X-Gateway-Timestamp (when the gateway's \
         camera task took the frame from zenoh) into capture → gateway (encoding, zenoh hop; \
         clocks of one machine) and gateway → client (the gateway's own latency: WebSocket \
         messages carry no such stamp); the bare writer stamps the moment it writes.",
        &[
            "clients",
            "fps",
            "dups / bad",
            "gateway cores",
            "gateway µs/cf",
            "bare µs/cf",
            "ratio",
            "gateway RSS MiB",
            "latency ms",
            "capture→gateway ms",
            "gateway→client ms",
            "bare fps",
            "bare latency ms",
        ],
    );
    let pair = Pair::start(
        &settings.bins,
        camera,
        false,
        &["--max-clients", "5000"],
        &settings.logs,
    )
    .await?;
    let frames = settings
        .logs
        .join(format!("frames-{}x{}", camera.width, camera.height));
    pair.record_frames(&frames, 30).await?;
    let size: u64 = std::fs::read_dir(&frames)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    table.note += &format!(" Mean frame size {} KB.", size / 30 / 1000);
    let (bare, bare_addr) =
        start_bare_writer(&settings.bins, &frames, camera.fps, &settings.logs).await?;
    let rows: &[(Protocol, usize)] = if !settings.rows.is_empty() {
        &settings.rows
    } else if settings.quick {
        &[
            (Protocol::Mjpeg, 1),
            (Protocol::Mjpeg, 100),
            (Protocol::WebSocket, 1),
        ]
    } else {
        &[
            (Protocol::Mjpeg, 1),
            (Protocol::Mjpeg, 10),
            (Protocol::Mjpeg, 100),
            (Protocol::Mjpeg, 300),
            (Protocol::Mjpeg, 1000),
            (Protocol::WebSocket, 1),
            (Protocol::WebSocket, 10),
            (Protocol::WebSocket, 100),
            (Protocol::WebSocket, 300),
            (Protocol::WebSocket, 1000),
        ]
    };
    for &(protocol, clients) in rows {
        let (path, label) = match protocol {
            Protocol::Mjpeg => (
                format!("/cameras/{CAMERA}/stream.mjpg"),
                format!("{clients} MJPEG"),
            ),
            Protocol::WebSocket => (format!("/ws?cameras={CAMERA}"), format!("{clients} WS")),
        };
        let mut spec = settings.spec(pair.http, &path, protocol, clients);
        if protocol == Protocol::WebSocket && clients >= STAMP_PROBE_FROM {
            spec.stamps_from = Some(format!("/cameras/{CAMERA}/stream.mjpg"));
        }
        let (result, cpu) = match measure(&spec, vec![pair.gateway.pid()]).await {
            Ok(measured) => measured,
            Err(error) => {
                table.push(vec![label, format!("failed: {error:#}")]);
                continue;
            }
        };
        let rss = memory_kib(pair.gateway.pid())
            .map(|(rss, _)| rss as f64 / 1024.0)
            .unwrap_or(f64::NAN);
        let gateway_us = per_part_us(cpu.seconds(0), &result);
        // The bare writer speaks MJPEG only; WebSocket rows compare with its MJPEG figure.
        let bare_spec = settings.spec(bare_addr, "/", Protocol::Mjpeg, clients);
        let (bare_us, bare_fps, bare_latency) = match measure(&bare_spec, vec![bare.pid()]).await {
            Ok((bare_result, bare_cpu)) => (
                per_part_us(bare_cpu.seconds(0), &bare_result),
                fps_cell(&bare_result),
                latency_cell(&bare_result),
            ),
            Err(error) => (f64::NAN, format!("failed: {error:#}"), String::new()),
        };
        let split = split_cells(&result);
        table.push(vec![
            label,
            fps_cell(&result),
            problems(&result),
            num(cpu.cores(0), 2),
            num(gateway_us, 1),
            num(bare_us, 1),
            num(gateway_us / bare_us, 2),
            num(rss, 1),
            latency_cell(&result),
            split[0].clone(),
            split[1].clone(),
            bare_fps,
            bare_latency,
        ]);
    }
    Ok(table)
}

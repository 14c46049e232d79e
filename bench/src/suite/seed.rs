//! Table 5: the seed program (`shared/seed/`, Python + Flask + OpenCV, 960×616@21) against
//! camera-node + web-gateway at the same size and rate, 1–50 MJPEG clients.

use super::{fps_cell, latency_cell, measure, Settings};
use crate::load::{LoadResult, Protocol};
use crate::pair::{CameraSpec, Pair, CAMERA};
use crate::procs;
use crate::report::{num, Table};
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::ChildProcess;

/// Where the seed listens (hard-coded in it).
const SEED_ADDR: &str = "127.0.0.1:8000";

fn fresh_cell(result: &LoadResult) -> String {
    let secs = result.window.as_secs_f64();
    let mut fresh: Vec<f64> = result
        .clients
        .iter()
        .map(|c| (c.parts - c.duplicates) as f64 / secs)
        .collect();
    fresh.sort_by(f64::total_cmp);
    let median = fresh.get(fresh.len() / 2).copied().unwrap_or(f64::NAN);
    format!(
        "{} / {}",
        num(median, 1),
        num(fresh.first().copied().unwrap_or(f64::NAN), 1)
    )
}

fn dup_percent(result: &LoadResult) -> String {
    num(
        100.0 * result.duplicates() as f64 / result.total_parts().max(1) as f64,
        0,
    )
}

async fn start_seed(settings: &Settings) -> Result<ChildProcess> {
    let script = settings.seed.as_ref().context("seed program not found")?;
    if std::net::TcpStream::connect(SEED_ADDR).is_ok() {
        bail!(
            "{SEED_ADDR} is already in use: stop whatever listens there (the seed's port is fixed)"
        );
    }
    let mut command = Command::new(&settings.python);
    command
        .arg(script)
        .current_dir(script.parent().unwrap_or(std::path::Path::new(".")));
    let mut seed = procs::spawn("seed", command, &settings.logs)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(SEED_ADDR).is_err() {
        procs::check_alive(&mut seed)?;
        if Instant::now() > deadline {
            bail!("the seed did not listen on {SEED_ADDR} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(seed)
}

pub async fn seed_vs_ours(settings: &Settings) -> Result<Table> {
    let mut table = Table::new(
        "The seed program against camera-node + web-gateway, 960×616@21",
        "MJPEG clients of one camera. parts/s: what each client receives, median / min; fresh/s: \
         parts that are a new picture (the seed sends no sequence numbers: a part equal to the \
         one before is a duplicate); CPU: the seed's one process, or camera-node + web-gateway \
         together (capture and encoding included on both sides). Latency needs X-Timestamp, which \
         the seed does not send.",
        &[
            "clients",
            "program",
            "parts/s",
            "fresh/s",
            "dup %",
            "CPU cores",
            "latency ms",
        ],
    );
    let clients: &[usize] = if settings.quick {
        &[1, 20]
    } else {
        &[1, 5, 20, 50]
    };
    let addr: SocketAddr = SEED_ADDR.parse()?;
    match start_seed(settings).await {
        Ok(seed) => {
            for &n in clients {
                let spec = settings.spec(addr, "/", Protocol::Mjpeg, n);
                match measure(&spec, vec![seed.pid()]).await {
                    Ok((result, cpu)) => table.push(vec![
                        n.to_string(),
                        "seed".into(),
                        fps_cell(&result),
                        fresh_cell(&result),
                        dup_percent(&result),
                        num(cpu.cores(0), 2),
                        "–".into(),
                    ]),
                    Err(error) => table.push(vec![
                        n.to_string(),
                        "seed".into(),
                        format!("failed: {error:#}"),
                    ]),
                }
            }
        }
        Err(error) => table.push(vec![
            "–".into(),
            "seed".into(),
            format!("not run: {error:#}"),
        ]),
    }
    let camera = CameraSpec {
        width: 960,
        height: 616,
        fps: 21,
        pattern: "ball".into(),
        extra: vec![],
    };
    let pair = Pair::start(&settings.bins, &camera, false, &[], &settings.logs).await?;
    for &n in clients {
        let spec = settings.spec(
            pair.http,
            &format!("/cameras/{CAMERA}/stream.mjpg"),
            Protocol::Mjpeg,
            n,
        );
        match measure(&spec, vec![pair.node.pid(), pair.gateway.pid()]).await {
            Ok((result, cpu)) => table.push(vec![
                n.to_string(),
                "ours".into(),
                fps_cell(&result),
                fresh_cell(&result),
                dup_percent(&result),
                num(cpu.cores(0) + cpu.cores(1), 2),
                latency_cell(&result),
            ]),
            Err(error) => table.push(vec![
                n.to_string(),
                "ours".into(),
                format!("failed: {error:#}"),
            ]),
        }
    }
    Ok(table)
}

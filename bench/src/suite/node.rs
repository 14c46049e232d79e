//! Table 4: camera-node CPU per frame against `gst-launch-1.0` running the same pipeline into
//! `fakesink`.

use super::Settings;
use crate::pair::{CameraSpec, Pair};
use crate::procs;
use crate::procstat::CpuWindow;
use crate::report::{num, Table};
use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Duration;

/// Time a process runs before its window starts (pipeline negotiation, first frames).
const WARM_UP: Duration = Duration::from_secs(2);

/// The node's launch string for `camera` (`--print-pipeline`), ending in fakesink instead of
/// appsink.
fn gst_launch_pipeline(settings: &Settings, camera: &CameraSpec) -> Result<String> {
    let output = Command::new(&settings.bins.camera_node)
        .args(camera.args())
        .arg("--print-pipeline")
        .env("RUST_LOG", "warn")
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains("appsink"))
        .context("--print-pipeline printed no appsink pipeline")?;
    let at = line.find("appsink").unwrap_or(line.len());
    Ok(format!("{}fakesink sync=false", &line[..at]))
}

fn supports_ros2(settings: &Settings) -> bool {
    Command::new(&settings.bins.camera_node)
        .arg("--help")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--ros2"))
}

/// CPU seconds of the node over the window and the frames it published meanwhile.
async fn node_row(settings: &Settings, camera: &CameraSpec) -> Result<(f64, u64)> {
    let pair = Pair::start(&settings.bins, camera, false, &[], &settings.logs).await?;
    tokio::time::sleep(WARM_UP).await;
    let seq = |v: serde_json::Value| {
        v["last_seq"]
            .as_u64()
            .context("no last_seq in /api/cameras")
    };
    let mut cpu = CpuWindow::new(vec![pair.node.pid()]);
    let first = seq(pair.camera_json().await?)?;
    cpu.start();
    tokio::time::sleep(settings.window).await;
    cpu.stop();
    let last = seq(pair.camera_json().await?)?;
    if last <= first {
        bail!("the node published no frame in the window");
    }
    Ok((cpu.seconds(0), last - first))
}

pub async fn node_cost(settings: &Settings) -> Result<Table> {
    let mut table = Table::new(
        "Camera node CPU per frame against gst-launch-1.0",
        "camera-node with the gateway subscribed and no viewer, against `gst-launch-1.0` running \
         the node's own pipeline (`--print-pipeline`) with `fakesink sync=false` instead of the \
         appsink. CPU = run time of all threads (/proc/PID/task/*/schedstat) over the window; the node's frames are counted by \
         its sequence numbers, gst-launch's as fps × window (a live source).",
        &[
            "pipeline",
            "node ms/frame",
            "gst-launch ms/frame",
            "ratio",
            "node fps",
        ],
    );
    let sizes: &[(u32, u32)] = if settings.quick {
        &[(640, 480)]
    } else {
        &[(640, 480), (1280, 720)]
    };
    let ros2 = supports_ros2(settings);
    for &(width, height) in sizes {
        let mut camera = CameraSpec {
            width,
            height,
            fps: 30,
            pattern: "pinwheel".into(),
            extra: vec![],
        };
        let launch = gst_launch_pipeline(settings, &camera)?;
        let mut command = Command::new("gst-launch-1.0");
        command.arg("-q").args(launch.split_whitespace());
        let mut gst = procs::spawn("gst-launch", command, &settings.logs)?;
        tokio::time::sleep(WARM_UP).await;
        procs::check_alive(&mut gst)?;
        let mut cpu = CpuWindow::new(vec![gst.pid()]);
        cpu.start();
        tokio::time::sleep(settings.window).await;
        cpu.stop();
        procs::check_alive(&mut gst)?;
        drop(gst);
        let gst_ms = cpu.seconds(0) * 1e3 / (f64::from(camera.fps) * settings.window.as_secs_f64());
        let mut variants = vec![("", camera.clone())];
        if ros2 {
            camera.extra.push("--ros2".into());
            variants.push((" --ros2", camera.clone()));
        }
        for (suffix, camera) in variants {
            let label = format!("{}{suffix}", camera.label());
            match node_row(settings, &camera).await {
                Ok((seconds, frames)) => {
                    let node_ms = seconds * 1e3 / frames as f64;
                    table.push(vec![
                        label,
                        num(node_ms, 2),
                        num(gst_ms, 2),
                        num(node_ms / gst_ms, 2),
                        num(frames as f64 / settings.window.as_secs_f64(), 1),
                    ]);
                }
                Err(error) => table.push(vec![label, format!("failed: {error:#}")]),
            }
        }
    }
    Ok(table)
}

//! The system under test: zenoh-router (the robot's hub), camera-node (test pattern, a client
//! of the hub) and web-gateway as child processes on loopback, optionally with the counting
//! proxy on the zenoh link between the hub and the gateway.

use crate::http;
use crate::procs::{self, parse_addr};
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::free_port;
use test_support::proxy::{self, Counters};
use test_support::ChildProcess;
use tokio_util::sync::CancellationToken;

/// Camera id every benchmark uses.
pub const CAMERA: &str = "front";

/// Where the binaries are.
#[derive(Debug, Clone)]
pub struct Bins {
    pub zenoh_router: PathBuf,
    pub camera_node: PathBuf,
    pub gateway: PathBuf,
    /// This program (for `bare-writer`).
    pub bench: PathBuf,
}

/// What the camera node captures.
#[derive(Debug, Clone)]
pub struct CameraSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub pattern: String,
    /// More camera-node arguments (e.g. `--config FILE` for variants).
    pub extra: Vec<String>,
}

impl CameraSpec {
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--source",
            "test",
            "--camera",
            CAMERA,
            "--pattern",
            &self.pattern,
            "--width",
            &self.width.to_string(),
            "--height",
            &self.height.to_string(),
            "--fps",
            &self.fps.to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(self.extra.iter().cloned());
        args
    }

    pub fn label(&self) -> String {
        format!("{}×{}@{}", self.width, self.height, self.fps)
    }
}

/// A running camera-node + web-gateway, and the hub between them.
#[derive(Debug)]
pub struct Pair {
    pub node: ChildProcess,
    pub gateway: ChildProcess,
    pub hub: ChildProcess,
    pub http: SocketAddr,
    /// Bytes between the hub and the gateway (the node's frames), when started with a proxy.
    pub link: Option<Arc<Counters>>,
    stop_proxy: CancellationToken,
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.stop_proxy.cancel();
    }
}

fn command(program: &Path, args: &[String]) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("ZENOH_CONFIG_FILE");
    command
}

impl Pair {
    /// Starts both and waits until the gateway serves live frames of the camera.
    pub async fn start(
        bins: &Bins,
        camera: &CameraSpec,
        proxied: bool,
        gateway_extra: &[&str],
        logs: &Path,
    ) -> Result<Self> {
        let zenoh_port = free_port();
        let hub_endpoint = format!("tcp/127.0.0.1:{zenoh_port}");
        let hub_args = ["--zenoh-listen".to_owned(), hub_endpoint.clone()];
        let hub = procs::spawn("zenoh-router", command(&bins.zenoh_router, &hub_args), logs)?;
        procs::wait_for_log(&hub, "router running", Duration::from_secs(30)).await?;
        let mut node_args = camera.args();
        node_args.extend(["--zenoh-connect".to_owned(), hub_endpoint]);
        let node = procs::spawn("camera-node", command(&bins.camera_node, &node_args), logs)?;
        let stop_proxy = CancellationToken::new();
        let hub_addr: SocketAddr = format!("127.0.0.1:{zenoh_port}").parse()?;
        let (connect, link) = if proxied {
            let (addr, counters) = proxy::start(hub_addr, stop_proxy.clone()).await?;
            (addr, Some(counters))
        } else {
            (hub_addr, None)
        };
        let mut gateway_args: Vec<String> = ["--listen", "127.0.0.1:0"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        gateway_args.extend(["--zenoh-connect".to_owned(), format!("tcp/{connect}")]);
        gateway_args.extend(gateway_extra.iter().map(|s| (*s).to_owned()));
        let gateway = procs::spawn("web-gateway", command(&bins.gateway, &gateway_args), logs)?;
        let rest = procs::wait_for_log(&gateway, "listening on ", Duration::from_secs(30)).await?;
        let http = parse_addr(&rest)?;
        let mut pair = Self {
            node,
            gateway,
            hub,
            http,
            link,
            stop_proxy,
        };
        pair.wait_live(Duration::from_secs(30)).await?;
        Ok(pair)
    }

    /// Waits until a snapshot of the camera is served (its first frame went node → gateway)
    /// and the gateway has the node's info (single-camera sockets of a camera whose info is
    /// not known yet are not written by the feed writer).
    async fn wait_live(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            procs::check_alive(&mut self.hub)?;
            procs::check_alive(&mut self.node)?;
            procs::check_alive(&mut self.gateway)?;
            if let Ok((head, _)) =
                http::get(self.http, &format!("/cameras/{CAMERA}/snapshot.jpg")).await
            {
                let told = self
                    .camera_json()
                    .await
                    .is_ok_and(|c| c["info"].is_object());
                if head.status == 200 && told {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "no frame of camera {CAMERA} at the gateway within {timeout:?}; node log:\n{}",
                    self.node.stderr_tail(15)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The camera's entry in `/api/cameras`.
    pub async fn camera_json(&self) -> Result<serde_json::Value> {
        let list = http::get_json(self.http, "/api/cameras").await?;
        list.as_array()
            .and_then(|cams| cams.iter().find(|c| c["id"] == CAMERA).cloned())
            .context("camera not in /api/cameras")
    }

    /// Saves `count` consecutive frames as the gateway serves them (`snapshot.jpg?after_seq`),
    /// for the bare writer to send the same bytes.
    pub async fn record_frames(&self, dir: &Path, count: usize) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut seq: Option<u64> = None;
        for i in 0..count {
            let path = match seq {
                Some(seq) => format!("/cameras/{CAMERA}/snapshot.jpg?after_seq={seq}"),
                None => format!("/cameras/{CAMERA}/snapshot.jpg"),
            };
            let (head, body) = http::get(self.http, &path).await?;
            if head.status != 200 {
                bail!("GET {path}: HTTP {}", head.status);
            }
            seq = head.header("x-frame-seq").and_then(|s| s.parse().ok());
            std::fs::write(dir.join(format!("{i:04}.jpg")), body)?;
        }
        Ok(())
    }
}

/// The bare writer as a child process serving the frames in `frames`.
pub async fn start_bare_writer(
    bins: &Bins,
    frames: &Path,
    fps: u32,
    logs: &Path,
) -> Result<(ChildProcess, SocketAddr)> {
    let args: Vec<String> = ["bare-writer", "--frames"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            frames.display().to_string(),
            "--fps".to_owned(),
            fps.to_string(),
        ])
        .collect();
    let proc = procs::spawn("bare-writer", command(&bins.bench, &args), logs)?;
    let rest = procs::wait_for_log(&proc, "listening on ", Duration::from_secs(10)).await?;
    let addr = parse_addr(&rest)?;
    Ok((proc, addr))
}

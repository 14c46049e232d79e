//! The real binaries as child processes on free loopback ports (the hub: `hub.rs`).
//!
//! A test passes the binary's path: `env!("CARGO_BIN_EXE_web-gateway")` in the crate that
//! builds it, [`target_binary`] for another crate's binary or an example.

use crate::hub::Hub;
use crate::process::ChildProcess;
pub use crate::target::{target_binary, without_settings_env};
use crate::DEADLINE;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// A `web-gateway` command listening on `listen` (e.g. `127.0.0.1:0`): see [`gateway_args`].
pub fn gateway_command(binary: impl AsRef<Path>, listen: &str) -> Command {
    let mut command = Command::new(binary.as_ref());
    gateway_args(&mut command, listen);
    command
}

/// Adds to a gateway `command`: HTTP on `listen`, `RUST_LOG` from `GATEWAY_LOG` (default
/// `info`), and no `GATEWAY_*` settings from the developer's environment. Add flags after it
/// (`--zenoh-connect`: the gateway's default connects to tcp/127.0.0.1:7447), then spawn or run it.
pub fn gateway_args(command: &mut Command, listen: &str) {
    command.args(["--listen", listen]).env(
        "RUST_LOG",
        std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
    );
    without_settings_env(command, "GATEWAY_");
}

/// A running `camera-node` connected to a hub; killed on Drop (before its own hub, if it has
/// one), stderr kept for assertions.
#[derive(Debug)]
pub struct CameraNode {
    pub process: ChildProcess,
    /// `tcp/127.0.0.1:PORT` of the hub the node is a client of: connect gateways here.
    pub endpoint: String,
    /// The hub [`CameraNode::spawn`] started for this node alone (dropped after the node).
    pub hub: Option<Hub>,
}

impl CameraNode {
    /// Starts a hub of its own on a free loopback port, then `binary` connected to it, plus
    /// `args`.
    pub fn spawn(binary: impl AsRef<Path>, args: &[&str]) -> Self {
        let hub = Hub::spawn();
        let mut node = Self::spawn_connected(binary, &hub.endpoint, args);
        node.hub = Some(hub);
        node
    }

    /// Starts `binary` as camera `camera` running the GStreamer launch string `launch`.
    pub fn spawn_pipeline(binary: impl AsRef<Path>, camera: &str, launch: &str) -> Self {
        let args = [
            "--source",
            "pipeline",
            "--pipeline",
            launch,
            "--camera",
            camera,
        ];
        Self::spawn(binary, &args)
    }

    /// Starts `binary` as a client of the hub at `endpoint` (e.g. another node's, so that
    /// several nodes share one hub, as on a robot), plus `args`.
    pub fn spawn_connected(binary: impl AsRef<Path>, endpoint: &str, args: &[&str]) -> Self {
        let mut command = Command::new(binary.as_ref());
        command
            .args(["--zenoh-connect", endpoint])
            .args(args)
            .env("RUST_LOG", "info");
        without_settings_env(&mut command, "CAMERA_NODE_");
        Self {
            process: ChildProcess::spawn("camera-node", &mut command),
            endpoint: endpoint.to_owned(),
            hub: None,
        }
    }

    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns the status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        self.process.terminate()
    }
}

/// Where a [`Gateway`] runs.
#[derive(Debug)]
enum Running {
    Process(ChildProcess),
    /// Held for its Drop, which stops the gateway.
    #[cfg(feature = "gateway")]
    InProcess {
        _served: crate::in_process::Served,
    },
}

/// A web-gateway under test: the real binary as a child process ([`Gateway::spawn`], killed
/// on Drop) or, with feature `gateway`, its `serve` inside the test process
/// ([`Gateway::serve`], stopped on Drop).
#[derive(Debug)]
pub struct Gateway {
    running: Running,
    /// `http://127.0.0.1:PORT` (or `https://`) the gateway listens on.
    pub base: String,
}

impl Gateway {
    /// Spawns `binary` on a free HTTP port, connected to `endpoints`, and waits until it logs
    /// its URL. `extra` are appended to the command line (e.g. `["--offline-after-ms", "500"]`).
    pub fn spawn(binary: impl AsRef<Path>, endpoints: &[String], extra: &[&str]) -> Self {
        Self::spawn_command(Command::new(binary.as_ref()), endpoints, extra)
    }

    /// [`Gateway::spawn`] with a prepared command: the binary behind a wrapper that execs it
    /// (e.g. `prlimit --nofile=256:256 -- <binary>`), so that the PID is still the gateway's.
    /// `base` is `https://...` when the gateway serves HTTPS.
    pub fn spawn_command(mut command: Command, endpoints: &[String], extra: &[&str]) -> Self {
        gateway_args(&mut command, "127.0.0.1:0");
        for endpoint in endpoints {
            command.args(["--zenoh-connect", endpoint]);
        }
        command.args(extra);
        let process = ChildProcess::spawn("gateway", &mut command);
        let base = process.wait_for_line("'listening on http(s)://...'", DEADLINE, |line| {
            let at = line
                .find("listening on http://")
                .or_else(|| line.find("listening on https://"))?;
            line[at + "listening on ".len()..]
                .split_whitespace()
                .next()
                .map(str::to_owned)
        });
        Self {
            running: Running::Process(process),
            base,
        }
    }

    /// Serves HTTP on a free loopback port from this process (feature `gateway`), connected
    /// to `endpoints`; `extra` are command-line flags as for [`Gateway::spawn`].
    #[cfg(feature = "gateway")]
    pub async fn serve(endpoints: &[String], extra: &[&str]) -> Self {
        let (served, base) = crate::in_process::serve(endpoints, extra).await;
        Self {
            running: Running::InProcess { _served: served },
            base,
        }
    }

    /// The child process; panics for an in-process gateway (the test wants the binary).
    pub fn process(&self) -> &ChildProcess {
        match &self.running {
            Running::Process(process) => process,
            #[cfg(feature = "gateway")]
            Running::InProcess { .. } => {
                panic!("this test needs Gateway::spawn, not Gateway::serve")
            }
        }
    }

    fn process_mut(&mut self) -> &mut ChildProcess {
        match &mut self.running {
            Running::Process(process) => process,
            #[cfg(feature = "gateway")]
            Running::InProcess { .. } => {
                panic!("this test needs Gateway::spawn, not Gateway::serve")
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.process().pid()
    }

    /// Resident memory of the gateway process in KiB.
    pub fn vm_rss_kib(&self) -> u64 {
        self.process().vm_rss_kib()
    }

    /// Peak resident memory of the gateway process in KiB (see [`ChildProcess::vm_hwm_kib`]).
    pub fn vm_hwm_kib(&self) -> u64 {
        self.process().vm_hwm_kib()
    }

    /// Sends SIGTERM (the way systemd and launch files stop it); see [`Self::wait_exit`].
    pub fn terminate(&self) {
        self.process().signal("TERM");
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process_mut().wait_exit(timeout)
    }

    /// GETs `/api/cameras` until `check` accepts the entry of `camera`, or panics after `timeout`.
    pub async fn wait_camera(
        &self,
        camera: &str,
        timeout: Duration,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        while Instant::now() < deadline {
            if let Ok(response) = client.get(self.url("/api/cameras")).send().await {
                if let Ok(list) = response.json::<serde_json::Value>().await {
                    if let Some(entry) = list
                        .as_array()
                        .and_then(|cameras| cameras.iter().find(|c| c["id"] == camera))
                    {
                        if check(entry) {
                            return entry.clone();
                        }
                        last = entry.clone();
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("camera {camera:?} never reached the expected state; last entry: {last}");
    }

    /// The ids `/api/cameras` lists, in its order.
    pub async fn camera_ids(&self) -> Vec<String> {
        camera_ids(&reqwest::Client::new(), &self.url("/api/cameras")).await
    }

    /// GETs `path` (e.g. `/cameras/front/snapshot.jpg`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(self.url(path))
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"))
    }

    /// One series of `/metrics` (see [`crate::metrics::value`]).
    pub async fn metric(&self, series: &str) -> f64 {
        crate::metrics::value(&self.metrics().await, series)
    }

    /// GETs `/metrics` as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body")
    }
}

/// The ids a gateway's camera list at `url` (`.../api/cameras`) holds, in its order; for a
/// task that polls the list on its own (it cannot borrow the [`Gateway`]).
pub async fn camera_ids(client: &reqwest::Client, url: &str) -> Vec<String> {
    let list: serde_json::Value = client
        .get(url)
        .send()
        .await
        .expect("GET /api/cameras")
        .json()
        .await
        .expect("JSON");
    list.as_array()
        .expect("a list")
        .iter()
        .map(|camera| camera["id"].as_str().expect("id").to_owned())
        .collect()
}

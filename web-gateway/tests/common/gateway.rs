//! The `web-gateway` binary as a child process, killed on Drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The `web-gateway` binary running as a child process; killed on Drop.
#[derive(Debug)]
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT` the gateway reported it listens on.
    pub base: String,
}

impl Gateway {
    /// Spawns the gateway on a free HTTP port, connected to `endpoints`, and waits until it
    /// logs its URL. `extra` are appended to the command line (e.g. `["--offline-after-ms", "500"]`).
    pub fn spawn(endpoints: &[String], extra: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_web-gateway"));
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--zenoh-listen",
                "tcp/127.0.0.1:0",
            ])
            .env(
                "RUST_LOG",
                std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("ZENOH_CONFIG_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for endpoint in endpoints {
            command.args(["--zenoh-connect", endpoint]);
        }
        command.args(extra);
        let mut child = command.spawn().expect("spawn web-gateway");
        let stderr = child.stderr.take().expect("piped stderr");
        let (url_tx, url_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[gateway] {line}");
                if let Some(at) = line.find("listening on http://") {
                    let url = line[at + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = url_tx.send(url);
                }
            }
        });
        let mut gateway = Self {
            child,
            base: String::new(),
        };
        match url_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => gateway.base = url,
            Err(_) => panic!("web-gateway did not log 'listening on http://...' within 30 s"),
        }
        gateway
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the gateway process in KiB (Linux `/proc`).
    pub fn vm_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .expect("VmRSS line")
    }

    /// Sends SIGTERM (the way systemd and launch files stop it).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
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

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

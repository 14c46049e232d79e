//! Shared helpers: spawning the node on a free port, a zenoh session connected to it,
//! polling its info reply with a deadline.

use camera_node::info::{query_info, CameraInfo};
use camera_node::zenoh_config::SUBSCRIBER_DEFAULT;
use camera_node::{CameraKeys, ZenohSettings};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Generous: CI machines are small and shared.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A running `camera-node`; killed on drop, stderr collected for assertions.
pub struct Node {
    child: Child,
    pub endpoint: String,
    stderr: Arc<Mutex<String>>,
}

impl Node {
    /// Starts the node listening on a free loopback port, plus `args`.
    pub fn spawn(args: &[&str]) -> Node {
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        Self::spawn_listening(&endpoint, args)
    }

    pub fn spawn_listening(endpoint: &str, args: &[&str]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_camera-node"))
            .args(["--zenoh-listen", endpoint])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("CAMERA_NODE_CONFIG")
            .env_remove("ZENOH_CONFIG_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn camera-node");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr pipe");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = sink.lock().expect("stderr lock");
                all.push_str(&line);
                all.push('\n');
            }
        });
        Node {
            child,
            endpoint: endpoint.to_owned(),
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns the status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let start = Instant::now();
        let status = wait_deadline(&mut self.child, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("camera-node ignored SIGTERM for 10 s:\n{}", self.stderr()));
        (status, start.elapsed())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls a child until it exits or `limit` passes.
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs a command to completion with a time limit; returns (status, stdout, stderr).
pub fn run_bounded(command: &mut Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out_pipe.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err_pipe.read_to_string(&mut text);
        text
    });
    let status = wait_deadline(&mut child, limit);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (out, err) = (out.join().expect("stdout"), err.join().expect("stderr"));
    let status = status.unwrap_or_else(|| {
        panic!("{command:?} ran longer than {limit:?}\nstdout:\n{out}\nstderr:\n{err}")
    });
    (status, out, err)
}

/// A zenoh peer connected only to `endpoint`, multicast off.
pub async fn session_to(endpoint: &str) -> zenoh::Session {
    let config = ZenohSettings {
        connect: vec![endpoint.to_owned()],
        listen: vec!["tcp/127.0.0.1:0".to_owned()],
        ..Default::default()
    }
    .build(SUBSCRIBER_DEFAULT)
    .expect("subscriber config");
    zenoh::open(config).await.expect("open zenoh session")
}

/// Queries info until `accept` holds or the deadline passes (then panics with the last reply).
pub async fn wait_for_info(
    session: &zenoh::Session,
    keys: &CameraKeys,
    what: &str,
    accept: impl Fn(&CameraInfo) -> bool,
) -> CameraInfo {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < DEADLINE {
        match query_info(session, keys, Duration::from_secs(2)).await {
            Ok(info) if accept(&info) => return info,
            Ok(info) => last = Some(format!("{info:?}")),
            Err(error) => last = Some(error.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("info never showed {what} within {DEADLINE:?}; last: {last:?}");
}

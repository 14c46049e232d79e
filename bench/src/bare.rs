//! The physical-limit reference: the same MJPEG bytes to the same clients at the same rate,
//! with nothing else in the way — one thread, non-blocking std sockets, one `write` per client
//! per frame, no HTTP framework, no async runtime.
//!
//! A part is built once per frame (same header fields as the gateway's, `X-Timestamp` = the
//! moment it is built) and written whole; a client whose socket is still full from the
//! previous frame skips the frame, as the gateway's slow readers do.

use anyhow::{Context, Result};
use camera_protocol::meta::unix_now_ns;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const BOUNDARY: &str = "camera-frame-boundary";
/// How often new connections and unfinished writes are looked at between frames.
const POLL: Duration = Duration::from_millis(5);

struct Client {
    stream: TcpStream,
    /// The request read so far; `None` once the response head is queued.
    request: Option<Vec<u8>>,
    /// What the last write could not send yet.
    pending: Vec<u8>,
}

/// Loads every `*.jpg` in `dir`, sorted by name.
pub fn load_frames(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    paths.sort();
    let frames = paths
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<Vec<_>>>()?;
    anyhow::ensure!(!frames.is_empty(), "no *.jpg frames in {}", dir.display());
    Ok(frames)
}

fn part(jpeg: &[u8], seq: u64) -> Vec<u8> {
    let ts = unix_now_ns();
    let mut out = format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}.{:06}\r\nX-Frame-Seq: {seq}\r\nX-Camera-Online: true\r\n\r\n",
        jpeg.len(),
        ts / 1_000_000_000,
        (ts % 1_000_000_000) / 1_000
    )
    .into_bytes();
    out.reserve(jpeg.len() + BOUNDARY.len() + 6);
    out.extend_from_slice(jpeg);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}\r\n").as_bytes());
    out
}

/// Serves `frames` in a loop at `fps` on `listener` for at most `max_run`.
pub fn serve(listener: TcpListener, frames: &[Vec<u8>], fps: f64, max_run: Duration) -> Result<()> {
    listener.set_nonblocking(true)?;
    let interval = Duration::from_secs_f64(1.0 / fps);
    let end = Instant::now() + max_run;
    let mut clients: Vec<Client> = Vec::new();
    let mut next_frame = Instant::now();
    let mut seq = 0u64;
    while Instant::now() < end {
        accept(&listener, &mut clients);
        clients.retain_mut(Client::advance);
        let now = Instant::now();
        if now >= next_frame {
            let bytes = part(&frames[(seq as usize) % frames.len()], seq);
            clients.retain_mut(|client| client.write_frame(&bytes));
            seq += 1;
            next_frame += interval;
            if next_frame < now {
                next_frame = now + interval;
            }
        }
        let wake = next_frame.min(Instant::now() + POLL);
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
    Ok(())
}

fn accept(listener: &TcpListener, clients: &mut Vec<Client>) {
    while let Ok((stream, _)) = listener.accept() {
        if stream.set_nonblocking(true).is_ok() && stream.set_nodelay(true).is_ok() {
            clients.push(Client {
                stream,
                request: Some(Vec::new()),
                pending: Vec::new(),
            });
        }
    }
}

impl Client {
    /// Reads the request until its blank line, then queues the response head; flushes
    /// pending bytes. No system call when there is nothing to do. False: drop the client.
    fn advance(&mut self) -> bool {
        if let Some(request) = self.request.as_mut() {
            let mut buf = [0u8; 2048];
            match self.stream.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => request.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
            if request.len() > 16 * 1024 {
                return false;
            }
            if memchr::memmem::find(request, b"\r\n\r\n").is_none() {
                return true;
            }
            self.request = None;
            self.pending = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n--{BOUNDARY}\r\n"
            )
            .into_bytes();
        }
        if self.pending.is_empty() {
            return true;
        }
        match self.stream.write(&self.pending) {
            Ok(0) => false,
            Ok(n) => {
                self.pending.drain(..n);
                true
            }
            Err(e) => e.kind() == ErrorKind::WouldBlock,
        }
    }

    /// One write of the frame's part; a client still busy with the last frame skips this one.
    fn write_frame(&mut self, bytes: &[u8]) -> bool {
        if self.request.is_some() || !self.pending.is_empty() {
            return true;
        }
        match self.stream.write(bytes) {
            Ok(0) => false,
            Ok(n) => {
                self.pending.extend_from_slice(&bytes[n..]);
                true
            }
            Err(e) => e.kind() == ErrorKind::WouldBlock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{self, LoadSpec, Protocol};
    use crate::procstat::CpuWindow;

    /// The load client against the bare writer: every part arrives whole, in order, once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn load_client_reads_the_bare_writer() {
        let frames = vec![
            vec![0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9],
            [vec![0xFF, 0xD8], vec![7; 50_000], vec![0xFF, 0xD9]].concat(),
        ];
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || serve(listener, &frames, 50.0, Duration::from_secs(10)));
        let spec = LoadSpec {
            addr,
            path: "/".into(),
            protocol: Protocol::Mjpeg,
            clients: 3,
            window: Duration::from_millis(600),
            connect_timeout: Duration::from_secs(5),
            slow: None,
            stamps_from: None,
        };
        let result = load::run(&spec, &mut CpuWindow::new(vec![]))
            .await
            .expect("load run");
        assert_eq!(result.errors(), Vec::<&str>::new());
        for client in &result.clients {
            assert!(client.parts > 0, "a client received nothing");
            assert_eq!(client.latencies_us.len() as u64, client.parts);
        }
        assert_eq!(result.duplicates(), 0);
        assert_eq!(result.not_jpeg(), 0);
    }
}

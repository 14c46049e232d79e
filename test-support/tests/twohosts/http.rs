//! A plain HTTP/1.1 client for the gateway, running inside a host: one-shot GETs and an MJPEG
//! reader that records every part it receives, with when it arrived.

use crate::lab::Host;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `GET path` from inside `host`; returns status and body as text.
pub fn get(host: &Host, addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let (status, body) = get_bytes(host, addr, path)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// `GET path` from inside `host`; returns status and body. The gateway answers these requests
/// with a Content-Length, and `Connection: close` makes it close after the response.
pub fn get_bytes(host: &Host, addr: SocketAddr, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = host.connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response.get(split + 4..).unwrap_or_default().to_vec();
    Ok((status, body))
}

/// `/api/cameras` as JSON, `None` when the gateway cannot be reached.
pub fn cameras(host: &Host, addr: SocketAddr) -> Option<serde_json::Value> {
    let (status, body) = get(host, addr, "/api/cameras").ok()?;
    (status == 200).then(|| serde_json::from_str(&body).expect("/api/cameras is JSON"))
}

/// `online` of camera `id` in `/api/cameras`.
pub fn camera_online(host: &Host, addr: SocketAddr, id: &str) -> Option<bool> {
    let cameras = cameras(host, addr)?;
    cameras
        .as_array()?
        .iter()
        .find(|camera| camera["id"] == id)
        .and_then(|camera| camera["online"].as_bool())
}

/// Seconds since the Unix epoch, as X-Timestamp writes them.
pub fn wall_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}

/// One MJPEG part as the client saw it.
#[derive(Debug, Clone)]
pub struct Part {
    pub at: Instant,
    /// Wall clock when the part was complete (same clock as the camera's here: one machine).
    pub wall: f64,
    pub seq: u64,
    /// X-Timestamp: capture time by the camera's clock.
    pub captured: f64,
    /// X-Frame-Age-Ms: the frame's age when the gateway sent it (its clock minus capture).
    pub age_ms: Option<u64>,
    pub online: bool,
    pub len: usize,
    /// Width from the JPEG's frame header (tells apart two sources with different sizes).
    pub width: Option<u16>,
}

/// Width in the first SOFn marker of a JPEG.
pub fn jpeg_width(jpeg: &[u8]) -> Option<u16> {
    let at = jpeg
        .windows(2)
        .position(|pair| pair[0] == 0xFF && (0xC0..=0xC2).contains(&pair[1]))?;
    let bytes = jpeg.get(at + 7..at + 9)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// An open MJPEG stream read by a background thread until dropped.
#[derive(Debug)]
pub struct Stream {
    parts: Arc<Mutex<Vec<Part>>>,
    ended: Arc<Mutex<Option<String>>>,
    socket: TcpStream,
}

impl Stream {
    /// Opens `path` (e.g. /cameras/front/stream.mjpg) from inside `host`.
    pub fn open(host: &Host, addr: SocketAddr, path: &str) -> std::io::Result<Stream> {
        let mut socket = host.connect(addr)?;
        write!(socket, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")?;
        let reader = socket.try_clone()?;
        let parts = Arc::new(Mutex::new(Vec::new()));
        let ended = Arc::new(Mutex::new(None));
        let (sink, end) = (Arc::clone(&parts), Arc::clone(&ended));
        std::thread::spawn(move || {
            let result = read_parts(BufReader::new(reader), &sink);
            let reason = match result {
                Ok(()) => "stream closed by the gateway".to_owned(),
                Err(error) => error.to_string(),
            };
            *end.lock().expect("lock") = Some(reason);
        });
        Ok(Stream {
            parts,
            ended,
            socket,
        })
    }

    pub fn parts(&self) -> Vec<Part> {
        self.parts.lock().expect("lock").clone()
    }

    /// Why the stream ended, if it did.
    pub fn ended(&self) -> Option<String> {
        self.ended.lock().expect("lock").clone()
    }

    /// Waits until some part satisfies `condition`; returns it, or `None` after `limit`.
    pub fn wait_part(&self, limit: Duration, condition: impl Fn(&Part) -> bool) -> Option<Part> {
        let start = Instant::now();
        loop {
            if let Some(part) = self.parts().into_iter().find(&condition) {
                return Some(part);
            }
            if start.elapsed() >= limit || self.ended().is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

fn invalid(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

fn read_parts(mut reader: BufReader<TcpStream>, sink: &Mutex<Vec<Part>>) -> std::io::Result<()> {
    let head = read_head(&mut reader)?;
    let status = head.first().cloned().unwrap_or_default();
    if !status.contains(" 200 ") {
        return Err(invalid(format!("stream answered {status:?}")));
    }
    let chunked = head
        .iter()
        .any(|line| line.eq_ignore_ascii_case("transfer-encoding: chunked"));
    if chunked {
        read_multipart(
            BufReader::new(Dechunk {
                inner: reader,
                left: 0,
            }),
            sink,
        )
    } else {
        read_multipart(reader, sink)
    }
}

/// The body of a `Transfer-Encoding: chunked` response.
struct Dechunk<R> {
    inner: R,
    left: usize,
}

impl<R: BufRead> Read for Dechunk<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut line = String::new();
            // The CRLF closing the previous chunk, then the size line.
            while line.trim().is_empty() {
                line.clear();
                if self.inner.read_line(&mut line)? == 0 {
                    return Ok(0);
                }
            }
            let size = line.trim().split(';').next().unwrap_or_default();
            self.left = usize::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            if self.left == 0 {
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let read = self.inner.read(&mut buf[..want])?;
        self.left -= read;
        Ok(read)
    }
}

fn read_multipart(mut reader: impl BufRead, sink: &Mutex<Vec<Part>>) -> std::io::Result<()> {
    loop {
        // Delimiter line (possibly after the previous part's CRLF).
        let mut line = String::new();
        while line.trim().is_empty() {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
        }
        if !line.starts_with("--") {
            return Err(invalid(format!("expected a boundary, got {line:?}")));
        }
        let headers = read_head(&mut reader)?;
        let header = |name: &str| {
            headers.iter().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let len: usize = header("content-length")
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| invalid("part without Content-Length".into()))?;
        // Bounded: test frames are small; refuse nonsense instead of allocating it.
        if len > 16 << 20 {
            return Err(invalid(format!("part of {len} bytes")));
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        let part = Part {
            at: Instant::now(),
            wall: wall_now(),
            seq: header("x-frame-seq")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0),
            captured: header("x-timestamp")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0.0),
            age_ms: header("x-frame-age-ms").and_then(|value| value.parse().ok()),
            online: header("x-camera-online").as_deref() != Some("false"),
            len,
            width: jpeg_width(&body),
        };
        sink.lock().expect("lock").push(part);
    }
}

/// Header lines up to the empty line.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

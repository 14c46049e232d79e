//! Just enough HTTP/1.1 client for the harness: a GET, the response head, and whole small
//! bodies (JSON, snapshots). Streams are read by `load.rs` straight off the socket.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEAD_LIMIT: usize = 16 * 1024;
const BODY_LIMIT: usize = 64 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Status and headers of a response.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `boundary=` of a multipart `Content-Type`.
    pub fn boundary(&self) -> Option<String> {
        let value = self.header("content-type")?;
        let (_, rest) = value.split_once("boundary=")?;
        Some(rest.split(';').next()?.trim().trim_matches('"').to_owned())
    }

    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

/// Writes a GET request; `keep_http11` asks for HTTP/1.1 as browsers do (the server may then
/// use chunked coding), otherwise HTTP/1.0 (plain body until close).
pub async fn send_get(
    stream: &mut TcpStream,
    addr: SocketAddr,
    path: &str,
    keep_http11: bool,
) -> Result<()> {
    let version = if keep_http11 { "1.1" } else { "1.0" };
    let request = format!("GET {path} HTTP/{version}\r\nHost: {addr}\r\nUser-Agent: camera-bench\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    Ok(())
}

/// Reads until the end of the response head. Returns the head, where the body starts in `buf`
/// and how many bytes of `buf` are filled.
pub async fn read_head(
    stream: &mut TcpStream,
    buf: &mut [u8],
) -> Result<(ResponseHead, usize, usize)> {
    let mut filled = 0;
    loop {
        if let Some(end) = memchr::memmem::find(&buf[..filled], b"\r\n\r\n") {
            return Ok((parse_head(&buf[..end])?, end + 4, filled));
        }
        if filled >= HEAD_LIMIT.min(buf.len()) {
            bail!("response head longer than {HEAD_LIMIT} bytes");
        }
        let n = tokio::time::timeout(TIMEOUT, stream.read(&mut buf[filled..]))
            .await
            .context("no response head within 10 s")??;
        if n == 0 {
            bail!("connection closed before the response head");
        }
        filled += n;
    }
}

fn parse_head(head: &[u8]) -> Result<ResponseHead> {
    let text = std::str::from_utf8(head).context("response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(ResponseHead { status, headers })
}

/// GET `path` and return the head and the whole body (HTTP/1.0, read to close).
pub async fn get(addr: SocketAddr, path: &str) -> Result<(ResponseHead, Vec<u8>)> {
    tokio::time::timeout(2 * TIMEOUT, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        send_get(&mut stream, addr, path, false).await?;
        let mut buf = vec![0u8; HEAD_LIMIT];
        let (head, start, filled) = read_head(&mut stream, &mut buf).await?;
        let mut body = buf[start..filled].to_vec();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            if body.len() + n > BODY_LIMIT {
                bail!("body of {path} larger than {BODY_LIMIT} bytes");
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok((head, body))
    })
    .await
    .with_context(|| format!("GET {path} timed out"))?
}

/// GET `path` and parse the body as JSON; non-200 is an error naming the body.
pub async fn get_json(addr: SocketAddr, path: &str) -> Result<serde_json::Value> {
    let (head, body) = get(addr, path).await?;
    if head.status != 200 {
        bail!(
            "GET {path}: HTTP {}: {}",
            head.status,
            String::from_utf8_lossy(&body)
        );
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
}

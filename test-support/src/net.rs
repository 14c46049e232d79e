//! Raw sockets for tests of connection handling: what a misbehaving or bare-bones client sees.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How a connection ended, seen by the client.
#[derive(Debug)]
pub enum Ended {
    /// The server closed it (EOF or reset) after sending these bytes.
    Closed(Vec<u8>),
    /// Still open when the wait ended; these bytes arrived meanwhile.
    StillOpen(Vec<u8>),
}

/// Reads everything until the server closes the connection, for at most `limit`.
pub async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin), limit: Duration) -> Ended {
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(limit, read_all).await.is_ok();
    if closed {
        Ended::Closed(received)
    } else {
        Ended::StillOpen(received)
    }
}

/// The status code of a raw HTTP/1.1 response, if `response` starts with one.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// The body of a complete raw HTTP/1.1 response (`Connection: close`, no chunking).
pub fn body_of(response: &[u8]) -> Option<&[u8]> {
    let at = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(&response[at + 4..])
}

//! Strict client-side parser of the gateway's MJPEG streams.

use bytes::Bytes;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One part of a multipart MJPEG stream.
#[derive(Debug, Clone)]
pub struct Part {
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: Bytes,
    /// When the part's closing delimiter arrived (i.e. when a browser could show it).
    pub complete_at: Instant,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn seq(&self) -> u64 {
        self.header("x-frame-seq")
            .and_then(|seq| seq.parse().ok())
            .expect("X-Frame-Seq header")
    }
}

/// Strict reader of `multipart/x-mixed-replace` as the gateway writes it: the body starts with
/// a delimiter and every part is followed at once by the next delimiter.
#[derive(Debug)]
pub struct MjpegStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    delimiter: Vec<u8>,
    started: bool,
    /// The server ended the body (as opposed to a read timing out).
    ended: bool,
}

impl MjpegStream {
    /// Opens `url`; returns the response unread if it is not a 200 multipart stream.
    pub async fn open(url: &str) -> Result<Self, reqwest::Response> {
        let response = reqwest::Client::new()
            .get(url)
            .send()
            .await
            .expect("GET stream");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if response.status() != 200 || !content_type.starts_with("multipart/x-mixed-replace") {
            return Err(response);
        }
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .expect("boundary parameter")
            .trim_matches('"')
            .to_owned();
        Ok(Self {
            response,
            buffer: Vec::new(),
            delimiter: format!("--{boundary}\r\n").into_bytes(),
            started: false,
            ended: false,
        })
    }

    /// A header of the stream's response (e.g. `x-served-variant`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name)?.to_str().ok()
    }

    /// Whether the server ended the stream: after `next_part` returned `None`, tells an end
    /// from a timeout.
    pub fn ended(&self) -> bool {
        self.ended
    }

    async fn fill(&mut self, needed: usize, deadline: Instant) -> bool {
        while self.buffer.len() < needed {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.extend_from_slice(&chunk),
                Ok(Ok(None)) => {
                    self.ended = true;
                    return false;
                }
                _ => return false,
            }
        }
        true
    }

    async fn fill_until(&mut self, pattern: &[u8], deadline: Instant) -> Option<usize> {
        loop {
            if let Some(at) = find(&self.buffer, pattern) {
                return Some(at);
            }
            let len = self.buffer.len() + 1;
            if !self.fill(len, deadline).await {
                return None;
            }
        }
    }

    /// The first part of the stream at `url` (within 10 s); the stream is closed after it.
    /// Panics if the stream cannot be opened or sends no part.
    pub async fn first_part(url: &str) -> Part {
        let mut stream = Self::open(url)
            .await
            .unwrap_or_else(|response| panic!("{url}: {}", response.status()));
        stream
            .next_part(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{url}: no part within 10 s"))
    }

    /// The next complete part, or `None` if the stream ended or `timeout` passed.
    /// Panics on a malformed stream (wrong delimiter, missing headers).
    pub async fn next_part(&mut self, timeout: Duration) -> Option<Part> {
        let deadline = Instant::now() + timeout;
        if !self.started {
            let len = self.delimiter.len();
            if !self.fill(len, deadline).await {
                return None;
            }
            assert_eq!(
                &self.buffer[..len],
                &self.delimiter[..],
                "stream must start with a delimiter"
            );
            self.buffer.drain(..len);
            self.started = true;
        }
        let header_end = self.fill_until(b"\r\n\r\n", deadline).await?;
        let head = String::from_utf8(self.buffer[..header_end].to_vec()).expect("ASCII headers");
        let headers: HashMap<String, String> = head
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|len| len.parse().ok())
            .expect("Content-Length header");
        let body_start = header_end + 4;
        let closing = [b"\r\n".as_slice(), &self.delimiter].concat();
        if !self
            .fill(body_start + length + closing.len(), deadline)
            .await
        {
            return None;
        }
        let body = Bytes::copy_from_slice(&self.buffer[body_start..body_start + length]);
        assert_eq!(
            &self.buffer[body_start + length..body_start + length + closing.len()],
            &closing[..],
            "Content-Length must end exactly at the closing delimiter"
        );
        self.buffer.drain(..body_start + length + closing.len());
        Some(Part {
            headers,
            body,
            complete_at: Instant::now(),
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

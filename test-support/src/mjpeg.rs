//! Strict client-side parser of the gateway's MJPEG streams.

use crate::multipart::{self, MultipartParser};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
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
    fn new(raw: multipart::Part, complete_at: Instant) -> Self {
        Self {
            headers: raw.headers.into_iter().collect(),
            body: raw.body.unwrap_or_default(),
            complete_at,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn seq(&self) -> u64 {
        self.header("x-frame-seq")
            .and_then(|seq| seq.parse().ok())
            .expect("X-Frame-Seq header")
    }
}

/// Strict reader of `multipart/x-mixed-replace` as the gateway writes it
/// ([`MultipartParser::strict`]): the body starts with a delimiter and every part is followed
/// at once by the next delimiter.
#[derive(Debug)]
pub struct MjpegStream {
    response: reqwest::Response,
    parser: MultipartParser,
    parts: VecDeque<Part>,
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
            parser: MultipartParser::strict(&boundary),
            parts: VecDeque::new(),
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
        loop {
            if let Some(part) = self.parts.pop_front() {
                return Some(part);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let chunk = match tokio::time::timeout(remaining, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => {
                    self.ended = true;
                    return None;
                }
                _ => return None,
            };
            let complete_at = Instant::now();
            let parts = &mut self.parts;
            self.parser
                .feed(&chunk, &mut |raw| {
                    parts.push_back(Part::new(raw, complete_at))
                })
                .unwrap_or_else(|error| panic!("malformed MJPEG stream: {error}"));
        }
    }
}

//! Push parsers for what an MJPEG client receives: HTTP/1.1 chunked transfer coding and the
//! `multipart/x-mixed-replace` parts inside it. One parser for the benchmark's load client and
//! the tests' [`crate::MjpegStream`].
//!
//! Built for 1000 clients on two cores: by default JPEG bytes are never copied when a part has
//! a `Content-Length` (only its first and last two bytes are looked at); a part without one (the
//! seed program's) is collected until the next delimiter and hashed, so that repeated pictures
//! can be counted without sequence numbers. [`MultipartParser::strict`] keeps each part's
//! headers and bytes and holds the gateway to its framing: the body starts with the delimiter,
//! every part has a `Content-Length` and is followed at once by the next delimiter, and a part
//! counts as complete only when that delimiter arrived (when a browser could show it).

use bytes::Bytes;
use std::hash::Hasher;

/// Largest header block accepted before the parser gives up (a broken stream, not a part).
const MAX_HEADER: usize = 16 * 1024;
/// Bytes kept from the end of a part to check its EOI marker.
const TAIL: usize = 16;
/// Largest part collected while scanning for the delimiter, or kept by a strict parser.
const MAX_SCANNED_PART: usize = 32 * 1024 * 1024;

/// One complete part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub len: usize,
    /// Starts with SOI (FF D8) and ends with EOI (FF D9).
    pub is_jpeg: bool,
    /// `X-Frame-Seq`.
    pub seq: Option<u64>,
    /// `X-Timestamp` in ns since the Unix epoch.
    pub timestamp_ns: Option<u64>,
    /// `X-Gateway-Timestamp` (when the gateway took the frame from zenoh), ns since the epoch.
    pub gateway_ns: Option<u64>,
    /// Hash of the JPEG bytes, only for parts without `Content-Length`.
    pub hash: Option<u64>,
    /// Every header, names lower-cased (strict parsers only).
    pub headers: Vec<(String, String)>,
    /// The part's bytes (strict parsers only).
    pub body: Option<Bytes>,
}

/// Why a stream could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("part header block longer than {MAX_HEADER} bytes")]
    HeaderTooLong,
    #[error("expected the delimiter, got {0:?}")]
    NoBoundary(String),
    #[error("bad Content-Length {0:?}")]
    BadLength(String),
    #[error("part without Content-Length (a strict parser needs one)")]
    NoLength,
    #[error("part longer than {MAX_SCANNED_PART} bytes")]
    PartTooLong,
    #[error("bad chunk size line")]
    BadChunk,
}

#[derive(Debug)]
enum State {
    /// Matching the delimiter line before a part's headers.
    Delimiter,
    /// Collecting header lines up to the empty line into `header`.
    Header,
    /// Inside a part of known length.
    Body { remaining: usize },
    /// Inside a part of unknown length: collecting it until `\r\n--boundary`.
    Scan { searched: usize },
}

/// Parses the body of a multipart response, fed in arbitrary pieces.
#[derive(Debug)]
pub struct MultipartParser {
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    strict: bool,
    /// No part started yet: the first delimiter has no CRLF before it.
    first: bool,
    state: State,
    /// The delimiter line or the header block being collected.
    header: Vec<u8>,
    scanned: Vec<u8>,
    /// The bytes of the current part (strict parsers only).
    kept: Vec<u8>,
    part: Part,
    /// A strict parser's finished part, waiting for the delimiter after it.
    pending: Option<Part>,
    head: [u8; 2],
    /// The last bytes of the part so far (trailing zero padding after EOI is tolerated).
    tail: Vec<u8>,
    seen: usize,
}

impl MultipartParser {
    /// The benchmark's parser: lenient framing, no bytes kept.
    pub fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            strict: false,
            first: true,
            state: State::Delimiter,
            header: Vec::with_capacity(256),
            scanned: Vec::new(),
            kept: Vec::new(),
            part: empty_part(),
            pending: None,
            head: [0; 2],
            tail: Vec::with_capacity(2 * TAIL),
            seen: 0,
        }
    }

    /// The tests' parser: the gateway's exact framing, headers and bytes kept.
    pub fn strict(boundary: &str) -> Self {
        Self {
            strict: true,
            ..Self::new(boundary)
        }
    }

    /// Consumes `data`, calling `on_part` for every part completed by it.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        on_part: &mut impl FnMut(Part),
    ) -> Result<(), ParseError> {
        while !data.is_empty() {
            match self.state {
                State::Delimiter => {
                    let used = self.match_delimiter(data)?;
                    data = &data[used..];
                    if let State::Header = self.state {
                        if let Some(part) = self.pending.take() {
                            on_part(part);
                        }
                    }
                }
                State::Header => {
                    let old = self.header.len();
                    self.header.extend_from_slice(data);
                    let from = old.saturating_sub(3);
                    let found = if old == 0 && self.header.starts_with(b"\r\n") {
                        Some(0)
                    } else {
                        memchr::memmem::find(&self.header[from..], b"\r\n\r\n")
                            .map(|at| from + at + 2)
                    };
                    match found {
                        Some(at) => {
                            let end = at + 2;
                            // Bytes past the header block belong to the body.
                            data = &data[end - old..];
                            self.header.truncate(end);
                            self.start_part()?;
                            self.header.clear();
                            if let State::Body { remaining: 0 } = self.state {
                                self.finish_part(None, on_part);
                            }
                        }
                        None if self.header.len() > MAX_HEADER => {
                            return Err(ParseError::HeaderTooLong)
                        }
                        None => return Ok(()),
                    }
                }
                State::Body { remaining } => {
                    let take = remaining.min(data.len());
                    self.observe(&data[..take]);
                    data = &data[take..];
                    if take == remaining {
                        self.finish_part(None, on_part);
                    } else {
                        self.state = State::Body {
                            remaining: remaining - take,
                        };
                    }
                }
                State::Scan { searched } => {
                    self.scanned.extend_from_slice(data);
                    data = &[];
                    match memchr::memmem::find(&self.scanned[searched..], &self.delimiter) {
                        Some(at) => {
                            let end = searched + at;
                            let rest = self.scanned.split_off(end);
                            let body = std::mem::take(&mut self.scanned);
                            self.observe(&body);
                            let mut hasher = std::collections::hash_map::DefaultHasher::new();
                            hasher.write(&body);
                            self.finish_part(Some(hasher.finish()), on_part);
                            // The delimiter and what follows start the next part.
                            self.feed(&rest, on_part)?;
                        }
                        None if self.scanned.len() > MAX_SCANNED_PART => {
                            return Err(ParseError::PartTooLong)
                        }
                        None => {
                            let searched = self.scanned.len().saturating_sub(self.delimiter.len());
                            self.state = State::Scan { searched };
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes the delimiter line from the start of `data`; returns how many bytes it used.
    /// Strict: exactly `\r\n--boundary\r\n` (no CRLF before the first). Lenient: any CR/LF,
    /// then a line starting with `--boundary`.
    fn match_delimiter(&mut self, data: &[u8]) -> Result<usize, ParseError> {
        let used = if self.strict {
            let skip = if self.first { 2 } else { 0 };
            let expected = [&self.delimiter[skip..], b"\r\n"].concat();
            let used = (expected.len() - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..used]);
            if !expected.starts_with(&self.header) {
                return Err(self.no_boundary());
            }
            if self.header.len() < expected.len() {
                return Ok(used);
            }
            used
        } else {
            let skip = if self.header.is_empty() {
                data.iter()
                    .position(|b| *b != b'\r' && *b != b'\n')
                    .unwrap_or(data.len())
            } else {
                0
            };
            let Some(nl) = memchr::memchr(b'\n', &data[skip..]) else {
                self.header.extend_from_slice(&data[skip..]);
                if self.header.len() > MAX_HEADER {
                    return Err(ParseError::HeaderTooLong);
                }
                return Ok(data.len());
            };
            self.header.extend_from_slice(&data[skip..skip + nl + 1]);
            if !self.header.starts_with(&self.delimiter[2..]) {
                return Err(self.no_boundary());
            }
            skip + nl + 1
        };
        self.header.clear();
        self.first = false;
        self.state = State::Header;
        Ok(used)
    }

    fn no_boundary(&self) -> ParseError {
        let shown = &self.header[..self.header.len().min(40)];
        ParseError::NoBoundary(String::from_utf8_lossy(shown).into_owned())
    }

    fn start_part(&mut self) -> Result<(), ParseError> {
        self.part = empty_part();
        self.seen = 0;
        let mut length = None;
        for line in self.header.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                continue;
            };
            let name = &line[..colon];
            let value = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim();
            if name.eq_ignore_ascii_case(b"content-length") {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| ParseError::BadLength(value.to_owned()))?,
                );
            } else if name.eq_ignore_ascii_case(b"x-frame-seq") {
                self.part.seq = value.parse().ok();
            } else if name.eq_ignore_ascii_case(b"x-timestamp") {
                self.part.timestamp_ns = parse_timestamp(value);
            } else if name.eq_ignore_ascii_case(b"x-gateway-timestamp") {
                self.part.gateway_ns = parse_timestamp(value);
            }
            if self.strict {
                let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
                self.part.headers.push((name, value.to_owned()));
            }
        }
        self.state = match length {
            Some(remaining) if self.strict && remaining > MAX_SCANNED_PART => {
                return Err(ParseError::PartTooLong)
            }
            Some(remaining) => {
                if self.strict {
                    self.kept = Vec::with_capacity(remaining);
                }
                State::Body { remaining }
            }
            None if self.strict => return Err(ParseError::NoLength),
            None => State::Scan { searched: 0 },
        };
        Ok(())
    }

    fn observe(&mut self, bytes: &[u8]) {
        if self.strict {
            self.kept.extend_from_slice(bytes);
        }
        for (i, b) in bytes
            .iter()
            .take(2usize.saturating_sub(self.seen))
            .enumerate()
        {
            self.head[self.seen + i] = *b;
        }
        if bytes.len() >= TAIL {
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - TAIL..]);
        } else {
            self.tail.extend_from_slice(bytes);
            let excess = self.tail.len().saturating_sub(TAIL);
            self.tail.drain(..excess);
        }
        self.seen += bytes.len();
    }

    fn finish_part(&mut self, hash: Option<u64>, on_part: &mut impl FnMut(Part)) {
        let mut part = std::mem::replace(&mut self.part, empty_part());
        part.len = self.seen;
        let padding = self.tail.iter().rev().take_while(|b| **b == 0).count();
        part.is_jpeg = self.seen >= 4
            && self.head == [0xFF, 0xD8]
            && self.tail[..self.tail.len() - padding].ends_with(&[0xFF, 0xD9]);
        self.tail.clear();
        part.hash = hash;
        self.state = State::Delimiter;
        if self.strict {
            part.body = Some(Bytes::from(std::mem::take(&mut self.kept)));
            self.pending = Some(part);
        } else {
            on_part(part);
        }
    }
}

fn empty_part() -> Part {
    Part {
        len: 0,
        is_jpeg: false,
        seq: None,
        timestamp_ns: None,
        gateway_ns: None,
        hash: None,
        headers: Vec::new(),
        body: None,
    }
}

/// `X-Timestamp` (`<seconds>.<fraction>`) as ns since the Unix epoch.
pub fn parse_timestamp(value: &str) -> Option<u64> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: u64 = secs.parse().ok()?;
    let digits = frac.len().min(9);
    let frac_ns: u64 = if digits == 0 {
        0
    } else {
        frac[..digits].parse::<u64>().ok()? * 10u64.pow(9 - digits as u32)
    };
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

mod chunked;

pub use chunked::{BodyDecoder, Dechunker};

#[cfg(test)]
mod tests;

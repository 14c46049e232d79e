//! CDR (little endian, XCDR1 as ROS 2 uses it): a writer and a bounds-checked reader.
//!
//! Layout: encapsulation header `00 01 00 00`, then each primitive aligned to its size counted
//! from the end of that header; strings are `u32` length including the NUL, the bytes, the NUL;
//! `sequence<uint8>` is a `u32` count then the bytes. The reader treats its input as hostile:
//! every length is checked against what is left before anything is sliced, and nothing is
//! allocated from a length field (image data is a `Bytes` slice of the sample).

use std::ops::Range;
use thiserror::Error;

/// CDR_LE encapsulation, options 0.
pub const ENCAPSULATION: [u8; 4] = [0x00, 0x01, 0x00, 0x00];
/// Longest `frame_id` / `format` string accepted when decoding.
pub const MAX_DECODED_STRING: usize = 1024;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Why bytes are not the CDR message expected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CdrError {
    #[error("CDR payload ends inside {what}: {need} more bytes needed, {have} left")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("CDR encapsulation {0:02x?} is not CDR little endian (00 01): only little-endian ROS 2 publishers are supported")]
    Encapsulation([u8; 2]),
    #[error("CDR string {what} has length {len}: must be 1..={max} including its NUL")]
    StringLength {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("CDR string {what} does not end with NUL")]
    StringNotTerminated { what: &'static str },
    #[error("CDR string {what} is not UTF-8")]
    NotUtf8 { what: &'static str },
    #[error("CDR stamp has nanosec {0}, which must be below 1 000 000 000")]
    Nanosec(u32),
    #[error("CDR payload has {0} bytes after the message (at most 3 bytes of padding allowed)")]
    Trailing(usize),
}

/// `builtin_interfaces/msg/Time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub sec: i32,
    pub nanosec: u32,
}

impl Stamp {
    /// From ns since the Unix epoch; saturates at `i32::MAX` seconds (year 2038, as ROS does).
    pub fn from_unix_ns(ns: u64) -> Self {
        let sec = i32::try_from(ns / NANOS_PER_SEC).unwrap_or(i32::MAX);
        // The remainder is below 1e9, which fits a u32.
        let nanosec = u32::try_from(ns % NANOS_PER_SEC).unwrap_or(0);
        Self { sec, nanosec }
    }

    /// ns since the Unix epoch, `None` before 1970.
    pub fn to_unix_ns(self) -> Option<u64> {
        let sec = u64::try_from(self.sec).ok()?;
        Some(sec * NANOS_PER_SEC + u64::from(self.nanosec))
    }
}

/// Appends CDR primitives to a buffer that starts with the encapsulation header.
#[derive(Debug)]
pub(crate) struct CdrWriter {
    buf: Vec<u8>,
}

/// Bytes `len` takes after `pos` once aligned to `align`.
pub(crate) const fn padding(pos: usize, align: usize) -> usize {
    (align - pos % align) % align
}

impl CdrWriter {
    /// `capacity` counts the whole message, header included.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(ENCAPSULATION.len()));
        buf.extend_from_slice(&ENCAPSULATION);
        Self { buf }
    }

    fn align(&mut self, align: usize) {
        let pad = padding(self.buf.len() - ENCAPSULATION.len(), align);
        self.buf.resize(self.buf.len() + pad, 0);
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.align(4);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn i32(&mut self, value: i32) {
        self.align(4);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn f64(&mut self, value: f64) {
        self.align(8);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// Lengths are bounded by the callers (validated names, frames far below 4 GiB).
    fn len_u32(len: usize) -> u32 {
        u32::try_from(len).unwrap_or(u32::MAX)
    }

    pub(crate) fn string(&mut self, value: &str) {
        self.u32(Self::len_u32(value.len() + 1));
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(0);
    }

    pub(crate) fn byte_sequence(&mut self, data: &[u8]) {
        self.u32(Self::len_u32(data.len()));
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn stamp(&mut self, stamp: Stamp) {
        self.i32(stamp.sec);
        self.u32(stamp.nanosec);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads CDR primitives from untrusted bytes.
#[derive(Debug)]
pub(crate) struct CdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> CdrReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Result<Self, CdrError> {
        let mut reader = Self { buf, pos: 0 };
        let header = reader.take(ENCAPSULATION.len(), "encapsulation header")?;
        if header[..2] != ENCAPSULATION[..2] {
            return Err(CdrError::Encapsulation([header[0], header[1]]));
        }
        Ok(reader)
    }

    pub(crate) fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CdrError> {
        let have = self.buf.len() - self.pos;
        if len > have {
            return Err(CdrError::Truncated {
                what,
                need: len,
                have,
            });
        }
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    pub(crate) fn aligned(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CdrError> {
        self.take(padding(self.pos - ENCAPSULATION.len(), len), what)?;
        self.take(len, what)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, CdrError> {
        let bytes = self.aligned(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub(crate) fn stamp(&mut self) -> Result<Stamp, CdrError> {
        let sec = self.u32("header.stamp.sec")?.cast_signed();
        let nanosec = self.u32("header.stamp.nanosec")?;
        if u64::from(nanosec) >= NANOS_PER_SEC {
            return Err(CdrError::Nanosec(nanosec));
        }
        Ok(Stamp { sec, nanosec })
    }

    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, CdrError> {
        let len = usize::try_from(self.u32(what)?).unwrap_or(usize::MAX);
        if !(1..=MAX_DECODED_STRING + 1).contains(&len) {
            return Err(CdrError::StringLength {
                what,
                len,
                max: MAX_DECODED_STRING + 1,
            });
        }
        let bytes = self.take(len, what)?;
        let (text, nul) = bytes.split_at(len - 1);
        if nul != [0] {
            return Err(CdrError::StringNotTerminated { what });
        }
        let text = std::str::from_utf8(text).map_err(|_| CdrError::NotUtf8 { what })?;
        Ok(text.to_owned())
    }

    /// The byte range of a `sequence<uint8>`, so the caller can slice without copying.
    pub(crate) fn byte_sequence(&mut self, what: &'static str) -> Result<Range<usize>, CdrError> {
        let len = usize::try_from(self.u32(what)?).unwrap_or(usize::MAX);
        let start = self.pos;
        self.take(len, what)?;
        Ok(start..self.pos)
    }

    pub(crate) fn finish(self) -> Result<(), CdrError> {
        // Some writers pad the message to a multiple of 4; more than that is not CDR we know.
        match self.buf.len() - self.pos {
            0..=3 => Ok(()),
            extra => Err(CdrError::Trailing(extra)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_convert_both_ways() {
        let stamp = Stamp::from_unix_ns(1_700_000_000_123_456_789);
        assert_eq!((stamp.sec, stamp.nanosec), (1_700_000_000, 123_456_789));
        assert_eq!(stamp.to_unix_ns(), Some(1_700_000_000_123_456_789));
        assert_eq!(
            Stamp {
                sec: -1,
                nanosec: 0
            }
            .to_unix_ns(),
            None
        );
        assert_eq!(Stamp::from_unix_ns(u64::MAX).sec, i32::MAX);
    }
}

//! The frames a WebSocket client sends to a feed writer's socket, parsed by its session task
//! (RFC 6455 5): bounded like the tungstenite path's (`routes::ws`): a message over
//! [`MAX_MESSAGE`] bytes is refused (1009) from its header, before its payload is buffered;
//! unmasked frames, reserved bits, unknown opcodes and fragmented or long control frames
//! (1002) and text that is not UTF-8 (1007) end the connection too.

use super::ws::{self, WsLink, CLOSE_INVALID_DATA, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG};
use crate::camera::wire::{OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG, OPCODE_TEXT};
use bytes::{Buf, Bytes, BytesMut};
use std::io::ErrorKind;

/// Longest message a client may send (a switch request is a few dozen bytes).
pub const MAX_MESSAGE: usize = 1024;
/// Most bytes read from the socket at a time.
pub const READ_CHUNK: usize = 4096;
const OPCODE_CONTINUATION: u8 = 0x0;

/// One message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Text(String),
    Binary,
    Ping(Bytes),
    Pong,
    /// The close code the client sent, if any.
    Close(Option<u16>),
}

/// The next text message the client of `link` sends, waking only when it sends something:
/// pings are answered, and a close (echoed), a refused frame (closed with its code) or the
/// socket's end ask the writer to close and return `None`. Cancel-safe: what was read stays
/// in `reader`.
pub async fn next_text(link: &WsLink, reader: &mut Reader) -> Option<String> {
    loop {
        match reader.message() {
            Ok(Some(Inbound::Text(text))) => return Some(text),
            Ok(Some(Inbound::Ping(payload))) => link.send(ws::frame(OPCODE_PONG, &payload)),
            Ok(Some(Inbound::Binary | Inbound::Pong)) => {}
            Ok(Some(Inbound::Close(code))) => return close_with(link, code),
            Err(code) => return close_with(link, Some(code)),
            Ok(None) => {
                if link.stream().readable().await.is_err() {
                    return close_with(link, None);
                }
                match link.stream().try_read_buf(reader.buffer()) {
                    // The client closed its end without a close frame.
                    Ok(0) => return close_with(link, None),
                    Ok(_) => {}
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return close_with(link, None),
                }
            }
        }
    }
}

fn close_with(link: &WsLink, code: Option<u16>) -> Option<String> {
    link.close(code);
    None
}

/// The bytes read and not parsed yet, and a fragmented message being gathered.
#[derive(Debug, Default)]
pub struct Reader {
    buf: BytesMut,
    partial: Option<(u8, BytesMut)>,
}

impl Reader {
    /// A reader whose first bytes are `read` (read from the socket with the request head).
    pub fn starting_with(read: &[u8]) -> Self {
        Self {
            buf: BytesMut::from(read),
            partial: None,
        }
    }

    /// Room for the next read (at most [`READ_CHUNK`] bytes).
    pub fn buffer(&mut self) -> &mut BytesMut {
        self.buf.reserve(READ_CHUNK);
        &mut self.buf
    }

    /// The next whole message, `Ok(None)` when more bytes are needed, or the close code
    /// that refuses the connection.
    pub fn message(&mut self) -> Result<Option<Inbound>, u16> {
        loop {
            let Some((opcode, fin, payload)) = self.frame()? else {
                return Ok(None);
            };
            let message = match opcode {
                OPCODE_CLOSE => return close(&payload).map(Some),
                OPCODE_PING => return Ok(Some(Inbound::Ping(payload.freeze()))),
                OPCODE_PONG => return Ok(Some(Inbound::Pong)),
                OPCODE_CONTINUATION => {
                    let (_, gathered) = self.partial.as_mut().ok_or(CLOSE_PROTOCOL_ERROR)?;
                    if gathered.len() + payload.len() > MAX_MESSAGE {
                        return Err(CLOSE_TOO_BIG);
                    }
                    gathered.extend_from_slice(&payload);
                    if !fin {
                        continue;
                    }
                    self.partial.take().ok_or(CLOSE_PROTOCOL_ERROR)?
                }
                _ if self.partial.is_some() => return Err(CLOSE_PROTOCOL_ERROR),
                _ if !fin => {
                    self.partial = Some((opcode, payload));
                    continue;
                }
                _ => (opcode, payload),
            };
            return match message {
                (OPCODE_TEXT, text) => String::from_utf8(text.to_vec())
                    .map(|text| Some(Inbound::Text(text)))
                    .map_err(|_| CLOSE_INVALID_DATA),
                _ => Ok(Some(Inbound::Binary)),
            };
        }
    }

    /// The next frame, unmasked: opcode, FIN and payload.
    fn frame(&mut self) -> Result<Option<(u8, bool, BytesMut)>, u16> {
        let buf = &self.buf;
        if buf.len() < 2 {
            return Ok(None);
        }
        let (fin, opcode) = (buf[0] & 0x80 != 0, buf[0] & 0x0F);
        if buf[0] & 0x70 != 0 || buf[1] & 0x80 == 0 {
            // Reserved bits (no extension was agreed), or a client frame without a mask.
            return Err(CLOSE_PROTOCOL_ERROR);
        }
        let control = opcode & 0x8 != 0;
        if ![
            OPCODE_CONTINUATION,
            OPCODE_TEXT,
            OPCODE_BINARY,
            OPCODE_CLOSE,
            OPCODE_PING,
            OPCODE_PONG,
        ]
        .contains(&opcode)
        {
            return Err(CLOSE_PROTOCOL_ERROR);
        }
        let (len, at) = match buf[1] & 0x7F {
            126 if buf.len() < 4 => return Ok(None),
            126 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
            127 if buf.len() < 10 => return Ok(None),
            127 => (
                u64::from_be_bytes(buf[2..10].try_into().unwrap_or_default()),
                10,
            ),
            len => (u64::from(len), 2),
        };
        if control && (!fin || len > 125) {
            return Err(CLOSE_PROTOCOL_ERROR);
        }
        if len > MAX_MESSAGE as u64 {
            return Err(CLOSE_TOO_BIG);
        }
        let len = len as usize;
        if buf.len() < at + 4 + len {
            return Ok(None);
        }
        let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        self.buf.advance(at + 4);
        let mut payload = self.buf.split_to(len);
        for (index, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[index % 4];
        }
        Ok(Some((opcode, fin, payload)))
    }
}

fn close(payload: &[u8]) -> Result<Inbound, u16> {
    match payload {
        [] => Ok(Inbound::Close(None)),
        [_] => Err(CLOSE_PROTOCOL_ERROR),
        [high, low, ..] => Ok(Inbound::Close(Some(u16::from_be_bytes([*high, *low])))),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A masked client frame (also `tests_ws.rs`'s).
    pub(in crate::fanout) fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![first];
        match payload.len() {
            len @ 0..=125 => out.push(0x80 | len as u8),
            len => {
                out.push(0x80 | 126);
                out.extend((len as u16).to_be_bytes());
            }
        }
        out.extend(mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn read(bytes: &[u8]) -> Result<Vec<Inbound>, u16> {
        let mut reader = Reader::default();
        let mut got = Vec::new();
        // One byte at a time: every split point of a frame must wait for the rest.
        for byte in bytes {
            reader.buffer().extend_from_slice(&[*byte]);
            while let Some(message) = reader.message()? {
                got.push(message);
            }
        }
        Ok(got)
    }

    #[test]
    fn messages_fragments_and_control_frames() {
        let bytes = [
            masked(0x81, b"{\"camera\":\"a\"}"),
            masked(0x89, b"hi"),
            masked(0x01, b"frag"),
            masked(0x8A, b""),
            masked(0x80, b"ment"),
            masked(0x82, &[0; 300]),
            masked(0x88, &1000u16.to_be_bytes()),
        ]
        .concat();
        assert_eq!(
            read(&bytes),
            Ok(vec![
                Inbound::Text("{\"camera\":\"a\"}".into()),
                Inbound::Ping(Bytes::from_static(b"hi")),
                Inbound::Pong,
                Inbound::Text("fragment".into()),
                Inbound::Binary,
                Inbound::Close(Some(1000)),
            ])
        );
    }

    #[test]
    fn oversized_unmasked_and_malformed_frames_are_refused() {
        assert_eq!(read(&masked(0x81, &[b'a'; MAX_MESSAGE + 1])), Err(1009));
        // Refused from the header alone, before the payload is buffered.
        assert_eq!(read(&[0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0]), Err(1009));
        let fragments = [masked(0x01, &[b'a'; 1000]), masked(0x80, &[b'a'; 100])];
        assert_eq!(read(&fragments.concat()), Err(1009));
        assert_eq!(read(&[0x81, 0x02, b'h', b'i']), Err(1002), "unmasked");
        assert_eq!(read(&masked(0x09, b"")), Err(1002), "fragmented ping");
        assert_eq!(read(&masked(0x89, &[0; 126])), Err(1002), "long ping");
        assert_eq!(read(&masked(0xC1, b"x")), Err(1002), "reserved bit");
        assert_eq!(read(&masked(0x83, b"x")), Err(1002), "unknown opcode");
        assert_eq!(
            read(&masked(0x80, b"x")),
            Err(1002),
            "continuation of nothing"
        );
        assert_eq!(read(&masked(0x81, &[0xFF, 0xFE])), Err(1007), "not UTF-8");
        assert_eq!(read(&masked(0x88, &[3])), Err(1002), "one-byte close");
    }
}

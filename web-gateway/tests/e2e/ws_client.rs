//! Reading the gateway's `/ws` messages in tests: binary frames (`[id_len][id][32-byte
//! meta][JPEG]`, docs/http-api.md) and the JSON text notices about a camera.

use camera_protocol::FrameMeta;
use futures::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Error, Message};

/// One message of a `/ws` socket.
pub(crate) enum WsMessage {
    /// `{"camera","error","detail"}`: why a camera sends no frames.
    Notice(serde_json::Value),
    Frame {
        camera: String,
        meta: FrameMeta,
        jpeg: Vec<u8>,
    },
}

/// Anything a `/ws` socket sends, H.264 lane units included.
pub(crate) enum Received {
    Message(WsMessage),
    /// An H.264 lane's unit: `[0x80 | id_len][id][u16 LE len][attachment][access unit]`.
    Video {
        camera: String,
        attachment: Vec<u8>,
        au: Vec<u8>,
    },
}

/// The next notice or frame of `socket` (pings and the like skipped); panics after 10 s, and
/// on an H.264 unit (no test switched a camera of this socket to a lane).
pub(crate) async fn next_ws_message<S>(socket: &mut S) -> WsMessage
where
    S: futures::Stream<Item = Result<Message, Error>> + Unpin,
{
    match next_received(socket).await {
        Received::Message(message) => message,
        Received::Video { camera, .. } => panic!("an H.264 unit of {camera} on a JPEG socket"),
    }
}

/// The next notice, frame or H.264 unit of `socket`; panics after 10 s.
pub(crate) async fn next_received<S>(socket: &mut S) -> Received
where
    S: futures::Stream<Item = Result<Message, Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("ws message in time")
            .expect("ws open")
            .expect("ws message");
        match message {
            Message::Text(text) => {
                let notice = serde_json::from_str(&text).expect("notice is JSON");
                return Received::Message(WsMessage::Notice(notice));
            }
            Message::Binary(data) if data[0] & 0x80 != 0 => {
                let id_len = usize::from(data[0] & 0x7f);
                let camera = String::from_utf8(data[1..1 + id_len].to_vec()).expect("id");
                let at = 1 + id_len;
                let len = usize::from(u16::from_le_bytes([data[at], data[at + 1]]));
                let attachment = data[at + 2..at + 2 + len].to_vec();
                let au = data[at + 2 + len..].to_vec();
                return Received::Video {
                    camera,
                    attachment,
                    au,
                };
            }
            Message::Binary(data) => {
                let id_len = usize::from(data[0]);
                let camera = String::from_utf8(data[1..1 + id_len].to_vec()).expect("id");
                let meta = FrameMeta::decode(&data[1 + id_len..1 + id_len + 32]).expect("meta");
                let jpeg = data[1 + id_len + 32..].to_vec();
                return Received::Message(WsMessage::Frame { camera, meta, jpeg });
            }
            _ => {}
        }
    }
}

/// The camera, metadata and JPEG of the next frame of `socket`, skipping notices.
pub(crate) async fn next_ws_frame<S>(socket: &mut S) -> (String, FrameMeta, Vec<u8>)
where
    S: futures::Stream<Item = Result<Message, Error>> + Unpin,
{
    loop {
        if let WsMessage::Frame { camera, meta, jpeg } = next_ws_message(socket).await {
            return (camera, meta, jpeg);
        }
    }
}

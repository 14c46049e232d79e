//! The messages of `foxglove.websocket.v1` this server uses (foxglove/ws-protocol
//! docs/spec.md): JSON `serverInfo`, `status`, `advertise`, `unadvertise` out, `subscribe` and
//! `unsubscribe` in, and the binary message-data frame. Nothing here touches a socket.

use camera_record::proto;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The only WebSocket subprotocol served; clients offering none of it are refused.
pub const SUBPROTOCOL: &str = "foxglove.websocket.v1";
/// First byte of a binary message-data frame.
const OP_MESSAGE_DATA: u8 = 1;
/// Opcode + subscription id (u32) + timestamp (u64).
const MESSAGE_DATA_HEADER: usize = 1 + 4 + 8;

/// One advertised channel: a camera's image topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel<'a> {
    pub id: u32,
    pub topic: String,
    pub encoding: &'static str,
    pub schema_name: &'static str,
    /// Base64 of the serialized `FileDescriptorSet`, as the spec wants for protobuf.
    pub schema: &'a str,
    pub schema_encoding: &'static str,
}

impl<'a> Channel<'a> {
    /// The `foxglove.CompressedImage` channel of `topic`; `schema` from [`schema_base64`].
    pub fn image(id: u32, topic: String, schema: &'a str) -> Self {
        Self {
            id,
            topic,
            encoding: proto::ENCODING,
            schema_name: proto::SCHEMA_NAME,
            schema,
            schema_encoding: proto::ENCODING,
        }
    }
}

impl<'a> Channel<'a> {
    /// The `foxglove.CompressedVideo` channel of `topic`; `schema` from
    /// [`video_schema_base64`].
    pub fn video(id: u32, topic: String, schema: &'a str) -> Self {
        Self {
            id,
            topic,
            encoding: proto::ENCODING,
            schema_name: proto::VIDEO_SCHEMA_NAME,
            schema,
            schema_encoding: proto::ENCODING,
        }
    }
}

/// The schema field of every video channel, computed once per server.
pub fn video_schema_base64() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(proto::video_schema())
}

/// The schema field of every image channel, computed once per server.
pub fn schema_base64() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(proto::schema())
}

/// `status` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warning = 1,
    Error = 2,
}

impl Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

/// JSON messages the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ServerMessage<'a> {
    ServerInfo {
        name: String,
        /// None of the optional features (client publish, parameters, services, time).
        capabilities: [&'static str; 0],
        /// Only meaningful with client publishing, which this server does not accept.
        supported_encodings: [&'static str; 0],
        metadata: BTreeMap<&'static str, String>,
        session_id: &'a str,
    },
    Status {
        level: Level,
        message: String,
    },
    Advertise {
        channels: Vec<Channel<'a>>,
    },
    Unadvertise {
        channel_ids: Vec<u32>,
    },
}

impl ServerMessage<'_> {
    pub fn to_json(&self) -> String {
        // Plain structs of strings and numbers: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One entry of a `subscribe` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    pub id: u32,
    pub channel_id: u32,
}

/// JSON messages a client may send to this server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    tag = "op",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ClientMessage {
    Subscribe { subscriptions: Vec<Subscription> },
    Unsubscribe { subscription_ids: Vec<u32> },
}

/// A client text message that is not one of [`ClientMessage`].
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot use client message: {0} (this server accepts op \"subscribe\" and \"unsubscribe\")"
)]
pub struct BadClientMessage(serde_json::Error);

pub fn parse(text: &str) -> Result<ClientMessage, BadClientMessage> {
    serde_json::from_str(text).map_err(BadClientMessage)
}

/// Binary message data: opcode 1, subscription id, timestamp (ns, little endian), then the
/// frame as a protobuf `foxglove.CompressedImage`. The JPEG is copied once, into this buffer.
pub fn message_data(subscription: u32, capture_ts_ns: u64, frame_id: &str, jpeg: &[u8]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(MESSAGE_DATA_HEADER + proto::compressed_image_len_bound(frame_id, jpeg));
    out.push(OP_MESSAGE_DATA);
    out.extend_from_slice(&subscription.to_le_bytes());
    out.extend_from_slice(&capture_ts_ns.to_le_bytes());
    proto::append_compressed_image(&mut out, capture_ts_ns, frame_id, jpeg);
    out
}

/// Binary message data of an H.264 access unit: as [`message_data`], the unit as a protobuf
/// `foxglove.CompressedVideo` (format `h264`, Annex B).
pub fn video_message_data(
    subscription: u32,
    capture_ts_ns: u64,
    frame_id: &str,
    au: &[u8],
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(MESSAGE_DATA_HEADER + proto::compressed_video_len_bound(frame_id, au));
    out.push(OP_MESSAGE_DATA);
    out.extend_from_slice(&subscription.to_le_bytes());
    out.extend_from_slice(&capture_ts_ns.to_le_bytes());
    proto::append_compressed_video(&mut out, capture_ts_ns, frame_id, au, proto::VIDEO_FORMAT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_match_the_spec() {
        let info = ServerMessage::ServerInfo {
            name: "gw".into(),
            capabilities: [],
            supported_encodings: [],
            metadata: BTreeMap::from([("prefix", "camera".to_owned())]),
            session_id: "7",
        };
        assert_eq!(
            info.to_json(),
            r#"{"op":"serverInfo","name":"gw","capabilities":[],"supportedEncodings":[],"metadata":{"prefix":"camera"},"sessionId":"7"}"#
        );
        let advertise = ServerMessage::Advertise {
            channels: vec![Channel::image(3, "/camera/front".into(), "AAA=")],
        };
        assert_eq!(
            advertise.to_json(),
            r#"{"op":"advertise","channels":[{"id":3,"topic":"/camera/front","encoding":"protobuf","schemaName":"foxglove.CompressedImage","schema":"AAA=","schemaEncoding":"protobuf"}]}"#
        );
        let status = ServerMessage::Status {
            level: Level::Error,
            message: "x".into(),
        };
        assert_eq!(
            status.to_json(),
            r#"{"op":"status","level":2,"message":"x"}"#
        );
        let gone = ServerMessage::Unadvertise {
            channel_ids: vec![1, 2],
        };
        assert_eq!(gone.to_json(), r#"{"op":"unadvertise","channelIds":[1,2]}"#);
    }

    #[test]
    fn client_messages_parse_and_errors_name_the_problem() {
        assert_eq!(
            parse(r#"{"op":"subscribe","subscriptions":[{"id":0,"channelId":3}]}"#).expect("valid"),
            ClientMessage::Subscribe {
                subscriptions: vec![Subscription {
                    id: 0,
                    channel_id: 3
                }]
            }
        );
        assert_eq!(
            parse(r#"{"op":"unsubscribe","subscriptionIds":[0,1]}"#).expect("valid"),
            ClientMessage::Unsubscribe {
                subscription_ids: vec![0, 1]
            }
        );
        for (text, needle) in [
            ("{not json", "key must be a string"),
            (r#"{"op":"publish"}"#, "unknown variant `publish`"),
            (
                r#"{"op":"subscribe","subscriptions":[{"id":1}]}"#,
                "channelId",
            ),
            (
                r#"{"op":"subscribe","subscriptions":[{"id":-1,"channelId":1}]}"#,
                "-1",
            ),
        ] {
            let error = parse(text).expect_err("refused").to_string();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn message_data_is_header_then_compressed_image() {
        let jpeg = [0xFF, 0xD8, 7, 0xFF, 0xD9];
        let data = message_data(0x0102_0304, 1_500_000_000, "front", &jpeg);
        assert_eq!(data[0], 1);
        assert_eq!(data[1..5], [4, 3, 2, 1]);
        assert_eq!(data[5..13], 1_500_000_000u64.to_le_bytes());
        let image = proto::decode_compressed_image(&data[13..]).expect("valid");
        assert_eq!(
            (image.timestamp_ns, image.frame_id, image.format, image.data),
            (1_500_000_000, "front", "jpeg", &jpeg[..])
        );
    }
}

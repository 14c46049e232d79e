//! One MCAP stream of camera frames: a `foxglove.CompressedImage` channel per camera (one
//! message per JPEG) and, for cameras with an H.264 lane, a `foxglove.CompressedVideo` channel
//! (one message per access unit); log time = capture time.
//!
//! Shared by the segment files on disk and the in-memory clip export, so both produce the
//! same channels and messages.

use super::proto;
use camera_protocol::frame::Frame;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::video::VideoFrame;
use std::collections::{BTreeMap, HashMap};
use std::io::{Seek, Write};

/// Frames go into chunks of about this size; a crash loses at most the chunk being written
/// (plus what is written between flushes).
pub const CHUNK_BYTES: u64 = 1 << 20;
/// Chunks of a streamed file (a clip download): each is built in memory before it is sent,
/// so smaller chunks mean less memory per download.
pub const STREAM_CHUNK_BYTES: u64 = 256 << 10;

/// An MCAP writer for camera frames. Chunks end here (at [`CHUNK_BYTES`], [`STREAM_CHUNK_BYTES`] when streaming, or on
/// [`FrameMcap::flush`]), never inside the `mcap` writer, so the underlying writer is flushed
/// exactly when a chunk is whole (what a segment's [`super::growing::GrowingFile`] relies on).
pub struct FrameMcap<W: Write + Seek> {
    writer: mcap::Writer<W>,
    schema_id: u16,
    /// Added with the first video message: JPEG-only files carry no video schema.
    video_schema_id: Option<u16>,
    channels: HashMap<String, u16>,
    /// Message bytes in the open chunk.
    chunk_bytes: u64,
    /// Where a chunk ends: [`CHUNK_BYTES`], or [`STREAM_CHUNK_BYTES`] when streaming.
    chunk_limit: u64,
}

impl<W: Write + Seek> std::fmt::Debug for FrameMcap<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameMcap")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

/// The Foxglove topic of a camera: `/<prefix>/<camera>`.
pub fn topic(prefix: &str, camera: &str) -> String {
    format!("/{prefix}/{camera}")
}

/// The Foxglove topic of a camera's H.264 lane: its [`topic`] + `/h264`.
pub fn video_topic(camera_topic: &str) -> String {
    format!("{camera_topic}/h264")
}

impl<W: Write + Seek> FrameMcap<W> {
    pub fn new(out: W) -> mcap::McapResult<Self> {
        Self::with_options(out, false)
    }

    /// For an output that is sent as it is written and cannot seek back (an HTTP body,
    /// wrapped in [`mcap::write::NoSeek`]): each chunk is built in memory and written whole.
    pub fn streaming(out: W) -> mcap::McapResult<Self> {
        Self::with_options(out, true)
    }

    fn with_options(out: W, streaming: bool) -> mcap::McapResult<Self> {
        let mut writer = mcap::WriteOptions::new()
            .compression(None) // JPEG and H.264 do not compress; zstd would only cost CPU.
            .chunk_size(None) // ended by `write` and `flush`
            .disable_seeking(streaming)
            .profile("")
            .library(concat!("camera-node ", env!("CARGO_PKG_VERSION")))
            .create(out)?;
        let schema_id = writer.add_schema(proto::SCHEMA_NAME, proto::ENCODING, &proto::schema())?;
        Ok(Self {
            writer,
            schema_id,
            video_schema_id: None,
            channels: HashMap::new(),
            chunk_bytes: 0,
            chunk_limit: if streaming {
                STREAM_CHUNK_BYTES
            } else {
                CHUNK_BYTES
            },
        })
    }

    /// Writes one frame on `topic`'s channel (declared on first use); `frame_id` is the
    /// camera id, so Foxglove's image panel labels it.
    pub fn write(&mut self, topic: &str, frame_id: &str, frame: &Frame) -> mcap::McapResult<()> {
        let channel_id = self.channel(topic, self.schema_id)?;
        let data = proto::compressed_image(frame.meta.capture_ts_ns, frame_id, &frame.jpeg);
        self.put(channel_id, frame.meta.seq, frame.meta.capture_ts_ns, &data)
    }

    /// Writes one access unit on `topic`'s `foxglove.CompressedVideo` channel (declared, with
    /// its schema, on first use). Whether a decoder can start here is the caller's business
    /// (a segment starts each channel at a keyframe).
    pub fn write_video(
        &mut self,
        topic: &str,
        frame_id: &str,
        frame: &VideoFrame,
    ) -> mcap::McapResult<()> {
        let schema_id = match self.video_schema_id {
            Some(id) => id,
            None => {
                let id = self.writer.add_schema(
                    proto::VIDEO_SCHEMA_NAME,
                    proto::ENCODING,
                    &proto::video_schema(),
                )?;
                *self.video_schema_id.insert(id)
            }
        };
        let channel_id = self.channel(topic, schema_id)?;
        let capture_ts_ns = frame.meta.frame.capture_ts_ns;
        let data = proto::compressed_video(capture_ts_ns, frame_id, &frame.au);
        self.put(channel_id, frame.meta.frame.seq, capture_ts_ns, &data)
    }

    fn channel(&mut self, topic: &str, schema_id: u16) -> mcap::McapResult<u16> {
        if let Some(id) = self.channels.get(topic) {
            return Ok(*id);
        }
        let id = self
            .writer
            .add_channel(schema_id, topic, proto::ENCODING, &BTreeMap::new())?;
        self.channels.insert(topic.to_owned(), id);
        Ok(id)
    }

    fn put(
        &mut self,
        channel_id: u16,
        seq: u64,
        log_time: u64,
        data: &[u8],
    ) -> mcap::McapResult<()> {
        self.writer.write_to_known_channel(
            &mcap::records::MessageHeader {
                channel_id,
                // MCAP sequence numbers are 32-bit; they only order messages of a channel.
                sequence: seq as u32,
                log_time,
                publish_time: unix_now_ns(),
            },
            data,
        )?;
        self.chunk_bytes += data.len() as u64;
        if self.chunk_bytes >= self.chunk_limit {
            self.flush()?;
        }
        Ok(())
    }

    /// Ends the current chunk and flushes it to the underlying writer, so everything written
    /// so far survives a crash.
    pub fn flush(&mut self) -> mcap::McapResult<()> {
        self.chunk_bytes = 0;
        self.writer.flush()
    }

    /// Writes the summary and footer; returns the underlying writer.
    pub fn finish(mut self) -> mcap::McapResult<W> {
        self.writer.finish()?;
        Ok(self.writer.into_inner())
    }
}

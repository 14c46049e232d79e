//! One MCAP stream of camera frames: the `foxglove.CompressedImage` schema, a channel per
//! camera, one message per frame with log time = capture time.
//!
//! Shared by the segment files on disk and the in-memory clip export, so both produce the
//! same channels and messages.

use super::proto;
use camera_protocol::frame::Frame;
use camera_protocol::meta::unix_now_ns;
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
            .compression(None) // JPEG does not compress; zstd would only cost CPU.
            .chunk_size(None) // ended by `write` and `flush`
            .disable_seeking(streaming)
            .profile("")
            .library(concat!("camera-node ", env!("CARGO_PKG_VERSION")))
            .create(out)?;
        let schema_id = writer.add_schema(proto::SCHEMA_NAME, proto::ENCODING, &proto::schema())?;
        Ok(Self {
            writer,
            schema_id,
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
        let channel_id = match self.channels.get(topic) {
            Some(id) => *id,
            None => {
                let id = self.writer.add_channel(
                    self.schema_id,
                    topic,
                    proto::ENCODING,
                    &BTreeMap::new(),
                )?;
                self.channels.insert(topic.to_owned(), id);
                id
            }
        };
        let data = proto::compressed_image(frame.meta.capture_ts_ns, frame_id, &frame.jpeg);
        self.writer.write_to_known_channel(
            &mcap::records::MessageHeader {
                channel_id,
                // MCAP sequence numbers are 32-bit; they only order messages of a channel.
                sequence: frame.meta.seq as u32,
                log_time: frame.meta.capture_ts_ns,
                publish_time: unix_now_ns(),
            },
            &data,
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

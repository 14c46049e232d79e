//! `[record]`: MCAP recording to disk and the in-memory clip buffer (docs/recording.md).

use super::SubscribeMode;
use camera_record::{keep, Keep, Size};
use robot_cli::settings::{defaults, Invalid};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Shortest segment: each one is a file, a new one every second is already plenty.
const MIN_SEGMENT_SECS: u64 = 1;
/// Longest clip buffer (it is held in memory).
const MAX_CLIP_SECS: u64 = 3600;

/// Recording and clips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct RecordConfig {
    /// Record every camera into DIR as MCAP segments (DIR/<camera>/<UTC start>.mcap, the newest
    /// readable while written); off when unset. Counts as a viewer under --subscribe while-watched.
    #[arg(id = "record.dir", long = "record", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A new segment file every SECS seconds.
    #[arg(
        id = "record.segment_secs",
        long = "record-segment",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub segment_secs: u64,
    /// Keep at most this age AND this size of recording (oldest segments deleted first): an
    /// age (30m, 1h, 2d) and a size (500MB, 2GiB, or 10% of the recording disk), comma-separated;
    /// one given alone keeps the other's default. Each recording camera may fill at most its
    /// fair part of the size (size / cameras recording).
    #[arg(
        id = "record.keep",
        long = "record-keep",
        value_name = "AGE,SIZE",
        default_value = keep::DEFAULT
    )]
    pub keep: Keep,
    /// Pause recording while the recording disk has less free space than this (bytes such as
    /// 2GiB, or a share of the disk such as 5%; 0B = never pause); it resumes 1/16 above.
    #[arg(
        id = "record.min_free",
        long = "record-min-free",
        value_name = "SIZE",
        default_value = "1GiB"
    )]
    pub min_free: Size,
    /// Keep the last SECS seconds of every camera in memory for GET /cameras/{id}/clip.mcap;
    /// 0 = off. Off under --subscribe while-watched unless --record is set (it would keep
    /// every camera running; recording does anyway). Its state is logged at start and in
    /// /api/cameras.
    #[arg(
        id = "record.clip_secs",
        long = "clip-buffer",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub clip_secs: u64,
    /// Most bytes of JPEG all cameras' clip buffers hold together (oldest frames go first).
    #[arg(id = "record.clip_max_bytes", long = "clip-buffer-bytes", value_name = "BYTES", default_value_t = 256 << 20)]
    pub clip_max_bytes: usize,
    /// Most clip.mcap downloads streamed at once, all clients together; more get 503 with
    /// Retry-After (each holds a few 256 KiB chunks while its client reads).
    #[arg(
        id = "record.clip_exports",
        long = "clip-exports",
        value_name = "N",
        default_value_t = 8
    )]
    pub clip_exports: usize,
    /// Most clip.mcap downloads at once from one client address; more get 429 with Retry-After.
    #[arg(
        id = "record.clip_exports_per_client",
        long = "clip-exports-per-client",
        value_name = "N",
        default_value_t = 2
    )]
    pub clip_exports_per_client: usize,
    /// Record a camera whose node publishes an H.264 lane from that lane alone (a
    /// foxglove.CompressedVideo channel, a fraction of the JPEG bytes) instead of beside its
    /// JPEG frames; cameras without a lane are recorded as JPEG frames either way.
    #[arg(id = "record.video_only", long = "record-video-only")]
    pub video_only: bool,
}

impl Default for RecordConfig {
    fn default() -> Self {
        defaults()
    }
}

/// Whether the clip buffer runs, and why not; shown per camera in `/api/cameras` as
/// `{"state": "on", "seconds": 60}` or `{"state": "off", "reason": "..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClipState {
    On { seconds: u64 },
    Off { reason: &'static str },
}

impl RecordConfig {
    /// The clip buffer's state under `subscribe`: off with `--clip-buffer 0`, and under
    /// `while_watched` unless recording (which keeps every camera subscribed anyway).
    pub fn clip_state(&self, subscribe: SubscribeMode) -> ClipState {
        if self.clip_secs == 0 {
            ClipState::Off {
                reason: "--clip-buffer 0",
            }
        } else if subscribe == SubscribeMode::WhileWatched && self.dir.is_none() {
            ClipState::Off {
                reason: "--subscribe while-watched without --record: filling it would keep \
                         every camera subscribed (pass --record DIR, or --subscribe always)",
            }
        } else {
            ClipState::On {
                seconds: self.clip_secs,
            }
        }
    }

    pub fn segment(&self) -> Duration {
        Duration::from_secs(self.segment_secs)
    }

    pub fn clip_length(&self) -> Duration {
        Duration::from_secs(self.clip_secs)
    }

    /// Whether frames need to be received for recording or clips at all.
    pub fn enabled(&self) -> bool {
        self.dir.is_some() || self.clip_secs > 0
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.segment_secs < MIN_SEGMENT_SECS {
            return Err(Invalid::new(
                "record.segment_secs",
                self.segment_secs,
                "use at least 1 second (e.g. --record-segment 60)",
            ));
        }
        if self.clip_secs > MAX_CLIP_SECS {
            return Err(Invalid::new(
                "record.clip_secs",
                self.clip_secs,
                format!("use at most {MAX_CLIP_SECS} (the clip buffer is held in memory); 0 turns it off"),
            ));
        }
        for (key, value) in [
            ("record.clip_exports", self.clip_exports),
            (
                "record.clip_exports_per_client",
                self.clip_exports_per_client,
            ),
        ] {
            if value == 0 {
                return Err(Invalid::new(
                    key,
                    value,
                    "use at least 1 (e.g. --clip-exports 8 --clip-exports-per-client 2)",
                ));
            }
        }
        if self.clip_secs > 0 && self.clip_max_bytes < 1 << 20 {
            return Err(Invalid::new(
                "record.clip_max_bytes",
                self.clip_max_bytes,
                "use at least 1048576 (1 MiB), e.g. 268435456",
            ));
        }
        Ok(())
    }

    /// A relative `dir` in a config file means next to the file.
    pub(super) fn relative_to(&mut self, base: &Path) {
        if let Some(dir) = &self.dir {
            if dir.is_relative() {
                self.dir = Some(base.join(dir));
            }
        }
    }
}

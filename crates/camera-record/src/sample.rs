//! [`Sample`]: what a camera hands to the recorder and the clip buffer — a JPEG frame or an
//! H.264 access unit — so both keep one queue and one order per camera for either kind.

use camera_protocol::frame::Frame;
use camera_protocol::video::VideoFrame;

/// One accepted sample of a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample {
    /// A JPEG frame: a `foxglove.CompressedImage` message on the camera's topic.
    Jpeg(Frame),
    /// An H.264 access unit: a `foxglove.CompressedVideo` message on the camera's video topic.
    Video(VideoFrame),
}

impl Sample {
    /// Capture time (ns since the Unix epoch): the message's log time.
    pub fn capture_ts_ns(&self) -> u64 {
        match self {
            Self::Jpeg(frame) => frame.meta.capture_ts_ns,
            Self::Video(frame) => frame.meta.frame.capture_ts_ns,
        }
    }

    /// Bytes of the JPEG or access unit: what memory and disk bounds count.
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Jpeg(frame) => frame.jpeg.len(),
            Self::Video(frame) => frame.au.len(),
        }
    }

    /// Whether this is an access unit a decoder cannot start at (an H.264 delta frame).
    pub fn is_video_delta(&self) -> bool {
        matches!(self, Self::Video(frame) if !frame.meta.is_keyframe())
    }
}

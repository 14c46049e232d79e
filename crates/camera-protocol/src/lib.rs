//! Robot cameras on zenoh, the wire protocol: what the camera node publishes, what the
//! gateway and your own programs subscribe to. No GStreamer, no CLI; described in
//! `docs/protocol.md`.
//!
//! # Layout
//! - [`keys`]: key expressions (`<prefix>/<camera>/jpeg`, `/info`, liveliness `<prefix>/<camera>`)
//!   and prefix patterns (`*/camera`) for a fleet.
//! - [`meta`]: [`FrameMeta`] and its 32-byte versioned attachment codec.
//! - [`frame`]: [`Frame`] = JPEG bytes + metadata, checked on receipt against [`FrameLimits`].
//! - [`jpeg`]: a JPEG's width and height from its frame header, without decoding.
//! - [`info`]: the node's JSON info reply and a typed query for it.
//! - [`publisher`]: [`FramePublisher`], the publishing side (frames, queryables, liveliness).
//! - [`replies`]: query replies bounded in size and count as they arrive, with their sender.
//! - [`subscriber`]: subscribe to one or all cameras; fetch a snapshot.
//! - [`video`]: the H.264 lane: access units on `<prefix>/<camera>/h264/<name>`, keyframes
//!   with their codec string, checked on receipt like frames.
//! - [`ros2`]: ROS 2 `sensor_msgs/CompressedImage` on rmw_zenoh's wire format (publish, decode).

pub mod frame;
pub mod info;
pub mod jpeg;
pub mod keys;
pub mod meta;
pub mod publisher;
pub mod replies;
pub mod ros2;
pub mod subscriber;
pub mod video;

pub use frame::{DecodeError, Frame, FrameLimits};
pub use info::{CameraInfo, CaptureState};
pub use jpeg::{jpeg_dimensions, JpegError};
pub use keys::CameraKeys;
pub use meta::FrameMeta;
pub use publisher::{FramePublisher, PublishError, PublisherOptions, PublisherStatus};
pub use subscriber::{Cameras, FrameSubscriber, Received};
pub use video::{VideoFrame, VideoMeta};

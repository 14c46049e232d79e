//! Robot camera streaming over zenoh: the wire protocol, and (feature `capture`) the node.
//!
//! # Layout
//! - [`keys`]: key expressions (`<prefix>/<camera>/jpeg`, `/info`, liveliness `<prefix>/<camera>`).
//! - [`meta`]: [`FrameMeta`] and its 32-byte versioned attachment codec.
//! - [`frame`]: [`Frame`] = JPEG bytes + metadata, checked on receipt against [`FrameLimits`].
//! - [`subscriber`]: subscribe to one or all cameras; fetch a snapshot.
//! - [`info`]: the node's JSON info reply and a typed query for it.
//! - [`jpeg`]: a JPEG's width and height from its frame header, without decoding.
//! - [`publisher`]: [`FramePublisher`], the publishing side (frames, queryables, liveliness).
//! - [`replies`]: query replies bounded in size and count as they arrive, with their sender.
//! - [`ros2`]: ROS 2 `sensor_msgs/CompressedImage` on rmw_zenoh's wire format (publish, decode).
//! - `record` (feature `record`): MCAP recording, clip buffer, `foxglove.CompressedImage`.
//! - [`zenoh_config`]: shared zenoh defaults (the hub on loopback, multicast off) and overrides;
//!   [`zenoh_certs`]: the TLS files a profile names, from one machine's certificate folder.
//! - [`session`]: opening a publisher's session, waiting for the hub.
//! - [`settings`], [`process`] (feature `cli`): the config layer (defaults < TOML < env <
//!   flags) and the signal handling and logging both binaries share; no GStreamer.
//! - `node` (feature `capture`): GStreamer capture and its supervision.
//!
//! Everything outside `node` builds without GStreamer: subscribers and publishers of their own
//! pictures depend on this crate with `default-features = false`. The wire format is
//! described in `docs/protocol.md`.

pub mod frame;
pub mod info;
pub mod jpeg;
pub mod keys;
pub mod meta;
pub mod publisher;
#[cfg(feature = "record")]
pub mod record;
pub mod replies;
pub mod ros2;
pub mod session;
pub mod subscriber;
pub mod zenoh_certs;
pub mod zenoh_config;

#[cfg(feature = "cli")]
pub mod process;
#[cfg(feature = "cli")]
pub mod settings;

#[cfg(feature = "capture")]
pub mod node;

pub use frame::{DecodeError, Frame, FrameLimits};
pub use info::{CameraInfo, CaptureState};
pub use jpeg::{jpeg_dimensions, JpegError};
pub use keys::CameraKeys;
pub use meta::FrameMeta;
pub use publisher::{FramePublisher, PublishError, PublisherOptions, PublisherStatus};
pub use subscriber::{Cameras, FrameSubscriber, Received};
pub use zenoh_config::ZenohSettings;

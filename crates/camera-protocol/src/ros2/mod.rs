//! ROS 2 on rmw_zenoh without ROS: frames as `sensor_msgs/msg/CompressedImage` that a stock
//! `rmw_zenoh_cpp` node subscribes to, and decoding of such topics published by ROS nodes.
//!
//! # Layout
//! - [`names`]: ROS name rules, fully qualified topic names, the data key.
//! - [`tokens`]: node and publisher liveliness tokens (graph discovery), QoS string, parsing.
//! - [`attachment`]: the 33-byte sample attachment (seq, source timestamp, GID).
//! - [`cdr`]: CDR writer and bounds-checked reader, [`Stamp`].
//! - [`compressed_image`]: `CompressedImage` encode (one copy) and strict decode.
//! - [`camera_info`]: `CameraInfo` from a camera_info YAML calibration file.
//! - [`publisher`]: [`Ros2Publisher`], the verbs (declare, publish a frame) on a zenoh session.
//! - [`receive`]: ROS 2 CompressedImage samples → [`crate::Frame`]; announced topics → cameras.
//!
//! Wire facts are from ros2/rmw_zenoh (`docs/design.md`, `liveliness_utils.cpp`,
//! `attachment_helpers.cpp`, `qos.cpp`, `rmw_publisher_data.cpp`); type hashes were computed
//! with `rosbags` (0.11.9) and match for Humble through Kilted. See `docs/ros2.md`.

pub mod attachment;
pub mod camera_info;
pub mod cdr;
pub mod compressed_image;
pub mod names;
pub mod publisher;
pub mod receive;
pub mod tokens;

pub use attachment::Ros2Attachment;
pub use camera_info::{CameraInfo, CameraInfoError};
pub use cdr::{CdrError, Stamp};
pub use compressed_image::CompressedImage;
pub use names::{MessageType, NameError, TopicKey};
pub use publisher::{Ros2Error, Ros2Publisher, Ros2Settings};
pub use receive::{Ros2Camera, Ros2FrameError};
pub use tokens::AnnouncedPublisher;

/// `sensor_msgs/msg/CompressedImage`.
pub const COMPRESSED_IMAGE: MessageType = MessageType {
    dds_name: "sensor_msgs::msg::dds_::CompressedImage_",
    hash: "RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a",
};

/// `sensor_msgs/msg/CameraInfo`.
pub const CAMERA_INFO: MessageType = MessageType {
    dds_name: "sensor_msgs::msg::dds_::CameraInfo_",
    hash: "RIHS01_b3dfd68ff46c9d56c80fd3bd4ed22c7a4ddce8c8348f2f59c299e73118e7e275",
};

/// Default relative topic of the images (image_transport's compressed sub-topic of `image`).
pub const DEFAULT_TOPIC: &str = "image/compressed";
/// Topic of the calibration, next to `image` as image_transport subscribers expect.
pub const CAMERA_INFO_TOPIC: &str = "camera_info";
/// Default node name.
pub const DEFAULT_NODE_NAME: &str = "camera_node";
/// Default history depth announced in the QoS (best effort, keep last).
pub const DEFAULT_DEPTH: u32 = 1;
/// Format string of our images: compressed_image_transport decodes any format it can read.
pub const JPEG_FORMAT: &str = "jpeg";

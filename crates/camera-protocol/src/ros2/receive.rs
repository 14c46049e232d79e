//! ROS 2 CompressedImage topics as cameras: samples → JPEG + metadata, and which announced
//! topics can be shown. What a subscriber (the gateway) needs to view ROS 2 cameras that were never ours.
//!
//! Everything here comes off the network: payload, attachment and liveliness keys are checked
//! strictly, and a sample becomes a frame only if it is one JPEG whose header gives its size.

use super::attachment::{AttachmentError, Ros2Attachment};
use super::cdr::CdrError;
use super::compressed_image::CompressedImage;
use super::names::fully_qualified;
use super::tokens::AnnouncedPublisher;
use super::COMPRESSED_IMAGE;
use crate::jpeg::{jpeg_dimensions, JpegError};
use crate::keys::validate_camera_id;
use crate::meta::FrameMeta;
use bytes::Bytes;
use thiserror::Error;

/// Why a ROS 2 sample is not a frame we can serve.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Ros2FrameError {
    #[error("ROS 2 sample has no rmw_zenoh attachment")]
    MissingAttachment,
    #[error(transparent)]
    Attachment(#[from] AttachmentError),
    #[error("ROS 2 CompressedImage: {0}")]
    Cdr(#[from] CdrError),
    #[error("ROS 2 CompressedImage has format {0:?}: only JPEG images can be served")]
    NotJpeg(String),
    #[error("ROS 2 CompressedImage JPEG has no readable size: {0}")]
    Header(#[from] JpegError),
    #[error("ROS 2 CompressedImage stamp is before 1970")]
    Stamp,
}

/// Decodes one sample of a CompressedImage topic: its JPEG and the metadata a camera node
/// would have attached (`Frame::from_ros2_sample` makes the frame; this module knows ROS 2,
/// not frames).
///
/// `seq` is the publisher's sequence number minus one (ours start at 0); the capture time is
/// the header stamp. Width and height come from the JPEG itself.
pub fn decode_image(
    payload: &Bytes,
    attachment: Option<&[u8]>,
) -> Result<(Bytes, FrameMeta), Ros2FrameError> {
    let attachment = attachment.ok_or(Ros2FrameError::MissingAttachment)?;
    let attachment = Ros2Attachment::decode(attachment)?;
    let image = CompressedImage::decode(payload)?;
    if !image.format.to_ascii_lowercase().contains("jpeg") {
        return Err(Ros2FrameError::NotJpeg(image.format));
    }
    let (width, height) = jpeg_dimensions(&image.data)?;
    let capture_ts_ns = image.stamp.to_unix_ns().ok_or(Ros2FrameError::Stamp)?;
    let meta = FrameMeta {
        seq: u64::try_from(attachment.seq.saturating_sub(1)).unwrap_or(0),
        capture_ts_ns,
        width,
        height,
        generation: 1,
        online: true,
    };
    Ok((image.data, meta))
}

/// A CompressedImage topic some ROS 2 node announced, as a camera the gateway can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ros2Camera {
    /// Camera id derived from the topic (see [`camera_id_for_topic`]).
    pub camera: String,
    pub topic: String,
    /// Where its samples are put.
    pub data_key: String,
}

impl Ros2Camera {
    /// The camera behind a liveliness token, if the token announces a CompressedImage publisher
    /// in `domain_id` with a valid ROS topic name; `None` for everything else.
    pub fn from_token(key: &str, domain_id: u32) -> Option<Self> {
        let announced = AnnouncedPublisher::parse(key)?;
        if announced.domain_id != domain_id
            || announced.dds_name != COMPRESSED_IMAGE.dds_name
            || !is_type_hash(&announced.hash)
        {
            return None;
        }
        // A valid ROS name has no wildcard or other key-expression syntax in it.
        let topic = fully_qualified("/", &announced.topic).ok()?;
        Some(Self {
            camera: camera_id_for_topic(&topic)?,
            data_key: announced.data_key(),
            topic,
        })
    }
}

fn is_type_hash(hash: &str) -> bool {
    hash.strip_prefix("RIHS01_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `/robot/front/image/compressed` → `robot-front`: the topic without its image_transport
/// suffix, `/` → `-`. `None` when that is not a valid camera id (e.g. longer than 64).
pub fn camera_id_for_topic(topic: &str) -> Option<String> {
    let base = topic.trim_matches('/');
    let base = base
        .strip_suffix("/image/compressed")
        .or_else(|| base.strip_suffix("/compressed"))
        .unwrap_or(base);
    let id = base.replace('/', "-");
    validate_camera_id(&id).ok()?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros2::cdr::Stamp;
    use crate::ros2::compressed_image::encode_compressed_image;
    use crate::ros2::names::TopicKey;
    use crate::ros2::tokens::NodeIdentity;

    /// A 16x8 baseline JPEG header (SOI, SOF0 with the size, EOI): enough for size and completeness.
    fn tiny_jpeg() -> Vec<u8> {
        let mut jpeg = vec![
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x10,
        ];
        jpeg.extend_from_slice(&[0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9]);
        jpeg
    }

    fn attachment(seq: i64) -> Vec<u8> {
        Ros2Attachment {
            seq,
            source_ts_ns: 1,
            gid: [1; 16],
        }
        .encode()
        .to_vec()
    }

    #[test]
    fn compressed_image_gives_its_jpeg_and_metadata() {
        let jpeg = tiny_jpeg();
        let stamp = Stamp {
            sec: 1_700_000_000,
            nanosec: 5,
        };
        let payload = Bytes::from(encode_compressed_image(
            stamp,
            "cam",
            "rgb8; jpeg compressed bgr8",
            &jpeg,
        ));
        let (image, meta) = decode_image(&payload, Some(&attachment(3))).expect("image");
        assert_eq!(image.as_ref(), jpeg.as_slice());
        assert_eq!((meta.width, meta.height, meta.seq), (16, 8, 2));
        assert_eq!(meta.capture_ts_ns, 1_700_000_000_000_000_005);
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        let jpeg = tiny_jpeg();
        let png = Bytes::from(encode_compressed_image(Stamp::default(), "c", "png", &jpeg));
        assert!(matches!(
            decode_image(&png, Some(&attachment(1))),
            Err(Ros2FrameError::NotJpeg(_))
        ));
        let good = Bytes::from(encode_compressed_image(
            Stamp::default(),
            "c",
            "jpeg",
            &jpeg,
        ));
        assert!(decode_image(&good, None).is_err());
        assert!(decode_image(&good, Some(&[0; 32])).is_err());
        let truncated = Bytes::from(encode_compressed_image(
            Stamp::default(),
            "c",
            "jpeg",
            &jpeg[..8],
        ));
        assert!(decode_image(&truncated, Some(&attachment(1))).is_err());
        let before_1970 = Bytes::from(encode_compressed_image(
            Stamp {
                sec: -5,
                nanosec: 0,
            },
            "c",
            "jpeg",
            &jpeg,
        ));
        assert!(decode_image(&before_1970, Some(&attachment(1))).is_err());
    }

    #[test]
    fn cameras_come_from_compressed_image_publisher_tokens() {
        let node = NodeIdentity {
            domain_id: 0,
            zid: "abc".to_owned(),
            node_id: 0,
            namespace: "/robot".to_owned(),
            node_name: "cam".to_owned(),
        };
        let topic =
            TopicKey::new(0, "/robot", "front/image/compressed", COMPRESSED_IMAGE).expect("valid");
        let camera =
            Ros2Camera::from_token(&node.publisher_token(1, &topic, 1), 0).expect("camera");
        assert_eq!(camera.camera, "robot-front");
        assert_eq!(camera.topic, "/robot/front/image/compressed");
        assert_eq!(camera.data_key, topic.data_key());
        assert_eq!(
            Ros2Camera::from_token(&node.publisher_token(1, &topic, 1), 1),
            None,
            "other domain"
        );
        let info =
            TopicKey::new(0, "/robot", "camera_info", crate::ros2::CAMERA_INFO).expect("valid");
        assert_eq!(
            Ros2Camera::from_token(&node.publisher_token(2, &info, 1), 0),
            None,
            "not an image"
        );
        let wildcard = node.publisher_token(1, &topic, 1).replace("%front", "%*");
        assert_eq!(Ros2Camera::from_token(&wildcard, 0), None, "wildcard topic");
        assert_eq!(
            camera_id_for_topic("/cam/compressed").as_deref(),
            Some("cam")
        );
        assert_eq!(camera_id_for_topic(&format!("/{}", "a".repeat(70))), None);
    }
}

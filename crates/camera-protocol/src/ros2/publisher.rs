//! [`Ros2Publisher`]: one camera as a ROS 2 node on rmw_zenoh, publishing CompressedImage.
//!
//! Declares what a stock rmw_zenoh node would: a node token, one publisher token per topic,
//! and a zenoh publisher per topic with congestion control Drop (rmw_zenoh's choice for
//! KEEP_LAST, `rmw_publisher_data.cpp`). Each put carries the 33-byte attachment with the
//! publisher's own sequence number. GStreamer-free: any process can publish this way.

use super::attachment::{gid_of_token, Ros2Attachment, GID_LEN};
use super::camera_info::CameraInfo;
use super::cdr::Stamp;
use super::compressed_image::encode_compressed_image;
use super::names::{validate_frame_id, validate_node_name, NameError, TopicKey};
use super::tokens::NodeIdentity;
use super::{CAMERA_INFO, CAMERA_INFO_TOPIC, COMPRESSED_IMAGE, JPEG_FORMAT};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;
use zenoh::handlers::FifoChannelHandler;
use zenoh::liveliness::LivelinessToken;
use zenoh::matching::{MatchingListener, MatchingStatus};
use zenoh::pubsub::Publisher;
use zenoh::qos::CongestionControl;

/// Entity id of the node (rmw_zenoh numbers nodes and their entities per session).
const NODE_ID: u32 = 0;
const IMAGE_ENTITY_ID: u32 = 1;
const CAMERA_INFO_ENTITY_ID: u32 = 2;

/// Where and how one camera appears in the ROS graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Ros2Settings {
    /// `ROS_DOMAIN_ID` of the subscribers (0..=232).
    pub domain_id: u32,
    /// Absolute node namespace, e.g. `/camera/front`.
    pub namespace: String,
    pub node_name: String,
    /// Image topic, relative to the namespace or absolute.
    pub topic: String,
    /// `header.frame_id` of every message.
    pub frame_id: String,
    /// History depth announced in the QoS (best effort, keep last `depth`).
    pub depth: u32,
    /// Published on `<namespace>/camera_info` with each frame when set.
    pub camera_info: Option<CameraInfo>,
}

/// The ROS 2 publisher could not be declared.
#[derive(Debug, Error)]
pub enum Ros2Error {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("cannot declare the ROS 2 publisher on zenoh: {0}")]
    Zenoh(zenoh::Error),
    #[error("cannot read the ROS 2 image topic's matching status: {0}")]
    Matching(zenoh::Error),
}

/// One topic: zenoh publisher, its `MP` token and its attachment state.
#[derive(Debug)]
struct TopicPublisher {
    publisher: Publisher<'static>,
    _token: LivelinessToken,
    gid: [u8; GID_LEN],
    next_seq: i64,
}

impl TopicPublisher {
    async fn declare(
        session: &zenoh::Session,
        identity: &NodeIdentity,
        entity_id: u32,
        topic: &TopicKey,
        depth: u32,
    ) -> zenoh::Result<Self> {
        let token_key = identity.publisher_token(entity_id, topic, depth);
        let publisher = session
            .declare_publisher(topic.data_key())
            // A frame must never block capture; rmw_zenoh uses Drop for KEEP_LAST too.
            .congestion_control(CongestionControl::Drop)
            .await?;
        let token = session
            .liveliness()
            .declare_token(token_key.clone())
            .await?;
        Ok(Self {
            publisher,
            _token: token,
            gid: gid_of_token(&token_key),
            next_seq: 1,
        })
    }

    async fn put(&mut self, payload: Vec<u8>) -> zenoh::Result<()> {
        let attachment = Ros2Attachment {
            seq: self.next_seq,
            source_ts_ns: now_ns(),
            gid: self.gid,
        };
        self.publisher
            .put(payload)
            .attachment(attachment.encode().to_vec())
            .await?;
        self.next_seq += 1;
        Ok(())
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|elapsed| i64::try_from(elapsed.as_nanos()).ok())
        .unwrap_or(0)
}

/// A camera's presence in the ROS 2 graph; dropping it removes the node and its topics.
#[derive(Debug)]
pub struct Ros2Publisher {
    image: TopicPublisher,
    camera_info: Option<(TopicPublisher, CameraInfo)>,
    frame_id: String,
    image_key: TopicKey,
    _node_token: LivelinessToken,
}

impl Ros2Publisher {
    /// Validates `settings` and declares the node, its topic(s) and tokens on `session`.
    pub async fn declare(
        session: &zenoh::Session,
        settings: &Ros2Settings,
    ) -> Result<Self, Ros2Error> {
        validate_node_name(&settings.node_name)?;
        validate_frame_id(&settings.frame_id)?;
        let image_key = TopicKey::new(
            settings.domain_id,
            &settings.namespace,
            &settings.topic,
            COMPRESSED_IMAGE,
        )?;
        let info_key = TopicKey::new(
            settings.domain_id,
            &settings.namespace,
            CAMERA_INFO_TOPIC,
            CAMERA_INFO,
        )?;
        let identity = NodeIdentity {
            domain_id: settings.domain_id,
            zid: session.zid().to_string(),
            node_id: NODE_ID,
            namespace: settings.namespace.clone(),
            node_name: settings.node_name.clone(),
        };
        let node_token = session
            .liveliness()
            .declare_token(identity.node_token())
            .await
            .map_err(Ros2Error::Zenoh)?;
        let image = TopicPublisher::declare(
            session,
            &identity,
            IMAGE_ENTITY_ID,
            &image_key,
            settings.depth,
        )
        .await
        .map_err(Ros2Error::Zenoh)?;
        let camera_info = match &settings.camera_info {
            Some(info) => Some((
                TopicPublisher::declare(
                    session,
                    &identity,
                    CAMERA_INFO_ENTITY_ID,
                    &info_key,
                    settings.depth,
                )
                .await
                .map_err(Ros2Error::Zenoh)?,
                info.clone(),
            )),
            None => None,
        };
        Ok(Self {
            image,
            camera_info,
            frame_id: settings.frame_id.clone(),
            image_key,
            _node_token: node_token,
        })
    }

    /// The image topic (its `data_key()` is where frames go).
    pub fn image_topic(&self) -> &TopicKey {
        &self.image_key
    }

    /// Publishes one JPEG as CompressedImage (and the CameraInfo, if any) stamped with its
    /// capture time. The JPEG is copied once, into the CDR buffer handed to zenoh.
    pub async fn publish(&mut self, jpeg: &[u8], capture_ts_ns: u64) -> zenoh::Result<()> {
        let stamp = Stamp::from_unix_ns(capture_ts_ns);
        let payload = encode_compressed_image(stamp, &self.frame_id, JPEG_FORMAT, jpeg);
        self.image.put(payload).await?;
        if let Some((publisher, info)) = &mut self.camera_info {
            publisher.put(info.encode(stamp, &self.frame_id)).await?;
        }
        Ok(())
    }

    /// Whether any ROS 2 subscriber currently matches the image topic.
    pub async fn has_subscribers(&self) -> Result<bool, Ros2Error> {
        let status = self.image.publisher.matching_status().await;
        Ok(status.map_err(Ros2Error::Matching)?.matching())
    }

    /// Notifies each time image subscribers appear or all disappear (for on-demand capture).
    pub async fn matching_listener(
        &self,
    ) -> Result<MatchingListener<FifoChannelHandler<MatchingStatus>>, Ros2Error> {
        let listener = self.image.publisher.matching_listener().await;
        listener.map_err(Ros2Error::Matching)
    }

    /// Images published so far.
    pub fn published(&self) -> u64 {
        u64::try_from(self.image.next_seq - 1).unwrap_or(0)
    }
}

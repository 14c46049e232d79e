//! ROS 2 names (namespace, node, topic) validated once, and the rmw_zenoh data key built from them.
//!
//! rmw_zenoh puts a topic on `<domain_id>/<fully qualified name without outer '/'>/<type>/<hash>`
//! (rmw_zenoh `docs/design.md`, `TopicInfo` in `liveliness_utils.cpp`). Names are checked with
//! ROS's rules (`rmw_validate_full_topic_name`, `rmw_validate_node_name`) because a name a ROS
//! node cannot subscribe to would publish happily and never be seen by `ros2 topic list`.

use thiserror::Error;

/// A name that ROS 2 would refuse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NameError {
    #[error("ROS namespace {0:?} is invalid: {rule}", rule = self.rule())]
    Namespace(String),
    #[error("ROS node name {0:?} is invalid: {rule}", rule = self.rule())]
    NodeName(String),
    #[error("ROS topic {0:?} is invalid: {rule}", rule = self.rule())]
    Topic(String),
    #[error("ROS frame_id {0:?} is invalid: {rule}", rule = self.rule())]
    FrameId(String),
    #[error("ROS domain id {0} is invalid: {rule}", rule = self.rule())]
    DomainId(u32),
    /// `ROS_DOMAIN_ID` holds something that is not a number.
    #[error("ROS_DOMAIN_ID {0:?} is invalid: {rule}", rule = self.rule())]
    DomainIdEnv(String),
}

impl NameError {
    /// What a valid value looks like, with an example.
    pub fn rule(&self) -> &'static str {
        match self {
            NameError::Namespace(_) => "start with '/', then '/'-separated tokens of A-Z a-z 0-9 _ that do not start with a digit (e.g. \"/camera/front\")",
            NameError::NodeName(_) => "use 1-255 characters from A-Z a-z 0-9 _, not starting with a digit (e.g. \"camera_node\")",
            NameError::Topic(_) => "use '/'-separated tokens of A-Z a-z 0-9 _ that do not start with a digit, relative (\"image/compressed\") or absolute (\"/front/image/compressed\")",
            NameError::FrameId(_) => "use 1-255 printable ASCII characters without spaces (e.g. \"camera_front_optical\")",
            NameError::DomainId(_) => "use 0-232 (ROS_DOMAIN_ID)",
            NameError::DomainIdEnv(_) => {
                "set ROS_DOMAIN_ID to a number 0-232 or pass --ros2-domain-id"
            }
        }
    }

    /// The refused value as a user would see it in their settings.
    pub fn value(&self) -> String {
        match self {
            NameError::Namespace(text)
            | NameError::NodeName(text)
            | NameError::Topic(text)
            | NameError::FrameId(text) => format!("{text:?}"),
            NameError::DomainId(id) => id.to_string(),
            NameError::DomainIdEnv(text) => format!("{text:?} (from ROS_DOMAIN_ID)"),
        }
    }
}

/// The ROS 2 domain: `configured` if set, else `ROS_DOMAIN_ID` as every ROS 2 node reads it,
/// else 0; refused when unreadable or above [`MAX_DOMAIN_ID`]. One rule for the node's and the
/// gateway's `[ros2]`.
pub fn resolve_domain_id(configured: Option<u32>) -> Result<u32, NameError> {
    let id = match (configured, std::env::var("ROS_DOMAIN_ID")) {
        (Some(id), _) => id,
        (None, Ok(text)) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map_err(|_| NameError::DomainIdEnv(text.clone()))?,
        _ => 0,
    };
    if id > MAX_DOMAIN_ID {
        return Err(NameError::DomainId(id));
    }
    Ok(id)
}

/// Largest domain id ROS 2 accepts (REP/rmw: 0..=232 for DDS ports; rmw_zenoh keeps the rule).
pub const MAX_DOMAIN_ID: u32 = 232;
const MAX_NAME_LEN: usize = 255;

/// `true` for a non-empty token of `[A-Za-z0-9_]` not starting with a digit.
fn is_token(token: &str) -> bool {
    token.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks an absolute namespace (`/` alone is the root namespace).
pub fn validate_namespace(namespace: &str) -> Result<(), NameError> {
    let valid = namespace == "/"
        || (namespace.len() <= MAX_NAME_LEN
            && namespace
                .strip_prefix('/')
                .is_some_and(|rest| rest.split('/').all(is_token)));
    if valid {
        Ok(())
    } else {
        Err(NameError::Namespace(namespace.to_owned()))
    }
}

/// Checks a node name (one token).
pub fn validate_node_name(name: &str) -> Result<(), NameError> {
    if name.len() <= MAX_NAME_LEN && is_token(name) {
        Ok(())
    } else {
        Err(NameError::NodeName(name.to_owned()))
    }
}

/// Checks a frame_id: rmw puts no rule on it, but tf2 and rviz do not cope with spaces/controls.
pub fn validate_frame_id(frame_id: &str) -> Result<(), NameError> {
    if (1..=MAX_NAME_LEN).contains(&frame_id.len())
        && frame_id.chars().all(|c| c.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err(NameError::FrameId(frame_id.to_owned()))
    }
}

/// Resolves `topic` against `namespace` into a fully qualified name (`/ns/topic`).
///
/// `~` (private) and `{}` substitutions are not supported: spell the name out.
pub fn fully_qualified(namespace: &str, topic: &str) -> Result<String, NameError> {
    validate_namespace(namespace)?;
    let invalid = || NameError::Topic(topic.to_owned());
    let full = match topic.strip_prefix('/') {
        Some(_) => topic.to_owned(),
        None if namespace == "/" => format!("/{topic}"),
        None => format!("{namespace}/{topic}"),
    };
    let tokens_ok = full
        .strip_prefix('/')
        .is_some_and(|rest| rest.split('/').all(is_token));
    if !tokens_ok || full.len() > MAX_NAME_LEN {
        return Err(invalid());
    }
    Ok(full)
}

/// The default namespace of a camera: `/camera/<id>`, with the characters a camera id may
/// hold but a ROS token may not (`-`, a leading digit) made valid.
pub fn default_namespace(camera_id: &str) -> String {
    let mut token: String = camera_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if token.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        token.insert(0, '_');
    }
    format!("/camera/{token}")
}

/// One ROS message type as rmw_zenoh names it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageType {
    /// DDS-mangled name, e.g. `sensor_msgs::msg::dds_::CompressedImage_`.
    pub dds_name: &'static str,
    /// REP-2016 type hash, `RIHS01_<64 hex>`.
    pub hash: &'static str,
}

/// Where one topic lives: domain, fully qualified name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicKey {
    domain_id: u32,
    fq_name: String,
    message: MessageType,
}

impl TopicKey {
    pub fn new(
        domain_id: u32,
        namespace: &str,
        topic: &str,
        message: MessageType,
    ) -> Result<Self, NameError> {
        if domain_id > MAX_DOMAIN_ID {
            return Err(NameError::DomainId(domain_id));
        }
        Ok(Self {
            domain_id,
            fq_name: fully_qualified(namespace, topic)?,
            message,
        })
    }

    pub fn domain_id(&self) -> u32 {
        self.domain_id
    }

    /// `/ns/topic`, as `ros2 topic list` shows it.
    pub fn fq_name(&self) -> &str {
        &self.fq_name
    }

    pub fn message(&self) -> MessageType {
        self.message
    }

    /// The zenoh key rmw_zenoh publishes and subscribes on.
    pub fn data_key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.domain_id,
            self.fq_name.trim_matches('/'),
            self.message.dds_name,
            self.message.hash
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros2::COMPRESSED_IMAGE;

    #[test]
    fn data_key_matches_rmw_zenoh_layout() {
        let key = TopicKey::new(0, "/camera/front", "image/compressed", COMPRESSED_IMAGE)
            .expect("valid names");
        assert_eq!(key.fq_name(), "/camera/front/image/compressed");
        assert_eq!(
            key.data_key(),
            "0/camera/front/image/compressed/sensor_msgs::msg::dds_::CompressedImage_/\
             RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a"
        );
        let absolute = TopicKey::new(7, "/ignored", "/robot/cam", COMPRESSED_IMAGE).expect("valid");
        assert!(absolute.data_key().starts_with("7/robot/cam/sensor_msgs::"));
        let root = TopicKey::new(0, "/", "cam", COMPRESSED_IMAGE).expect("valid");
        assert_eq!(root.fq_name(), "/cam");
    }

    #[test]
    fn rejects_names_ros_would_refuse() {
        for bad in [
            "", "camera", "/camera/", "//a", "/a//b", "/1cam", "/a-b", "/a/*", "/a b",
        ] {
            assert!(
                validate_namespace(bad).is_err(),
                "namespace {bad:?} accepted"
            );
        }
        for bad in ["", "1node", "a/b", "node-1", "nöde"] {
            assert!(validate_node_name(bad).is_err(), "node {bad:?} accepted");
        }
        for bad in ["", "a//b", "a/", "~/x", "{node}/x", "a/9b", "a b"] {
            assert!(
                fully_qualified("/ns", bad).is_err(),
                "topic {bad:?} accepted"
            );
        }
        for bad in ["", "a b", "tab\t"] {
            assert!(validate_frame_id(bad).is_err(), "frame_id {bad:?} accepted");
        }
        let err = TopicKey::new(233, "/a", "b", COMPRESSED_IMAGE).expect_err("domain");
        assert!(err.to_string().contains("0-232"), "{err}");
        let err = validate_namespace("/a-b").expect_err("invalid").to_string();
        assert!(
            err.contains("/a-b") && err.contains("/camera/front"),
            "{err}"
        );
    }

    #[test]
    fn default_namespace_is_always_valid() {
        assert_eq!(default_namespace("front"), "/camera/front");
        assert_eq!(default_namespace("stereo-left"), "/camera/stereo_left");
        assert_eq!(default_namespace("0"), "/camera/_0");
        for id in ["front", "a-b", "9", "_x", "A_1-2"] {
            validate_namespace(&default_namespace(id)).expect("valid default");
        }
    }
}

//! rmw_zenoh graph discovery: the node and publisher liveliness tokens, and parsing others' tokens.
//!
//! `ros2 node list` / `ros2 topic list` are answered from `@ros2_lv/<domain>/**` liveliness
//! tokens (rmw_zenoh `docs/design.md` "Graph Cache", `Entity` in `liveliness_utils.cpp`):
//! node  `@ros2_lv/<domain>/<zid>/<nid>/<nid>/NN/<enclave>/<namespace>/<node>`,
//! publisher `.../<zid>/<nid>/<eid>/MP/<enclave>/<namespace>/<node>/<topic>/<type>/<hash>/<qos>`,
//! with every `/` inside a part replaced by `%`. The QoS part follows `qos_to_keyexpr`: each
//! field is left empty when it equals rmw_zenoh's default (reliable, volatile, keep last 42,
//! infinite deadline/lifespan/lease, automatic liveliness).

use super::names::{MessageType, TopicKey};

/// Admin-space prefix of every rmw_zenoh liveliness token.
pub const ADMIN_SPACE: &str = "@ros2_lv";
/// Enclave of a node started without SROS (`/`, mangled to `%`).
const DEFAULT_ENCLAVE: &str = "/";
/// rmw's `RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT`.
const RELIABILITY_BEST_EFFORT: u32 = 2;
/// rmw_zenoh's default history depth (`RMW_ZENOH_DEFAULT_HISTORY_DEPTH` in qos.cpp).
const DEFAULT_DEPTH: u32 = 42;

/// Replaces `/` with `%` (rmw_zenoh `mangle_name`).
pub fn mangle(name: &str) -> String {
    name.replace('/', "%")
}

/// Inverse of [`mangle`].
pub fn demangle(part: &str) -> String {
    part.replace('%', "/")
}

/// The QoS part for a best-effort, volatile, keep-last-`depth` publisher.
///
/// Fields: `reliability:durability:history,depth:deadline_s,ns:lifespan_s,ns:liveliness,s,ns`.
pub fn best_effort_qos(depth: u32) -> String {
    let depth = if depth == DEFAULT_DEPTH || depth == 0 {
        // rmw_zenoh replaces depth 0 by its default, which is then written as empty.
        String::new()
    } else {
        depth.to_string()
    };
    format!("{RELIABILITY_BEST_EFFORT}::,{depth}:,:,:,,")
}

/// Identity of one node on one zenoh session, from which its tokens are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    pub domain_id: u32,
    /// The zenoh session id as text (`Session::zid().to_string()`).
    pub zid: String,
    /// Node id, unique within the session.
    pub node_id: u32,
    /// Absolute namespace, `/` for none.
    pub namespace: String,
    pub node_name: String,
}

impl NodeIdentity {
    fn prefix(&self, entity_id: u32, kind: &str) -> String {
        format!(
            "{ADMIN_SPACE}/{}/{}/{}/{entity_id}/{kind}/{}/{}/{}",
            self.domain_id,
            self.zid,
            self.node_id,
            mangle(DEFAULT_ENCLAVE),
            mangle(&self.namespace),
            mangle(&self.node_name)
        )
    }

    /// `NN` token: makes the node appear in `ros2 node list`.
    pub fn node_token(&self) -> String {
        self.prefix(self.node_id, "NN")
    }

    /// `MP` token: makes the topic appear in `ros2 topic list` with its type.
    pub fn publisher_token(&self, entity_id: u32, topic: &TopicKey, depth: u32) -> String {
        let MessageType { dds_name, hash } = topic.message();
        format!(
            "{}/{}/{}/{}/{}",
            self.prefix(entity_id, "MP"),
            mangle(topic.fq_name()),
            mangle(dds_name),
            mangle(hash),
            best_effort_qos(depth)
        )
    }
}

/// A publisher announced by some ROS 2 node, parsed from its `MP` token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncedPublisher {
    pub domain_id: u32,
    /// Fully qualified topic name (`/ns/topic`).
    pub topic: String,
    /// DDS type name, e.g. `sensor_msgs::msg::dds_::CompressedImage_`.
    pub dds_name: String,
    pub hash: String,
    pub node_namespace: String,
    pub node_name: String,
}

impl AnnouncedPublisher {
    /// Parses a publisher token; anything else (nodes, subscriptions, malformed keys) is `None`.
    ///
    /// The key comes off the network: parts are only split and compared, never used to size
    /// an allocation, and the domain must be a plain decimal number.
    pub fn parse(key: &str) -> Option<Self> {
        let parts: Vec<&str> = key.split('/').collect();
        let [admin, domain, _zid, _nid, _eid, kind, _enclave, namespace, node, topic, dds_name, hash, _qos] =
            parts.as_slice()
        else {
            return None;
        };
        if *admin != ADMIN_SPACE || *kind != "MP" {
            return None;
        }
        if [namespace, node, topic, dds_name, hash]
            .iter()
            .any(|p| p.is_empty())
        {
            return None;
        }
        let domain_id = domain
            .parse::<u32>()
            .ok()
            .filter(|_| domain.bytes().all(|b| b.is_ascii_digit()))?;
        Some(Self {
            domain_id,
            topic: demangle(topic),
            dds_name: (*dds_name).to_owned(),
            hash: (*hash).to_owned(),
            node_namespace: demangle(namespace),
            node_name: demangle(node),
        })
    }

    /// The data key this publisher puts samples on.
    pub fn data_key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.domain_id,
            self.topic.trim_matches('/'),
            self.dds_name,
            self.hash
        )
    }
}

/// Key expression matching every publisher token of a domain.
pub fn all_publishers(domain_id: u32) -> String {
    format!("{ADMIN_SPACE}/{domain_id}/*/*/*/MP/**")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros2::COMPRESSED_IMAGE;

    fn identity() -> NodeIdentity {
        NodeIdentity {
            domain_id: 0,
            zid: "8b20917502ee955ac4476e0266340d5c".to_owned(),
            node_id: 0,
            namespace: "/camera/front".to_owned(),
            node_name: "camera_node".to_owned(),
        }
    }

    #[test]
    fn qos_string_follows_qos_to_keyexpr() {
        assert_eq!(best_effort_qos(1), "2::,1:,:,:,,");
        assert_eq!(best_effort_qos(42), "2::,:,:,:,,");
        assert_eq!(best_effort_qos(0), "2::,:,:,:,,");
    }

    #[test]
    fn tokens_are_pinned() {
        let id = identity();
        assert_eq!(
            id.node_token(),
            "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/0/NN/%/%camera%front/camera_node"
        );
        let topic =
            TopicKey::new(0, "/camera/front", "image/compressed", COMPRESSED_IMAGE).expect("valid");
        assert_eq!(
            id.publisher_token(1, &topic, 5),
            "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/1/MP/%/%camera%front/camera_node/\
             %camera%front%image%compressed/sensor_msgs::msg::dds_::CompressedImage_/\
             RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a/2::,5:,:,:,,"
        );
        let root = NodeIdentity {
            namespace: "/".to_owned(),
            ..identity()
        };
        assert!(root.node_token().ends_with("/NN/%/%/camera_node"));
    }

    #[test]
    fn parses_publisher_tokens_and_ignores_the_rest() {
        let id = identity();
        let topic =
            TopicKey::new(3, "/camera/front", "image/compressed", COMPRESSED_IMAGE).expect("valid");
        let id = NodeIdentity { domain_id: 3, ..id };
        let parsed = AnnouncedPublisher::parse(&id.publisher_token(1, &topic, 1)).expect("parses");
        assert_eq!(parsed.domain_id, 3);
        assert_eq!(parsed.topic, "/camera/front/image/compressed");
        assert_eq!(parsed.dds_name, COMPRESSED_IMAGE.dds_name);
        assert_eq!(parsed.node_namespace, "/camera/front");
        assert_eq!(parsed.data_key(), topic.data_key());
        // The design.md example of a talker.
        let talker = "@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/10/MP/%/%/talker/%chatter/\
                      std_msgs::msg::dds_::String_/RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18/::,7:,:,:,,";
        let parsed = AnnouncedPublisher::parse(talker).expect("parses");
        assert_eq!(parsed.data_key(), "2/chatter/std_msgs::msg::dds_::String_/RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18");
        for bad in [
            id.node_token().as_str(),
            "@ros2_lv/0/z/0/1/MS/%/%/n/%t/T/H/::,:,:,:,,",
            "@ros2_lv/x/z/0/1/MP/%/%/n/%t/T/H/::,:,:,:,,",
            "@ros2_lv/+1/z/0/1/MP/%/%/n/%t/T/H/::,:,:,:,,",
            "@ros2_lv/0/z/0/1/MP/%/%/n/%t/T/H",
            "@ros2_lv/0/z/0/1/MP/%/%/n/%t/T/H/q/extra",
            "other/0/z/0/1/MP/%/%/n/%t/T/H/q",
            "",
        ] {
            assert_eq!(AnnouncedPublisher::parse(bad), None, "{bad:?} parsed");
        }
    }
}

//! `[ros2]`: ROS 2 CompressedImage topics (nodes on rmw_zenoh) shown as cameras; none by default.

use camera_protocol::ros2::names::{fully_qualified, resolve_domain_id};
use robot_cli::settings::{defaults, Invalid};
use serde::{Deserialize, Serialize};

/// Which ROS 2 image topics the gateway serves (docs/ros2.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Ros2Topics {
    /// Also show this ROS 2 sensor_msgs/CompressedImage topic as a camera, e.g.
    /// /robot/front/image/compressed; `*` for every one announced (repeatable).
    #[arg(id = "ros2.topics", long = "ros2-topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// ROS 2 domain of those topics, 0-232 [default: $ROS_DOMAIN_ID, else 0].
    #[arg(id = "ros2.domain_id", long = "ros2-domain-id", value_name = "ID")]
    pub domain_id: Option<u32>,
}

impl Default for Ros2Topics {
    fn default() -> Self {
        defaults()
    }
}

impl Ros2Topics {
    pub fn enabled(&self) -> bool {
        !self.topics.is_empty()
    }

    /// Whether the camera behind `topic` is to be shown.
    pub fn selects(&self, topic: &str) -> bool {
        self.topics
            .iter()
            .any(|wanted| wanted == "*" || wanted == topic)
    }

    /// The domain to discover topics in: the setting, else `ROS_DOMAIN_ID` as every ROS 2
    /// node reads it, else 0. An unreadable `ROS_DOMAIN_ID` is refused by [`Self::validate`].
    pub fn domain_id(&self) -> u32 {
        self.resolved_domain().unwrap_or(0)
    }

    fn resolved_domain(&self) -> Result<u32, Invalid> {
        resolve_domain_id(self.domain_id)
            .map_err(|error| Invalid::new("ros2.domain_id", error.value(), error.rule()))
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        for topic in &self.topics {
            let absolute = topic.starts_with('/') && fully_qualified("/", topic).is_ok();
            if topic != "*" && !absolute {
                return Err(Invalid::new(
                    "ros2.topics",
                    format!("{topic:?}"),
                    "use fully qualified ROS 2 topics (e.g. \"/robot/front/image/compressed\"), or \"*\" for all",
                ));
            }
        }
        self.resolved_domain().map(drop)
    }
}

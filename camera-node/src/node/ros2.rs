//! `[ros2]` / `--ros2`: the node's frames again as a ROS 2 `sensor_msgs/CompressedImage` topic
//! on rmw_zenoh (docs/ros2.md). Owns the settings and turning them into the library's
//! [`Ros2Settings`]; the wire format itself lives in `camera_protocol::ros2`.

use camera_protocol::ros2::names::{self, fully_qualified};
use camera_protocol::ros2::{
    CameraInfo, CameraInfoError, Ros2Settings, DEFAULT_DEPTH, DEFAULT_NODE_NAME, DEFAULT_TOPIC,
};
use robot_cli::settings::Invalid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[ros2]`: publishing for ROS 2 nodes that use rmw_zenoh_cpp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Ros2Options {
    /// Also publish every frame as a ROS 2 sensor_msgs/CompressedImage on rmw_zenoh.
    #[arg(id = "ros2.enabled", long = "ros2")]
    pub enabled: bool,
    /// ROS 2 domain of the nodes that subscribe, 0-232 [default: $ROS_DOMAIN_ID, else 0].
    #[arg(id = "ros2.domain_id", long = "ros2-domain-id", value_name = "ID")]
    pub domain_id: Option<u32>,
    /// Node namespace [default: /camera/<camera id>].
    #[arg(id = "ros2.namespace", long = "ros2-namespace", value_name = "NS")]
    pub namespace: Option<String>,
    /// ROS 2 node name.
    #[arg(
        id = "ros2.node_name",
        long = "ros2-node-name",
        value_name = "NAME",
        default_value = DEFAULT_NODE_NAME
    )]
    pub node_name: String,
    /// Image topic, relative to the namespace or absolute.
    #[arg(
        id = "ros2.topic",
        long = "ros2-topic",
        value_name = "TOPIC",
        default_value = DEFAULT_TOPIC
    )]
    pub topic: String,
    /// header.frame_id of every message [default: the camera id].
    #[arg(id = "ros2.frame_id", long = "ros2-frame-id", value_name = "FRAME")]
    pub frame_id: Option<String>,
    /// History depth announced in the QoS (best effort, keep last N).
    #[arg(
        id = "ros2.depth",
        long = "ros2-depth",
        value_name = "N",
        default_value_t = DEFAULT_DEPTH
    )]
    pub depth: u32,
    /// Calibration file in ROS camera_info YAML, published as CameraInfo on <namespace>/camera_info.
    #[arg(
        id = "ros2.camera_info",
        long = "ros2-camera-info",
        value_name = "FILE"
    )]
    pub camera_info: Option<PathBuf>,
}

impl Default for Ros2Options {
    fn default() -> Self {
        robot_cli::settings::defaults()
    }
}

impl Ros2Options {
    pub(super) fn relative_to(&mut self, dir: &Path) {
        if let Some(path) = &mut self.camera_info {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }

    fn domain_id(&self) -> Result<u32, Invalid> {
        names::resolve_domain_id(self.domain_id)
            .map_err(|error| Invalid::new("ros2.domain_id", error.value(), error.rule()))
    }

    fn namespace(&self, camera: &str) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| names::default_namespace(camera))
    }

    fn frame_id(&self, camera: &str) -> String {
        self.frame_id.clone().unwrap_or_else(|| camera.to_owned())
    }

    /// Checks the names ROS would refuse, naming the key; skipped when ROS 2 is off.
    pub(super) fn validate(&self, camera: &str) -> Result<(), Invalid> {
        if !self.enabled {
            return Ok(());
        }
        let namespace = self.namespace(camera);
        let frame_id = self.frame_id(camera);
        let checks = [
            ("ros2.namespace", names::validate_namespace(&namespace)),
            ("ros2.node_name", names::validate_node_name(&self.node_name)),
            (
                "ros2.topic",
                fully_qualified(&namespace, &self.topic).map(drop),
            ),
            ("ros2.frame_id", names::validate_frame_id(&frame_id)),
        ];
        self.domain_id()?;
        for (key, checked) in checks {
            if let Err(error) = checked {
                let value = match key {
                    "ros2.namespace" => format!("{namespace:?}"),
                    "ros2.node_name" => format!("{:?}", self.node_name),
                    "ros2.topic" => format!("{:?}", self.topic),
                    _ => format!("{frame_id:?}"),
                };
                return Err(Invalid::new(key, value, error.rule()));
            }
        }
        Ok(())
    }

    /// The library settings, reading and validating the calibration file if one is set.
    /// Call after [`Ros2Options::validate`] (an invalid domain id reads as 0 here).
    pub fn settings(&self, camera: &str) -> Result<Ros2Settings, CameraInfoError> {
        let camera_info = match &self.camera_info {
            Some(path) => Some(CameraInfo::from_file(path)?),
            None => None,
        };
        Ok(Ros2Settings {
            domain_id: self.domain_id().unwrap_or(0),
            namespace: self.namespace(camera),
            node_name: self.node_name.clone(),
            topic: self.topic.clone(),
            frame_id: self.frame_id(camera),
            depth: self.depth,
            camera_info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_camera_id() {
        let options = Ros2Options {
            enabled: true,
            ..Default::default()
        };
        assert_eq!(options.domain_id, None);
        options.validate("stereo-left").expect("defaults valid");
        let settings = options.settings("stereo-left").expect("no file");
        assert_eq!(settings.namespace, "/camera/stereo_left");
        assert_eq!(settings.frame_id, "stereo-left");
        assert_eq!(settings.topic, "image/compressed");
        assert_eq!(settings.node_name, "camera_node");
    }

    #[test]
    fn bad_names_name_the_key() {
        let bad = Ros2Options {
            enabled: true,
            topic: "image//compressed".to_owned(),
            ..Default::default()
        };
        let error = bad.validate("front").expect_err("bad topic").to_string();
        assert!(error.starts_with("ros2.topic = "), "{error}");
        let off = Ros2Options {
            enabled: false,
            ..bad
        };
        off.validate("front").expect("not checked while off");
        let domain = Ros2Options {
            enabled: true,
            domain_id: Some(300),
            ..Default::default()
        };
        let error = domain.validate("front").expect_err("domain").to_string();
        assert!(error.contains("ros2.domain_id = 300"), "{error}");
    }
}

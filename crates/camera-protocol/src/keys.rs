//! Key expressions of the protocol: where a camera's frames, info and liveliness live.
//!
//! Every key is built here and nowhere else, so the layout in `docs/protocol.md` has one
//! implementation. Camera ids and prefixes are validated because a stray `*` or `/` in an
//! id would silently turn a publisher's key into a wildcard or another camera's key.
//! Subscribers that watch several prefixes or a wildcard (`*/camera`) split what they receive
//! with [`PrefixSet`] (`pattern.rs`), which also names each camera.

use thiserror::Error;

mod pattern;
pub use pattern::{
    camera_folder, validate_camera_ref, validate_prefix_pattern, CameraName, Found, Layout,
    PrefixSet, MAX_ID_LEN, MAX_KEY_LEN, MAX_PREFIXES, MAX_PREFIX_CHUNKS, MAX_PREFIX_LEN,
};

/// Default first segment(s) of every key.
pub const DEFAULT_PREFIX: &str = "camera";
/// Last segment of the frame key (and the snapshot queryable).
pub const JPEG_SEGMENT: &str = "jpeg";
/// Last segment of the info queryable.
pub const INFO_SEGMENT: &str = "info";
/// Key segment of the H.264 lanes (docs/protocol.md, "The H.264 lane").
pub const H264_SEGMENT: &str = "h264";
/// Last key segment of a lane's keyframe request queryable.
pub const KEYFRAME_SEGMENT: &str = "keyframe";

/// A camera id or prefix that cannot be used in a key expression.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    #[error("camera id {0:?} is invalid: use 1-64 characters from A-Z a-z 0-9 _ - (e.g. \"front\", \"stereo_left\")")]
    CameraId(String),
    #[error("prefix {0:?} is invalid: use one or more '/'-separated segments of A-Z a-z 0-9 _ - (e.g. \"camera\", \"robot1/camera\")")]
    Prefix(String),
    #[error("prefix {prefix:?} is invalid: {reason}")]
    PrefixPattern { prefix: String, reason: String },
    #[error("{0} prefixes given: give 1 to {MAX_PREFIXES} (e.g. \"camera\", or \"*/camera\" for every robot)")]
    PrefixCount(usize),
    #[error("camera {0:?} is invalid: use 1-{MAX_ID_LEN} characters from A-Z a-z 0-9 _ - . (e.g. \"front\", \"robot1.camera.front\")")]
    CameraRef(String),
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Checks that `id` can be a single key segment naming one camera.
pub fn validate_camera_id(id: &str) -> Result<(), KeyError> {
    if (1..=64).contains(&id.len()) && id.chars().all(is_id_char) {
        Ok(())
    } else {
        Err(KeyError::CameraId(id.to_owned()))
    }
}

/// Checks that `prefix` is one or more plain segments (no wildcards, no empty segment).
pub fn validate_prefix(prefix: &str) -> Result<(), KeyError> {
    let valid = !prefix.is_empty()
        && prefix
            .split('/')
            .all(|segment| !segment.is_empty() && segment.chars().all(is_id_char));
    if valid {
        Ok(())
    } else {
        Err(KeyError::Prefix(prefix.to_owned()))
    }
}

/// The keys of one camera, validated once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraKeys {
    prefix: String,
    camera: String,
}

impl CameraKeys {
    pub fn new(prefix: &str, camera: &str) -> Result<Self, KeyError> {
        validate_prefix(prefix)?;
        validate_camera_id(camera)?;
        Ok(Self {
            prefix: prefix.to_owned(),
            camera: camera.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn camera(&self) -> &str {
        &self.camera
    }

    /// `<prefix>/<camera>/jpeg`: frames are put here; the snapshot queryable answers here.
    pub fn jpeg(&self) -> String {
        format!("{}/{}/{JPEG_SEGMENT}", self.prefix, self.camera)
    }

    /// `<prefix>/<camera>/info`: the JSON info queryable.
    pub fn info(&self) -> String {
        format!("{}/{}/{INFO_SEGMENT}", self.prefix, self.camera)
    }

    /// `<prefix>/<camera>/jpeg/<variant>`: a smaller variant encoded by the node (`[[variants]]`).
    /// Not matched by [`all_jpeg`], so subscribers of every camera never see variants as cameras.
    pub fn variant_jpeg(&self, variant: &str) -> String {
        format!("{}/{}/{JPEG_SEGMENT}/{variant}", self.prefix, self.camera)
    }

    /// `<prefix>/<camera>/h264/<name>`: an H.264 lane encoded by the node (`codec = "h264"`
    /// variants), one access unit per sample.
    pub fn video(&self, name: &str) -> String {
        format!("{}/{}/{H264_SEGMENT}/{name}", self.prefix, self.camera)
    }

    /// `<prefix>/<camera>/h264/<name>/keyframe`: a query here makes the lane's next access
    /// unit a keyframe (for a viewer that just joined).
    pub fn video_keyframe(&self, name: &str) -> String {
        format!("{}/{KEYFRAME_SEGMENT}", self.video(name))
    }

    /// `<prefix>/<camera>`: the liveliness token held while the node runs.
    pub fn liveliness(&self) -> String {
        format!("{}/{}", self.prefix, self.camera)
    }
}

/// `<prefix>/*/jpeg`: every camera's frames.
pub fn all_jpeg(prefix: &str) -> String {
    format!("{prefix}/*/{JPEG_SEGMENT}")
}

/// `<prefix>/*`: every camera's liveliness token.
pub fn all_liveliness(prefix: &str) -> String {
    format!("{prefix}/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let keys = CameraKeys::new("robot1/camera", "front").expect("valid keys");
        assert_eq!(keys.jpeg(), "robot1/camera/front/jpeg");
        assert_eq!(keys.info(), "robot1/camera/front/info");
        assert_eq!(keys.liveliness(), "robot1/camera/front");
        assert_eq!(all_jpeg("camera"), "camera/*/jpeg");
        assert_eq!(all_liveliness("camera"), "camera/*");
        assert_eq!(
            keys.variant_jpeg("preview"),
            "robot1/camera/front/jpeg/preview"
        );
    }

    #[test]
    fn rejects_ids_that_would_change_the_key_meaning() {
        for bad in ["", "a/b", "*", "**", "a b", "$x", "caméra", &"x".repeat(65)] {
            assert!(validate_camera_id(bad).is_err(), "{bad:?} accepted");
        }
        for bad in ["", "/camera", "camera/", "a//b", "camera/*", "a/**"] {
            assert!(validate_prefix(bad).is_err(), "{bad:?} accepted");
        }
        let message = validate_camera_id("a/b").expect_err("invalid").to_string();
        assert!(
            message.contains("a/b") && message.contains("A-Z"),
            "{message}"
        );
    }
}

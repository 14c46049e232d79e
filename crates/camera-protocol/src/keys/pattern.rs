//! Prefix patterns: the prefixes a subscriber watches (`camera`, `*/camera`, several at once),
//! how a received key splits into the concrete prefix it was found under and the camera name,
//! and the one rule for the id a subscriber gives that camera ([`PrefixSet::name`]).
//!
//! Keys come off the network, so work per key is bounded: a key over [`MAX_KEY_LEN`] bytes is
//! refused before it is split, and patterns have at most [`MAX_PREFIX_CHUNKS`] segments.

use super::{all_jpeg, all_liveliness, is_id_char, validate_camera_id, CameraKeys, KeyError};
use std::path::PathBuf;

/// Most '/'-separated segments in a prefix (pattern or concrete).
pub const MAX_PREFIX_CHUNKS: usize = 16;
/// Longest prefix (pattern or concrete) in bytes.
pub const MAX_PREFIX_LEN: usize = 128;
/// Most prefixes one subscriber watches.
pub const MAX_PREFIXES: usize = 32;
/// Longest key parsed: a prefix, a camera id, `jpeg` and the separators fit well within.
pub const MAX_KEY_LEN: usize = 256;
/// Longest camera id a subscriber gives: `<prefix with '.'>.<camera>` (fits the `/ws` `u8`).
pub const MAX_ID_LEN: usize = MAX_PREFIX_LEN + 1 + 64;

const ONE_SEGMENT: &str = "*";
const PATTERN_RULE: &str = "use '/'-separated segments of A-Z a-z 0-9 _ -, or `*` for exactly \
     one segment (e.g. \"camera\", \"robot1/camera\", \"*/camera\")";

/// Checks a prefix pattern: plain segments and `*` (one whole segment each).
pub fn validate_prefix_pattern(pattern: &str) -> Result<(), KeyError> {
    let invalid = |reason: String| KeyError::PrefixPattern {
        prefix: pattern.to_owned(),
        reason,
    };
    if pattern.len() > MAX_PREFIX_LEN || pattern.split('/').count() > MAX_PREFIX_CHUNKS {
        return Err(invalid(format!(
            "use at most {MAX_PREFIX_CHUNKS} segments and {MAX_PREFIX_LEN} characters"
        )));
    }
    for segment in pattern.split('/') {
        if segment == "**" {
            return Err(invalid(
                "`**` (any number of segments) is not supported: use one `*` per segment \
                 (e.g. \"*/camera\" for robot1/camera and robot2/camera)"
                    .to_owned(),
            ));
        }
        if segment.contains('*') && segment != ONE_SEGMENT {
            return Err(invalid(format!(
                "`*` must be a whole segment, {segment:?} is not: write \"*/camera\" to watch \
                 robot1/camera, robot2/camera, ..."
            )));
        }
        if segment != ONE_SEGMENT && !is_segment(segment) {
            return Err(invalid(PATTERN_RULE.to_owned()));
        }
    }
    Ok(())
}

/// Checks that `id` could be a camera id as a subscriber names it (`front`,
/// `robot1.camera.front`): 1 to [`MAX_ID_LEN`] characters of A-Z a-z 0-9 _ - and `.`.
pub fn validate_camera_ref(id: &str) -> Result<(), KeyError> {
    let valid =
        (1..=MAX_ID_LEN).contains(&id.len()) && id.chars().all(|c| is_id_char(c) || c == '.');
    if valid {
        Ok(())
    } else {
        Err(KeyError::CameraRef(id.to_owned()))
    }
}

fn is_segment(segment: &str) -> bool {
    !segment.is_empty() && segment.chars().all(is_id_char)
}

/// What follows the camera in a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `<prefix>/<camera>`: a liveliness token.
    Liveliness,
    /// `<prefix>/<camera>/jpeg`: frames.
    Jpeg,
}

/// A key split by [`PrefixSet::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'k> {
    /// Index of the first pattern that matches: the subscriber of that pattern owns the key,
    /// so a key two overlapping patterns match is handled once.
    pub pattern: usize,
    /// The concrete prefix, e.g. `robot1/camera`.
    pub prefix: &'k str,
    pub camera: &'k str,
}

/// One camera as a subscriber names it: its keys and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraName {
    id: String,
    keys: CameraKeys,
}

impl CameraName {
    /// Unique among the cameras of one [`PrefixSet`]; works verbatim in URLs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the camera's frames, info and token are (its concrete prefix and name).
    pub fn keys(&self) -> &CameraKeys {
        &self.keys
    }

    pub fn into_parts(self) -> (String, CameraKeys) {
        (self.id, self.keys)
    }

    /// The camera's folder under a directory of cameras (recordings), following the id:
    /// `<camera>` when the id is the camera name, else `<prefix>/<camera>`.
    pub fn folder(&self) -> PathBuf {
        camera_folder(&self.id, &self.keys)
    }
}

/// [`CameraName::folder`] of the camera at `keys` listed as `id`.
pub fn camera_folder(id: &str, keys: &CameraKeys) -> PathBuf {
    let camera = keys.camera();
    if id == camera {
        PathBuf::from(camera)
    } else {
        PathBuf::from(keys.prefix()).join(camera)
    }
}

/// The prefix patterns a subscriber watches, validated and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixSet {
    patterns: Vec<String>,
    /// Several robots may be seen: ids say the prefix.
    fleet: bool,
}

impl Default for PrefixSet {
    /// The default prefix alone (`camera`).
    fn default() -> Self {
        Self {
            patterns: vec![super::DEFAULT_PREFIX.to_owned()],
            fleet: false,
        }
    }
}

impl PrefixSet {
    /// At least one and at most [`MAX_PREFIXES`] patterns, each valid.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, KeyError> {
        let mut kept: Vec<String> = Vec::new();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            validate_prefix_pattern(pattern)?;
            if !kept.iter().any(|k| k == pattern) {
                kept.push(pattern.to_owned());
            }
        }
        if kept.is_empty() || kept.len() > MAX_PREFIXES {
            return Err(KeyError::PrefixCount(kept.len()));
        }
        let fleet = kept.len() > 1 || kept[0].split('/').any(|s| s == ONE_SEGMENT);
        Ok(Self {
            patterns: kept,
            fleet,
        })
    }

    /// One prefix (pattern or literal).
    pub fn single(pattern: &str) -> Result<Self, KeyError> {
        Self::new(&[pattern])
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether ids carry the prefix: any wildcard, or more than one prefix.
    pub fn is_fleet(&self) -> bool {
        self.fleet
    }

    /// `<pattern>/*` per pattern: every camera's liveliness token.
    pub fn liveliness_keys(&self) -> Vec<String> {
        self.patterns.iter().map(|p| all_liveliness(p)).collect()
    }

    /// `<pattern>/*/jpeg` per pattern: every camera's frames.
    pub fn jpeg_keys(&self) -> Vec<String> {
        self.patterns.iter().map(|p| all_jpeg(p)).collect()
    }

    /// Splits `key` (laid out as `layout`) under the first pattern it matches; `None` when
    /// none matches, the key is too long, or a segment or the camera is not a valid name.
    pub fn find<'k>(&self, key: &'k str, layout: Layout) -> Option<Found<'k>> {
        if key.len() > MAX_KEY_LEN {
            return None;
        }
        let rest = match layout {
            Layout::Liveliness => key,
            Layout::Jpeg => key.strip_suffix("/jpeg")?,
        };
        let (prefix, camera) = rest.rsplit_once('/')?;
        if prefix.len() > MAX_PREFIX_LEN || validate_camera_id(camera).is_err() {
            return None;
        }
        let pattern = self
            .patterns
            .iter()
            .position(|pattern| matches(pattern, prefix))?;
        Some(Found {
            pattern,
            prefix,
            camera,
        })
    }

    /// The id of camera `camera` under the concrete prefix `prefix` — the one place it is
    /// derived. Under one literal prefix it is the camera name (`front`: single-robot
    /// deployments keep their ids and URLs); otherwise the prefix with '/' → '.', then '.',
    /// then the name (`robot1.camera.front`), unique across robots because neither segments
    /// nor names hold a '.', and made of A-Z a-z 0-9 _ - . only (safe verbatim in URLs).
    pub fn name(&self, prefix: &str, camera: &str) -> Result<CameraName, KeyError> {
        let keys = CameraKeys::new(prefix, camera)?;
        let id = if self.fleet {
            format!("{}.{camera}", prefix.replace('/', "."))
        } else {
            camera.to_owned()
        };
        validate_camera_ref(&id)?;
        Ok(CameraName { id, keys })
    }

    /// [`Self::name`] of a key split by [`Self::find`].
    pub fn name_found(&self, found: &Found<'_>) -> Option<CameraName> {
        self.name(found.prefix, found.camera).ok()
    }
}

/// Whether the concrete `prefix` matches `pattern`, segment by segment (bounded by the
/// pattern's segment count).
fn matches(pattern: &str, prefix: &str) -> bool {
    let mut concrete = prefix.split('/');
    for wanted in pattern.split('/') {
        match concrete.next() {
            Some(segment)
                if is_segment(segment) && (wanted == ONE_SEGMENT || wanted == segment) => {}
            _ => return false,
        }
    }
    concrete.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> PrefixSet {
        PrefixSet::new(patterns).expect("valid patterns")
    }

    #[test]
    fn patterns_allow_whole_segment_wildcards_only() {
        for good in [
            "camera",
            "robot1/camera",
            "*/camera",
            "*",
            "lab/*/cam-1",
            "*/*",
        ] {
            assert_eq!(validate_prefix_pattern(good), Ok(()), "{good:?}");
        }
        for bad in ["", "/camera", "camera/", "a//b", "a b", "caméra", "$x"] {
            let error = validate_prefix_pattern(bad).expect_err(bad).to_string();
            assert!(error.contains("*/camera"), "{bad:?}: {error}");
        }
        let error = validate_prefix_pattern("**/camera")
            .expect_err("**")
            .to_string();
        assert!(
            error.contains("`**`") && error.contains("one `*` per segment"),
            "{error}"
        );
        let error = validate_prefix_pattern("robot*/camera")
            .expect_err("robot*")
            .to_string();
        assert!(
            error.contains("\"robot*\"") && error.contains("whole segment"),
            "{error}"
        );
        let long = vec!["a"; MAX_PREFIX_CHUNKS + 1].join("/");
        assert!(validate_prefix_pattern(&long).is_err());
        assert!(validate_prefix_pattern(&"a".repeat(MAX_PREFIX_LEN + 1)).is_err());
        assert!(PrefixSet::new::<&str>(&[]).is_err());
        let many: Vec<String> = (0..=MAX_PREFIXES).map(|i| format!("r{i}")).collect();
        assert!(PrefixSet::new(&many).is_err());
    }

    #[test]
    fn keys_split_into_concrete_prefix_and_camera() {
        let fleet = set(&["*/camera", "lab/camera"]);
        assert_eq!(
            fleet.liveliness_keys(),
            ["*/camera/*", "lab/camera/*"].map(String::from)
        );
        assert_eq!(fleet.jpeg_keys(), ["*/camera/*/jpeg", "lab/camera/*/jpeg"]);
        let found = fleet.find("robot1/camera/front", Layout::Liveliness);
        assert_eq!(
            found,
            Some(Found {
                pattern: 0,
                prefix: "robot1/camera",
                camera: "front"
            })
        );
        // Both patterns match: the first owns the key, so it is handled once.
        let found = fleet
            .find("lab/camera/rear/jpeg", Layout::Jpeg)
            .expect("found");
        assert_eq!(
            (found.pattern, found.prefix, found.camera),
            (0, "lab/camera", "rear")
        );
        let lab = set(&["lab/camera", "*/camera"]);
        assert_eq!(
            lab.find("lab/camera/rear", Layout::Liveliness)
                .map(|f| f.pattern),
            Some(0)
        );
        for outside in [
            "robot1/camera/front/jpeg", // a frame key is not a token
            "robot1/cameras/front",     // another prefix
            "a/robot1/camera/front",    // one segment too many
            "camera/front",             // one too few
            "robot1/camera/*",          // a wildcard is no camera
            "robot$/camera/front",      // not a segment
            "robot1/camera/front/jpeg/preview",
        ] {
            assert_eq!(fleet.find(outside, Layout::Liveliness), None, "{outside}");
        }
        assert_eq!(fleet.find("robot1/camera/front", Layout::Jpeg), None);
        assert_eq!(
            fleet.find("robot1/camera/front/jpeg/preview", Layout::Jpeg),
            None
        );
        let long = format!("{}/camera/front", "r".repeat(MAX_KEY_LEN));
        assert_eq!(set(&["*/camera"]).find(&long, Layout::Liveliness), None);
        let single = set(&["camera"]);
        let found = single
            .find("camera/front/jpeg", Layout::Jpeg)
            .expect("found");
        assert_eq!((found.prefix, found.camera), ("camera", "front"));
    }

    #[test]
    fn ids_keep_single_robot_names_and_tell_robots_apart() {
        let single = set(&["robot1/camera"]);
        assert!(!single.is_fleet());
        let name = single.name("robot1/camera", "front").expect("name");
        assert_eq!(name.id(), "front");
        assert_eq!(name.keys().jpeg(), "robot1/camera/front/jpeg");
        assert_eq!(name.folder(), PathBuf::from("front"));

        for fleet in [set(&["*/camera"]), set(&["robot1/camera", "robot2/camera"])] {
            assert!(fleet.is_fleet());
            let one = fleet.name("robot1/camera", "front").expect("name");
            let two = fleet.name("robot2/camera", "front").expect("name");
            assert_eq!(one.id(), "robot1.camera.front");
            assert_eq!(two.id(), "robot2.camera.front");
            assert_eq!(one.keys().liveliness(), "robot1/camera/front");
            assert_eq!(one.folder(), PathBuf::from("robot1/camera/front"));
            assert_eq!(validate_camera_ref(one.id()), Ok(()));
        }
        // The longest prefix and camera still give an id within the bound.
        let prefix = vec!["p".repeat(7); MAX_PREFIX_CHUNKS].join("/");
        assert_eq!(prefix.len(), MAX_PREFIX_LEN - 1);
        let name = set(&["*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*"])
            .name(&prefix, &"c".repeat(64))
            .expect("name");
        assert!(name.id().len() <= MAX_ID_LEN);
        for bad in ["", "a/b", "a b", &"x".repeat(MAX_ID_LEN + 1)] {
            assert!(validate_camera_ref(bad).is_err(), "{bad:?}");
        }
    }
}

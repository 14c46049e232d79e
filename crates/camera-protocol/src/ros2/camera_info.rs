//! `sensor_msgs/msg/CameraInfo` from a calibration file in ROS's camera_info YAML format.
//!
//! The file is what `camera_calibration` writes and `camera_info_manager` reads
//! (`image_width`, `image_height`, `camera_name`, `camera_matrix`, `distortion_model`,
//! `distortion_coefficients`, `rectification_matrix`, `projection_matrix`, each matrix as
//! `{rows, cols, data}`). It is validated when loaded so a bad file stops the node at start
//! with the field named, instead of publishing a CameraInfo that breaks rectification later.

use super::cdr::{CdrWriter, Stamp};
use serde::Deserialize;
use std::path::Path;
use thiserror::Error;

/// Most distortion coefficients any ROS model uses (rational_polynomial: 8, plus margin).
const MAX_DISTORTION: usize = 16;

/// Why a calibration file cannot be used.
#[derive(Debug, Error)]
pub enum CameraInfoError {
    #[error("cannot read camera_info file {path}: {error} (set ros2.camera_info to a camera_info YAML file)")]
    Read { path: String, error: std::io::Error },
    #[error("camera_info file {path} is not ROS camera_info YAML: {message} (expected keys image_width, image_height, camera_matrix, distortion_model, distortion_coefficients, rectification_matrix, projection_matrix)")]
    Yaml { path: String, message: String },
    #[error("camera_info file {path}: {field} {problem}")]
    Invalid {
        path: String,
        field: &'static str,
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct CalibrationFile {
    image_width: u32,
    image_height: u32,
    #[serde(default)]
    #[allow(dead_code)] // part of the format; ROS uses it only to match camera names
    camera_name: Option<String>,
    camera_matrix: Matrix,
    distortion_model: String,
    distortion_coefficients: Matrix,
    rectification_matrix: Matrix,
    projection_matrix: Matrix,
}

/// The calibration part of a CameraInfo (header, binning and ROI are filled when published).
#[derive(Debug, Clone, PartialEq)]
pub struct CameraInfo {
    pub width: u32,
    pub height: u32,
    pub distortion_model: String,
    pub d: Vec<f64>,
    pub k: [f64; 9],
    pub r: [f64; 9],
    pub p: [f64; 12],
}

impl CameraInfo {
    /// Reads and validates a camera_info YAML file.
    pub fn from_file(path: &Path) -> Result<Self, CameraInfoError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| CameraInfoError::Read {
            path: shown.clone(),
            error,
        })?;
        Self::from_yaml(&text, &shown)
    }

    /// Parses camera_info YAML; `origin` names the source in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, CameraInfoError> {
        let file: CalibrationFile =
            serde_yaml::from_str(text).map_err(|err| CameraInfoError::Yaml {
                path: origin.to_owned(),
                message: err.to_string(),
            })?;
        let invalid = |field: &'static str, problem: String| CameraInfoError::Invalid {
            path: origin.to_owned(),
            field,
            problem,
        };
        for (field, value) in [
            ("image_width", file.image_width),
            ("image_height", file.image_height),
        ] {
            if !(1..=65_535).contains(&value) {
                return Err(invalid(field, format!("is {value}, must be 1..=65535")));
            }
        }
        let model = &file.distortion_model;
        if model.is_empty() || !model.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(invalid(
                "distortion_model",
                format!("{model:?} is not a model name (e.g. plumb_bob, rational_polynomial, equidistant)"),
            ));
        }
        let k = fixed::<9>(&file.camera_matrix, 3, 3).map_err(|p| invalid("camera_matrix", p))?;
        let r = fixed::<9>(&file.rectification_matrix, 3, 3)
            .map_err(|p| invalid("rectification_matrix", p))?;
        let p = fixed::<12>(&file.projection_matrix, 3, 4)
            .map_err(|p| invalid("projection_matrix", p))?;
        let d = &file.distortion_coefficients;
        check_shape(d, 1, d.cols).map_err(|p| invalid("distortion_coefficients", p))?;
        if d.cols > MAX_DISTORTION {
            return Err(invalid(
                "distortion_coefficients",
                format!("has {} values, at most {MAX_DISTORTION} supported", d.cols),
            ));
        }
        Ok(Self {
            width: file.image_width,
            height: file.image_height,
            distortion_model: file.distortion_model,
            d: d.data.clone(),
            k,
            r,
            p,
        })
    }

    /// The CDR bytes of this calibration with `stamp` and `frame_id` in its header.
    pub fn encode(&self, stamp: Stamp, frame_id: &str) -> Vec<u8> {
        let mut w = CdrWriter::with_capacity(512);
        w.stamp(stamp);
        w.string(frame_id);
        w.u32(self.height);
        w.u32(self.width);
        w.string(&self.distortion_model);
        w.u32(u32::try_from(self.d.len()).unwrap_or(0));
        for value in self.d.iter().chain(&self.k).chain(&self.r).chain(&self.p) {
            w.f64(*value);
        }
        w.u32(0); // binning_x
        w.u32(0); // binning_y
        for _ in 0..4 {
            w.u32(0); // roi x_offset, y_offset, height, width: full image
        }
        w.u8(0); // roi do_rectify
        w.finish()
    }
}

fn check_shape(matrix: &Matrix, rows: usize, cols: usize) -> Result<(), String> {
    if matrix.rows != rows || matrix.cols != cols {
        return Err(format!(
            "is {}x{}, must be {rows}x{cols}",
            matrix.rows, matrix.cols
        ));
    }
    if matrix.data.len() != rows * cols {
        return Err(format!(
            "has {} values, {rows}x{cols} needs {}",
            matrix.data.len(),
            rows * cols
        ));
    }
    if let Some(bad) = matrix.data.iter().find(|v| !v.is_finite()) {
        return Err(format!("contains {bad}, every value must be finite"));
    }
    Ok(())
}

fn fixed<const N: usize>(matrix: &Matrix, rows: usize, cols: usize) -> Result<[f64; N], String> {
    check_shape(matrix, rows, cols)?;
    let mut out = [0.0; N];
    out.copy_from_slice(&matrix.data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = "\
image_width: 640
image_height: 480
camera_name: front
camera_matrix:
  rows: 3
  cols: 3
  data: [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0.1, -0.2, 0.0, 0.0, 0.0]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [500.0, 0.0, 320.0, 0.0, 0.0, 500.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0]
";

    /// rosbags 0.11.9 `serialize_cdr` of SAMPLE with stamp 1.5 s and frame_id "cam".
    const ROSBAGS_SAMPLE: &str = include_str!("testdata/camera_info.hex");

    #[test]
    fn sample_file_encodes_like_rosbags() {
        let info = CameraInfo::from_yaml(SAMPLE, "sample").expect("valid");
        assert_eq!((info.width, info.height), (640, 480));
        assert_eq!(info.d.len(), 5);
        let bytes = info.encode(
            Stamp {
                sec: 1,
                nanosec: 500_000_000,
            },
            "cam",
        );
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, ROSBAGS_SAMPLE.trim());
    }

    #[test]
    fn bad_files_name_the_field() {
        let cases = [
            (SAMPLE.replace("cols: 4", "cols: 3"), "projection_matrix"),
            (
                SAMPLE.replace("image_width: 640", "image_width: 0"),
                "image_width",
            ),
            (
                SAMPLE.replace("0.1, -0.2, 0.0, 0.0, 0.0", "0.1, -0.2"),
                "distortion_coefficients",
            ),
            (
                SAMPLE.replace(
                    "500.0, 0.0, 320.0, 0.0, 500.0",
                    ".nan, 0.0, 320.0, 0.0, 500.0",
                ),
                "camera_matrix",
            ),
            (
                SAMPLE.replace("plumb_bob", "\"plumb bob\""),
                "distortion_model",
            ),
            (
                SAMPLE.replace("rectification_matrix:", "rectification:"),
                "rectification_matrix",
            ),
            ("just text".to_owned(), "image_width"),
        ];
        for (text, field) in cases {
            let err = CameraInfo::from_yaml(&text, "calib.yaml")
                .expect_err(field)
                .to_string();
            assert!(err.contains(field) && err.contains("calib.yaml"), "{err}");
        }
        let missing = CameraInfo::from_file(Path::new("/nonexistent/calib.yaml"))
            .expect_err("missing")
            .to_string();
        assert!(missing.contains("/nonexistent/calib.yaml"), "{missing}");
    }
}

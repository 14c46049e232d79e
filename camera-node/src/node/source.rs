//! Which GStreamer launch string to run for the configured source.
//!
//! Owns source selection (`auto`), encoder choice, element checks and the launch strings;
//! does not run pipelines (`capture.rs`). The environment (which elements exist, which caps
//! a V4L2 device offers) is behind [`Environment`] so the strings are unit-testable on a
//! machine without a Jetson or a camera.

use super::config::{NodeConfig, SourceKind};
pub use super::source_error::{element_hint, SourceError};
use super::variants::{self, with_branches, Scaler, TEE};
use super::video::encoder::{self, H264Encoder};
use std::ops::RangeInclusive;
use std::path::Path;

/// Appended to every generated pipeline; `capture.rs` also enforces these properties on
/// user pipelines. One buffer, dropped when full, no clock sync: a slow consumer must never
/// stall capture, and shutdown must never wait for a queued frame.
pub const APPSINK: &str = "appsink name=sink max-buffers=1 drop=true sync=false";

/// What the planner needs to know about this machine.
pub trait Environment {
    fn has_element(&self, name: &str) -> bool;
    fn device_exists(&self, path: &Path) -> bool;
    /// Formats the device offers (probed by opening it).
    fn device_caps(&self, device: &Path) -> Result<Vec<OfferedFormat>, SourceError>;
}

/// One media type and size range a V4L2 device offers (min == max for discrete sizes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedFormat {
    pub media: String,
    pub width: RangeInclusive<u32>,
    pub height: RangeInclusive<u32>,
}

impl OfferedFormat {
    pub fn new(media: &str, width: RangeInclusive<u32>, height: RangeInclusive<u32>) -> Self {
        Self {
            media: media.to_owned(),
            width,
            height,
        }
    }

    fn offers(&self, media: &str, width: u32, height: u32) -> bool {
        self.media == media && self.width.contains(&width) && self.height.contains(&height)
    }
}

impl std::fmt::Display for OfferedFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |r: &RangeInclusive<u32>| {
            if r.start() == r.end() {
                r.start().to_string()
            } else {
                format!("{}-{}", r.start(), r.end())
            }
        };
        write!(
            f,
            "{} {}x{}",
            self.media,
            side(&self.width),
            side(&self.height)
        )
    }
}

/// A resolved capture pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelinePlan {
    /// Source actually used (never `Auto`).
    pub kind: SourceKind,
    pub launch: String,
    /// "nvjpegenc", "jpegenc", "passthrough" (camera MJPEG) or "custom" (user pipeline).
    pub encoder: String,
    /// The encoder of the H.264 lanes; `None` without any.
    pub h264_encoder: Option<H264Encoder>,
    /// Why this source was chosen, for the log.
    pub reason: String,
}

fn require(env: &dyn Environment, elements: &[&str]) -> Result<(), SourceError> {
    match elements.iter().find(|name| !env.has_element(name)) {
        Some(name) => Err(SourceError::MissingElement {
            name: (*name).to_owned(),
            hint: element_hint(name),
        }),
        None => Ok(()),
    }
}

/// `(kind, why)` for `auto`, or the configured kind.
pub fn resolve_kind(config: &NodeConfig, env: &dyn Environment) -> (SourceKind, String) {
    if config.source != SourceKind::Auto {
        return (config.source, "set in config/flags".to_owned());
    }
    if env.has_element("nvarguscamerasrc") {
        (
            SourceKind::Argus,
            "auto: nvarguscamerasrc is available (Jetson)".to_owned(),
        )
    } else if env.device_exists(&config.v4l2.device) {
        let why = format!(
            "auto: no nvarguscamerasrc, but {} exists",
            config.v4l2.device.display()
        );
        (SourceKind::V4l2, why)
    } else {
        let why = format!(
            "auto: no nvarguscamerasrc and no {}, using the test pattern",
            config.v4l2.device.display()
        );
        (SourceKind::Test, why)
    }
}

/// Builds the launch string for `config` on this machine.
pub fn plan(config: &NodeConfig, env: &dyn Environment) -> Result<PipelinePlan, SourceError> {
    let (kind, reason) = resolve_kind(config, env);
    let (w, h, fps, q) = (config.width, config.height, config.fps, config.quality);
    let encoder = if env.has_element("nvjpegenc") {
        "nvjpegenc"
    } else {
        "jpegenc"
    };
    let resolved = config
        .variants()
        .map_err(|error| SourceError::Variants(error.to_string()))?;
    let any_branch = !resolved.jpeg.is_empty() || !resolved.h264.is_empty();
    if any_branch && kind != SourceKind::Argus {
        require(env, &["videoscale", "videoconvert"])?;
    }
    // The main stream's tail with the variant branches and H.264 lanes teed off before it.
    let mut h264_encoder = None;
    let mut with_lanes = |main: &str, scaler: Scaler| -> Result<String, SourceError> {
        let mut branches = variants::branches(TEE, &resolved.jpeg, scaler);
        if !resolved.h264.is_empty() {
            let has = |name: &str| env.has_element(name);
            let chosen =
                H264Encoder::choose(&has, scaler).ok_or_else(|| SourceError::MissingElement {
                    name: "x264enc".to_owned(),
                    hint: element_hint("x264enc"),
                })?;
            h264_encoder = Some(chosen);
            branches += &encoder::branches(
                TEE,
                &resolved.h264,
                chosen,
                scaler,
                env.has_element("h264parse"),
            );
        }
        Ok(with_branches(main, &branches))
    };
    let (launch, encoder) = match kind {
        SourceKind::Test => {
            require(env, &["videotestsrc", "videoconvert", encoder, "appsink"])?;
            let launch = format!(
                "videotestsrc is-live=true pattern={pattern} ! \
                 video/x-raw,width={w},height={h},framerate={fps}/1 ! videoconvert ! {}",
                with_lanes(
                    &format!("{encoder} quality={q} ! {APPSINK}"),
                    Scaler::Software
                )?,
                pattern = config.test.pattern,
            );
            (launch, encoder.to_owned())
        }
        SourceKind::Argus => {
            require(env, &["nvarguscamerasrc", "nvvidconv", "appsink"])?;
            let a = &config.argus;
            let cw = a.capture_width.unwrap_or(w);
            let ch = a.capture_height.unwrap_or(h);
            let cfps = a.capture_fps.unwrap_or(fps);
            // nvjpegenc reads NVMM buffers directly; the software fallback needs system memory.
            let tail = if encoder == "nvjpegenc" {
                format!("video/x-raw(memory:NVMM),width={w},height={h},format=I420 ! nvjpegenc quality={q}")
            } else {
                format!("video/x-raw,width={w},height={h},format=I420 ! jpegenc quality={q}")
            };
            let scaler = Scaler::Nvvidconv {
                flip_method: a.flip_method,
                nvjpegenc: encoder == "nvjpegenc",
            };
            let main = format!(
                "nvvidconv flip-method={flip} ! {tail} ! {APPSINK}",
                flip = a.flip_method
            );
            let launch = format!(
                "nvarguscamerasrc sensor-id={sensor} ! \
                 video/x-raw(memory:NVMM),width={cw},height={ch},framerate={cfps}/1 ! {}",
                with_lanes(&main, scaler)?,
                sensor = a.sensor_id,
            );
            (launch, encoder.to_owned())
        }
        SourceKind::V4l2 => {
            require(env, &["v4l2src", "appsink"])?;
            let device = &config.v4l2.device;
            if !env.device_exists(device) {
                return Err(SourceError::NoDevice {
                    device: device.display().to_string(),
                });
            }
            let caps = env.device_caps(device)?;
            let offers = |media: &str| caps.iter().any(|format| format.offers(media, w, h));
            let src = format!("v4l2src device={}", device.display());
            // Camera MJPEG is passed through untouched; variants need raw frames instead.
            if offers("image/jpeg") && (!any_branch || !offers("video/x-raw")) {
                if any_branch {
                    return Err(SourceError::VariantsNeedRaw {
                        source_desc: format!("{} at {w}x{h}", device.display()),
                        fix: "choose a size the camera offers as raw video, or remove [[variants]]"
                            .to_owned(),
                    });
                }
                let launch = format!(
                    "{src} ! image/jpeg,width={w},height={h},framerate={fps}/1 ! {APPSINK}"
                );
                (launch, "passthrough".to_owned())
            } else if offers("video/x-raw") {
                require(env, &["videoconvert", encoder])?;
                let launch = format!(
                    "{src} ! video/x-raw,width={w},height={h},framerate={fps}/1 ! videoconvert ! {}",
                    with_lanes(&format!("{encoder} quality={q} ! {APPSINK}"), Scaler::Software)?,
                );
                (launch, encoder.to_owned())
            } else {
                return Err(SourceError::UnsupportedSize {
                    device: device.display().to_string(),
                    width: w,
                    height: h,
                    offered: describe_caps(&caps),
                });
            }
        }
        SourceKind::Pipeline | SourceKind::Auto => {
            if any_branch {
                return Err(SourceError::VariantsNeedRaw {
                    source_desc: "a custom pipeline".to_owned(),
                    fix:
                        "encode the variants in the launch string yourself, or remove [[variants]]"
                            .to_owned(),
                });
            }
            let launch = config.pipeline.launch.clone().unwrap_or_default();
            (launch, "custom".to_owned())
        }
    };
    Ok(PipelinePlan {
        kind,
        launch,
        encoder,
        h264_encoder,
        reason,
    })
}

fn describe_caps(caps: &[OfferedFormat]) -> String {
    let mut offered: Vec<String> = caps.iter().map(ToString::to_string).collect();
    offered.sort();
    offered.dedup();
    if offered.is_empty() {
        "nothing (is it a capture device?)".to_owned()
    } else {
        offered.join(", ")
    }
}

#[cfg(test)]
mod tests;

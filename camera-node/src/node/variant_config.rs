//! What a `[[variants]]` entry is and what it resolves to: a JPEG variant (`codec = "jpeg"`,
//! published on `<prefix>/<camera>/jpeg/<name>`, run by `variants.rs`) or an H.264 lane
//! (`codec = "h264"`, on `<prefix>/<camera>/h264/<name>`, run by `video.rs`).
//!
//! Owns the entry's TOML shape, its defaults and its validation against the camera frame; each
//! error names the field, the bad value and the fix, for `ConfigError::Invalid`.

use camera_protocol::keys;
use serde::{Deserialize, Serialize};

/// Default JPEG quality of a variant: previews are small and looked at briefly.
pub const DEFAULT_QUALITY: u32 = 70;
/// Default target bitrate of an H.264 lane, kbit/s: 1280×720@30 of camera video at a quality
/// close to the JPEG frames', an eleventh of their bytes (docs/benchmarks.md).
pub const DEFAULT_BITRATE_KBPS: u32 = 2000;
/// Bitrates an H.264 lane accepts, kbit/s.
pub const BITRATES_KBPS: std::ops::RangeInclusive<u32> = 100..=50_000;
/// Longest keyframe interval, in frames (a late joiner waits at most this long unasked).
pub const MAX_KEYFRAME_INTERVAL: u32 = 1000;

/// How a `[[variants]]` entry is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// One JPEG per frame, like the main stream (`quality`).
    #[default]
    Jpeg,
    /// An H.264 lane: access units, keyframes every `keyframe_interval` frames (`bitrate_kbps`).
    H264,
}

/// One `[[variants]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    /// Key segment: `<prefix>/<camera>/jpeg/<name>`, or `.../h264/<name>` for `codec = "h264"`.
    pub name: String,
    #[serde(default)]
    pub codec: Codec,
    pub width: u32,
    /// Omitted: the main frame's aspect ratio is kept (rounded to an even number).
    pub height: Option<u32>,
    /// JPEG only: 1-100 (omitted: [`DEFAULT_QUALITY`]).
    pub quality: Option<u32>,
    /// At most this many frames per second (omitted: the camera's rate).
    pub fps: Option<u32>,
    /// H.264 only: target bitrate in kbit/s (omitted: [`DEFAULT_BITRATE_KBPS`]).
    pub bitrate_kbps: Option<u32>,
    /// H.264 only: at most this many frames between keyframes (omitted: two seconds' worth).
    pub keyframe_interval: Option<u32>,
}

/// A JPEG variant with every size and rate resolved against the main stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub quality: u32,
    /// `None`: every camera frame.
    pub fps: Option<u32>,
}

/// An H.264 lane with every size and rate resolved against the main stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoLane {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Frame-rate cap; `None`: every camera frame.
    pub fps_cap: Option<u32>,
    /// Frames per second the lane carries (the cap, or the camera's rate).
    pub fps: u32,
    /// The camera's rate, which the encoder is told (its caps), whatever the cap.
    pub camera_fps: u32,
    pub bitrate_kbps: u32,
    pub keyframe_interval: u32,
}

impl VideoLane {
    /// The bitrate to give the encoder, kbit/s. Encoders budget bits per frame from the
    /// framerate in their caps, which stays the camera's when the gate caps the lane's rate:
    /// a lane at a third of the frames would get a third of `bitrate_kbps` (measured with
    /// x264enc), so the budget is scaled up by the frames the gate drops.
    pub fn encoder_kbps(&self) -> u32 {
        let scaled =
            u64::from(self.bitrate_kbps) * u64::from(self.camera_fps) / u64::from(self.fps.max(1));
        // x264enc's maximum; also keeps bit/s within the u32 of openh264enc and NVENC.
        scaled.min(2_000_000) as u32
    }
}

/// Every `[[variants]]` entry, resolved and split by codec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub jpeg: Vec<Variant>,
    pub h264: Vec<VideoLane>,
}

/// What is wrong with a `[[variants]]` entry: (field, value, fix) for `ConfigError::Invalid`.
pub type VariantProblem = (&'static str, String, String);

impl VariantConfig {
    /// Resolves the entry against the main `width`×`height` at `fps`, naming the first bad
    /// value.
    pub fn resolve(&self, width: u32, height: u32, fps: u32) -> Result<Lane, VariantProblem> {
        let name = &self.name;
        if keys::validate_camera_id(name).is_err() {
            return Err((
                "variants.name",
                format!("{name:?}"),
                "use 1-64 characters from A-Z a-z 0-9 _ - (e.g. name = \"preview\")".into(),
            ));
        }
        if !(16..=width).contains(&self.width) {
            return Err(("variants.width", self.width.to_string(), format!("use 16..={width} for variant {name:?} (a variant is never larger than the camera frame)")));
        }
        let kept = (u64::from(self.width) * u64::from(height) / u64::from(width)) as u32;
        let variant_height = self.height.unwrap_or((kept + 1) & !1);
        if !(16..=height).contains(&variant_height) {
            return Err(("variants.height", variant_height.to_string(), format!("use 16..={height} for variant {name:?}, or leave it out to keep the aspect ratio")));
        }
        if let Some(cap) = self.fps {
            if !(1..=fps).contains(&cap) {
                return Err((
                    "variants.fps",
                    cap.to_string(),
                    format!("use 1..={fps} for variant {name:?}, or leave it out for every frame"),
                ));
            }
        }
        let fps_cap = self.fps.filter(|cap| *cap < fps);
        match self.codec {
            Codec::Jpeg => self.jpeg(variant_height, fps_cap).map(Lane::Jpeg),
            Codec::H264 => self.h264(variant_height, fps_cap, fps).map(Lane::H264),
        }
    }

    fn jpeg(&self, height: u32, fps: Option<u32>) -> Result<Variant, VariantProblem> {
        let name = &self.name;
        let h264_only = [
            ("variants.bitrate_kbps", self.bitrate_kbps),
            ("variants.keyframe_interval", self.keyframe_interval),
        ];
        if let Some((field, Some(value))) = h264_only.into_iter().find(|(_, v)| v.is_some()) {
            return Err((field, value.to_string(), format!("{} is for codec = \"h264\" lanes: add codec = \"h264\" to variant {name:?}, or remove it (a JPEG variant takes quality)", &field[9..])));
        }
        let quality = self.quality.unwrap_or(DEFAULT_QUALITY);
        if !(1..=100).contains(&quality) {
            return Err((
                "variants.quality",
                quality.to_string(),
                format!("use 1..=100 for variant {name:?} (e.g. quality = 70)"),
            ));
        }
        Ok(Variant {
            name: name.clone(),
            width: self.width,
            height,
            quality,
            fps,
        })
    }

    fn h264(
        &self,
        height: u32,
        fps_cap: Option<u32>,
        camera_fps: u32,
    ) -> Result<VideoLane, VariantProblem> {
        let name = &self.name;
        let fps = fps_cap.unwrap_or(camera_fps);
        if let Some(quality) = self.quality {
            return Err(("variants.quality", quality.to_string(), format!("quality is for JPEG variants; variant {name:?} is codec = \"h264\": set bitrate_kbps instead (e.g. bitrate_kbps = 2000), or remove quality")));
        }
        // 4:2:0 chroma has one sample per 2×2 pixels: encoders refuse odd sizes.
        for (field, value) in [("variants.width", self.width), ("variants.height", height)] {
            if value % 2 == 1 {
                return Err((
                    field,
                    value.to_string(),
                    format!(
                        "use an even number for H.264 lane {name:?} (e.g. {})",
                        value - 1
                    ),
                ));
            }
        }
        let bitrate_kbps = self.bitrate_kbps.unwrap_or(DEFAULT_BITRATE_KBPS);
        if !BITRATES_KBPS.contains(&bitrate_kbps) {
            return Err((
                "variants.bitrate_kbps",
                bitrate_kbps.to_string(),
                format!("use {}..={} kbit/s for H.264 lane {name:?} (e.g. bitrate_kbps = {DEFAULT_BITRATE_KBPS} for 1280x720 at 30 fps)", BITRATES_KBPS.start(), BITRATES_KBPS.end()),
            ));
        }
        let keyframe_interval = self
            .keyframe_interval
            .unwrap_or((2 * fps).min(MAX_KEYFRAME_INTERVAL));
        if !(1..=MAX_KEYFRAME_INTERVAL).contains(&keyframe_interval) {
            return Err((
                "variants.keyframe_interval",
                keyframe_interval.to_string(),
                format!("use 1..={MAX_KEYFRAME_INTERVAL} frames for H.264 lane {name:?} (e.g. {}: a keyframe every two seconds)", 2 * fps),
            ));
        }
        Ok(VideoLane {
            name: name.clone(),
            width: self.width,
            height,
            fps_cap,
            fps,
            camera_fps,
            bitrate_kbps,
            keyframe_interval,
        })
    }
}

/// One resolved entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lane {
    Jpeg(Variant),
    H264(VideoLane),
}

impl Lane {
    fn name(&self) -> &str {
        match self {
            Lane::Jpeg(v) => &v.name,
            Lane::H264(v) => &v.name,
        }
    }
}

/// Resolves every entry and rejects duplicate names (across codecs too: a name is what an
/// operator and the gateway's `?variant=` call a stream).
pub fn resolve_all(
    configs: &[VariantConfig],
    width: u32,
    height: u32,
    fps: u32,
) -> Result<Resolved, VariantProblem> {
    let mut resolved = Resolved::default();
    let mut names: Vec<String> = Vec::with_capacity(configs.len());
    for config in configs {
        let lane = config.resolve(width, height, fps)?;
        if names.iter().any(|name| name == lane.name()) {
            return Err((
                "variants.name",
                format!("{:?}", lane.name()),
                "give every variant its own name".into(),
            ));
        }
        names.push(lane.name().to_owned());
        match lane {
            Lane::Jpeg(v) => resolved.jpeg.push(v),
            Lane::H264(v) => resolved.h264.push(v),
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests;

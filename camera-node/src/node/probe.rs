//! The real [`Environment`]: asks GStreamer's registry which elements exist and opens a V4L2
//! device to read the formats it offers.
//!
//! Kept apart from `source.rs` so pipeline strings stay testable without devices.

use super::source::{Environment, OfferedFormat, SourceError};
use gstreamer as gst;
use gstreamer::prelude::*;
use std::path::Path;

/// This machine, as seen by GStreamer.
#[derive(Debug, Default, Clone, Copy)]
pub struct GstEnvironment;

impl Environment for GstEnvironment {
    fn has_element(&self, name: &str) -> bool {
        gst::ElementFactory::find(name).is_some()
    }

    fn device_exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn device_caps(&self, device: &Path) -> Result<Vec<OfferedFormat>, SourceError> {
        let probe_error = |message: String| SourceError::Probe {
            device: device.display().to_string(),
            message,
        };
        let src = gst::ElementFactory::make("v4l2src")
            .property("device", device.display().to_string())
            .build()
            .map_err(|error| probe_error(error.to_string()))?;
        // READY opens the device, after which the src pad reports what the driver offers.
        src.set_state(gst::State::Ready).map_err(|_| {
            probe_error(
                "cannot open it (busy, or no permission: add the user to group video)".into(),
            )
        })?;
        let caps = src.static_pad("src").map(|pad| pad.query_caps(None));
        let _ = src.set_state(gst::State::Null);
        let caps = caps.ok_or_else(|| probe_error("v4l2src has no src pad".into()))?;
        Ok(caps.iter().filter_map(offered_format).collect())
    }
}

fn offered_format(structure: &gst::StructureRef) -> Option<OfferedFormat> {
    let side = |field: &str| -> Option<std::ops::RangeInclusive<u32>> {
        if let Ok(value) = structure.get::<i32>(field) {
            let value = u32::try_from(value).ok()?;
            return Some(value..=value);
        }
        let range = structure.get::<gst::IntRange<i32>>(field).ok()?;
        Some(u32::try_from(range.min()).ok()?..=u32::try_from(range.max()).ok()?)
    };
    Some(OfferedFormat::new(
        structure.name().as_str(),
        side("width")?,
        side("height")?,
    ))
}

//! Why no pipeline can be planned or built here, with the package that would fix a missing
//! element. A leaf: planning (`source`), building (`capture`) and probing (`probe`) all
//! report through it.

use thiserror::Error;

/// Why no pipeline can be built.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("GStreamer element {name:?} is missing: {hint}")]
    MissingElement { name: String, hint: String },
    #[error(
        "V4L2 device {device} does not exist (plug the camera in, or set v4l2.device / --device)"
    )]
    NoDevice { device: String },
    #[error("V4L2 device {device} cannot deliver {width}x{height}; it offers: {offered} (choose one of these sizes)")]
    UnsupportedSize {
        device: String,
        width: u32,
        height: u32,
        offered: String,
    },
    #[error("{0}")]
    Variants(String),
    #[error("[[variants]] need raw frames to scale, but {source_desc} delivers JPEG only: {fix}")]
    VariantsNeedRaw { source_desc: String, fix: String },
    #[error("cannot probe V4L2 device {device}: {message}")]
    Probe { device: String, message: String },
}

/// The package or SDK component that provides `element`, for error messages.
pub fn element_hint(element: &str) -> String {
    match element {
        "nvarguscamerasrc" | "nvvidconv" | "nvjpegenc" => format!(
            "{element} is part of NVIDIA JetPack (L4T package nvidia-l4t-gstreamer) and exists only \
             on Jetson; elsewhere use --source v4l2 or --source test"
        ),
        "v4l2src" | "jpegenc" | "jpegdec" => {
            format!("install the Debian package gstreamer1.0-plugins-good (provides {element})")
        }
        // The H.264 lanes' software encoders: asked for as x264enc, either one will do.
        "x264enc" | "openh264enc" => "[[variants]] with codec = \"h264\" need an H.264 encoder: \
            install the Debian package gstreamer1.0-plugins-ugly (x264enc) or \
            gstreamer1.0-plugins-bad (openh264enc); a Jetson with NVENC has nvv4l2h264enc \
            (nvidia-l4t-gstreamer)"
            .to_owned(),
        "h264parse" => {
            "install the Debian package gstreamer1.0-plugins-bad (provides h264parse)".to_owned()
        }
        "nvv4l2h264enc" => "nvv4l2h264enc is part of NVIDIA JetPack (nvidia-l4t-gstreamer) on \
            Jetsons with NVENC"
            .to_owned(),
        "videotestsrc" | "videoconvert" | "videoscale" | "appsink" => {
            format!("install the Debian package gstreamer1.0-plugins-base (provides {element})")
        }
        _ => "check the element name with gst-inspect-1.0 and install the plugin that provides it \
              (gstreamer1.0-plugins-good/-bad/-ugly)"
            .to_owned(),
    }
}

//! Why a pipeline run ended, typed: the element that failed, GStreamer's error and its debug
//! text survive to the log and to the info reply's `last_error`, instead of one early string.

use gstreamer as gst;
use gstreamer::prelude::GstObjectExt;
use std::time::Duration;
use thiserror::Error;

const ARGUS_PROVIDER_ERROR: &str = "Failed to create CameraProvider";

/// An error an element posted on the pipeline bus.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{element}: {error} (debug: {debug}){}", self.hint().unwrap_or_default())]
pub struct PipelineError {
    /// Path of the element that posted it, e.g. `/GstPipeline:pipeline0/GstV4l2Src:v4l2src0`.
    pub element: String,
    pub error: String,
    /// GStreamer's debug text, on one line (it goes into one log line and one JSON string).
    pub debug: String,
}

impl PipelineError {
    pub fn new(element: &str, error: &str, debug: &str) -> Self {
        Self {
            element: element.to_owned(),
            error: error.to_owned(),
            debug: debug.replace('\n', " "),
        }
    }

    fn from_message(message: &gst::message::Error) -> Self {
        let element = message.src().map(|src| src.path_string().to_string());
        let debug = message.debug().map(|debug| debug.to_string());
        Self::new(
            &element.unwrap_or_default(),
            &message.error().to_string(),
            &debug.unwrap_or_default(),
        )
    }

    /// What to do about errors we know.
    pub fn hint(&self) -> Option<&'static str> {
        let argus =
            self.error.contains(ARGUS_PROVIDER_ERROR) || self.debug.contains(ARGUS_PROVIDER_ERROR);
        argus.then_some(
            " - the Argus daemon is stuck or the camera is held by another process: \
             run `sudo systemctl restart nvargus-daemon`",
        )
    }
}

/// The camera was lost: the pipeline is torn down and restarted after a backoff.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Loss {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("end of stream (the source stopped)")]
    EndOfStream,
    #[error("stalled: no frame for {0:?}")]
    Stalled(Duration),
    #[error("pipeline has no bus")]
    NoBus,
    #[error("pipeline bus closed")]
    BusClosed,
    #[error("appsink stopped delivering")]
    AppsinkStopped,
    #[error("pipeline refused to go to {0:?}")]
    StateChange(gst::State),
}

impl Loss {
    /// The loss a bus message reports, or `None` for harmless messages (warnings are logged).
    pub fn from_bus(message: &gst::Message) -> Option<Self> {
        use gst::MessageView;
        match message.view() {
            MessageView::Error(error) => Some(Self::Pipeline(PipelineError::from_message(error))),
            MessageView::Eos(_) => Some(Self::EndOfStream),
            MessageView::Warning(warning) => {
                tracing::warn!(debug = ?warning.debug(), "GStreamer warning: {}", warning.error());
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argus_provider_error_suggests_restarting_the_daemon() {
        let error = PipelineError::new(
            "/GstPipeline:pipeline0/GstNvArgusCameraSrc:nvarguscamerasrc0",
            "Internal data stream error.",
            "Failed to create CameraProvider\nmore",
        );
        let text = Loss::from(error.clone()).to_string();
        assert!(
            text.starts_with("/GstPipeline:pipeline0/GstNvArgusCameraSrc:nvarguscamerasrc0: ")
                && text.contains("systemctl restart nvargus-daemon")
                && !text.contains('\n'),
            "{text}"
        );
        assert_eq!(error.debug, "Failed to create CameraProvider more");
        assert!(!PipelineError::new("x", "y", "z")
            .to_string()
            .contains("nvargus"));
    }

    /// A real pipeline's error reaches the caller with the element that posted it.
    #[test]
    fn bus_error_names_the_element() {
        use gstreamer::prelude::ElementExt;
        gst::init().expect("gst init");
        let pipeline = gst::parse::launch("filesrc name=reader location=/nonexistent/x ! fakesink")
            .expect("parse");
        let bus = pipeline.bus().expect("bus");
        let _ = pipeline.set_state(gst::State::Paused);
        let message = bus
            .timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Error])
            .expect("an error within 10 s");
        let _ = pipeline.set_state(gst::State::Null);
        let Some(Loss::Pipeline(error)) = Loss::from_bus(&message) else {
            panic!("not a pipeline error: {message:?}");
        };
        assert!(error.element.ends_with("reader"), "{error:?}");
        assert!(
            !error.error.is_empty() && error.debug.contains("nonexistent"),
            "{error:?}"
        );
    }
}

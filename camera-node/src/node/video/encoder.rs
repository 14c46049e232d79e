//! Which H.264 encoder a lane uses on this machine, and the lane's launch-string branch.
//!
//! `nvv4l2h264enc` (NVENC) only where the branch starts from NVMM buffers (Argus) and the
//! element exists; else `x264enc`, else `openh264enc`. Each is set for live video: no
//! B-frames, no lookahead, constrained-baseline (every browser's WebCodecs decodes it), a
//! keyframe at least every `keyframe_interval` frames. `h264parse config-interval=-1`, when
//! present, repeats SPS/PPS in-band on every keyframe, whatever the encoder emitted.
//! Launch strings and properties are GStreamer 1.14's (JetPack 4).

use crate::node::variant_config::VideoLane;
use crate::node::variants::{branch, Scaler};

/// The H.264 encoder element of every lane of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H264Encoder {
    /// Jetson NVENC, from NVMM buffers.
    Nvv4l2,
    /// libx264 (gstreamer1.0-plugins-ugly).
    X264,
    /// Cisco's openh264 (gstreamer1.0-plugins-bad).
    OpenH264,
}

impl H264Encoder {
    /// The GStreamer element name, as `/info` reports it.
    pub fn element(self) -> &'static str {
        match self {
            H264Encoder::Nvv4l2 => "nvv4l2h264enc",
            H264Encoder::X264 => "x264enc",
            H264Encoder::OpenH264 => "openh264enc",
        }
    }

    /// The encoder for lanes scaled by `scaler` on a machine that `has` these elements;
    /// `None` when it has none.
    pub fn choose(has: &dyn Fn(&str) -> bool, scaler: Scaler) -> Option<Self> {
        let nvmm = matches!(scaler, Scaler::Nvvidconv { .. });
        [Self::Nvv4l2, Self::X264, Self::OpenH264]
            .into_iter()
            .filter(|encoder| nvmm || *encoder != Self::Nvv4l2)
            .find(|encoder| has(encoder.element()))
    }

    /// The encoder element with its properties (named `name`), and the caps that fix its
    /// output profile.
    fn launch(self, lane: &VideoLane, name: &str) -> String {
        let (kbps, interval) = (lane.encoder_kbps(), lane.keyframe_interval);
        let bps = u64::from(kbps) * 1000;
        match self {
            // preset-level=1 UltraFast, control-rate=1 constant, profile=0 baseline; every
            // I-frame an IDR so that each keyframe starts a decoder.
            H264Encoder::Nvv4l2 => format!(
                "nvv4l2h264enc name={name} bitrate={bps} control-rate=1 iframeinterval={interval} \
                 idrinterval={interval} insert-sps-pps=true profile=0 preset-level=1 \
                 maxperf-enable=true ! video/x-h264,stream-format=byte-stream,alignment=au"
            ),
            H264Encoder::X264 => format!(
                "x264enc name={name} tune=zerolatency speed-preset=ultrafast bframes=0 \
                 key-int-max={interval} bitrate={kbps} ! video/x-h264,profile=constrained-baseline"
            ),
            H264Encoder::OpenH264 => format!(
                "openh264enc name={name} bitrate={bps} gop-size={interval} rate-control=bitrate \
                 complexity=low ! video/x-h264,profile=constrained-baseline"
            ),
        }
    }
}

/// Name of the queue in front of a lane's branch (where its gate probe sits).
pub fn queue_name(lane: &str) -> String {
    format!("video-queue-{lane}")
}

/// Name of a lane's encoder element (keyframe requests go to it).
pub fn encoder_name(lane: &str) -> String {
    format!("video-encoder-{lane}")
}

/// Name of a lane's appsink.
pub fn sink_name(lane: &str) -> String {
    format!("video-sink-{lane}")
}

/// Launch-string branches off the tee named `tee`, one per lane: gated queue → scale to I420
/// → encoder → (h264parse) → one access unit per buffer, Annex B → appsink.
pub fn branches(
    tee: &str,
    lanes: &[VideoLane],
    encoder: H264Encoder,
    scaler: Scaler,
    h264parse: bool,
) -> String {
    let mut out = String::new();
    for lane in lanes {
        let (w, h) = (lane.width, lane.height);
        let scale = match (scaler, encoder) {
            (Scaler::Software, _) => {
                format!("videoscale ! videoconvert ! video/x-raw,width={w},height={h},format=I420")
            }
            (Scaler::Nvvidconv { flip_method, .. }, H264Encoder::Nvv4l2) => format!(
                "nvvidconv flip-method={flip_method} ! video/x-raw(memory:NVMM),width={w},height={h},format=I420"
            ),
            (Scaler::Nvvidconv { flip_method, .. }, _) => format!(
                "nvvidconv flip-method={flip_method} ! video/x-raw,width={w},height={h},format=I420"
            ),
        };
        let parse = if h264parse {
            "h264parse config-interval=-1 ! "
        } else {
            ""
        };
        let chain = format!(
            "{scale} ! {} ! {parse}video/x-h264,stream-format=byte-stream,alignment=au",
            encoder.launch(lane, &encoder_name(&lane.name)),
        );
        out += &branch(tee, &queue_name(&lane.name), &chain, &sink_name(&lane.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane() -> VideoLane {
        VideoLane {
            name: "main".into(),
            width: 320,
            height: 240,
            fps_cap: None,
            fps: 30,
            camera_fps: 30,
            bitrate_kbps: 800,
            keyframe_interval: 300,
        }
    }

    const JETSON: Scaler = Scaler::Nvvidconv {
        flip_method: 2,
        nvjpegenc: true,
    };

    #[test]
    fn nvenc_only_from_nvmm_then_x264_then_openh264() {
        let all = |_: &str| true;
        let no_x264 = |name: &str| name != "x264enc";
        let none = |_: &str| false;
        assert_eq!(H264Encoder::choose(&all, JETSON), Some(H264Encoder::Nvv4l2));
        assert_eq!(
            H264Encoder::choose(&all, Scaler::Software),
            Some(H264Encoder::X264)
        );
        assert_eq!(
            H264Encoder::choose(&no_x264, Scaler::Software),
            Some(H264Encoder::OpenH264)
        );
        assert_eq!(H264Encoder::choose(&none, JETSON), None);
    }

    #[test]
    fn launch_strings_per_encoder() {
        let lanes = [lane()];
        let x264 = branches("raw", &lanes, H264Encoder::X264, Scaler::Software, true);
        assert_eq!(
            x264,
            " raw. ! queue name=video-queue-main leaky=downstream max-size-buffers=1 max-size-bytes=0 \
             max-size-time=0 ! videoscale ! videoconvert ! video/x-raw,width=320,height=240,format=I420 ! \
             x264enc name=video-encoder-main tune=zerolatency speed-preset=ultrafast bframes=0 \
             key-int-max=300 bitrate=800 ! video/x-h264,profile=constrained-baseline ! \
             h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! \
             appsink name=video-sink-main max-buffers=1 drop=true sync=false async=false"
        );
        let openh264 = branches(
            "raw",
            &lanes,
            H264Encoder::OpenH264,
            Scaler::Software,
            false,
        );
        assert!(openh264.contains("openh264enc name=video-encoder-main bitrate=800000 gop-size=300 rate-control=bitrate complexity=low ! video/x-h264,profile=constrained-baseline ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink"), "{openh264}");
        let nvenc = branches("raw", &lanes, H264Encoder::Nvv4l2, JETSON, true);
        assert!(nvenc.contains("nvvidconv flip-method=2 ! video/x-raw(memory:NVMM),width=320,height=240,format=I420 ! nvv4l2h264enc name=video-encoder-main bitrate=800000 control-rate=1 iframeinterval=300 idrinterval=300 insert-sps-pps=true profile=0 preset-level=1 maxperf-enable=true ! video/x-h264,stream-format=byte-stream,alignment=au ! h264parse config-interval=-1 ! "), "{nvenc}");
        let orin_nano = branches("raw", &lanes, H264Encoder::X264, JETSON, true);
        assert!(
            orin_nano.contains(
                "nvvidconv flip-method=2 ! video/x-raw,width=320,height=240,format=I420 ! x264enc"
            ),
            "{orin_nano}"
        );
    }
}

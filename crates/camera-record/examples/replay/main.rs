//! Plays an MCAP recording (a gateway segment or clip) back onto zenoh as a live camera.
//!
//! `cargo run -p camera-record --example replay -- \
//!     --file recordings/front/20261125T210000Z.mcap --camera replay` (no GStreamer needed).
//! Reads one camera's `foxglove.CompressedImage` messages (published byte for byte with a
//! `FramePublisher`) and `foxglove.CompressedVideo` messages (published as the H.264 lane
//! `<prefix>/<camera>/h264/<--lane>`, listed in `/info`), both in log-time order with their
//! original spacing (scaled by `--speed`), so a web-gateway shows the recording beside the
//! live cameras. Capture times are "now", so the gateway treats the replay as live.
//! - `load.rs`: reading and checking the file.

mod load;

use anyhow::bail;
use camera_protocol::info::VideoInfo;
use camera_protocol::keys::DEFAULT_PREFIX;
use camera_protocol::meta::{unix_now_ns, FrameMeta};
use camera_protocol::{CameraInfo, CameraKeys, CaptureState, VideoFrame};
use camera_protocol::{FramePublisher, PublisherOptions};
use clap::Parser;
use load::{Loaded, Payload};
use robot_cli::ZenohSettings;
use std::path::PathBuf;
use std::time::Duration;
use zenoh::bytes::Encoding;
use zenoh::pubsub::Publisher;

/// A gap longer than this in the recording is shortened to it (e.g. the camera was off).
const MAX_GAP: Duration = Duration::from_secs(2);

#[derive(Debug, Parser)]
#[command(
    about = "Publish an MCAP recording (foxglove.CompressedImage and/or CompressedVideo) as a camera on zenoh"
)]
struct Args {
    /// MCAP file (a recording segment or a clip from the gateway).
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// Camera id to publish as (1-64 of A-Z a-z 0-9 _ -).
    #[arg(long, value_name = "ID", default_value = "replay")]
    camera: String,
    /// Camera topic to play when the file holds several cameras: its image channel TOPIC and
    /// its video channel TOPIC/h264 (default: the first of each).
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
    /// Name of the H.264 lane the video channel is published as:
    /// `<prefix>/<camera>/h264/<lane>`.
    #[arg(long, value_name = "NAME", default_value = "main")]
    lane: String,
    /// Playback speed factor (0.1-10).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Start again at the end.
    #[arg(long = "loop")]
    repeat: bool,
    /// Key prefix.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    prefix: String,
    #[command(flatten)]
    zenoh: ZenohSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    robot_cli::process::init_logging();
    let args = Args::parse();
    if !(0.1..=10.0).contains(&args.speed) {
        bail!("--speed {} is out of range: use 0.1 to 10", args.speed);
    }
    let keys = CameraKeys::new(&args.prefix, &args.camera)?;
    // The lane name is a key segment: the same rules as a camera id.
    CameraKeys::new(&args.prefix, &args.lane).map_err(|error| {
        anyhow::anyhow!("--lane {:?} is not a valid lane name: {error}", args.lane)
    })?;
    let loaded = load::load(&args.file, args.topic.as_deref())?;
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(robot_cli::process::cancel_on_signal(stop.clone()));
    let Some(session) =
        robot_cli::session::open_publisher(&args.zenoh, stop.clone().cancelled_owned()).await?
    else {
        return Ok(());
    };
    let info = info(&args, &keys, &loaded);
    let mut camera = Outputs {
        frames: FramePublisher::declare(&session, &keys, info, PublisherOptions::default()).await?,
        video: match &loaded.video {
            Some(_) => Some(
                session
                    .declare_publisher(keys.video(&args.lane))
                    .encoding(Encoding::VIDEO_H264)
                    .await
                    .map_err(|error| anyhow::anyhow!("cannot declare the H.264 lane: {error}"))?,
            ),
            None => None,
        },
        video_seq: 0,
    };
    tracing::info!(
        key = %keys.jpeg(),
        lane = %loaded.video.as_ref().map(|_| keys.video(&args.lane)).unwrap_or_default(),
        messages = loaded.samples.len(),
        image_topic = ?loaded.image_topic,
        video_topic = ?loaded.video.as_ref().map(|v| &v.topic),
        codec = ?loaded.video.as_ref().map(|v| &v.codec),
        "replaying {}",
        args.file.display()
    );
    tokio::select! {
        result = camera.play(&loaded, args.speed, args.repeat) => result?,
        () = stop.cancelled() => {}
    }
    drop(camera);
    let _ = tokio::time::timeout(Duration::from_secs(1), session.close()).await;
    Ok(())
}

/// The `/info` document: the picture size of the JPEG frames (else of the video), and the
/// lane as measured from the file.
fn info(args: &Args, keys: &CameraKeys, loaded: &Loaded) -> CameraInfo {
    let jpeg = loaded
        .samples
        .iter()
        .find(|s| matches!(s.payload, Payload::Jpeg(_)));
    let first = jpeg.unwrap_or(&loaded.samples[0]);
    let topics = [
        loaded.image_topic.as_deref(),
        loaded.video.as_ref().map(|v| v.topic.as_str()),
    ];
    let topics: Vec<&str> = topics.into_iter().flatten().collect();
    CameraInfo {
        width: first.width,
        height: first.height,
        encoder: "passthrough".into(),
        pipeline: format!("replay of {} ({})", args.file.display(), topics.join(", ")),
        state: CaptureState::Running,
        video: loaded
            .video
            .iter()
            .map(|video| VideoInfo {
                name: args.lane.clone(),
                key: keys.video(&args.lane),
                codec: "h264".into(),
                width: video.width,
                height: video.height,
                fps: video.fps,
                bitrate_kbps: video.bitrate_kbps,
                keyframe_interval: video.keyframe_interval,
                encoder: "passthrough".into(),
                frames_published: 0,
            })
            .collect(),
        ..CameraInfo::new(&args.camera, "replay")
    }
}

/// Where the samples go: the camera (JPEG, info, liveliness) and its H.264 lane.
struct Outputs {
    frames: FramePublisher,
    video: Option<Publisher<'static>>,
    /// `seq` of the lane's next access unit (gap-free across loops).
    video_seq: u64,
}

impl Outputs {
    async fn play(&mut self, loaded: &Loaded, speed: f64, repeat: bool) -> anyhow::Result<()> {
        loop {
            let mut previous: Option<u64> = None;
            for sample in &loaded.samples {
                if let Some(previous) = previous {
                    let gap = Duration::from_nanos(sample.log_time_ns.saturating_sub(previous));
                    tokio::time::sleep(gap.min(MAX_GAP).div_f64(speed)).await;
                }
                previous = Some(sample.log_time_ns);
                match &sample.payload {
                    Payload::Jpeg(jpeg) => {
                        self.frames
                            .publish(jpeg.clone(), sample.width, sample.height, unix_now_ns())
                            .await?;
                    }
                    Payload::Video { au, keyframe } => {
                        self.put_video(au.clone(), sample.width, sample.height, *keyframe)
                            .await?;
                    }
                }
            }
            if !repeat {
                return Ok(());
            }
        }
    }

    async fn put_video(
        &mut self,
        au: bytes::Bytes,
        width: u32,
        height: u32,
        keyframe: bool,
    ) -> anyhow::Result<()> {
        let Some(publisher) = &self.video else {
            return Ok(());
        };
        let meta = FrameMeta {
            seq: self.video_seq,
            capture_ts_ns: unix_now_ns(),
            width,
            height,
            generation: 1,
            online: true,
        };
        let frame = VideoFrame::encoded(au, meta, keyframe)?;
        publisher
            .put(frame.au.clone())
            .attachment(frame.meta.encode())
            .await
            .map_err(|error| anyhow::anyhow!("cannot put an access unit: {error}"))?;
        self.video_seq += 1;
        let published = self.video_seq;
        self.frames.update_info(|info| {
            if let Some(lane) = info.video.first_mut() {
                lane.frames_published = published;
            }
        });
        Ok(())
    }
}

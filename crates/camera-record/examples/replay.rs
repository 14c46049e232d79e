//! Plays an MCAP recording (a gateway segment or clip) back onto zenoh as a live camera.
//!
//! `cargo run -p camera-record --example replay -- \
//!     --file recordings/front/20261125T210000Z.mcap --camera replay` (no GStreamer needed).
//! Reads the `foxglove.CompressedImage` messages of one topic, keeps their original spacing
//! (scaled by `--speed`), and publishes each JPEG byte for byte with a `FramePublisher`, so a
//! web-gateway shows the recording beside the live cameras. Capture times are "now", so the
//! gateway treats the replay as live; the recorded time is logged.

use anyhow::{bail, Context};
use bytes::Bytes;
use camera_protocol::keys::DEFAULT_PREFIX;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{jpeg_dimensions, CameraInfo, CameraKeys, CaptureState};
use camera_protocol::{FramePublisher, PublisherOptions};
use camera_record::proto;
use clap::Parser;
use robot_cli::ZenohSettings;
use std::path::PathBuf;
use std::time::Duration;

/// Recordings larger than this are refused (the file is read into memory).
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// A gap longer than this in the recording is shortened to it (e.g. the camera was off).
const MAX_GAP: Duration = Duration::from_secs(2);

#[derive(Debug, Parser)]
#[command(
    about = "Publish an MCAP recording of foxglove.CompressedImage frames as a camera on zenoh"
)]
struct Args {
    /// MCAP file (a recording segment or a clip from the gateway).
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// Camera id to publish as (1-64 of A-Z a-z 0-9 _ -).
    #[arg(long, value_name = "ID", default_value = "replay")]
    camera: String,
    /// Topic to play when the file holds several cameras (default: the first image topic).
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
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

/// One recorded frame, checked.
#[derive(Debug)]
struct Recorded {
    jpeg: Bytes,
    width: u32,
    height: u32,
    log_time_ns: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    robot_cli::process::init_logging();
    let args = Args::parse();
    if !(0.1..=10.0).contains(&args.speed) {
        bail!("--speed {} is out of range: use 0.1 to 10", args.speed);
    }
    let keys = CameraKeys::new(&args.prefix, &args.camera)?;
    let (topic, frames) = load(&args.file, args.topic.as_deref())?;
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(robot_cli::process::cancel_on_signal(stop.clone()));
    let Some(session) =
        robot_cli::session::open_publisher(&args.zenoh, stop.clone().cancelled_owned()).await?
    else {
        return Ok(());
    };
    let info = CameraInfo {
        width: frames[0].width,
        height: frames[0].height,
        encoder: "passthrough".into(),
        pipeline: format!("replay of {} ({topic})", args.file.display()),
        state: CaptureState::Running,
        ..CameraInfo::new(&args.camera, "replay")
    };
    let mut publisher =
        FramePublisher::declare(&session, &keys, info, PublisherOptions::default()).await?;
    tracing::info!(key = %keys.jpeg(), frames = frames.len(), %topic, "replaying {}", args.file.display());
    tokio::select! {
        result = play(&mut publisher, &frames, args.speed, args.repeat) => result?,
        () = stop.cancelled() => {}
    }
    drop(publisher);
    let _ = tokio::time::timeout(Duration::from_secs(1), session.close()).await;
    Ok(())
}

async fn play(
    publisher: &mut FramePublisher,
    frames: &[Recorded],
    speed: f64,
    repeat: bool,
) -> anyhow::Result<()> {
    loop {
        let mut previous: Option<u64> = None;
        for frame in frames {
            if let Some(previous) = previous {
                let gap = Duration::from_nanos(frame.log_time_ns.saturating_sub(previous));
                tokio::time::sleep(gap.min(MAX_GAP).div_f64(speed)).await;
            }
            previous = Some(frame.log_time_ns);
            publisher
                .publish(frame.jpeg.clone(), frame.width, frame.height, unix_now_ns())
                .await?;
        }
        if !repeat {
            return Ok(());
        }
    }
}

/// The checked frames of one image topic, in log-time order.
fn load(file: &PathBuf, wanted: Option<&str>) -> anyhow::Result<(String, Vec<Recorded>)> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{} is {size} bytes: recordings over {MAX_FILE_BYTES} bytes are refused",
            file.display()
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // A segment cut short by a crash has no footer: read it up to its last complete chunk.
    let options = mcap::read::Options::IgnoreEndMagic.into();
    let messages = mcap::MessageStream::new_with_options(&bytes, options)
        .with_context(|| format!("{} is not an MCAP file", file.display()))?;
    let mut topic: Option<String> = wanted.map(str::to_owned);
    let mut frames = Vec::new();
    for message in messages {
        let message = match message {
            Ok(message) => message,
            Err(error) if !frames.is_empty() => {
                tracing::warn!(%error, "recording ends early (cut short?); playing what was read");
                break;
            }
            Err(error) => return Err(error).context("cannot read the recording"),
        };
        let is_image = message
            .channel
            .schema
            .as_ref()
            .is_some_and(|schema| schema.name == proto::SCHEMA_NAME);
        if !is_image {
            continue;
        }
        let this_topic = topic.get_or_insert_with(|| message.channel.topic.clone());
        if message.channel.topic != *this_topic {
            continue;
        }
        let image = proto::decode_compressed_image(&message.data)
            .with_context(|| format!("message {} of {}", message.sequence, this_topic))?;
        if image.format != "jpeg" {
            bail!(
                "{this_topic} holds {:?} images; only jpeg can be published",
                image.format
            );
        }
        let (width, height) = jpeg_dimensions(image.data).with_context(|| {
            format!(
                "message {} of {} is not a usable JPEG",
                message.sequence, this_topic
            )
        })?;
        frames.push(Recorded {
            jpeg: Bytes::copy_from_slice(image.data),
            width,
            height,
            log_time_ns: message.log_time,
        });
    }
    let Some(topic) = topic.filter(|_| !frames.is_empty()) else {
        bail!(
            "{} holds no foxglove.CompressedImage frames{}",
            file.display(),
            wanted.map(|t| format!(" on {t}")).unwrap_or_default()
        );
    };
    frames.sort_by_key(|frame| frame.log_time_ns);
    Ok((topic, frames))
}

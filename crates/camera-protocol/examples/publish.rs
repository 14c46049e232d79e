//! Publishes the `.jpg` files of a directory as a camera: in name order, looping, byte for byte.
//!
//! `cargo run -p camera-protocol --example publish -- \
//!     --camera annotated --dir ./frames --fps 10` (no GStreamer needed). A web-gateway shows
//! it beside the real cameras. Width and height come from each file's JPEG header; a file
//! that is not a JPEG stops the program before anything is published, naming the file. The
//! zenoh defaults and `--zenoh-*` flags are the camera node's: a client of the robot's hub on
//! `tcp/127.0.0.1:7447` (waiting for it if it is not up yet). Your own program publishes the
//! same way: open a session, declare a `FramePublisher`, call `publish` per picture.

use anyhow::{bail, Context};
use bytes::Bytes;
use camera_protocol::keys::DEFAULT_PREFIX;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{jpeg_dimensions, CameraInfo, CameraKeys, CaptureState};
use camera_protocol::{FramePublisher, PublisherOptions};
use clap::Parser;
use robot_cli::ZenohSettings;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Files larger than this are refused: a frame is a picture, not a video.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// All files are held in memory; refuse a directory that would take more.
const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Parser)]
#[command(about = "Publish the .jpg files of a directory as a camera on zenoh")]
struct Args {
    /// Camera id to publish as (1-64 of A-Z a-z 0-9 _ -).
    #[arg(long, value_name = "ID")]
    camera: String,
    /// Directory whose .jpg/.jpeg files are published, in name order, looping.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Frames per second (1-240).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=240))]
    fps: u32,
    /// Key prefix.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    prefix: String,
    /// Exit after publishing this many frames (default: loop until Ctrl+C).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    #[command(flatten)]
    zenoh: ZenohSettings,
}

/// One file, read and checked: its bytes are published unchanged.
#[derive(Debug)]
struct Picture {
    jpeg: Bytes,
    width: u32,
    height: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    robot_cli::process::init_logging();
    let args = Args::parse();
    let keys = CameraKeys::new(&args.prefix, &args.camera)?;
    let pictures = load(&args.dir)?;
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(robot_cli::process::cancel_on_signal(stop.clone()));
    let Some(session) =
        robot_cli::session::open_publisher(&args.zenoh, stop.clone().cancelled_owned()).await?
    else {
        return Ok(());
    };
    let info = CameraInfo {
        width: pictures[0].width,
        height: pictures[0].height,
        fps: args.fps,
        encoder: "passthrough".into(),
        pipeline: format!("files from {}", args.dir.display()),
        state: CaptureState::Running,
        ..CameraInfo::new(&args.camera, "files")
    };
    let mut publisher =
        FramePublisher::declare(&session, &keys, info, PublisherOptions::default()).await?;
    tracing::info!(
        key = %keys.jpeg(),
        files = pictures.len(),
        fps = args.fps,
        "publishing {}",
        args.dir.display()
    );
    tokio::select! {
        result = publish_loop(&mut publisher, &pictures, args.fps, args.count) => result?,
        () = stop.cancelled() => {}
    }
    drop(publisher);
    let _ = tokio::time::timeout(Duration::from_secs(1), session.close()).await;
    Ok(())
}

async fn publish_loop(
    publisher: &mut FramePublisher,
    pictures: &[Picture],
    fps: u32,
    count: Option<u64>,
) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / fps);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    for picture in pictures.iter().cycle() {
        if count.is_some_and(|count| publisher.published() >= count) {
            break;
        }
        ticker.tick().await;
        let Picture {
            jpeg,
            width,
            height,
        } = picture;
        publisher
            .publish(jpeg.clone(), *width, *height, unix_now_ns())
            .await?;
    }
    Ok(())
}

/// Reads and checks every `.jpg`/`.jpeg` of `dir`, in file-name order.
fn load(dir: &Path) -> anyhow::Result<Vec<Picture>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let is_jpeg = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("jpg") || ext.eq_ignore_ascii_case("jpeg"));
        if is_jpeg && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if paths.is_empty() {
        bail!("no .jpg files in {}", dir.display());
    }
    let mut total = 0u64;
    let mut pictures = Vec::with_capacity(paths.len());
    for path in paths {
        let size = std::fs::metadata(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > MAX_FILE_BYTES {
            bail!(
                "{} is {size} bytes: frames over {MAX_FILE_BYTES} bytes are refused",
                path.display()
            );
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            bail!(
                "the .jpg files of {} exceed {MAX_TOTAL_BYTES} bytes in all: publish fewer",
                dir.display()
            );
        }
        let jpeg =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (width, height) = jpeg_dimensions(&jpeg)
            .with_context(|| format!("{} is not a usable JPEG", path.display()))?;
        camera_protocol::frame::check_complete_jpeg(&jpeg)
            .with_context(|| format!("{} is not a usable JPEG", path.display()))?;
        pictures.push(Picture {
            jpeg: Bytes::from(jpeg),
            width,
            height,
        });
    }
    Ok(pictures)
}

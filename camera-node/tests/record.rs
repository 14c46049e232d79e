//! Recording over real zenoh, checked by an independent reader: a `FramePublisher` puts frames
//! at 30 fps, `record::run` on another session feeds a `Recorder` and a `ClipBuffer`, and
//! Python's `mcap` package (with protobuf decoding from the file's own schema) reads what was
//! written. Every published frame must be there once, at its capture time, byte for byte.

use camera_node::info::CameraInfo;
use camera_node::keys::{CameraKeys, PrefixSet, DEFAULT_PREFIX};
use camera_node::record::{
    self, segment, Admission, ClipBuffer, Keep, RecordSettings, Recorder, Sinks, Size,
};
use camera_node::{FramePublisher, PublisherOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::camera::{publish_frames, wait_subscribed, Published, HEIGHT, WIDTH};
use test_support::ci::{python_mcap, require};
use test_support::mcap_reader::{assert_frames, read_mcap, McapMessage};
use test_support::{free_port, listening_session, session_to, DEADLINE};
use tokio_util::sync::CancellationToken;

const MAX_FRAME_BYTES: usize = 1 << 20;

/// A publisher and a recording subscriber on two sessions, connected over loopback.
struct Rig {
    publisher: FramePublisher,
    _node: zenoh::Session,
    viewer: zenoh::Session,
    cancel: CancellationToken,
    run: tokio::task::JoinHandle<()>,
    recorder: Recorder,
    thread: std::thread::JoinHandle<()>,
    clips: Arc<ClipBuffer>,
}

impl Rig {
    async fn start(camera: &str, settings: RecordSettings) -> Self {
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        let node = listening_session(&endpoint).await;
        let viewer = session_to(&endpoint).await;
        let (recorder, thread) = Recorder::start(settings).expect("start the recorder");
        let clips = Arc::new(ClipBuffer::new(Duration::from_secs(60), 64 << 20));
        let sinks = Sinks {
            recorder: Some(recorder.clone()),
            clips: Some(clips.clone()),
        };
        let cancel = CancellationToken::new();
        let run = tokio::spawn({
            let (viewer, cancel) = (viewer.clone(), cancel.clone());
            async move {
                let prefixes = PrefixSet::single(DEFAULT_PREFIX).expect("prefix");
                record::run(
                    &viewer,
                    &prefixes,
                    sinks,
                    Admission::all(MAX_FRAME_BYTES),
                    cancel,
                )
                .await
                .expect("record::run");
            }
        });
        let keys = CameraKeys::new(DEFAULT_PREFIX, camera).expect("keys");
        let info = CameraInfo {
            width: WIDTH,
            height: HEIGHT,
            fps: 30,
            ..CameraInfo::new(camera, "test")
        };
        let publisher = FramePublisher::declare(&node, &keys, info, PublisherOptions::default())
            .await
            .expect("declare");
        // Frames put before the recorder's subscription matches would be lost by design.
        wait_subscribed(&publisher).await;
        Self {
            publisher,
            _node: node,
            viewer,
            cancel,
            run,
            recorder,
            thread,
            clips,
        }
    }

    async fn publish(&mut self, count: u32, fps: u32) -> Published {
        publish_frames(&mut self.publisher, count, fps).await
    }

    /// Waits until the recorder has written `frames` (it has no event to await; bounded).
    async fn wait_written(&self, frames: u64) {
        let stats = self.recorder.stats().clone();
        let start = Instant::now();
        while stats.frames_written.load(Ordering::Relaxed) < frames {
            assert!(
                start.elapsed() < DEADLINE,
                "recorder wrote {} of {frames} frames (dropped {}, write errors {})",
                stats.frames_written.load(Ordering::Relaxed),
                stats.frames_dropped.load(Ordering::Relaxed),
                stats.write_errors.load(Ordering::Relaxed),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops recording and waits for the recorder thread, which finishes every segment.
    async fn stop(self) -> Arc<ClipBuffer> {
        self.cancel.cancel();
        tokio::time::timeout(DEADLINE, self.run)
            .await
            .expect("record::run stops when cancelled")
            .expect("record::run task");
        drop(self.recorder);
        tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .expect("join task")
            .expect("recorder thread ends without panicking");
        let _ = tokio::time::timeout(Duration::from_secs(5), self.viewer.close()).await;
        self.clips
    }
}

fn settings(dir: &Path, segment: Duration, keep: Keep) -> RecordSettings {
    RecordSettings {
        dir: dir.to_owned(),
        segment,
        keep,
        min_free: Size::Bytes(0),
    }
}

/// `age` and at most 10 % of the disk.
fn keep_age(age: Duration) -> Keep {
    Keep {
        age,
        size: Size::Percent(10),
    }
}

/// Segment files of `camera` in creation order; every file in the directory must be one.
fn segments(dir: &Path, camera: &str) -> Vec<PathBuf> {
    let mut files: Vec<(_, PathBuf)> = std::fs::read_dir(dir.join(camera))
        .expect("camera directory")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let order = path
                .to_str()
                .and_then(|p| p.strip_suffix(".mcap"))
                .and_then(|p| p.rsplit('/').next())
                .and_then(segment::parse_stem)
                .unwrap_or_else(|| panic!("{} is not a segment name", path.display()));
            (order, path)
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, path)| path).collect()
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_dir() {
                dir_bytes(&entry.path())
            } else {
                entry.metadata().expect("metadata").len()
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_at_30_fps_is_recorded_once_at_its_capture_time() {
    if require("record", python_mcap()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let keep = keep_age(Duration::from_secs(3600));
    // Short segments, so frames cross several rotations.
    let mut rig = Rig::start("front", settings(dir.path(), Duration::from_secs(1), keep)).await;
    let published = rig.publish(90, 30).await;
    rig.wait_written(published.len() as u64).await;
    let dropped = rig.recorder.stats().frames_dropped.load(Ordering::Relaxed);
    let clips = rig.stop().await;
    assert_eq!(dropped, 0, "the recorder dropped frames");

    let files = read_mcap(&segments(dir.path(), "front"));
    assert!(
        files.len() >= 2,
        "3 s in 1 s segments gave {} files",
        files.len()
    );
    for file in &files {
        assert_eq!(
            file.message_count,
            Some(file.messages.len() as u64),
            "{}: statistics disagree with the messages",
            file.path.display()
        );
    }
    let messages: Vec<McapMessage> = files.into_iter().flat_map(|f| f.messages).collect();
    assert_frames("segments", DEFAULT_PREFIX, "front", &messages, &published);

    let clip = clips
        .export("front", Duration::from_secs(60))
        .expect("clip of the last minute");
    let clip_path = dir.path().join("clip.mcap");
    std::fs::write(&clip_path, clip).expect("write clip");
    let clip = read_mcap(&[clip_path]).remove(0);
    assert_frames("clip", DEFAULT_PREFIX, "front", &clip.messages, &published);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_the_directory_under_its_bound() {
    if require("record", python_mcap()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    const BOUND: u64 = 80_000;
    let segment = Duration::from_millis(400);
    let mut rig = Rig::start(
        "rear",
        settings(
            dir.path(),
            segment,
            Keep {
                age: Duration::from_secs(3600),
                size: Size::Bytes(BOUND),
            },
        ),
    )
    .await;
    let published = rig.publish(90, 30).await;
    rig.wait_written(published.len() as u64).await;
    let deleted = rig
        .recorder
        .stats()
        .segments_deleted
        .load(Ordering::Relaxed);
    rig.stop().await;
    let total: u64 = published.iter().map(|(_, jpeg)| jpeg.len() as u64).sum();
    assert!(total > 2 * BOUND, "test frames too small: {total} bytes");
    assert!(deleted > 0, "no segment was deleted while recording");
    let bytes = dir_bytes(dir.path());
    assert!(bytes <= BOUND, "{bytes} bytes on disk, bound {BOUND}");

    // What is left is the newest part of the recording, without a gap.
    let messages: Vec<McapMessage> = read_mcap(&segments(dir.path(), "rear"))
        .into_iter()
        .flat_map(|f| f.messages)
        .collect();
    assert!(!messages.is_empty(), "pruning deleted everything");
    let tail = &published[published.len() - messages.len()..];
    assert_frames("kept segments", DEFAULT_PREFIX, "rear", &messages, tail);
}

/// A camera that stops sending has its segment finished after `record::IDLE`, while the
/// recorder runs on: the file is complete (summary, footer) at once, not at the next rotation
/// or at shutdown, and the camera's next frame starts a new segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_stops_has_its_segment_finished_while_recording_goes_on() {
    if require("record", python_mcap()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let keep = keep_age(Duration::from_secs(3600));
    let hour = Duration::from_secs(3600);
    let mut rig = Rig::start("side", settings(dir.path(), hour, keep)).await;
    let published = rig.publish(30, 30).await;
    rig.wait_written(published.len() as u64).await;
    let first = segments(dir.path(), "side");
    assert_eq!(first.len(), 1, "one segment: {first:?}");
    // An MCAP file ends with the magic only once its footer is written.
    let limit = Instant::now() + record::IDLE + DEADLINE;
    while !std::fs::read(&first[0])
        .expect("read segment")
        .ends_with(b"\x89MCAP0\r\n")
    {
        assert!(
            Instant::now() < limit,
            "segment still open {:?} after the last frame",
            record::IDLE + DEADLINE
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let file = read_mcap(&first).remove(0);
    assert_eq!(
        file.message_count,
        Some(published.len() as u64),
        "summary of the finished segment"
    );
    assert_frames(
        "finished segment",
        DEFAULT_PREFIX,
        "side",
        &file.messages,
        &published,
    );

    let more = rig.publish(10, 30).await;
    rig.wait_written((published.len() + more.len()) as u64)
        .await;
    rig.stop().await;
    let files = segments(dir.path(), "side");
    assert_eq!(
        files.len(),
        2,
        "the next frame started a new segment: {files:?}"
    );
    let second = read_mcap(&files[1..]).remove(0);
    assert_frames(
        "new segment",
        DEFAULT_PREFIX,
        "side",
        &second.messages,
        &more,
    );
}

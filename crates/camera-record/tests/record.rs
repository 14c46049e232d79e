//! Recording checked by an independent reader: accepted frames at 30 fps are handed to a
//! `Recorder` and a `ClipBuffer` through `camera_record::Sinks` (as the gateway's camera task does),
//! and Python's `mcap` package (with protobuf decoding from the file's own schema) reads what
//! was written. Every frame must be there once, at its capture time, byte for byte; the open
//! segment reads as a valid MCAP at every moment.

use bytes::Bytes;
use camera_protocol::keys::{CameraKeys, DEFAULT_PREFIX};
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{Frame, FrameMeta};
use camera_record::{
    segment, ClipBuffer, Keep, RecordSettings, RecordedCamera, Recorder, Sinks, Size,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::ci::{python_mcap, require};
use test_support::mcap_reader::{
    assert_frames, has_summary, read_mcap, try_read_mcap, McapMessage,
};
use test_support::publisher::{Published, HEIGHT, WIDTH};
use test_support::{draw_frame, DEADLINE};

/// The recorder thread and a clip buffer behind one `Sinks`, and the camera fed to them.
struct Rig {
    sinks: Sinks,
    camera: Arc<RecordedCamera>,
    recorder: Recorder,
    thread: std::thread::JoinHandle<()>,
    clips: Arc<ClipBuffer>,
    pictures: Vec<Bytes>,
    seq: u64,
}

impl Rig {
    fn start(camera: &str, settings: RecordSettings) -> Self {
        let (recorder, thread) = Recorder::start(settings).expect("start the recorder");
        let clips = Arc::new(ClipBuffer::new(Duration::from_secs(60), 64 << 20));
        let sinks = Sinks {
            recorder: Some(recorder.clone()),
            clips: Some(clips.clone()),
        };
        let keys = CameraKeys::new(DEFAULT_PREFIX, camera).expect("keys");
        Self {
            sinks,
            camera: Arc::new(RecordedCamera::node(camera, &keys)),
            recorder,
            thread,
            clips,
            pictures: (0..30)
                .map(|step| Bytes::from(draw_frame(WIDTH, HEIGHT, [200, 40, 40], step)))
                .collect(),
            seq: 0,
        }
    }

    /// Hands `count` frames captured "now" to the sinks at `fps`, in real time (segments
    /// rotate by the clock).
    async fn feed(&mut self, count: u32, fps: u32) -> Published {
        let mut ticker = tokio::time::interval(Duration::from_secs(1) / fps);
        let mut fed = Vec::new();
        for _ in 0..count {
            ticker.tick().await;
            let jpeg = self.pictures[self.seq as usize % self.pictures.len()].clone();
            let frame = Frame {
                jpeg,
                meta: FrameMeta {
                    seq: self.seq,
                    capture_ts_ns: unix_now_ns(),
                    width: WIDTH,
                    height: HEIGHT,
                    generation: 1,
                    online: true,
                },
            };
            self.seq += 1;
            self.sinks.take(&self.camera, &frame);
            fed.push((frame.meta.capture_ts_ns, frame.jpeg));
        }
        fed
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

    /// Drops every recorder handle and waits for the thread, which finishes every segment.
    async fn stop(self) -> Arc<ClipBuffer> {
        drop(self.sinks);
        drop(self.recorder);
        tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .expect("join task")
            .expect("recorder thread ends without panicking");
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
    let mut rig = Rig::start("front", settings(dir.path(), Duration::from_secs(1), keep));
    let published = rig.feed(90, 30).await;
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
    );
    let published = rig.feed(90, 30).await;
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

/// A camera that stops sending has its segment finished after `camera_record::IDLE`, while the
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
    let mut rig = Rig::start("side", settings(dir.path(), hour, keep));
    let published = rig.feed(30, 30).await;
    rig.wait_written(published.len() as u64).await;
    let first = segments(dir.path(), "side");
    assert_eq!(first.len(), 1, "one segment: {first:?}");
    // An open segment ends without a summary; a finished one has it.
    let limit = Instant::now() + camera_record::IDLE + DEADLINE;
    while !has_summary(&first[0]) {
        assert!(
            Instant::now() < limit,
            "segment still open {:?} after the last frame",
            camera_record::IDLE + DEADLINE
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

    let more = rig.feed(10, 30).await;
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

/// The open segment, read by Python's `mcap` (`make_reader`, CRCs validated) again and again
/// while frames keep coming: every read succeeds and holds a prefix of the frames fed, and
/// within a flush period all the frames fed before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_segment_reads_as_mcap_while_it_is_written() {
    if require("record", python_mcap()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let keep = keep_age(Duration::from_secs(3600));
    let hour = Duration::from_secs(3600);
    let mut rig = Rig::start("open", settings(dir.path(), hour, keep));
    let mut fed = rig.feed(15, 30).await;
    rig.wait_written(fed.len() as u64).await;
    let open = segments(dir.path(), "open");
    assert_eq!(open.len(), 1, "one open segment: {open:?}");
    let mut reads = 0;
    let limit = Instant::now() + DEADLINE;
    loop {
        // Frames keep arriving during each read (the reader races the writer's flushes).
        let (more, read) = tokio::join!(
            rig.feed(10, 30),
            tokio::task::spawn_blocking({
                let open = open.clone();
                move || try_read_mcap(&open)
            })
        );
        let file = read
            .expect("reader task")
            .unwrap_or_else(|error| panic!("open segment unreadable after {reads} reads: {error}"))
            .remove(0);
        reads += 1;
        assert_eq!(file.message_count, None, "no summary while open");
        assert!(file.messages.len() <= fed.len() + more.len());
        let prefix = &fed[..file.messages.len().min(fed.len())];
        assert_frames(
            "open segment",
            DEFAULT_PREFIX,
            "open",
            &file.messages[..prefix.len()],
            prefix,
        );
        fed.extend(more);
        if reads >= 3 && file.messages.len() >= 15 {
            break;
        }
        assert!(
            Instant::now() < limit,
            "the open segment never showed the frames fed: {} of {}",
            file.messages.len(),
            fed.len()
        );
    }
    assert!(!has_summary(&open[0]), "still open");
    rig.wait_written(fed.len() as u64).await;
    rig.stop().await;
    let file = read_mcap(&open).remove(0);
    assert_eq!(
        file.message_count,
        Some(fed.len() as u64),
        "finished at the end"
    );
    assert_frames(
        "finished segment",
        DEFAULT_PREFIX,
        "open",
        &file.messages,
        &fed,
    );
}

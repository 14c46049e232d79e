//! The recording-size benchmark of issue 26 (ignored by default: it encodes 720p for a while):
//! the same 1280×720@30 videotestsrc picture (pinwheel, ball) as JPEG frames (jpegenc
//! quality 85, as the camera node) and as H.264 access units (x264enc 2000 kbit/s, keyframe
//! every 30 frames), each recorded through `Sinks` and the `Recorder`, bytes on disk
//! extrapolated to a camera-hour. Run:
//! `cargo test -p camera-record --test record_size -- --ignored --nocapture`.
// The figures are this benchmark's output.
#![allow(clippy::print_stdout)]

use camera_protocol::keys::{CameraKeys, DEFAULT_PREFIX};
use camera_protocol::{Frame, FrameMeta, VideoFrame};
use camera_record::{Keep, RecordSettings, RecordedCamera, Recorder, Sinks, Size};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::ci::require;
use test_support::h264::{encode_h264, encode_jpeg, gst_x264, Source};
use test_support::DEADLINE;

const SECONDS: u32 = 15;
const FPS: u32 = 30;

/// Records what `feed` hands over into `dir`; returns the bytes on disk once finished.
fn record(dir: &Path, count: usize, feed: impl Fn(&Sinks, &Arc<RecordedCamera>, usize)) -> u64 {
    let (recorder, thread) = Recorder::start(RecordSettings {
        dir: dir.to_owned(),
        segment: Duration::from_secs(3600),
        keep: Keep {
            age: Duration::from_secs(3600),
            size: Size::Percent(50),
        },
        min_free: Size::Bytes(0),
    })
    .expect("start the recorder");
    let sinks = Sinks {
        recorder: Some(recorder.clone()),
        clips: None,
    };
    let keys = CameraKeys::new(DEFAULT_PREFIX, "front").expect("keys");
    let camera = Arc::new(RecordedCamera::node("front", &keys));
    let stats = recorder.stats().clone();
    for index in 0..count {
        // Never more than the queue holds: the benchmark must not drop frames.
        let start = Instant::now();
        while index as u64 > stats.frames_written.load(Ordering::Relaxed) + 100 {
            assert!(start.elapsed() < DEADLINE, "the recorder stalled");
            std::thread::sleep(Duration::from_millis(5));
        }
        feed(&sinks, &camera, index);
    }
    drop((sinks, recorder));
    thread.join().expect("recorder thread");
    assert_eq!(stats.frames_dropped.load(Ordering::Relaxed), 0);
    assert_eq!(stats.frames_written.load(Ordering::Relaxed), count as u64);
    dir_bytes(dir)
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

fn meta(index: usize) -> FrameMeta {
    FrameMeta {
        seq: index as u64,
        capture_ts_ns: 1_764_000_000_000_000_000 + index as u64 * 1_000_000_000 / u64::from(FPS),
        width: 1280,
        height: 720,
        generation: 1,
        online: true,
    }
}

#[test]
#[ignore = "benchmark: encodes 2 × 15 s of 720p, run with --ignored --nocapture"]
fn recording_bytes_per_camera_hour() {
    if require("record_size", gst_x264()).is_none() {
        return;
    }
    let per_hour = |bytes: u64| bytes as f64 * 3600.0 / f64::from(SECONDS) / 1e9;
    for pattern in ["pinwheel", "ball"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = Source {
            pattern,
            fps: FPS,
            ..Source::new(1280, 720, SECONDS * FPS)
        };
        let jpegs = encode_jpeg(&source, 85, &dir.path().join("jpeg"));
        let aus = encode_h264(&source, 2000, 30, &dir.path().join("au"));
        let jpeg_bytes = record(
            &dir.path().join("rec-jpeg"),
            jpegs.len(),
            |sinks, camera, i| {
                let frame = Frame {
                    jpeg: jpegs[i].clone(),
                    meta: meta(i),
                };
                sinks.take(camera, &frame);
            },
        );
        let video_bytes = record(
            &dir.path().join("rec-h264"),
            aus.len(),
            |sinks, camera, i| {
                let frame = VideoFrame::encoded(aus[i].au.clone(), meta(i), aus[i].keyframe)
                    .expect("x264's access unit");
                sinks.take_video(camera, &frame);
            },
        );
        let ratio = video_bytes as f64 / jpeg_bytes as f64;
        println!(
            "{pattern}: {SECONDS} s of 1280x720@{FPS}: MJPEG {jpeg_bytes} B ({:.2} GB/camera-hour), \
             H.264 {video_bytes} B ({:.2} GB/camera-hour), ratio 1/{:.1}",
            per_hour(jpeg_bytes),
            per_hour(video_bytes),
            1.0 / ratio
        );
        assert!(
            ratio <= 1.0 / 8.0,
            "{pattern}: H.264 recording is {ratio:.3} of MJPEG's"
        );
    }
}

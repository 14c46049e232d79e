//! The H.264 lane recorded: real access units (gst-launch-1.0, x264enc) handed to a
//! `Recorder` and a `ClipBuffer` through `camera_record::Sinks::take_video`, as the gateway's
//! camera task does, and read back by Python's `mcap` package (protobuf decoding from the
//! file's own `foxglove.CompressedVideo` schema). Each segment's video starts at a keyframe,
//! and its access units, concatenated, are a stream `ffprobe` decodes whole.

use camera_protocol::keys::{CameraKeys, DEFAULT_PREFIX};
use camera_protocol::meta::unix_now_ns;
use camera_protocol::video::h264::{nal, nal_type, nal_units};
use camera_protocol::{FrameMeta, VideoFrame};
use camera_record::{
    segment, ClipBuffer, Keep, RecordSettings, RecordedCamera, Recorder, Sinks, Size,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::ci::{python_mcap, require};
use test_support::h264::{encode_h264, ffprobe_h264, gst_x264, Encoded, Source};
use test_support::mcap_reader::{read_mcap, McapMessage};
use test_support::DEADLINE;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;

fn tools() -> bool {
    require("record_video", python_mcap()).is_some()
        && require("record_video", gst_x264()).is_some()
}

/// A recorder (segments of `segment`) and a clip buffer behind one `Sinks`, camera "front".
fn start(
    dir: &Path,
    segment: Duration,
) -> (
    Sinks,
    Arc<RecordedCamera>,
    Recorder,
    std::thread::JoinHandle<()>,
    Arc<ClipBuffer>,
) {
    let (recorder, thread) = Recorder::start(RecordSettings {
        dir: dir.to_owned(),
        segment,
        keep: Keep {
            age: Duration::from_secs(3600),
            size: Size::Percent(10),
        },
        min_free: Size::Bytes(0),
    })
    .expect("start the recorder");
    let clips = Arc::new(ClipBuffer::new(Duration::from_secs(60), 64 << 20));
    let sinks = Sinks {
        recorder: Some(recorder.clone()),
        clips: Some(clips.clone()),
    };
    let keys = CameraKeys::new(DEFAULT_PREFIX, "front").expect("keys");
    (
        sinks,
        Arc::new(RecordedCamera::node("front", &keys)),
        recorder,
        thread,
        clips,
    )
}

fn video_frame(seq: u64, encoded: &Encoded) -> VideoFrame {
    let meta = FrameMeta {
        seq,
        capture_ts_ns: unix_now_ns(),
        width: WIDTH,
        height: HEIGHT,
        generation: 1,
        online: true,
    };
    VideoFrame::encoded(encoded.au.clone(), meta, encoded.keyframe).expect("x264's access unit")
}

/// Waits until the recorder has handled `count` samples (written or skipped); bounded.
async fn wait_handled(recorder: &Recorder, count: u64) {
    let stats = recorder.stats();
    let start = Instant::now();
    loop {
        let written = stats.frames_written.load(Ordering::Relaxed);
        let skipped = stats.video_skipped.load(Ordering::Relaxed);
        if written + skipped >= count {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "recorder handled {written} + {skipped} of {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stop(sinks: Sinks, recorder: Recorder, thread: std::thread::JoinHandle<()>) {
    drop((sinks, recorder));
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .expect("join task")
        .expect("recorder thread ends without panicking");
}

/// Segment files of "front" in creation order.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(_, PathBuf)> = std::fs::read_dir(dir.join("front"))
        .expect("camera directory")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
            (segment::parse_stem(stem).expect("a segment name"), path)
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, path)| path).collect()
}

fn is_keyframe(au: &[u8]) -> bool {
    nal_units(au)
        .expect("Annex B")
        .iter()
        .any(|unit| nal_type(unit) == nal::IDR)
}

/// The messages are `foxglove.CompressedVideo` on `/camera/front/h264`, start at a keyframe,
/// and concatenated decode with ffprobe to `frames` pictures of the encoded size.
fn assert_decodes(what: &str, messages: &[McapMessage], frames: u64, dir: &Path) {
    assert!(!messages.is_empty(), "{what}: no messages");
    for message in messages {
        assert_eq!(message.topic, "/camera/front/h264", "{what}");
        assert_eq!(message.schema, "foxglove.CompressedVideo", "{what}");
        assert_eq!(message.type_name, "foxglove.CompressedVideo", "{what}");
        assert_eq!(
            (message.format.as_str(), message.frame_id.as_str()),
            ("h264", "front"),
            "{what}"
        );
        assert_eq!(message.timestamp_ns, message.log_time, "{what}");
    }
    assert!(
        is_keyframe(&messages[0].data),
        "{what}: the first access unit is no keyframe"
    );
    let stream = dir.join(format!("{}.h264", what.replace(' ', "-")));
    let bytes: Vec<u8> = messages
        .iter()
        .flat_map(|m| m.data.iter().copied())
        .collect();
    std::fs::write(&stream, bytes).expect("write the stream");
    let probed = ffprobe_h264(&stream);
    assert_eq!(
        (probed.width, probed.height, probed.frames),
        (WIDTH, HEIGHT, Some(frames)),
        "{what}: ffprobe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_is_recorded_from_its_first_keyframe_and_decodes() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let encoded = encode_h264(
        &Source::new(WIDTH, HEIGHT, 90),
        500,
        30,
        &dir.path().join("au"),
    );
    assert_eq!(
        encoded.iter().filter(|e| e.keyframe).count(),
        3,
        "x264 gave other keyframes"
    );
    // Joined mid-GOP: the deltas before the second keyframe cannot be decoded.
    let (sinks, camera, recorder, thread, clips) =
        start(&dir.path().join("rec"), Duration::from_secs(60));
    let fed = &encoded[5..];
    for (seq, au) in (5u64..).zip(fed) {
        sinks.take_video(&camera, &video_frame(seq, au));
    }
    wait_handled(&recorder, fed.len() as u64).await;
    let stats = recorder.stats().clone();
    stop(sinks, recorder, thread).await;
    assert_eq!(
        stats.video_skipped.load(Ordering::Relaxed),
        25,
        "deltas before the keyframe"
    );
    assert_eq!(stats.frames_dropped.load(Ordering::Relaxed), 0);

    let files = read_mcap(&segments(&dir.path().join("rec")));
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].message_count, Some(60));
    assert_eq!(files[0].messages.len(), 60);
    let seqs: Vec<u64> = files[0].messages.iter().map(|m| m.sequence).collect();
    assert_eq!(seqs, (30..90).collect::<Vec<u64>>());
    assert_decodes("segment", &files[0].messages, 60, dir.path());

    let clip = clips
        .export("front", Duration::from_secs(60))
        .expect("clip");
    let clip = test_support::mcap_reader::read_mcap_bytes(&clip);
    assert_decodes("clip", &clip.messages, 60, dir.path());
}

/// 1 s segments of a 30 fps lane with a keyframe every 20 frames: every segment ends at a
/// keyframe, so each one's video starts at one and nothing is lost between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_starts_each_segment_at_a_keyframe() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let encoded = encode_h264(
        &Source::new(WIDTH, HEIGHT, 100),
        500,
        20,
        &dir.path().join("au"),
    );
    let rec = dir.path().join("rec");
    let (sinks, camera, recorder, thread, _clips) = start(&rec, Duration::from_secs(1));
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / 30);
    for (seq, au) in (0u64..).zip(&encoded) {
        ticker.tick().await;
        sinks.take_video(&camera, &video_frame(seq, au));
    }
    wait_handled(&recorder, encoded.len() as u64).await;
    let stats = recorder.stats().clone();
    stop(sinks, recorder, thread).await;
    assert_eq!(
        stats.video_skipped.load(Ordering::Relaxed),
        0,
        "nothing lost between segments"
    );
    assert_eq!(stats.frames_dropped.load(Ordering::Relaxed), 0);

    let files = read_mcap(&segments(&rec));
    assert!(
        files.len() >= 3,
        "3.3 s in 1 s segments gave {} files",
        files.len()
    );
    let mut total = 0;
    for (index, file) in files.iter().enumerate() {
        let count = file.messages.len() as u64;
        if index + 1 < files.len() {
            assert_eq!(count % 20, 0, "segment {index} ends between keyframes");
        }
        assert_decodes(
            &format!("segment {index}"),
            &file.messages,
            count,
            dir.path(),
        );
        total += count;
    }
    assert_eq!(total, encoded.len() as u64);
}

/// A lane whose next keyframe does not come (one keyframe in 8 s): the due segment waits
/// `segment::KEYFRAME_WAIT` for it, then ends anyway; the access units after it are skipped
/// until a keyframe, and no file is made for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_waits_for_a_keyframe_only_so_long() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let encoded = encode_h264(
        &Source::new(WIDTH, HEIGHT, 240),
        500,
        300,
        &dir.path().join("au"),
    );
    assert_eq!(encoded.iter().filter(|e| e.keyframe).count(), 1);
    let rec = dir.path().join("rec");
    let (sinks, camera, recorder, thread, _clips) = start(&rec, Duration::from_secs(1));
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / 30);
    for (seq, au) in (0u64..).zip(&encoded) {
        ticker.tick().await;
        sinks.take_video(&camera, &video_frame(seq, au));
    }
    wait_handled(&recorder, encoded.len() as u64).await;
    let skipped = recorder.stats().video_skipped.load(Ordering::Relaxed);
    stop(sinks, recorder, thread).await;

    let files = read_mcap(&segments(&rec));
    assert_eq!(files.len(), 1, "no segment of delta frames alone");
    let written = files[0].messages.len() as u64;
    let waited = (1 + segment::KEYFRAME_WAIT.as_secs()) * 30;
    assert!(
        written >= waited - 30 && skipped > 0,
        "wrote {written} access units (the wait is ~{waited}), skipped {skipped}"
    );
    assert_eq!(written + skipped, encoded.len() as u64);
    assert_decodes(
        "the waiting segment",
        &files[0].messages,
        written,
        dir.path(),
    );
}

//! Round trips through the real `mcap` reader: what is written is one message per frame
//! with log time = capture time, and pruning keeps a directory under its bound.

use super::*;
use bytes::Bytes;
use camera_protocol::frame::Frame;
use camera_protocol::keys::PrefixSet;
use camera_protocol::meta::FrameMeta;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn frame(seq: u64, capture_ts_ns: u64, len: usize) -> Frame {
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.resize(len - 2, seq as u8);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    Frame {
        jpeg: Bytes::from(jpeg),
        meta: FrameMeta {
            seq,
            capture_ts_ns,
            width: 4,
            height: 4,
            generation: 1,
            online: true,
        },
    }
}

/// Camera `id` under the default prefix, named as a gateway watching that prefix names it.
fn named(id: &str) -> CameraName {
    PrefixSet::single(camera_protocol::keys::DEFAULT_PREFIX)
        .and_then(|prefixes| prefixes.name(camera_protocol::keys::DEFAULT_PREFIX, id))
        .expect("valid camera")
}

fn camera(id: &str) -> RecordedCamera {
    RecordedCamera::of(&named(id))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("record-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// (topic, schema name, log time, data) of every message.
fn read_messages(bytes: &[u8]) -> Vec<(String, String, u64, Vec<u8>)> {
    mcap::MessageStream::new(bytes)
        .expect("mcap header")
        .map(|message| {
            let message = message.expect("message");
            let schema = message
                .channel
                .schema
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            (
                message.channel.topic.clone(),
                schema,
                message.log_time,
                message.data.into_owned(),
            )
        })
        .collect()
}

#[test]
fn segment_holds_one_message_per_frame_at_capture_time() {
    let dir = temp_dir("segment");
    let started = UNIX_EPOCH + Duration::from_secs(1_764_104_400);
    let mut segment = segment::Segment::create(&dir.join("front"), started).expect("create");
    let path = segment.path().to_owned();
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("20251125T210000Z.mcap")
    );
    let frames: Vec<Frame> = (0..5)
        .map(|i| frame(i, 1_000_000_000 + i * 33_000_000, 300))
        .collect();
    for frame in &frames {
        segment
            .write(&camera("front"), &Sample::Jpeg(frame.clone()))
            .expect("write");
    }
    segment.finish().expect("finish");
    let messages = read_messages(&std::fs::read(&path).expect("read"));
    assert_eq!(messages.len(), frames.len());
    for (message, frame) in messages.iter().zip(&frames) {
        assert_eq!(message.0, "/camera/front");
        assert_eq!(message.1, proto::SCHEMA_NAME);
        assert_eq!(message.2, frame.meta.capture_ts_ns);
        assert_eq!(
            message.3,
            proto::compressed_image(frame.meta.capture_ts_ns, "front", &frame.jpeg)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A crash after a flush: the file on disk is a complete MCAP holding every flushed frame
/// (a provisional end without summary), which a reader reads linearly.
#[test]
fn flushed_segment_is_readable_without_its_footer() {
    let dir = temp_dir("crash");
    let mut segment = segment::Segment::create(&dir, SystemTime::now()).expect("create");
    let path = segment.path().to_owned();
    assert!(
        read_messages(&std::fs::read(&path).expect("read")).is_empty(),
        "a new segment is an empty MCAP"
    );
    for i in 0..3 {
        segment
            .write(&camera("a"), &Sample::Jpeg(frame(i, 5 + i, 100)))
            .expect("write");
    }
    segment.flush().expect("flush");
    segment
        .write(&camera("a"), &Sample::Jpeg(frame(3, 8, 100)))
        .expect("write, not flushed");
    // A crash: the writer never finishes (leak it so Drop cannot write the footer).
    std::mem::forget(segment);
    let messages = read_messages(&std::fs::read(&path).expect("read"));
    let times: Vec<u64> = messages.iter().map(|m| m.2).collect();
    assert_eq!(times, [5, 6, 7], "the flushed frames, not the one after");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn clip_keeps_the_window_and_exports_mcap() {
    let clips = ClipBuffer::new(Duration::from_secs(2), 1 << 20);
    for i in 0..100u64 {
        clips.push(&camera("front"), frame(i, i * 100_000_000, 200));
    }
    // 2 s window at 10 fps: frames 79..=99 (capture 7.9 s .. 9.9 s).
    let all = read_messages(
        &clips
            .export("front", Duration::from_secs(60))
            .expect("clip"),
    );
    assert_eq!(all.len(), 21);
    assert_eq!(all.first().map(|m| m.2), Some(7_900_000_000));
    let last_second = read_messages(&clips.export("front", Duration::from_secs(1)).expect("clip"));
    assert_eq!(last_second.len(), 11);
    assert!(matches!(
        clips.export("rear", Duration::from_secs(1)),
        Err(ClipError::Empty(_))
    ));
}

#[test]
fn clip_stays_under_its_byte_bound() {
    let clips = ClipBuffer::new(Duration::from_secs(60), 10_000);
    for i in 0..100u64 {
        clips.push(&camera("front"), frame(i, i, 1000));
    }
    let messages = read_messages(
        &clips
            .export("front", Duration::from_secs(60))
            .expect("clip"),
    );
    assert_eq!(messages.len(), 10);
}

#[test]
fn clip_usage_follows_pushes_trims_and_removals() {
    let clips = ClipBuffer::new(Duration::from_secs(2), 10_000);
    assert_eq!(clips.usage(), ClipUsage::default());
    // 10 fps for 5 s: the 2 s window keeps 21 frames of 100 bytes.
    for i in 0..50u64 {
        clips.push(&camera("front"), frame(i, i * 100_000_000, 100));
    }
    let front = ClipUsage {
        bytes: 2100,
        frames: 21,
    };
    assert_eq!(clips.usage(), front);
    // A second camera halves the byte share: 1000-byte frames, at most 5000 bytes each.
    for i in 0..20u64 {
        clips.push(&camera("rear"), frame(i, i, 1000));
    }
    let rear = ClipUsage {
        bytes: 5000,
        frames: 5,
    };
    assert_eq!(
        clips.usage(),
        ClipUsage {
            bytes: front.bytes + rear.bytes,
            frames: front.frames + rear.frames
        }
    );
    clips.remove("front");
    clips.remove("never-seen");
    assert_eq!(clips.usage(), rear);
    // A clock jump backwards restarts the camera's clip: one frame left.
    clips.push(&camera("rear"), frame(99, 0, 1000));
    assert_eq!(
        clips.usage(),
        ClipUsage {
            bytes: 1000,
            frames: 1
        }
    );
}

#[test]
fn clip_bound_holds_for_all_cameras_when_one_stops_sending() {
    let clips = ClipBuffer::new(Duration::from_secs(60), 10_000);
    // Alone, "quiet" may fill the whole budget; then it stops sending (offline).
    for i in 0..20u64 {
        clips.push(&camera("quiet"), frame(i, i, 1000));
    }
    assert_eq!(clips.usage().bytes, 10_000);
    for i in 0..20u64 {
        clips.push(&camera("busy"), frame(i, i, 1000));
        assert!(clips.usage().bytes <= 10_000, "{:?}", clips.usage());
    }
    // Both at their share of 5000 bytes; the quiet camera's newest frames are kept.
    assert_eq!(
        clips.usage(),
        ClipUsage {
            bytes: 10_000,
            frames: 10
        }
    );
    let quiet = read_messages(
        &clips
            .export("quiet", Duration::from_secs(60))
            .expect("clip"),
    );
    assert_eq!(quiet.len(), 5);
    assert_eq!(quiet.first().map(|m| m.2), Some(15));
}

#[test]
fn prune_deletes_oldest_first_but_never_open_segments() {
    let dir = temp_dir("prune");
    let base = UNIX_EPOCH + Duration::from_secs(1_764_104_400);
    let mut paths = Vec::new();
    for (camera, minute) in [("a", 0u64), ("b", 1), ("a", 2), ("b", 3)] {
        let camera_dir = dir.join(camera);
        std::fs::create_dir_all(&camera_dir).expect("dir");
        let path = camera_dir.join(format!(
            "{}.mcap",
            segment::format_start(base + Duration::from_secs(minute * 60))
        ));
        std::fs::write(&path, vec![0u8; 1000]).expect("write");
        paths.push(path);
    }
    std::fs::write(dir.join("a").join("notes.txt"), b"keep me").expect("write");
    let mut segments = prune::Segments::scan(&dir, &[paths[0].clone()]).expect("scan");
    assert_eq!(segments.total(), 3000);
    let deleted = segments
        .shrink(Path::new(""), u64::MAX, 1500)
        .expect("prune");
    assert_eq!(deleted, vec![paths[1].clone(), paths[2].clone()]);
    let now = base + Duration::from_secs(3 * 60 + 30);
    let mut segments = prune::Segments::scan(&dir, &[]).expect("scan");
    let deleted = segments
        .expire(Duration::from_secs(60), now)
        .expect("prune");
    assert_eq!(deleted, vec![paths[0].clone()]);
    assert!(paths[3].exists() && dir.join("a").join("notes.txt").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// Fleet folders (`DIR/<prefix>/<camera>/`) are pruned like single-robot ones
/// (`DIR/<camera>/`), oldest first across both; files directly in `DIR` are not segments.
#[test]
fn prune_finds_segments_in_robot_folders() {
    let dir = temp_dir("prune-fleet");
    let base = UNIX_EPOCH + Duration::from_secs(1_764_104_400);
    let mut paths = Vec::new();
    for (folder, minute) in [
        ("robot1/camera/front", 0u64),
        ("front", 1),
        ("robot2/camera/front", 2),
    ] {
        let camera_dir = dir.join(folder);
        std::fs::create_dir_all(&camera_dir).expect("dir");
        let start = segment::format_start(base + Duration::from_secs(minute * 60));
        let path = camera_dir.join(format!("{start}.mcap"));
        std::fs::write(&path, vec![0u8; 1000]).expect("write");
        paths.push(path);
    }
    let stray = dir.join(format!("{}.mcap", segment::format_start(base)));
    std::fs::write(&stray, vec![0u8; 1000]).expect("write");
    let mut segments = prune::Segments::scan(&dir, &[]).expect("scan");
    let deleted = segments
        .shrink(Path::new(""), u64::MAX, 1500)
        .expect("prune");
    assert_eq!(deleted, paths[..2].to_vec());
    assert!(paths[2].exists() && stray.exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// A camera's folder is cut to its part first (oldest of that folder, even when another
/// folder holds older segments); the total bound then takes the oldest of all.
#[test]
fn prune_keeps_each_camera_within_its_part() {
    let dir = temp_dir("prune-share");
    let base = UNIX_EPOCH + Duration::from_secs(1_764_104_400);
    let mut paths = Vec::new();
    for (camera, minute) in [("a", 0u64), ("b", 1), ("b", 2), ("b", 3), ("a", 4)] {
        let camera_dir = dir.join(camera);
        std::fs::create_dir_all(&camera_dir).expect("dir");
        let start = segment::format_start(base + Duration::from_secs(minute * 60));
        let path = camera_dir.join(format!("{start}.mcap"));
        std::fs::write(&path, vec![0u8; 1000]).expect("write");
        paths.push(path);
    }
    let mut segments = prune::Segments::scan(&dir, &[]).expect("scan");
    let deleted = segments
        .shrink(&dir.join("b"), 1000, u64::MAX)
        .expect("prune");
    assert_eq!(deleted, paths[1..3].to_vec());
    assert_eq!(segments.of_folder(&dir.join("a")), 2000);
    assert_eq!(segments.of_folder(&dir.join("b")), 1000);
    let deleted = segments.shrink(&dir.join("b"), 1000, 2000).expect("prune");
    assert_eq!(deleted, vec![paths[0].clone()]);
    assert_eq!(segments.total(), 2000);
    let _ = std::fs::remove_dir_all(dir);
}

//! A lane's group of pictures and broadcast: what joiners and laggards read.

use super::*;
use camera_protocol::video::{KeyInfo, VideoMeta};
use camera_protocol::FrameMeta;
use std::time::Duration;

fn unit(seq: u64, keyframe: bool, bytes: usize) -> Arc<Unit> {
    let key = keyframe.then(|| KeyInfo {
        codec: "avc1.42C01F".into(),
        parameter_sets: Bytes::from_static(&[0, 0, 0, 1, 0x67]),
    });
    let frame = FrameMeta {
        seq,
        capture_ts_ns: 1,
        width: 64,
        height: 48,
        generation: 1,
        online: true,
    };
    let au = Bytes::from(vec![0u8; bytes]);
    Arc::new(Unit::new(
        VideoFrame {
            au,
            meta: VideoMeta { frame, key },
        },
        seq,
    ))
}

fn lane() -> Arc<Lane> {
    Arc::new(Lane {
        gop: Mutex::default(),
        units: broadcast::channel(BACKLOG_UNITS).0,
        keyframe: Notify::new(),
    })
}

async fn next_seq(feed: &mut VideoFeed) -> u64 {
    let unit = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .expect("a unit within 5 s")
        .expect("lane open");
    unit.frame.meta.frame.seq
}

#[tokio::test]
async fn a_joiner_gets_the_group_of_pictures_then_every_unit() {
    let lane = lane();
    lane.publish(unit(0, false, 10)); // before any keyframe: never replayed
    lane.publish(unit(1, true, 10));
    lane.publish(unit(2, false, 10));
    let mut feed = lane.feed("main");
    lane.publish(unit(3, false, 10));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_seq(&mut feed).await);
    }
    assert_eq!(got, [1, 2, 3]);
    lane.publish(unit(4, true, 10));
    let late = lane.feed("main");
    assert_eq!(
        late.backlog
            .iter()
            .map(|u| u.frame.meta.frame.seq)
            .collect::<Vec<_>>(),
        [4],
        "a keyframe starts a new group"
    );
}

#[tokio::test]
async fn a_joiner_without_a_keyframe_asks_for_one_and_skips_deltas() {
    let lane = lane();
    let mut feed = lane.feed("main");
    tokio::time::timeout(Duration::from_secs(5), lane.keyframe.notified())
        .await
        .expect("a keyframe request");
    lane.publish(unit(5, false, 10));
    lane.publish(unit(6, true, 10));
    assert_eq!(
        next_seq(&mut feed).await,
        6,
        "deltas before the keyframe skipped"
    );
}

#[tokio::test]
async fn a_client_that_falls_behind_resumes_at_a_keyframe() {
    let lane = lane();
    lane.publish(unit(0, true, 10));
    let mut feed = lane.feed("main");
    assert_eq!(next_seq(&mut feed).await, 0);
    for seq in 1..=(BACKLOG_UNITS as u64 + 10) {
        lane.publish(unit(seq, false, 10));
    }
    let key = BACKLOG_UNITS as u64 + 11;
    lane.publish(unit(key, true, 10));
    lane.publish(unit(key + 1, false, 10));
    assert_eq!(
        next_seq(&mut feed).await,
        key,
        "lagged: on at the next keyframe"
    );
    assert_eq!(next_seq(&mut feed).await, key + 1);
    tokio::time::timeout(Duration::from_secs(5), lane.keyframe.notified())
        .await
        .expect("the lag asked for a keyframe");
}

#[test]
fn the_group_kept_for_joiners_is_bounded() {
    let lane = lane();
    lane.publish(unit(0, true, MAX_GOP_BYTES / 2));
    lane.publish(unit(1, false, MAX_GOP_BYTES / 2 + 1));
    assert!(
        lane.gop.lock().expect("lock").units.is_empty(),
        "over the byte bound: dropped"
    );
    lane.publish(unit(2, true, 1));
    for seq in 3..(3 + MAX_GOP_UNITS as u64) {
        lane.publish(unit(seq, false, 1));
    }
    assert!(
        lane.gop.lock().expect("lock").units.is_empty(),
        "over the unit bound: dropped"
    );
}

#[test]
fn ws_messages_carry_the_flag_the_id_the_attachment_and_the_unit() {
    let unit = unit(9, true, 3);
    let message = unit.ws_message("front");
    let attachment = unit.frame.meta.encode();
    assert_eq!(message[0], WS_VIDEO_FLAG | 5);
    assert_eq!(&message[1..6], b"front");
    let len = usize::from(u16::from_le_bytes([message[6], message[7]]));
    assert_eq!(&message[8..8 + len], &attachment[..]);
    assert_eq!(&message[8 + len..], &[0, 0, 0]);
    assert_eq!(
        VideoMeta::decode(&message[8..8 + len]).expect("decodes"),
        unit.frame.meta
    );
}

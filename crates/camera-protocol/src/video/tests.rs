//! The lane's wire format against access units real encoders made (x264 baseline and high,
//! OpenH264, a size that needs cropping; `testdata/`, made with gst-launch-1.0).

use super::h264::{self, nal, H264Error};
use super::*;

const KEY_64X48: &[u8] = include_bytes!("testdata/64x48-0.h264");
const DELTA_64X48: &[u8] = include_bytes!("testdata/64x48-1.h264");
const KEY_96X54: &[u8] = include_bytes!("testdata/96x54-0.h264");
const KEY_HIGH: &[u8] = include_bytes!("testdata/high-0.h264");
const KEY_OPENH264: &[u8] = include_bytes!("testdata/oh-0.h264");

fn meta(width: u32, height: u32) -> FrameMeta {
    FrameMeta {
        seq: 7,
        capture_ts_ns: 1_700_000_000_000_000_000,
        width,
        height,
        generation: 2,
        online: true,
    }
}

fn sps_of(au: &[u8]) -> h264::Sps {
    let units = h264::nal_units(au).expect("Annex B");
    let sps = units
        .iter()
        .find(|u| h264::nal_type(u) == nal::SPS)
        .expect("an SPS");
    h264::parse_sps(sps).expect("a readable SPS")
}

#[test]
fn sps_gives_the_size_and_codec_of_every_encoder() {
    let cases = [
        (KEY_64X48, 64, 48, "avc1.42C015"),
        (KEY_96X54, 96, 54, "avc1.42C015"),
        (KEY_OPENH264, 64, 48, "avc1.42D00B"),
    ];
    for (au, width, height, codec) in cases {
        let sps = sps_of(au);
        assert_eq!((sps.width, sps.height), (width, height));
        assert_eq!(sps.codec, codec);
    }
    let high = sps_of(KEY_HIGH);
    assert_eq!((high.width, high.height), (64, 48));
    assert!(high.codec.starts_with("avc1.64"), "{}", high.codec);
}

#[test]
fn nal_units_split_at_three_and_four_byte_start_codes() {
    let au = [
        0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x41, 0xbb,
    ];
    let units = h264::nal_units(&au).expect("three units");
    assert_eq!(
        units,
        vec![&[0x09, 0x10][..], &[0x65, 0xaa][..], &[0x41, 0xbb][..]]
    );
    assert_eq!(
        h264::nal_units(&[0x65, 0, 0, 1]),
        Err(H264Error::NoStartCode)
    );
    assert_eq!(
        h264::nal_units(&[0, 0, 1, 0, 0, 1, 0x65]),
        Err(H264Error::EmptyNal)
    );
    assert_eq!(
        h264::nal_units(&[0, 0, 1, 0xe5]),
        Err(H264Error::ForbiddenBit)
    );
}

#[test]
fn attachment_round_trips_keyframes_and_deltas() {
    let key =
        VideoFrame::encoded(Bytes::from_static(KEY_64X48), meta(64, 48), true).expect("valid");
    let info = key.meta.key.as_ref().expect("a keyframe carries its codec");
    assert_eq!(info.codec, "avc1.42C015");
    assert!(info.parameter_sets.starts_with(&[0, 0, 0, 1, 0x67]));
    let encoded = key.meta.encode();
    assert_eq!(VideoMeta::decode(&encoded), Ok(key.meta.clone()));

    let delta =
        VideoFrame::encoded(Bytes::from_static(DELTA_64X48), meta(64, 48), false).expect("valid");
    let encoded = delta.meta.encode();
    assert_eq!(encoded.len(), ENCODED_LEN + 2);
    assert_eq!(VideoMeta::decode(&encoded), Ok(delta.meta));
}

#[test]
fn received_units_pass_every_check() {
    let limits = FrameLimits::default();
    for (au, keyframe) in [(KEY_64X48, true), (DELTA_64X48, false)] {
        let sent =
            VideoFrame::encoded(Bytes::from_static(au), meta(64, 48), keyframe).expect("valid");
        let got = VideoFrame::validated(sent.au.clone(), Some(&sent.meta.encode()), &limits);
        assert_eq!(got, Ok(sent));
    }
}

#[test]
fn lies_and_damage_are_refused_with_their_reason() {
    let limits = FrameLimits::default();
    let key =
        VideoFrame::encoded(Bytes::from_static(KEY_64X48), meta(64, 48), true).expect("valid");
    let attachment = key.meta.encode();
    let refused = |au: &[u8], attachment: &[u8], limits: &FrameLimits| {
        VideoFrame::validated(Bytes::copy_from_slice(au), Some(attachment), limits)
            .expect_err("refused")
            .reason()
    };
    // A keyframe declared at another size.
    let mut bigger = key.meta.clone();
    bigger.frame.width = 640;
    assert_eq!(
        refused(KEY_64X48, &bigger.encode(), &limits),
        "size_mismatch"
    );
    // A keyframe sent as a delta, and a delta sent as a keyframe.
    let delta_meta = VideoMeta {
        frame: meta(64, 48),
        key: None,
    };
    assert_eq!(
        refused(KEY_64X48, &delta_meta.encode(), &limits),
        "bad_h264"
    );
    assert_eq!(refused(DELTA_64X48, &attachment, &limits), "bad_h264");
    // Over the byte and pixel caps.
    let small = FrameLimits {
        max_frame_bytes: 100,
        ..limits
    };
    assert_eq!(refused(KEY_64X48, &attachment, &small), "too_large");
    let narrow = FrameLimits {
        max_width: 32,
        ..limits
    };
    assert_eq!(refused(KEY_64X48, &attachment, &narrow), "too_many_pixels");
    // Not Annex B at all, and attachments cut short or padded.
    assert_eq!(
        refused(b"\xff\xd8 a jpeg", &attachment, &limits),
        "bad_h264"
    );
    assert_eq!(
        refused(KEY_64X48, &attachment[..attachment.len() - 1], &limits),
        "bad_attachment"
    );
    let mut padded = attachment.clone();
    padded.push(0);
    assert_eq!(refused(KEY_64X48, &padded, &limits), "bad_attachment");
    assert_eq!(
        refused(KEY_64X48, &attachment[..ENCODED_LEN], &limits),
        "bad_attachment"
    );
    let missing = VideoFrame::validated(Bytes::from_static(KEY_64X48), None, &limits);
    assert_eq!(missing.map_err(|e| e.reason()), Err("bad_attachment"));
}

#[test]
fn truncated_and_random_sps_bytes_give_errors_not_panics() {
    let units = h264::nal_units(KEY_HIGH).expect("valid");
    let sps = units
        .iter()
        .find(|u| h264::nal_type(u) == nal::SPS)
        .expect("valid");
    for end in 1..sps.len() {
        let _ = h264::parse_sps(&sps[..end]);
    }
    let mut state = 0x2545_f491_u32;
    for _ in 0..2000 {
        let mut bytes = vec![0x67];
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            bytes.push(state as u8);
        }
        if let Ok(sps) = h264::parse_sps(&bytes) {
            assert!(sps.width <= 1024 * 16 && sps.height <= 1024 * 32);
        }
    }
}

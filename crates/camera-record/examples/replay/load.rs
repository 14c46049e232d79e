//! Reading a recording for the replay: one camera's `foxglove.CompressedImage` (JPEG) and
//! `foxglove.CompressedVideo` (H.264) messages, checked, merged in log-time order. The video
//! starts at its first keyframe; its size and codec come from the keyframes' SPS.

use anyhow::{bail, Context};
use bytes::Bytes;
use camera_protocol::jpeg_dimensions;
use camera_protocol::video::h264::{nal, nal_type, nal_units, parse_sps};
use camera_record::{mcap_file, proto};
use std::path::Path;

/// Recordings larger than this are refused (the file is read into memory).
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// One recorded message of either kind.
#[derive(Debug)]
pub enum Payload {
    Jpeg(Bytes),
    Video { au: Bytes, keyframe: bool },
}

#[derive(Debug)]
pub struct Recorded {
    pub payload: Payload,
    pub width: u32,
    pub height: u32,
    pub log_time_ns: u64,
}

/// What the `/info` document says about the replayed H.264 lane, measured from the file.
#[derive(Debug)]
pub struct VideoSummary {
    pub topic: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// Most access units from one keyframe to the next.
    pub keyframe_interval: u32,
}

#[derive(Debug)]
pub struct Loaded {
    pub image_topic: Option<String>,
    pub video: Option<VideoSummary>,
    /// Both kinds, in log-time order.
    pub samples: Vec<Recorded>,
}

/// Reads `file`: the image channel `wanted` (default: the first) and the video channel
/// `wanted` or `wanted` + `/h264` (default: the first).
pub fn load(file: &Path, wanted: Option<&str>) -> anyhow::Result<Loaded> {
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
    let mut image_topic: Option<String> = wanted.map(str::to_owned);
    let mut video_topic: Option<String> = None;
    let mut samples = Vec::new();
    let mut video = Vec::new();
    for message in messages {
        let message = match message {
            Ok(message) => message,
            Err(error) if !samples.is_empty() || !video.is_empty() => {
                tracing::warn!(%error, "recording ends early (cut short?); playing what was read");
                break;
            }
            Err(error) => return Err(error).context("cannot read the recording"),
        };
        let schema = message.channel.schema.as_ref().map(|s| s.name.as_str());
        let topic = &message.channel.topic;
        let at = || format!("message {} of {topic}", message.sequence);
        if schema == Some(proto::SCHEMA_NAME) {
            if *image_topic.get_or_insert_with(|| topic.clone()) != *topic {
                continue;
            }
            let image = proto::decode_compressed_image(&message.data).with_context(at)?;
            if image.format != "jpeg" {
                bail!(
                    "{topic} holds {:?} images; only jpeg can be published",
                    image.format
                );
            }
            let (width, height) = jpeg_dimensions(image.data)
                .with_context(|| format!("{} is not a usable JPEG", at()))?;
            samples.push(Recorded {
                payload: Payload::Jpeg(Bytes::copy_from_slice(image.data)),
                width,
                height,
                log_time_ns: message.log_time,
            });
        } else if schema == Some(proto::VIDEO_SCHEMA_NAME) {
            let ours = match (wanted, &video_topic) {
                (Some(wanted), _) => topic == wanted || *topic == mcap_file::video_topic(wanted),
                (None, Some(first)) => topic == first,
                (None, None) => true,
            };
            if !ours {
                continue;
            }
            video_topic.get_or_insert_with(|| topic.clone());
            let decoded = proto::decode_compressed_video(&message.data).with_context(at)?;
            if decoded.format != proto::VIDEO_FORMAT {
                bail!(
                    "{topic} holds {:?} video; only h264 can be published",
                    decoded.format
                );
            }
            video.push((message.log_time, Bytes::copy_from_slice(decoded.data)));
        }
    }
    let summary = match video_topic {
        Some(topic) => video_samples(topic, video, &mut samples)?,
        None => None,
    };
    if samples.is_empty() {
        bail!(
            "{} holds no foxglove.CompressedImage frames nor H.264 keyframes{}",
            file.display(),
            wanted.map(|t| format!(" on {t}")).unwrap_or_default()
        );
    }
    // Stable: each kind keeps its own order among equal log times.
    samples.sort_by_key(|sample| sample.log_time_ns);
    let image_topic = image_topic.filter(|_| {
        samples
            .iter()
            .any(|s| matches!(s.payload, Payload::Jpeg(_)))
    });
    Ok(Loaded {
        image_topic,
        video: summary,
        samples,
    })
}

/// Adds the access units from the first keyframe on to `samples`, and measures the lane.
fn video_samples(
    topic: String,
    mut video: Vec<(u64, Bytes)>,
    samples: &mut Vec<Recorded>,
) -> anyhow::Result<Option<VideoSummary>> {
    video.sort_by_key(|(log_time, _)| *log_time);
    let (mut size, mut codec, mut skipped) = (None, String::new(), 0usize);
    let (mut count, mut bytes, mut since_key, mut longest) = (0u64, 0u64, 0u32, 0u32);
    let (mut first, mut last) = (None, 0u64);
    for (log_time, au) in video {
        let units =
            nal_units(&au).with_context(|| format!("{topic}: access unit at {log_time}"))?;
        let keyframe = units.iter().any(|unit| nal_type(unit) == nal::IDR);
        if keyframe {
            let sps = units
                .iter()
                .find(|unit| nal_type(unit) == nal::SPS)
                .with_context(|| format!("{topic}: keyframe at {log_time} has no SPS"))?;
            if !units.iter().any(|unit| nal_type(unit) == nal::PPS) {
                bail!("{topic}: keyframe at {log_time} has no PPS");
            }
            let sps = parse_sps(sps).with_context(|| format!("{topic}: keyframe at {log_time}"))?;
            size = Some((sps.width, sps.height));
            codec = sps.codec;
            since_key = 0;
        }
        let Some((width, height)) = size else {
            skipped += 1;
            continue;
        };
        since_key += 1;
        longest = longest.max(since_key);
        count += 1;
        bytes += au.len() as u64;
        first.get_or_insert(log_time);
        last = log_time;
        samples.push(Recorded {
            payload: Payload::Video { au, keyframe },
            width,
            height,
            log_time_ns: log_time,
        });
    }
    if skipped > 0 {
        tracing::warn!(%topic, skipped, "access units before the first keyframe are left out");
    }
    let Some(((width, height), first)) = size.zip(first) else {
        return Ok(None);
    };
    let seconds = (last - first) as f64 / 1e9;
    let per_second = |total: f64| {
        if seconds > 0.0 {
            (total / seconds).round() as u32
        } else {
            0
        }
    };
    Ok(Some(VideoSummary {
        topic,
        codec,
        width,
        height,
        fps: per_second(count.saturating_sub(1) as f64),
        bitrate_kbps: per_second(bytes as f64 * 8.0 / 1000.0),
        keyframe_interval: longest,
    }))
}

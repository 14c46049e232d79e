//! Recording camera frames as MCAP (feature `record`, no GStreamer): segment files on disk,
//! an in-memory clip buffer, and the `foxglove.CompressedImage` encoding both use.
//!
//! Any process with a zenoh session can record: [`run`] subscribes to every camera under a
//! prefix and feeds a [`Recorder`] (segments `DIR/<camera>/<UTC start>.mcap`, rotated and
//! pruned) and/or a [`ClipBuffer`]. Each frame is one message on `/<prefix>/<camera>` whose log
//! time is the frame's capture time. Layout of the messages: [`proto`].

pub mod clip;
pub mod keep;
pub mod mcap_file;
pub mod proto;
pub mod prune;
pub mod recorder;
pub mod segment;

pub use clip::{ClipBuffer, ClipError, ClipUsage};
pub use keep::Keep;
pub use mcap_file::FrameMcap;
pub use recorder::{RecordSettings, RecordStats, Recorder};

use crate::subscriber::{Cameras, FrameSubscriber, SubscribeError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Samples buffered between zenoh and the recorder: recording wants every frame, so this is
/// larger than a viewer's ring (which only wants the newest).
const RING_FRAMES: usize = 64;

/// Where received frames go.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    pub recorder: Option<Recorder>,
    pub clips: Option<Arc<ClipBuffer>>,
}

/// Subscribes to every camera under `prefix` and hands each valid live frame to `sinks`
/// until `cancel` fires. Invalid samples are skipped (the gateway counts and logs them).
pub async fn run(
    session: &zenoh::Session,
    prefix: &str,
    sinks: Sinks,
    max_frame_bytes: usize,
    cancel: CancellationToken,
) -> Result<(), SubscribeError> {
    let subscriber = FrameSubscriber::declare(session, prefix, Cameras::All, RING_FRAMES).await?;
    // One shared name per camera instead of a String per frame.
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            received = subscriber.recv() => match received {
                Some(received) => received,
                None => return Ok(()),
            },
        };
        let Ok(frame) = received.frame else { continue };
        if !frame.meta.online || frame.jpeg.len() > max_frame_bytes {
            continue;
        }
        if names.len() >= crate::record::MAX_CAMERAS && !names.contains_key(&received.camera) {
            continue;
        }
        let camera = names
            .entry(received.camera)
            .or_insert_with_key(|id| Arc::from(id.as_str()))
            .clone();
        if let Some(clips) = &sinks.clips {
            clips.push(&camera, frame.clone());
        }
        if let Some(recorder) = &sinks.recorder {
            recorder.record(&camera, frame);
        }
    }
}

/// Most cameras one recorder keeps apart; frames of further cameras are ignored, so junk
/// camera ids cannot create unbounded files and buffers.
pub const MAX_CAMERAS: usize = 256;

#[cfg(test)]
mod tests;

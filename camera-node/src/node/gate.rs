//! The gate in front of an encoded branch (JPEG variant or H.264 lane): a pad probe on the
//! branch's queue that drops every raw frame while nobody subscribes to the branch's key, and
//! frames beyond its fps cap. In the probe, not in the publisher, so an unwatched branch
//! neither scales nor encodes, for NVMM buffers on a Jetson as well as in system memory.

use gstreamer as gst;
use gstreamer::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Whether raw frames enter one branch; shared by its probe and its publisher task.
#[derive(Debug)]
pub struct Gate {
    /// At most this many frames per second; `None`: every frame.
    fps: Option<u32>,
    /// Someone subscribes to the branch's key (its publisher's matching status).
    wanted: AtomicBool,
    /// PTS (ns) of the last raw frame let through, for the fps cap.
    last_pts: AtomicU64,
}

impl Gate {
    pub fn new(fps: Option<u32>, wanted: bool) -> Self {
        Self {
            fps,
            wanted: AtomicBool::new(wanted),
            last_pts: AtomicU64::new(u64::MAX),
        }
    }

    pub fn set_wanted(&self, wanted: bool) {
        self.wanted.store(wanted, Ordering::Relaxed);
    }

    pub fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed)
    }

    /// Puts the probe on `pad` (the branch queue's sink pad) of a freshly built pipeline.
    pub fn install(self: &Arc<Self>, pad: &gst::Pad) {
        self.last_pts.store(u64::MAX, Ordering::Relaxed);
        let gate = self.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else {
                return gst::PadProbeReturn::Ok;
            };
            if gate.admits(buffer.pts().map(gst::ClockTime::nseconds)) {
                gst::PadProbeReturn::Ok
            } else {
                // `Handled`, not `Drop`: gstreamer-rs has already taken the buffer out of the
                // probe info (and unrefs it here), and GStreamer before 1.24.8 then unrefs the
                // NULL left behind on `Drop`, logging a CRITICAL for every gated-off frame.
                gst::PadProbeReturn::Handled
            }
        });
    }

    /// Whether a raw frame with this PTS goes into the branch: only while subscribed, and at
    /// most `fps` per second by PTS (a 10 % margin absorbs capture jitter).
    pub fn admits(&self, pts_ns: Option<u64>) -> bool {
        if !self.wanted() {
            return false;
        }
        let (Some(cap), Some(pts)) = (self.fps, pts_ns) else {
            return true;
        };
        let interval = 900_000_000 / u64::from(cap);
        let last = self.last_pts.load(Ordering::Relaxed);
        if last != u64::MAX && pts >= last && pts - last < interval {
            return false;
        }
        self.last_pts.store(pts, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_unwanted_and_caps_fps() {
        let gate = Gate::new(Some(10), false);
        assert!(!gate.admits(Some(0)), "admitted while nobody subscribes");
        gate.set_wanted(true);
        // 30 fps input, 10 fps cap: every third frame.
        let admitted = (0..30u64)
            .filter(|i| gate.admits(Some(i * 33_333_333)))
            .count();
        assert_eq!(admitted, 10);
        let uncapped = Gate::new(None, true);
        assert!((0..30u64).all(|i| uncapped.admits(Some(i * 33_333_333))));
    }
}

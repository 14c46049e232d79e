//! What a feed's latest-frame slot holds: the newest frame, the one before it, and when the
//! gateway took each from zenoh.
//!
//! A slot keeps two frames, not one, because frames arrive in bursts: a robot link (a Wi-Fi
//! hop, a TCP proxy) often delivers two frames together, and the second replaced the first
//! before any client woke to see it, so every viewer lost a frame a fast client could take
//! (24.5 of 30 fps behind the link proxy, docs/benchmarks.md). A reader that sent `before`'s
//! predecessor sends both; a slow reader still skips to the newest.

use camera_protocol::Frame;
use std::sync::Arc;
use tokio::sync::watch;

/// A frame and when the gateway got it (ns since the Unix epoch): for a camera's frames when
/// its task took the sample from zenoh, for frames the gateway makes (variants, NO SIGNAL)
/// when their source frame arrived or when they were drawn.
#[derive(Debug, Clone)]
pub struct Shown {
    pub frame: Arc<Frame>,
    pub received_ns: u64,
}

/// The slot's value: `None` until the feed's first frame.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    pub newest: Option<Shown>,
    pub before: Option<Shown>,
}

impl Latest {
    /// The newest frame.
    pub fn frame(&self) -> Option<Arc<Frame>> {
        self.newest.as_ref().map(|shown| shown.frame.clone())
    }

    /// What a reader that last sent `last` has not sent: the newest frame, preceded by
    /// `before` when that one comes right after `last` (a burst of two arrived while the
    /// reader waited). A reader that fell further behind (slow, or capped by `?fps=`) gets the
    /// newest alone, as does a reader's first frame (`last` is `None`).
    pub fn since(&self, last: Option<&Arc<Frame>>) -> impl Iterator<Item = &Shown> {
        let newest = self
            .newest
            .as_ref()
            .filter(|newest| last.is_none_or(|last| !Arc::ptr_eq(last, &newest.frame)));
        let before = self.before.as_ref().filter(|before| {
            newest.is_some() && last.is_some_and(|last| follows(&before.frame, last))
        });
        before.into_iter().chain(newest)
    }

    /// What a reader sends now: [`Self::since`], or for a reader capped by `?fps=` the newest
    /// frame alone (when it is not `last`).
    pub fn to_send(&self, last: Option<&Arc<Frame>>, capped: bool) -> Vec<&Shown> {
        match capped {
            true => self.since(last).last().into_iter().collect(),
            false => self.since(last).collect(),
        }
    }
}

/// `frame` is the one published right after `last` (same node run, next sequence number).
fn follows(frame: &Frame, last: &Frame) -> bool {
    frame.meta.generation == last.meta.generation && frame.meta.seq == last.meta.seq.wrapping_add(1)
}

/// The receiving end clients hold.
pub type Slot = watch::Receiver<Latest>;

/// The sending end a feed's owner holds.
pub type SlotSender = watch::Sender<Latest>;

/// Makes `frame` the newest of `slot`, the previous newest its `before`.
pub fn show(slot: &SlotSender, frame: Arc<Frame>, received_ns: u64) {
    slot.send_modify(|latest| {
        latest.before = latest.newest.take();
        latest.newest = Some(Shown { frame, received_ns });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use camera_protocol::FrameMeta;

    fn frame(seq: u64) -> Arc<Frame> {
        let meta = FrameMeta {
            seq,
            capture_ts_ns: 1,
            width: 2,
            height: 2,
            generation: 1,
            online: true,
        };
        Arc::new(Frame {
            jpeg: Bytes::new(),
            meta,
        })
    }

    fn seqs<'a>(shown: impl Iterator<Item = &'a Shown>) -> Vec<u64> {
        shown.map(|shown| shown.frame.meta.seq).collect()
    }

    #[test]
    fn a_burst_of_two_reaches_a_reader_that_sent_the_frame_before_it() {
        let slot = SlotSender::new(Latest::default());
        let (one, two, three) = (frame(1), frame(2), frame(3));
        show(&slot, one.clone(), 10);
        // A new reader starts with the newest frame only.
        assert_eq!(seqs(slot.borrow().since(None)), vec![1]);
        show(&slot, two.clone(), 20);
        show(&slot, three.clone(), 30);
        let latest = slot.borrow().clone();
        assert_eq!(seqs(latest.since(Some(&one))), vec![2, 3], "burst kept");
        assert_eq!(seqs(latest.since(Some(&two))), vec![3]);
        assert_eq!(seqs(latest.since(Some(&three))), Vec::<u64>::new());
        // A reader that fell behind before the burst skips to the newest.
        assert_eq!(seqs(latest.since(Some(&frame(0)))), vec![3]);
        assert_eq!(latest.newest.as_ref().map(|s| s.received_ns), Some(30));
    }
}

//! The gateway-wide cap on encoders for `?width=`/`?height=`/`?quality=` (`[variants]
//! max_total`): each camera's feed registry (`feeds.rs`) takes a slot per encoder it
//! starts and gives it back when the encoder stops, so all cameras' requests together cannot
//! buy more CPU than the cap; `gateway_variant_encoders` follows the count.

use crate::metrics::Metrics;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Gateway-encoded variants running across all cameras: at most `max`, so that requests
/// cannot buy CPU. Shared by every camera task; a slot is held by its encoder's feed.
#[derive(Debug)]
pub struct EncoderBudget {
    max: usize,
    used: AtomicUsize,
    metrics: Arc<Metrics>,
}

impl EncoderBudget {
    pub fn new(max: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicUsize::new(0),
            metrics,
        })
    }

    pub(super) fn take(self: &Arc<Self>) -> Option<EncoderSlot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.max).then_some(used + 1)
            })
            .ok()?;
        self.metrics.variant_encoder_started();
        Some(EncoderSlot(self.clone()))
    }
}

/// One running encoder's share of the [`EncoderBudget`], given back on drop.
#[derive(Debug)]
pub(super) struct EncoderSlot(Arc<EncoderBudget>);

impl Drop for EncoderSlot {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.variant_encoder_stopped();
    }
}

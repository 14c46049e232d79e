//! How many `clip.mcap` downloads stream at once: at most `record.clip_exports` in total and
//! `record.clip_exports_per_client` per client address, so that repeated or slow downloads
//! cannot multiply the gateway's memory and CPU (docs/security.md). A slot is held until its
//! download ends or its client goes away; the refusal is cheap (no frame is touched).

use crate::error::ApiError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Retry-After of a refused download: a clip of a fast link takes about this long.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The slots of one gateway.
#[derive(Debug)]
pub struct ClipSlots {
    total: usize,
    per_client: usize,
    /// Downloads in progress per client address (an entry only while it holds one).
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl ClipSlots {
    pub fn new(total: usize, per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_client,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `client`, or 429 (its own downloads are at the limit) or 503 (everyone's).
    pub fn take(self: &Arc<Self>, client: IpAddr) -> Result<ClipSlot, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = held.get(&client).copied().unwrap_or(0);
        if mine >= self.per_client {
            return Err(ApiError::ClipsBusy {
                per_client: true,
                max: self.per_client,
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        if held.values().sum::<usize>() >= self.total {
            return Err(ApiError::ClipsBusy {
                per_client: false,
                max: self.total,
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        held.insert(client, mine + 1);
        Ok(ClipSlot {
            slots: self.clone(),
            client,
        })
    }

    /// Downloads in progress.
    pub fn in_use(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.values().sum()
    }
}

/// One download in progress; dropping it frees the slot.
#[derive(Debug)]
pub struct ClipSlot {
    slots: Arc<ClipSlots>,
    client: IpAddr,
}

impl Drop for ClipSlot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let std::collections::hash_map::Entry::Occupied(mut entry) = held.entry(self.client) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn limits_each_client_and_everyone() {
        let slots = ClipSlots::new(3, 2);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().expect("ip"),
            "192.0.2.2".parse().expect("ip"),
            "192.0.2.3".parse().expect("ip"),
        );
        let first = slots.take(a).expect("a's first");
        let _second = slots.take(a).expect("a's second");
        let refused = slots.take(a).expect_err("a's third");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let _b = slots.take(b).expect("b's first");
        let refused = slots.take(c).expect_err("all in use");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(first);
        assert_eq!(slots.in_use(), 2);
        let _c = slots.take(c).expect("a slot was freed");
    }
}

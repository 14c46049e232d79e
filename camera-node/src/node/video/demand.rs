//! Whether any H.264 lane has a subscriber, for `on_demand`: a lane watched alone keeps the
//! camera running, as the JPEG frames' subscribers do. Each lane's task reports its own
//! changes; the count turns them into one "any" that `on_demand.rs` watches.

use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::watch;

/// The count of watched lanes and its "any" as a watch channel.
#[derive(Debug)]
pub struct LaneDemand {
    watched: AtomicUsize,
    any: watch::Sender<bool>,
}

impl Default for LaneDemand {
    fn default() -> Self {
        Self {
            watched: AtomicUsize::new(0),
            any: watch::Sender::new(false),
        }
    }
}

impl LaneDemand {
    /// One lane became watched (`true`) or unwatched; call only on a change of that lane.
    pub fn lane_changed(&self, watched: bool) {
        let now = if watched {
            self.watched.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.watched
                .fetch_sub(1, Ordering::Relaxed)
                .saturating_sub(1)
        };
        // send_replace: the value must update even with no receiver waiting.
        self.any.send_replace(now > 0);
    }

    pub fn watch(&self) -> watch::Receiver<bool> {
        self.any.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_lane_watched_is_demand() {
        let demand = LaneDemand::default();
        let rx = demand.watch();
        demand.lane_changed(true);
        demand.lane_changed(true);
        demand.lane_changed(false);
        assert!(*rx.borrow(), "one of two lanes still watched");
        demand.lane_changed(false);
        assert!(!*rx.borrow());
    }
}

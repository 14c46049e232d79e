//! The camera task's online/offline decision, its NO SIGNAL picture, and when an offline,
//! unwatched camera asks to be forgotten.

use super::{CameraTask, Outcome};
use crate::camera::node_variants;
use crate::camera::nosignal;
use crate::camera::slot;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{Frame, FrameMeta};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

impl CameraTask {
    pub(super) fn came_online(&mut self, why: &str) {
        self.online_at = Instant::now();
        if self.online {
            return;
        }
        self.online = true;
        self.offline_since = None;
        self.no_signal = None;
        self.no_signal_at = None;
        if let Some(repeats) = self.env.events.hit(&self.id, "online") {
            tracing::info!(camera = %self.id, %repeats, "{why}: camera online");
        }
    }

    pub(super) fn went_offline(&mut self, why: &str) {
        if !self.online {
            return;
        }
        self.online = false;
        let since = SystemTime::now();
        self.offline_since = Some(since);
        if let Some(repeats) = self.env.events.hit(&self.id, "offline") {
            tracing::warn!(camera = %self.id, %repeats, "{why}: camera offline");
        }
        // A camera that never sent a frame has no size to draw at: its viewers keep waiting.
        let Some(last) = &self.last_live else { return };
        let (id, full) = (self.id.clone(), (last.meta.width, last.meta.height));
        let sizes = self
            .info
            .as_deref()
            .map(node_variants::offered_sizes)
            .unwrap_or_default();
        self.jobs.spawn(async move {
            let drawn = tokio::task::spawn_blocking(move || {
                nosignal::Pictures::render(&id, since, full, &sizes)
            })
            .await;
            let jpeg = match drawn {
                Ok(drawn) => drawn.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            Outcome::NoSignal { since, jpeg }
        });
    }

    /// Re-sends the NO SIGNAL picture, stamped now, so that open streams visibly stay alive.
    pub(super) fn show_no_signal(&mut self, now: Instant) {
        self.no_signal_at = None;
        let (Some(pictures), Some(last)) = (&self.no_signal, &self.last_live) else {
            return;
        };
        let meta = FrameMeta {
            capture_ts_ns: unix_now_ns(),
            online: false,
            ..last.meta
        };
        let frame = Arc::new(Frame {
            jpeg: pictures.full.clone(),
            meta,
        });
        // Viewers of a node variant see the camera is offline too (the node sends nothing).
        let drawn_ns = frame.meta.capture_ts_ns;
        self.feeds.show(&frame, drawn_ns, pictures);
        slot::show(&self.frames, frame, drawn_ns);
        self.no_signal_at = Some(now + self.env.settings.no_signal_interval);
    }

    /// When to declare the camera offline for lack of frames: only while online and receiving.
    pub(super) fn offline_check_at(&self) -> Option<Instant> {
        if !self.online || self.subscription.is_none() {
            return None;
        }
        let since = self.online_at.max(self.subscribed_at);
        let last_sign_of_life = self.last_live_at.map_or(since, |at| at.max(since));
        Some(last_sign_of_life + self.env.settings.offline_after)
    }

    pub(super) fn forget_at(&self) -> Option<Instant> {
        let since = self.idle_since.filter(|_| !self.forget_requested)?;
        Some(since + self.env.settings.forget_after)
    }

    /// The token just went: count `forget_after` from now. A camera with a token but no
    /// frames goes offline and asks to be forgotten, which discovery refuses while the token
    /// is there; without this it would never ask again and stay listed for good.
    pub(super) fn restart_idle(&mut self) {
        self.idle_since = None;
        self.forget_requested = false;
    }

    pub(super) fn track_idle(&mut self) {
        if self.online || self.watched > 0 || self.feeds.has_node_feeds() {
            self.idle_since = None;
            self.forget_requested = false;
        } else if self.idle_since.is_none() {
            self.idle_since = Some(Instant::now());
        }
    }
}

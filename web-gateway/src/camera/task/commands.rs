//! What the camera's handle asks of its task: liveliness changes from discovery, and feeds
//! (full frames, a gateway-encoded variant or a node-encoded one) for new viewers.

use super::{CameraTask, Outcome};
use crate::camera::replier::fetch_snapshot;
use crate::camera::slot::SlotSender;
use crate::camera::{node_variants, variants, video};
use crate::camera::{Choice, Command, Feed};
use camera_protocol::CameraInfo;
use std::sync::Arc;
use std::time::Instant;

impl CameraTask {
    pub(super) async fn on_command(&mut self, command: Command) {
        match command {
            Command::Liveliness(true) => {
                self.token = true;
                // A new session of the node: nothing queued on the old one can still arrive.
                self.checks.restart();
                self.came_online("liveliness token present");
                if self.query_parts().is_none() {
                    return; // ROS 2 topics answer no info or snapshot queries
                }
                self.info_at = Some(Instant::now());
                self.fetch_first_snapshot();
            }
            Command::Liveliness(false) => {
                self.token = false;
                self.info_at = None;
                self.went_offline("liveliness token gone");
                self.restart_idle();
            }
            Command::Feed { choice, reply } => {
                let _ = reply.send(self.feed(choice));
            }
            Command::Video { lane, reply } => {
                let offered = self
                    .info
                    .as_ref()
                    .is_some_and(|info| video::offered(info).any(|offered| offered.name == lane));
                let feed = match self.video_receive() {
                    Some(receive) if offered => Some(self.feeds.video(&lane, &receive)),
                    _ => None,
                };
                let _ = reply.send(feed);
            }
        }
    }

    /// A slow or just-started camera may not publish for a while; its snapshot queryable gives
    /// new viewers a picture right away. Only once its session is known (its frames, or its
    /// info reply): called again when the first info reply names it.
    pub(super) fn fetch_first_snapshot(&mut self) {
        let owner = self.owner();
        if self.last_live.is_some() || owner.is_none() {
            return;
        }
        let Some((zenoh, keys, timeout)) = self.query_parts() else {
            return;
        };
        let (limits, metrics) = (self.env.settings.limits, self.env.metrics.clone());
        self.jobs.spawn(async move {
            let fetched = fetch_snapshot(&zenoh, &keys, timeout, owner, &limits, &metrics);
            Outcome::Snapshot(fetched.await)
        });
    }

    fn feed(&mut self, choice: Choice) -> (Feed, Choice) {
        match choice {
            Choice::Gateway(variant) if variant.is_original() => {
                let feed = Feed {
                    frames: self.frames.subscribe(),
                    messages: Arc::default(),
                };
                (feed, choice)
            }
            Choice::Gateway(variant) => {
                let encode = variants::Encode {
                    camera: self.id.clone(),
                    limits: self.env.settings.limits,
                    metrics: self.env.metrics.clone(),
                };
                self.feeds.gateway(variant, &self.frames, &encode)
            }
            Choice::Node(name) => {
                let Some(keys) = self.source.keys().cloned() else {
                    // `choose` offers no node variant of a ROS 2 topic: nothing would come.
                    let feed = Feed {
                        frames: SlotSender::default().subscribe(),
                        messages: Arc::default(),
                    };
                    return (feed, Choice::Node(name));
                };
                let receive = node_variants::Receive {
                    zenoh: self.env.zenoh.clone(),
                    id: self.id.clone(),
                    keys,
                    metrics: self.env.metrics.clone(),
                    limits: self.env.settings.limits,
                    max_frame_lag: self.env.settings.max_frame_lag,
                    offline_after: self.env.settings.offline_after,
                };
                let size = self.info.as_ref().and_then(|info| {
                    let variant = info.variants.iter().find(|variant| variant.name == name)?;
                    Some((variant.width, variant.height))
                });
                let feed = self.feeds.node(&name, size, &receive);
                (feed, Choice::Node(name))
            }
        }
    }

    /// What an H.264 lane's receiver needs; `None` for a ROS 2 topic (no lanes).
    fn video_receive(&self) -> Option<video::Receive> {
        let keys = self.source.keys()?.clone();
        let record = self
            .recorded
            .clone()
            .map(|camera| (self.env.record.clone(), camera));
        let recorded_lane = self.recording().then(|| self.recorded_lane()).flatten();
        Some(video::Receive {
            zenoh: self.env.zenoh.clone(),
            id: self.id.clone(),
            keys,
            metrics: self.env.metrics.clone(),
            limits: self.env.settings.limits,
            record,
            recorded_lane,
            query_timeout: self.env.settings.info_timeout,
        })
    }

    /// The lane recording keeps: the node's first.
    pub(super) fn recorded_lane(&self) -> Option<String> {
        let info = self.info.as_ref()?;
        video::offered(info).next().map(|lane| lane.name.clone())
    }

    /// A new info reply: drops the feeds of variants and lanes it no longer lists, and while
    /// recording keeps the recorded lane received.
    pub(super) fn offered_changed(&mut self, info: &CameraInfo) {
        self.feeds.keep_offered(&self.id, info);
        if !self.recording() {
            return;
        }
        let Some(lane) = video::offered(info).next().map(|lane| lane.name.clone()) else {
            return;
        };
        let receive = self.video_receive().map(|mut receive| {
            receive.recorded_lane = Some(lane.clone());
            receive
        });
        if let Some(receive) = receive {
            self.feeds.hold_video(&lane, &receive);
        }
    }
}

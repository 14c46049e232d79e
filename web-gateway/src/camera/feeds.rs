//! The one registry of a camera's variant feeds, of both kinds: gateway-encoded
//! (`?width=`/`?height=`/`?quality=`, one encoder each: [`super::variants`]) and node-encoded
//! (`?variant=`, one zenoh subscriber each: [`super::node_variants`]), and its H.264 lanes
//! ([`super::video`]). Owned by the camera
//! task, it decides in one place who shares a feed, when an unwatched feed is released, and how
//! many encoders requests may start (`[variants]`: per camera, and in total through the
//! gateway-wide [`EncoderBudget`]); beyond the caps a request gets the nearest running variant.

use super::encoders::{EncoderBudget, EncoderSlot};
use super::node_variants::{self, Receive};
use super::nosignal::Pictures;
use super::slot::{self, SlotSender};
use super::variants::{self, Encode, Variant};
use super::video::{self, VideoFeed, VideoLanes};
use super::{Choice, Feed, MessageCache};
use crate::throttle::LogThrottle;
use camera_protocol::info::CameraInfo;
use camera_protocol::{Frame, FrameMeta};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::task::AbortOnDropHandle;

/// How often unwatched feeds are looked for: a feed is released 1-2 s after its last client
/// left, so a page reload keeps it, and nobody pays for long for what nobody watches.
pub const RELEASE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The variant feeds of one camera that have clients now (or had, until the next release).
#[derive(Debug)]
pub struct Feeds {
    running: HashMap<Choice, Running>,
    release_at: Option<Instant>,
    /// Most gateway-encoded variants of this camera (`[variants] max_per_camera`).
    max_encoders: usize,
    budget: Arc<EncoderBudget>,
    /// Messages of the camera's own frames for clients served them because no encoder was
    /// free: shared among them, as the handle's are among its clients.
    original: Arc<MessageCache>,
    /// "Caps reached" lines: a client decides how often it asks.
    capped: LogThrottle<()>,
    /// The H.264 lanes with clients, or kept by recording.
    video: VideoLanes,
}

#[derive(Debug)]
struct Running {
    frames: SlotSender,
    messages: Arc<MessageCache>,
    /// A node variant's size as the node's info lists it, for its NO SIGNAL picture.
    size: Option<(u32, u32)>,
    _worker: AbortOnDropHandle<()>,
    _slot: Option<EncoderSlot>,
}

impl Feeds {
    pub fn new(max_encoders: usize, budget: Arc<EncoderBudget>) -> Self {
        Self {
            running: HashMap::new(),
            release_at: None,
            max_encoders,
            budget,
            original: Arc::default(),
            capped: LogThrottle::default(),
            video: VideoLanes::default(),
        }
    }

    /// A feed of the node's H.264 lane `name`, subscribing to it if nobody watches it yet.
    pub fn video(&mut self, name: &str, receive: &video::Receive) -> VideoFeed {
        self.release_at
            .get_or_insert_with(|| Instant::now() + RELEASE_EVERY);
        self.video.feed(name, receive)
    }

    /// Keeps the H.264 lane `name` received for recording.
    pub fn hold_video(&mut self, name: &str, receive: &video::Receive) {
        self.video.hold(name, receive);
    }

    /// A feed of `asked` encoded from the frames in `source`, and what it serves: `asked`
    /// with its quality snapped, its encoder started if a cap allows; else the nearest variant
    /// this camera encodes; else (none, and every encoder of the gateway busy) the camera's
    /// own frames.
    pub fn gateway(
        &mut self,
        asked: Variant,
        source: &SlotSender,
        encode: &Encode,
    ) -> (Feed, Choice) {
        let variant = asked.snapped();
        let choice = Choice::Gateway(variant);
        if self.running.contains_key(&choice) {
            return (self.subscribe(&choice), choice);
        }
        let slot = (self.encoders() < self.max_encoders)
            .then(|| self.budget.take())
            .flatten();
        let Some(slot) = slot else {
            return self.nearest(variant, source, encode);
        };
        let frames = SlotSender::default();
        let worker = variants::spawn_encoder(variant, source.subscribe(), frames.clone(), encode);
        self.start(choice.clone(), frames, None, worker, Some(slot));
        (self.subscribe(&choice), choice)
    }

    /// A feed of the node's variant `name` (of `size`, if the info lists it), subscribing to
    /// it if nobody watches it yet.
    pub fn node(&mut self, name: &str, size: Option<(u32, u32)>, receive: &Receive) -> Feed {
        let choice = Choice::Node(name.to_owned());
        if !self.running.contains_key(&choice) {
            let frames = SlotSender::default();
            let worker = node_variants::spawn_receiver(name, receive, frames.clone());
            self.start(choice.clone(), frames, size, worker, None);
        }
        self.subscribe(&choice)
    }

    /// When [`Self::release_unwatched`] is due next; `None` while no feed runs.
    pub fn release_at(&self) -> Option<Instant> {
        self.release_at
    }

    /// Releases the feeds nobody receives from any more: encoders stop (their budget slot
    /// freed), node variants are unsubscribed (the node then stops encoding them). Only the
    /// camera task hands out feeds, so no client can subscribe in between.
    pub fn release_unwatched(&mut self, camera: &str, now: Instant) {
        self.running.retain(|choice, running| {
            let watched = running.frames.receiver_count() > 0;
            match choice {
                _ if watched => {}
                Choice::Gateway(variant) => {
                    tracing::debug!(%camera, ?variant, "variant encoder stopped");
                }
                Choice::Node(name) => {
                    tracing::info!(%camera, variant = %name, "node variant unwatched: unsubscribed");
                }
            }
            watched
        });
        let lanes = self.video.release_unwatched(camera);
        self.release_at = (!self.running.is_empty() || lanes).then_some(now + RELEASE_EVERY);
    }

    /// Drops the subscribers of node variants `info` no longer lists (the node restarted
    /// without them): closing their slots ends their MJPEG streams, and `/ws` sockets, which
    /// watch the info too, send a notice. Left running, their clients would freeze on the
    /// last frame with nothing saying why.
    pub fn keep_offered(&mut self, camera: &str, info: &CameraInfo) {
        self.video.keep_offered(camera, info);
        self.running.retain(|choice, _| {
            let Choice::Node(name) = choice else {
                return true;
            };
            let offered = node_variants::offered(&info.variants).any(|v| &v.name == name);
            if !offered {
                tracing::info!(%camera, variant = %name, "node dropped the variant: viewers ended");
            }
            offered
        });
    }

    /// Puts the NO SIGNAL picture into every node variant's slot (the node sends nothing
    /// while offline; gateway variants re-encode the camera's own NO SIGNAL frames): drawn at
    /// the variant's size when `pictures` has it, else `frame` (the camera-size one).
    pub fn show(&self, frame: &Arc<Frame>, received_ns: u64, pictures: &Pictures) {
        for (choice, running) in &self.running {
            if !matches!(choice, Choice::Node(_)) {
                continue;
            }
            let sized = running
                .size
                .and_then(|size| Some((size, pictures.at(size)?)));
            let shown = match sized {
                Some(((width, height), jpeg)) => Arc::new(Frame {
                    jpeg: jpeg.clone(),
                    meta: FrameMeta {
                        width,
                        height,
                        ..frame.meta
                    },
                }),
                None => frame.clone(),
            };
            slot::show(&running.frames, shown, received_ns);
        }
    }

    /// Names of the node variants subscribed to now, sorted.
    pub fn subscribed(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .running
            .keys()
            .filter_map(|choice| match choice {
                Choice::Node(name) => Some(name.clone()),
                Choice::Gateway(_) => None,
            })
            .collect();
        names.sort();
        names.extend(
            self.video
                .subscribed()
                .into_iter()
                .map(|lane| format!("h264/{lane}")),
        );
        names
    }

    /// Some node variant is subscribed to (its clients are not counted as the camera's
    /// viewers, so this keeps an offline camera from being forgotten under them).
    pub fn has_node_feeds(&self) -> bool {
        let lanes = !self.video.subscribed().is_empty();
        lanes
            || self
                .running
                .keys()
                .any(|choice| matches!(choice, Choice::Node(_)))
    }

    /// Gateway-encoded variants of this camera running now.
    pub fn encoders(&self) -> usize {
        let gateway = |choice: &&Choice| matches!(choice, Choice::Gateway(_));
        self.running.keys().filter(gateway).count()
    }

    fn start(
        &mut self,
        choice: Choice,
        frames: SlotSender,
        size: Option<(u32, u32)>,
        worker: tokio::task::JoinHandle<()>,
        slot: Option<EncoderSlot>,
    ) {
        let running = Running {
            frames,
            messages: Arc::default(),
            size,
            _worker: AbortOnDropHandle::new(worker),
            _slot: slot,
        };
        self.running.insert(choice, running);
    }

    /// A feed of a running `choice`; the next release looks at it again.
    fn subscribe(&mut self, choice: &Choice) -> Feed {
        self.release_at
            .get_or_insert_with(|| Instant::now() + RELEASE_EVERY);
        let running = &self.running[choice];
        Feed {
            frames: running.frames.subscribe(),
            messages: running.messages.clone(),
        }
    }

    /// The caps are reached: the running variant nearest to `wanted`, or the camera's own
    /// frames when this camera encodes none.
    fn nearest(&mut self, wanted: Variant, source: &SlotSender, encode: &Encode) -> (Feed, Choice) {
        encode.metrics.variant_capped();
        if let Some(count) = self.capped.hit(()) {
            tracing::info!(camera = %encode.camera, asked = %wanted.query(), count,
                "variant encoders at their cap: serving the nearest running variant");
        }
        let size = source
            .borrow()
            .frame()
            .map(|frame| (frame.meta.width, frame.meta.height));
        let running = self.running.keys().filter_map(|choice| match choice {
            Choice::Gateway(variant) => Some(*variant),
            Choice::Node(_) => None,
        });
        match variants::nearest(wanted, running, size) {
            Some(variant) => {
                let choice = Choice::Gateway(variant);
                (self.subscribe(&choice), choice)
            }
            None => {
                let feed = Feed {
                    frames: source.subscribe(),
                    messages: self.original.clone(),
                };
                (feed, Choice::default())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use camera_protocol::FrameLimits;

    fn source() -> SlotSender {
        let jpeg = test_support::draw_frame(320, 240, [90, 40, 9], 0);
        let meta = FrameMeta {
            seq: 7,
            capture_ts_ns: 1,
            width: 320,
            height: 240,
            generation: 1,
            online: true,
        };
        let source = SlotSender::default();
        let frame = Frame::new(jpeg.into(), meta).expect("frame");
        slot::show(&source, Arc::new(frame), 1);
        source
    }

    fn width(width: u32) -> Variant {
        Variant {
            width: Some(width),
            height: None,
            quality: None,
        }
    }

    fn encode(metrics: &Arc<Metrics>) -> Encode {
        Encode {
            camera: "front".into(),
            limits: FrameLimits::default(),
            metrics: metrics.clone(),
        }
    }

    #[tokio::test]
    async fn clients_of_a_variant_share_one_encoder_that_goes_with_the_last() {
        let (source, metrics) = (source(), Arc::new(Metrics::new()));
        let mut feeds = Feeds::new(4, EncoderBudget::new(16, metrics.clone()));
        let (mut first, served) = feeds.gateway(width(160), &source, &encode(&metrics));
        assert_eq!(served, Choice::Gateway(width(160).snapped()));
        let (second, _) = feeds.gateway(width(160), &source, &encode(&metrics));
        assert_eq!(feeds.encoders(), 1, "one encoder per variant");
        first.frames.changed().await.expect("encoder running");
        let resized = first.frames.borrow().frame().expect("resized frame");
        assert_eq!((resized.meta.width, resized.meta.height), (160, 120));
        assert!(Arc::ptr_eq(&first.messages, &second.messages));
        drop(first);
        feeds.release_unwatched("front", Instant::now());
        assert!(feeds.release_at().is_some(), "kept with a client left");
        drop(second);
        feeds.release_unwatched("front", Instant::now());
        assert_eq!((feeds.encoders(), feeds.release_at()), (0, None));
    }

    #[tokio::test]
    async fn beyond_the_caps_requests_get_the_nearest_running_variant() {
        let (source, metrics) = (source(), Arc::new(Metrics::new()));
        let budget = EncoderBudget::new(3, metrics.clone());
        let mut front = Feeds::new(2, budget.clone());
        let mut rear = Feeds::new(2, budget);
        let mut kept = Vec::new();
        for asked in [100, 200, 110, 300] {
            let (feed, served) = front.gateway(width(asked), &source, &encode(&metrics));
            kept.push((feed, served));
        }
        let served: Vec<Choice> = kept.iter().map(|(_, served)| served.clone()).collect();
        let gateway = |w| Choice::Gateway(width(w).snapped());
        assert_eq!(
            served,
            [gateway(100), gateway(200), gateway(100), gateway(200)]
        );
        assert_eq!(front.encoders(), 2, "at most max_per_camera");
        let (_third, served) = rear.gateway(width(64), &source, &encode(&metrics));
        assert_eq!(served, gateway(64), "the last slot of the budget");
        let (_fourth, served) = rear.gateway(width(640), &source, &encode(&metrics));
        assert_eq!(
            served,
            gateway(64),
            "budget spent: the nearest of this camera"
        );
        let mut other = Feeds::new(2, EncoderBudget::new(0, metrics.clone()));
        let (_original, served) = other.gateway(width(64), &source, &encode(&metrics));
        assert_eq!(
            served,
            Choice::default(),
            "no encoder at all: the camera's own frames"
        );
        drop(kept);
        front.release_unwatched("front", Instant::now());
        let (_fifth, served) = rear.gateway(width(640), &source, &encode(&metrics));
        assert_eq!(
            served,
            gateway(640),
            "released encoders give their slots back"
        );
        let text = metrics.encode();
        assert!(text.contains("gateway_variant_encoders 2"), "{text}");
        assert!(text.contains("gateway_variants_capped_total 4"), "{text}");
    }
}

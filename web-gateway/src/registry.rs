//! The camera map: per camera the latest-frame slot, online state, measured fps, viewer
//! count and info reply.
//!
//! One `watch` slot per camera holds the newest frame as an `Arc<Frame>`: every client clones
//! the `Arc` (never the JPEG), and a slow client simply sees a later value next time it looks,
//! so nobody queues frames and nobody waits for anybody. The slot carries what viewers should
//! see, i.e. live frames and, while the camera is offline, NO SIGNAL pictures (`meta.online ==
//! false`); snapshots read the last live frame instead. Discovery and ingest live elsewhere.

use camera_node::{CameraInfo, Frame};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Window over which the frame rate is measured.
const FPS_WINDOW: Duration = Duration::from_secs(2);

/// The latest frame a viewer should show (`None` until the camera's first frame).
pub type Slot = watch::Receiver<Option<Arc<Frame>>>;

/// Everything the gateway knows about one camera.
#[derive(Debug)]
pub struct Camera {
    id: String,
    slot: watch::Sender<Option<Arc<Frame>>>,
    online: watch::Sender<bool>,
    viewers: watch::Sender<usize>,
    /// Whether the gateway receives this camera's frames now (see `config::SubscribeMode`);
    /// while it does not, a lack of frames says nothing about the camera.
    subscribed: watch::Sender<bool>,
    state: Mutex<CameraState>,
    token: CancellationToken,
}

#[derive(Debug)]
struct CameraState {
    last_live: Option<Arc<Frame>>,
    last_live_at: Option<Instant>,
    /// When the camera last came online (liveliness or first frame), for the offline timer.
    online_at: Instant,
    /// When the gateway last started receiving this camera's frames, for the offline timer.
    subscribed_at: Instant,
    offline_since: Option<SystemTime>,
    arrivals: VecDeque<Instant>,
    info: Option<CameraInfo>,
    info_error: Option<String>,
}

/// What receiving one live frame changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Frames missing between the previous frame and this one (same node generation).
    pub dropped: u64,
    /// The camera was offline until this frame.
    pub came_online: bool,
}

impl Camera {
    fn new(id: &str, token: CancellationToken, subscribed: bool) -> Self {
        Self {
            id: id.to_owned(),
            slot: watch::Sender::new(None),
            online: watch::Sender::new(false),
            viewers: watch::Sender::new(0),
            subscribed: watch::Sender::new(subscribed),
            state: Mutex::new(CameraState {
                last_live: None,
                last_live_at: None,
                online_at: Instant::now(),
                subscribed_at: Instant::now(),
                offline_since: Some(SystemTime::now()),
                arrivals: VecDeque::new(),
                info: None,
                info_error: None,
            }),
            token,
        }
    }

    fn state(&self) -> MutexGuard<'_, CameraState> {
        // The state stays consistent under every panic point, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Cancelled when the gateway shuts down; child of the gateway's token.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// A receiver of the viewer slot, marked changed so that the current frame comes first.
    pub fn subscribe(&self) -> Slot {
        let mut receiver = self.slot.subscribe();
        receiver.mark_changed();
        receiver
    }

    pub fn subscribe_online(&self) -> watch::Receiver<bool> {
        self.online.subscribe()
    }

    /// Stores a live frame and hands it to every viewer.
    pub fn publish_live(&self, frame: Frame) -> Arrival {
        let now = Instant::now();
        let frame = Arc::new(frame);
        let (dropped, came_online) = {
            let mut state = self.state();
            let dropped = match &state.last_live {
                Some(last)
                    if last.meta.generation == frame.meta.generation
                        && frame.meta.seq > last.meta.seq =>
                {
                    frame.meta.seq - last.meta.seq - 1
                }
                _ => 0,
            };
            state.last_live = Some(frame.clone());
            state.last_live_at = Some(now);
            state.arrivals.push_back(now);
            while state.arrivals.len() > 2
                && state
                    .arrivals
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > FPS_WINDOW)
            {
                state.arrivals.pop_front();
            }
            let came_online = state.offline_since.take().is_some();
            if came_online {
                state.online_at = now;
            }
            (dropped, came_online)
        };
        self.online
            .send_if_modified(|online| !std::mem::replace(online, true));
        self.slot.send_replace(Some(frame));
        Arrival {
            dropped,
            came_online,
        }
    }

    /// Shows a placeholder (NO SIGNAL) picture to viewers without touching the live frame.
    pub fn publish_placeholder(&self, frame: Arc<Frame>) {
        self.slot.send_replace(Some(frame));
    }

    /// Liveliness seen (`true`) or gone (`false`).
    pub fn set_online(&self, online: bool) {
        {
            let mut state = self.state();
            if online {
                state.online_at = Instant::now();
                state.offline_since = None;
            } else if state.offline_since.is_none() {
                state.offline_since = Some(SystemTime::now());
            }
        }
        self.online
            .send_if_modified(|current| std::mem::replace(current, online) != online);
    }

    pub fn is_online(&self) -> bool {
        *self.online.borrow()
    }

    pub fn offline_since(&self) -> Option<SystemTime> {
        self.state().offline_since
    }

    /// When a frame (or the liveliness token) last showed the camera is alive; the start of
    /// the current subscription counts too, as frames could not arrive before it.
    pub fn last_sign_of_life(&self) -> Instant {
        let state = self.state();
        let since = state.online_at.max(state.subscribed_at);
        state.last_live_at.map_or(since, |at| at.max(since))
    }

    /// The gateway started (`true`) or stopped (`false`) receiving this camera's frames.
    pub fn set_subscribed(&self, subscribed: bool) {
        if subscribed {
            self.state().subscribed_at = Instant::now();
        }
        self.subscribed
            .send_if_modified(|current| std::mem::replace(current, subscribed) != subscribed);
    }

    pub fn is_subscribed(&self) -> bool {
        *self.subscribed.borrow()
    }

    pub fn subscribe_subscribed(&self) -> watch::Receiver<bool> {
        self.subscribed.subscribe()
    }

    /// The newest frame the camera captured (never a placeholder).
    pub fn latest_live(&self) -> Option<Arc<Frame>> {
        self.state().last_live.clone()
    }

    /// Waits until a live frame newer than `after_seq` arrives.
    pub async fn wait_live_after(&self, after_seq: u64) -> Option<Arc<Frame>> {
        let mut slot = self.subscribe();
        loop {
            if let Some(frame) = self.latest_live().filter(|f| f.meta.seq > after_seq) {
                return Some(frame);
            }
            slot.changed().await.ok()?;
        }
    }

    /// Frames per second over the last couple of seconds (0 when frames stopped).
    pub fn measured_fps(&self) -> f64 {
        let state = self.state();
        let (Some(first), Some(last)) = (state.arrivals.front(), state.arrivals.back()) else {
            return 0.0;
        };
        let span = last.duration_since(*first).as_secs_f64();
        if state.arrivals.len() < 2 || span <= 0.0 || last.elapsed() > FPS_WINDOW {
            return 0.0;
        }
        (state.arrivals.len() - 1) as f64 / span
    }

    pub fn last_frame_age(&self) -> Option<Duration> {
        self.state().last_live_at.map(|at| at.elapsed())
    }

    /// Frame size to draw placeholders at: last frame, else the info reply, else 640x480.
    pub fn frame_size(&self) -> (u32, u32) {
        let state = self.state();
        if let Some(frame) = &state.last_live {
            return (frame.meta.width, frame.meta.height);
        }
        state
            .info
            .as_ref()
            .map_or((640, 480), |info| (info.width.max(1), info.height.max(1)))
    }

    pub fn set_info(&self, info: Result<CameraInfo, String>) {
        let mut state = self.state();
        match info {
            Ok(info) => {
                state.info = Some(info);
                state.info_error = None;
            }
            Err(error) => state.info_error = Some(error),
        }
    }

    pub fn info(&self) -> (Option<CameraInfo>, Option<String>) {
        let state = self.state();
        (state.info.clone(), state.info_error.clone())
    }

    /// Counts a viewer of this camera until the guard drops.
    pub fn viewer(self: &Arc<Self>) -> ViewerGuard {
        self.viewers.send_modify(|count| *count += 1);
        ViewerGuard {
            camera: self.clone(),
        }
    }

    pub fn viewers(&self) -> usize {
        *self.viewers.borrow()
    }

    /// Follows the viewer count (what `SubscribeMode::WhileWatched` subscribes on).
    pub fn subscribe_viewers(&self) -> watch::Receiver<usize> {
        self.viewers.subscribe()
    }
}

/// Keeps a camera's viewer count up while alive.
#[derive(Debug)]
pub struct ViewerGuard {
    camera: Arc<Camera>,
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.camera
            .viewers
            .send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// Called once for every camera added to the registry (starts its offline watchdog).
pub type OnAdded = Box<dyn Fn(&Arc<Camera>) + Send + Sync>;

/// All cameras seen so far, by id. Cameras are never removed: a vanished camera stays
/// listed as offline, and open streams of it keep running.
pub struct Registry {
    cameras: RwLock<BTreeMap<String, Arc<Camera>>>,
    added: watch::Sender<usize>,
    cancel: CancellationToken,
    /// Whether new cameras start subscribed (one wildcard subscriber covers them all).
    subscribed: bool,
    on_added: OnAdded,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("cameras", &self.cameras)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// `subscribed`: whether the gateway receives every camera's frames from the start.
    pub fn new(cancel: CancellationToken, subscribed: bool, on_added: OnAdded) -> Self {
        Self {
            cameras: RwLock::new(BTreeMap::new()),
            added: watch::Sender::new(0),
            cancel,
            subscribed,
            on_added,
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Camera>> {
        self.cameras
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// The camera `id`, created (and announced) on first sight.
    pub fn get_or_insert(&self, id: &str) -> Arc<Camera> {
        if let Some(camera) = self.get(id) {
            return camera;
        }
        let (camera, inserted) = {
            let mut cameras = self.cameras.write().unwrap_or_else(PoisonError::into_inner);
            match cameras.get(id) {
                Some(camera) => (camera.clone(), false),
                None => {
                    let camera =
                        Arc::new(Camera::new(id, self.cancel.child_token(), self.subscribed));
                    cameras.insert(id.to_owned(), camera.clone());
                    (camera, true)
                }
            }
        };
        if inserted {
            tracing::info!(camera = %id, "camera discovered");
            (self.on_added)(&camera);
            self.added.send_modify(|count| *count += 1);
        }
        camera
    }

    /// Every camera, sorted by id.
    pub fn list(&self) -> Vec<Arc<Camera>> {
        self.cameras
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Changes whenever a camera is added.
    pub fn subscribe_added(&self) -> watch::Receiver<usize> {
        self.added.subscribe()
    }
}

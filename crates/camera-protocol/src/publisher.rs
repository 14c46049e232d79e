//! [`FramePublisher`]: the publishing side of the protocol, for any process (no GStreamer).
//!
//! Owns everything `docs/protocol.md` asks of a camera: JPEG samples with the frame metadata
//! attachment (with the session's [`SourceId`]) and a gap-free `seq`, the latest frame for `<prefix>/<camera>/jpeg` queries, the
//! `<prefix>/<camera>/info` reply, the liveliness token, and the matching status on-demand
//! capture pauses on. The capture node, the examples, the tests and the wire benchmark all
//! publish through it, so the contract has one implementation.

use crate::frame::{check_complete_jpeg, DecodeError, Frame};
use crate::info::CameraInfo;
use crate::jpeg::{jpeg_dimensions, JpegError};
use crate::keys::CameraKeys;
use crate::meta::{FrameMeta, SourceId, MAX_DIMENSION};
use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;
use zenoh::bytes::Encoding;
use zenoh::handlers::FifoChannelHandler;
use zenoh::liveliness::LivelinessToken;
use zenoh::matching::{MatchingListener, MatchingStatus};
use zenoh::pubsub::Publisher;
use zenoh::qos::{CongestionControl, Priority};
use zenoh::query::{Query, Queryable};

/// Why publishing failed. Frame errors leave the publisher usable; the next frame may succeed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PublishError {
    #[error("camera {camera}: cannot declare the {what}: {error}")]
    Declare {
        camera: String,
        what: &'static str,
        error: zenoh::Error,
    },
    #[error("camera {camera}: cannot put the frame: {error}")]
    Put { camera: String, error: zenoh::Error },
    #[error("camera {camera}: cannot read the matching status: {error}")]
    Matching { camera: String, error: zenoh::Error },
    #[error("camera {camera}: frame size {width}x{height} is invalid: each side must be 1..={MAX_DIMENSION}")]
    InvalidSize {
        camera: String,
        width: u32,
        height: u32,
    },
    #[error("camera {camera}: frame is not a complete JPEG: {error}")]
    Incomplete { camera: String, error: DecodeError },
    #[error("camera {camera}: frame has no readable JPEG header: {error}")]
    Header { camera: String, error: JpegError },
    #[error("camera {camera}: frame is published as {width}x{height} but its JPEG header says {header_width}x{header_height}")]
    SizeMismatch {
        camera: String,
        width: u32,
        height: u32,
        header_width: u32,
        header_height: u32,
    },
}

/// How frames are put on zenoh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublisherOptions {
    /// zenoh priority of frame samples (default `Data`).
    pub priority: Priority,
    /// Send each frame at once instead of batching it with other messages: lower latency,
    /// more packets (default off; frames are large enough to fill batches on their own).
    pub express: bool,
    /// Default `Drop`: a congested network drops frames, it never stalls the process
    /// producing them. `Block` is for measurements and replays that must not lose frames.
    pub congestion_control: CongestionControl,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        Self {
            priority: Priority::Data,
            express: false,
            congestion_control: CongestionControl::Drop,
        }
    }
}

#[derive(Debug)]
struct State {
    info: CameraInfo,
    latest: Option<Frame>,
    published: u64,
}

/// What the publisher reports, shared with the task answering queries.
#[derive(Debug)]
struct Shared(Mutex<State>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the info reply down with it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn info(&self) -> CameraInfo {
        let state = self.lock();
        CameraInfo {
            frames_published: state.published,
            ..state.info.clone()
        }
    }
}

/// A read-only view of a publisher's counters, info and latest frame, for other tasks.
#[derive(Debug, Clone)]
pub struct PublisherStatus(Arc<Shared>);

impl PublisherStatus {
    /// Frames put on zenoh so far.
    pub fn published(&self) -> u64 {
        self.0.lock().published
    }

    /// The last frame put, as the `/jpeg` queryable answers it.
    pub fn latest(&self) -> Option<Frame> {
        self.0.lock().latest.clone()
    }

    /// The info document as the `/info` queryable answers it.
    pub fn info(&self) -> CameraInfo {
        self.0.info()
    }
}

/// Stops the query task when the publisher goes away; its queryables are undeclared with it.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Publishes one camera's frames; dropping it undeclares everything (the camera goes away).
#[derive(Debug)]
pub struct FramePublisher {
    keys: CameraKeys,
    /// This session's id, appended to every attachment.
    source: SourceId,
    publisher: Publisher<'static>,
    shared: Arc<Shared>,
    next_seq: u64,
    generation: u32,
    // Declared last and dropped first: subscribers see the camera only once it answers queries.
    _token: LivelinessToken,
    _queries: AbortOnDrop,
}

impl FramePublisher {
    /// Declares the frame publisher, the `/jpeg` and `/info` queryables and the liveliness
    /// token of `keys` on `session`. `info` is the first `/info` document (see [`Self::update_info`]).
    /// Needs a tokio runtime: queries are answered by a task.
    pub async fn declare(
        session: &zenoh::Session,
        keys: &CameraKeys,
        info: CameraInfo,
        options: PublisherOptions,
    ) -> Result<Self, PublishError> {
        let declare_error = |what| {
            let camera = keys.camera().to_owned();
            move |error| PublishError::Declare {
                camera,
                what,
                error,
            }
        };
        let publisher = session
            .declare_publisher(keys.jpeg())
            .encoding(Encoding::IMAGE_JPEG)
            .congestion_control(options.congestion_control)
            .priority(options.priority)
            .express(options.express)
            .await
            .map_err(declare_error("frame publisher"))?;
        let info_queryable = session
            .declare_queryable(keys.info())
            .await
            .map_err(declare_error("info queryable"))?;
        let snapshot_queryable = session
            .declare_queryable(keys.jpeg())
            .await
            .map_err(declare_error("snapshot queryable"))?;
        let shared = Arc::new(Shared(Mutex::new(State {
            info,
            latest: None,
            published: 0,
        })));
        let source = SourceId::of_session(session);
        let queries = tokio::spawn(answer_queries(
            (keys.clone(), source),
            info_queryable,
            snapshot_queryable,
            shared.clone(),
        ));
        let token = session
            .liveliness()
            .declare_token(keys.liveliness())
            .await
            .map_err(declare_error("liveliness token"))?;
        Ok(Self {
            keys: keys.clone(),
            source,
            publisher,
            shared,
            next_seq: 0,
            generation: 1,
            _token: token,
            _queries: AbortOnDrop(queries.abort_handle()),
        })
    }

    /// Puts one JPEG of `width`x`height` captured at `capture_ts_ns` (ns since the Unix
    /// epoch, see [`crate::meta::unix_now_ns`]). The payload is checked first (complete JPEG
    /// whose header says the same size); `seq` advances only for frames handed to zenoh.
    /// Returns the frame as published.
    pub async fn publish(
        &mut self,
        jpeg: Bytes,
        width: u32,
        height: u32,
        capture_ts_ns: u64,
    ) -> Result<Frame, PublishError> {
        self.check(&jpeg, width, height)?;
        let meta = FrameMeta {
            seq: self.next_seq,
            capture_ts_ns,
            width,
            height,
            generation: self.generation,
            online: true,
        };
        self.publisher
            .put(jpeg.clone())
            .attachment(meta.encode_with_source(self.source).to_vec())
            .await
            .map_err(|error| PublishError::Put {
                camera: self.keys.camera().to_owned(),
                error,
            })?;
        self.next_seq += 1;
        let frame = Frame { jpeg, meta };
        let mut state = self.shared.lock();
        state.latest = Some(frame.clone());
        state.published = self.next_seq;
        Ok(frame)
    }

    fn check(&self, jpeg: &[u8], width: u32, height: u32) -> Result<(), PublishError> {
        let camera = || self.keys.camera().to_owned();
        if !(1..=MAX_DIMENSION).contains(&width) || !(1..=MAX_DIMENSION).contains(&height) {
            return Err(PublishError::InvalidSize {
                camera: camera(),
                width,
                height,
            });
        }
        check_complete_jpeg(jpeg).map_err(|error| PublishError::Incomplete {
            camera: camera(),
            error,
        })?;
        let (header_width, header_height) =
            jpeg_dimensions(jpeg).map_err(|error| PublishError::Header {
                camera: camera(),
                error,
            })?;
        if (header_width, header_height) != (width, height) {
            return Err(PublishError::SizeMismatch {
                camera: camera(),
                width,
                height,
                header_width,
                header_height,
            });
        }
        Ok(())
    }

    /// Sets the `generation` of the following frames: how many times the producer has
    /// (re)started its capture, 1 for the first start (the default).
    pub fn set_generation(&mut self, generation: u32) {
        self.generation = generation;
    }

    /// Changes the `/info` document (capture state, restarts, last error, encoder, ...).
    /// `frames_published` is the publisher's own count; a value set here is ignored.
    pub fn update_info(&self, change: impl FnOnce(&mut CameraInfo)) {
        change(&mut self.shared.lock().info);
    }

    /// Counters, info and latest frame, readable from other tasks.
    pub fn status(&self) -> PublisherStatus {
        PublisherStatus(self.shared.clone())
    }

    /// Frames put on zenoh so far.
    pub fn published(&self) -> u64 {
        self.next_seq
    }

    pub fn keys(&self) -> &CameraKeys {
        &self.keys
    }

    /// Whether any subscriber currently matches the frame key.
    pub async fn has_subscribers(&self) -> Result<bool, PublishError> {
        let status = self
            .publisher
            .matching_status()
            .await
            .map_err(|error| self.matching_error(error))?;
        Ok(status.matching())
    }

    /// Notifies each time subscribers appear or all disappear. Declare it before reading
    /// [`Self::has_subscribers`], so that no change falls in between.
    pub async fn matching_listener(
        &self,
    ) -> Result<MatchingListener<FifoChannelHandler<MatchingStatus>>, PublishError> {
        self.publisher
            .matching_listener()
            .await
            .map_err(|error| self.matching_error(error))
    }

    fn matching_error(&self, error: zenoh::Error) -> PublishError {
        PublishError::Matching {
            camera: self.keys.camera().to_owned(),
            error,
        }
    }
}

/// Answers info and snapshot queries from `shared` until the queryables close or the
/// publisher aborts the task. Capture never waits on a querier: replies read a snapshot of
/// the state under a short lock.
async fn answer_queries(
    (keys, source): (CameraKeys, SourceId),
    info: Queryable<FifoChannelHandler<Query>>,
    snapshot: Queryable<FifoChannelHandler<Query>>,
    shared: Arc<Shared>,
) {
    loop {
        tokio::select! {
            query = info.recv_async() => match query {
                Ok(query) => reply_info(&query, &keys, &shared).await,
                Err(_) => return,
            },
            query = snapshot.recv_async() => match query {
                Ok(query) => reply_snapshot(&query, &keys, source, &shared).await,
                Err(_) => return,
            },
        }
    }
}

async fn reply_info(query: &Query, keys: &CameraKeys, shared: &Shared) {
    let result = match serde_json::to_vec(&shared.info().within_bounds()) {
        Ok(json) => {
            query
                .reply(keys.info(), json)
                .encoding(Encoding::APPLICATION_JSON)
                .await
        }
        Err(error) => {
            query
                .reply_err(format!("cannot serialize info: {error}"))
                .await
        }
    };
    if let Err(error) = result {
        tracing::debug!(camera = %keys.camera(), %error, "info reply not sent");
    }
}

async fn reply_snapshot(query: &Query, keys: &CameraKeys, source: SourceId, shared: &Shared) {
    // Documented in docs/protocol.md: no frame yet means no reply, not an error.
    let Some(frame) = shared.lock().latest.clone() else {
        return;
    };
    let result = query
        .reply(keys.jpeg(), frame.jpeg)
        .encoding(Encoding::IMAGE_JPEG)
        .attachment(frame.meta.encode_with_source(source).to_vec())
        .await;
    if let Err(error) = result {
        tracing::debug!(camera = %keys.camera(), %error, "snapshot reply not sent");
    }
}

//! Synthetic camera node: zenoh session, liveliness token, info queryable, drawn frames.

use super::queries::{serve_info, serve_snapshot};
use bytes::Bytes;
use camera_node::info::{CameraInfo, CaptureState};
use camera_node::keys::CameraKeys;
use camera_node::meta::{unix_now_ns, FrameMeta};
use camera_node::zenoh_config::{ZenohSettings, NODE_DEFAULT};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;
use zenoh::qos::CongestionControl;

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Width and height read from a JPEG's header.
pub fn jpeg_size(jpeg: &[u8]) -> (u32, u32) {
    image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg)
        .into_dimensions()
        .expect("part is a decodable JPEG")
}

/// Encodes one synthetic picture: a background tinted per camera and a bar that moves with `step`.
pub fn draw_frame(width: u32, height: u32, tint: [u8; 3], step: u32) -> Vec<u8> {
    let bar_x = (step * 37) % width.max(1);
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let near_bar = x.abs_diff(bar_x) < width / 16 + 2;
        if near_bar {
            image::Rgb([255, 255, 255])
        } else {
            let shade = ((x + y + step * 5) % 64) as u8;
            image::Rgb([
                tint[0].saturating_add(shade),
                tint[1].saturating_add(shade),
                tint[2].saturating_add(shade),
            ])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&image)
        .expect("encode synthetic frame");
    out
}

/// Inserts `padding` bytes of JPEG comment (COM) segments after SOI; decoders skip them.
pub fn pad_jpeg(jpeg: &[u8], padding: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len() + padding + padding / 60_000 * 4 + 4);
    out.extend_from_slice(&jpeg[..2]);
    let mut left = padding;
    while left > 0 {
        let chunk = left.min(60_000);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((chunk + 2) as u16).to_be_bytes());
        out.resize(out.len() + chunk, b'p');
        left -= chunk;
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// What a [`SyntheticCamera`] publishes.
#[derive(Debug, Clone)]
pub struct CameraOptions {
    pub prefix: String,
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Loopback port of the camera's zenoh listener (reuse one to "restart" a camera).
    pub port: u16,
    /// Distinct pictures cycled through (pre-rendered so publishing costs no CPU).
    pub distinct_frames: u32,
    /// Stop publishing after this many frames (the token and info queryable stay).
    pub max_frames: Option<u64>,
    /// Extra bytes carried in JPEG comment segments, to make frames big (memory tests).
    pub padding: usize,
    /// With `max_frames`: wait until a subscriber matches before publishing (else the few
    /// frames go out before anyone listens, and only the snapshot queryable has them).
    pub wait_for_subscriber: bool,
}

impl CameraOptions {
    pub fn new(id: &str, width: u32, height: u32) -> Self {
        Self {
            prefix: camera_node::keys::DEFAULT_PREFIX.to_owned(),
            id: id.to_owned(),
            width,
            height,
            fps: 20,
            port: free_port(),
            distinct_frames: 8,
            max_frames: None,
            padding: 0,
            wait_for_subscriber: true,
        }
    }

    pub fn publish_before_subscribers(mut self) -> Self {
        self.wait_for_subscriber = false;
        self
    }

    pub fn max_frames(mut self, frames: u64) -> Self {
        self.max_frames = Some(frames);
        self
    }

    pub fn padding(mut self, bytes: usize) -> Self {
        self.padding = bytes;
        self
    }

    pub fn fps(mut self, fps: u32) -> Self {
        self.fps = fps;
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

/// A camera node stand-in publishing synthetic frames on its own zenoh session.
#[derive(Debug)]
pub struct SyntheticCamera {
    pub options: CameraOptions,
    session: zenoh::Session,
    stop: CancellationToken,
    published: Arc<AtomicU64>,
    /// Whether the frame publisher has a matching subscriber (zenoh matching status), the
    /// signal a camera node with `on_demand = true` pauses on.
    matching: tokio::sync::watch::Receiver<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SyntheticCamera {
    /// Opens the session, declares token + info queryable and starts publishing at `fps`.
    pub async fn start(options: CameraOptions) -> Self {
        let keys = CameraKeys::new(&options.prefix, &options.id).expect("valid keys");
        let settings = ZenohSettings {
            listen: vec![format!("tcp/127.0.0.1:{}", options.port)],
            ..Default::default()
        };
        let config = settings.build(NODE_DEFAULT).expect("zenoh config");
        // A restarted camera reuses its port, which the OS may hold for a moment.
        let deadline = Instant::now() + Duration::from_secs(20);
        let session = loop {
            match zenoh::open(config.clone()).await {
                Ok(session) => break session,
                Err(error) if Instant::now() < deadline => {
                    eprintln!("camera session not open yet ({error}); retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("cannot open camera session: {error}"),
            }
        };
        let tint = tint_of(&options.id);
        let frames: Vec<Bytes> = (0..options.distinct_frames.max(1))
            .map(|step| {
                let jpeg = draw_frame(options.width, options.height, tint, step);
                Bytes::from(pad_jpeg(&jpeg, options.padding))
            })
            .collect();
        let stop = CancellationToken::new();
        let published = Arc::new(AtomicU64::new(0));
        let token = session
            .liveliness()
            .declare_token(keys.liveliness())
            .await
            .expect("liveliness token");
        let info_task = tokio::spawn(serve_info(
            session.clone(),
            keys.clone(),
            options.clone(),
            published.clone(),
            stop.clone(),
        ));
        let latest = Latest::default();
        let (matching_tx, matching) = tokio::sync::watch::channel(false);
        let snapshot_task = tokio::spawn(serve_snapshot(
            session.clone(),
            keys.clone(),
            latest.clone(),
            stop.clone(),
        ));
        let publish_task = tokio::spawn(publish_frames(
            session.clone(),
            keys,
            options.clone(),
            frames,
            (published.clone(), latest, matching_tx),
            stop.clone(),
            token,
        ));
        Self {
            options,
            session,
            stop,
            published,
            matching,
            tasks: vec![info_task, snapshot_task, publish_task],
        }
    }

    /// The endpoint a gateway connects to, e.g. `tcp/127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("tcp/127.0.0.1:{}", self.options.port)
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::SeqCst)
    }

    /// Waits until the publisher's matching status is `matching`; `false` after `timeout`.
    pub async fn wait_matching(&self, matching: bool, timeout: Duration) -> bool {
        let mut status = self.matching.clone();
        tokio::time::timeout(timeout, status.wait_for(|now| *now == matching))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// Puts an arbitrary payload/attachment on this camera's frame key (for bad-input tests).
    pub async fn put_raw(&self, payload: Vec<u8>, attachment: Option<Vec<u8>>) {
        let keys = CameraKeys::new(&self.options.prefix, &self.options.id).expect("keys");
        let mut put = self
            .session
            .put(keys.jpeg(), payload)
            .encoding(Encoding::IMAGE_JPEG);
        if let Some(attachment) = attachment {
            put = put.attachment(attachment);
        }
        put.await.expect("raw put");
    }

    /// Stops publishing, drops the liveliness token and closes the session (a "killed" node).
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.close()).await;
    }
}

fn tint_of(id: &str) -> [u8; 3] {
    let hash = id.bytes().fold(17u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    [
        (hash % 160) as u8,
        ((hash / 160) % 160) as u8,
        ((hash / 25_600) % 160) as u8,
    ]
}

async fn publish_frames(
    session: zenoh::Session,
    keys: CameraKeys,
    options: CameraOptions,
    frames: Vec<Bytes>,
    (published, latest, matching): (Arc<AtomicU64>, Latest, tokio::sync::watch::Sender<bool>),
    stop: CancellationToken,
    token: zenoh::liveliness::LivelinessToken,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(options.fps)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let Ok(publisher) = session
        .declare_publisher(keys.jpeg())
        .encoding(Encoding::IMAGE_JPEG)
        .congestion_control(CongestionControl::Drop)
        .await
    else {
        return;
    };
    // Listener first, then the current status, so that no change falls in between.
    let matching = Arc::new(matching);
    let on_change = matching.clone();
    let _listener = publisher
        .matching_listener()
        .callback(move |status| {
            on_change.send_replace(status.matching());
        })
        .await
        .expect("matching listener");
    if let Ok(status) = publisher.matching_status().await {
        matching.send_replace(status.matching());
    }
    // A camera with a frame budget waits for a subscriber, or its few frames would be lost.
    if options.max_frames.is_some() && options.wait_for_subscriber {
        loop {
            let matching = publisher.matching_status().await.map(|m| m.matching());
            if matching.unwrap_or(false) || stop.is_cancelled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut seq = 0u64;
    loop {
        if options.max_frames.is_some_and(|max| seq >= max) {
            stop.cancelled().await;
            break;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let meta = FrameMeta {
            seq,
            capture_ts_ns: unix_now_ns(),
            width: options.width,
            height: options.height,
            generation: 1,
            online: true,
        };
        let jpeg = frames[(seq % frames.len() as u64) as usize].clone();
        let result = publisher
            .put(jpeg.to_vec())
            .attachment(meta.encode().to_vec())
            .await;
        if result.is_err() {
            break;
        }
        *latest.lock().expect("latest frame") = Some((jpeg, meta));
        seq += 1;
        published.store(seq, Ordering::SeqCst);
    }
    let _ = token.undeclare().await;
}

/// The last published frame, for the snapshot queryable.
pub(super) type Latest = Arc<Mutex<Option<(Bytes, FrameMeta)>>>;

//! The load client: N MJPEG or WebSocket clients of one URL, each checking every part and
//! counting it only inside the measurement window.
//!
//! Per client: parts per second, parts that are not a complete JPEG, duplicates (a sequence
//! number not above the last one, or the same picture again when the server sends no
//! sequence numbers), and latency = arrival of the part's last byte minus its `X-Timestamp`
//! (the metadata's capture time for WebSocket messages), split where the gateway stamps its
//! parts (`X-Gateway-Timestamp`) into capture → gateway and gateway → client. WebSocket
//! messages carry no gateway stamp: with [`LoadSpec::stamps_from`] one MJPEG probe client of
//! the same camera records each frame's stamp by sequence number, and the WebSocket clients'
//! latencies are split with it after the run.

mod ws;

use crate::http::{self, ResponseHead};
use anyhow::{bail, Context, Result};
use camera_protocol::meta::unix_now_ns;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use test_support::multipart::{BodyDecoder, Part};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Longest wait for a byte before a client counts as stalled.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const READ_BUFFER: usize = 256 * 1024;

/// Which protocol the clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mjpeg,
    WebSocket,
}

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    /// Path and query, e.g. `/cameras/front/stream.mjpg`.
    pub path: String,
    pub protocol: Protocol,
    pub clients: usize,
    /// Measurement window, after every client has its first part.
    pub window: Duration,
    /// How long all clients may take to get their first part.
    pub connect_timeout: Duration,
    /// MJPEG clients that read slowly instead of as fast as they can.
    pub slow: Option<SlowReading>,
    /// WebSocket runs: an MJPEG stream of the same frames whose `X-Gateway-Timestamp`s split
    /// the clients' latency (one more client on the server, which its CPU figure includes).
    pub stamps_from: Option<String>,
}

/// Gateway stamps by frame sequence number, from the probe client.
type Stamps = Arc<Mutex<HashMap<u64, u64>>>;
/// Stamps kept at most (the probe forgets them all beyond, a few minutes of frames).
const MAX_STAMPS: usize = 100_000;

/// A slow reader: reads at most `chunk` bytes, then pauses, again and again.
#[derive(Debug, Clone, Copy)]
pub struct SlowReading {
    pub chunk: usize,
    pub pause: Duration,
}

/// State shared by the clients of one run.
#[derive(Debug, Default)]
struct Shared {
    measuring: AtomicBool,
    started: AtomicUsize,
}

/// One client's counts within the window.
#[derive(Debug, Default, Clone)]
pub struct ClientStats {
    pub parts: u64,
    pub not_jpeg: u64,
    pub duplicates: u64,
    pub bytes: u64,
    pub latencies_us: Vec<u32>,
    /// Split by `X-Gateway-Timestamp`: capture → gateway, and gateway → last byte read.
    pub to_gateway_us: Vec<u32>,
    pub from_gateway_us: Vec<u32>,
    /// Parts without a gateway stamp, (seq, capture ns, arrival ns), split after the run.
    unstamped: Vec<(u64, u64, u64)>,
    /// The probe client: where it keeps each part's gateway stamp.
    stamps: Option<Stamps>,
    pub error: Option<String>,
    last_seq: Option<u64>,
    last_hash: Option<u64>,
}

impl ClientStats {
    fn record(&mut self, part: &Part, measuring: bool) {
        let duplicate = match (part.seq, part.hash) {
            (Some(seq), _) => self.last_seq.is_some_and(|last| seq <= last),
            (None, Some(hash)) => self.last_hash == Some(hash),
            (None, None) => false,
        };
        if let Some(stamps) = &self.stamps {
            return Self::keep_stamp(stamps, part);
        }
        if let Some(seq) = part.seq {
            self.last_seq = Some(self.last_seq.map_or(seq, |last| last.max(seq)));
        }
        self.last_hash = part.hash;
        if !measuring {
            return;
        }
        self.parts += 1;
        self.bytes += part.len as u64;
        self.not_jpeg += u64::from(!part.is_jpeg);
        self.duplicates += u64::from(duplicate);
        let now = unix_now_ns();
        let micros = |from: u64, to: u64| u32::try_from(to.saturating_sub(from) / 1_000);
        if let Some(ts) = part.timestamp_ns {
            self.latencies_us.push(micros(ts, now).unwrap_or(u32::MAX));
            match (part.gateway_ns, part.seq) {
                (Some(gateway), _) => self.split(ts, gateway, now),
                (None, Some(seq)) => self.unstamped.push((seq, ts, now)),
                (None, None) => {}
            }
        }
    }

    fn split(&mut self, capture_ns: u64, gateway_ns: u64, arrival_ns: u64) {
        let micros = |from: u64, to: u64| u32::try_from(to.saturating_sub(from) / 1_000);
        self.to_gateway_us
            .push(micros(capture_ns, gateway_ns).unwrap_or(u32::MAX));
        self.from_gateway_us
            .push(micros(gateway_ns, arrival_ns).unwrap_or(u32::MAX));
    }

    /// The probe's part: only its stamp is kept, whether measuring or not.
    fn keep_stamp(stamps: &Stamps, part: &Part) {
        if let (Some(seq), Some(gateway)) = (part.seq, part.gateway_ns) {
            let mut stamps = stamps.lock().unwrap_or_else(PoisonError::into_inner);
            if stamps.len() >= MAX_STAMPS {
                stamps.clear();
            }
            stamps.insert(seq, gateway);
        }
    }

    /// Splits the parts that had no stamp with the probe's stamps of the same frames.
    fn split_with(&mut self, stamps: &HashMap<u64, u64>) {
        for (seq, capture, arrival) in std::mem::take(&mut self.unstamped) {
            if let Some(&gateway) = stamps.get(&seq) {
                self.split(capture, gateway, arrival);
            }
        }
    }
}

/// Hooks the caller runs at the edges of the window (CPU samples of the server processes).
pub trait WindowProbe {
    fn start(&mut self);
    fn stop(&mut self);
}

/// The outcome of one run.
#[derive(Debug)]
pub struct LoadResult {
    pub clients: Vec<ClientStats>,
    pub window: Duration,
}

impl LoadResult {
    /// Parts per second of each client, sorted ascending.
    pub fn fps_sorted(&self) -> Vec<f64> {
        let secs = self.window.as_secs_f64();
        let mut fps: Vec<f64> = self.clients.iter().map(|c| c.parts as f64 / secs).collect();
        fps.sort_by(f64::total_cmp);
        fps
    }

    pub fn total_parts(&self) -> u64 {
        self.clients.iter().map(|c| c.parts).sum()
    }

    pub fn duplicates(&self) -> u64 {
        self.clients.iter().map(|c| c.duplicates).sum()
    }

    pub fn not_jpeg(&self) -> u64 {
        self.clients.iter().map(|c| c.not_jpeg).sum()
    }

    pub fn errors(&self) -> Vec<&str> {
        self.clients
            .iter()
            .filter_map(|c| c.error.as_deref())
            .collect()
    }

    /// Latency percentile `p` (0..=100) over every part of every client, in µs.
    pub fn latency_us(&self, p: f64) -> Option<u32> {
        self.percentile_of(|c| &c.latencies_us, p)
    }

    /// Percentile `p` of the capture → gateway part of the latency (stamped parts only).
    pub fn to_gateway_us(&self, p: f64) -> Option<u32> {
        self.percentile_of(|c| &c.to_gateway_us, p)
    }

    /// Percentile `p` of the gateway → last byte read part of the latency.
    pub fn from_gateway_us(&self, p: f64) -> Option<u32> {
        self.percentile_of(|c| &c.from_gateway_us, p)
    }

    fn percentile_of(&self, values: impl Fn(&ClientStats) -> &Vec<u32>, p: f64) -> Option<u32> {
        let mut all: Vec<u32> = self
            .clients
            .iter()
            .flat_map(|c| values(c).iter().copied())
            .collect();
        percentile(&mut all, p)
    }
}

/// `p`-th percentile (nearest rank) of `values`, sorting them.
pub fn percentile<T: Copy + Ord>(values: &mut [T], p: f64) -> Option<T> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// Opens `spec.clients` clients, waits until each has a part, measures for `spec.window`
/// (calling `probe` at both edges), then closes them all.
pub async fn run(spec: &LoadSpec, probe: &mut dyn WindowProbe) -> Result<LoadResult> {
    let shared = Arc::new(Shared::default());
    let stop = CancellationToken::new();
    let stamps = spec
        .stamps_from
        .as_ref()
        .map(|path| spawn_probe(spec, path, &stop));
    let mut tasks = Vec::with_capacity(spec.clients);
    for _ in 0..spec.clients {
        let (spec, shared, stop) = (spec.clone(), shared.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = ClientStats::default();
            let outcome = match spec.protocol {
                Protocol::Mjpeg => mjpeg_client(&spec, &shared, &stop, &mut stats).await,
                Protocol::WebSocket => ws::ws_client(&spec, &shared, &stop, &mut stats).await,
            };
            if let Err(error) = outcome {
                stats.error = Some(format!("{error:#}"));
                // A failed client still counts as started, so the run does not wait for it.
                shared.started.fetch_add(1, Ordering::Relaxed);
            }
            stats
        }));
        // Spread connection set-up a little so accept queues do not overflow.
        if tasks.len() % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let deadline = Instant::now() + spec.connect_timeout;
    while shared.started.load(Ordering::Relaxed) < spec.clients {
        if Instant::now() > deadline {
            stop.cancel();
            bail!(
                "only {} of {} clients got a first part within {:?}",
                shared.started.load(Ordering::Relaxed),
                spec.clients,
                spec.connect_timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let every client settle into the stream before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    probe.start();
    shared.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(spec.window).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let window = started.elapsed();
    probe.stop();
    stop.cancel();
    let mut clients = Vec::with_capacity(tasks.len());
    for task in tasks {
        clients.push(task.await.context("client task panicked")?);
    }
    if let Some(stamps) = stamps {
        let stamps = stamps.lock().unwrap_or_else(PoisonError::into_inner);
        for client in &mut clients {
            client.split_with(&stamps);
        }
    }
    Ok(LoadResult { clients, window })
}

/// Starts the probe client on MJPEG `path`: it keeps every part's gateway stamp until `stop`.
fn spawn_probe(spec: &LoadSpec, path: &str, stop: &CancellationToken) -> Stamps {
    let stamps = Stamps::default();
    let probe = LoadSpec {
        path: path.to_owned(),
        protocol: Protocol::Mjpeg,
        clients: 1,
        slow: None,
        stamps_from: None,
        ..spec.clone()
    };
    let (kept, stop) = (stamps.clone(), stop.clone());
    tokio::spawn(async move {
        let mut stats = ClientStats {
            stamps: Some(kept),
            ..ClientStats::default()
        };
        if let Err(error) = mjpeg_client(&probe, &Shared::default(), &stop, &mut stats).await {
            tracing::warn!(%error, "the stamp probe client failed: WebSocket latency not split");
        }
    });
    stamps
}

async fn mjpeg_client(
    spec: &LoadSpec,
    shared: &Shared,
    stop: &CancellationToken,
    stats: &mut ClientStats,
) -> Result<()> {
    let mut stream = tokio::time::timeout(READ_TIMEOUT, TcpStream::connect(spec.addr))
        .await
        .context("connect timed out")??;
    stream.set_nodelay(true)?;
    http::send_get(&mut stream, spec.addr, &spec.path, true).await?;
    let mut buf = vec![0u8; READ_BUFFER];
    let (head, body_start, filled): (ResponseHead, usize, usize) =
        http::read_head(&mut stream, &mut buf).await?;
    if head.status != 200 {
        bail!("HTTP {} from {}", head.status, spec.path);
    }
    let boundary = head
        .boundary()
        .context("response has no multipart boundary")?;
    let mut decoder = BodyDecoder::new(&boundary, head.chunked());
    let mut first = true;
    let mut on_part = |part: Part| {
        if first {
            first = false;
            shared.started.fetch_add(1, Ordering::Relaxed);
        }
        stats.record(&part, shared.measuring.load(Ordering::Relaxed));
    };
    decoder.feed(&buf[body_start..filled], &mut on_part)?;
    let read_len = spec
        .slow
        .map_or(buf.len(), |slow| slow.chunk.clamp(1, buf.len()));
    loop {
        if let Some(slow) = spec.slow {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(slow.pause) => {}
            }
        }
        let n = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            read = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut buf[..read_len])) => read.context("no data for 10 s")??,
        };
        if n == 0 {
            bail!("server closed the stream");
        }
        decoder.feed(&buf[..n], &mut on_part)?;
    }
}

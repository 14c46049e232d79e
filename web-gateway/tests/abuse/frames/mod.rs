//! Hostile frame samples and camera ids (issue 12, findings 1–5) against the real binary.
//!
//! Each test runs a good camera at full rate and an attacker camera `bad` (a liveliness
//! token, one honest 160×120 frame, then whatever the test puts on its key), and asserts:
//! the gateway stays up, its peak RSS stays within a stated bound over its RSS before the
//! attack, a client of the good camera still gets its frames, the bad bytes never reach a
//! client of `bad` and are counted in `gateway_rejected_frames_total{reason=...}`.//!
//! This module is the shared scene (the two cameras, the gateway, the attack window and its
//! checks); the attacks are grouped by what they forge: `payloads.rs` (findings 1–4, the
//! sample's bytes and declared size), `identity.rs` (finding 5, its seq and camera id, and
//! the camera table).

mod identity;
mod payloads;

use crate::GATEWAY;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::FrameMeta;
use std::future::Future;
use std::time::{Duration, Instant};
use test_support::{jpeg_size, CameraOptions, Gateway, MjpegStream, Part, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);
/// How long each attack runs while the good camera's rate is measured.
const WINDOW: Duration = Duration::from_secs(4);
const GOOD_FPS: u32 = 20;
/// Share of the good camera's published frames its client must receive during an attack.
/// Tolerant, because CI's two cores are shared; a gateway busy with the attack (a full-size
/// decode per frame, GBs of allocation) falls far below it, or dies.
const GOOD_SHARE: f64 = 0.7;
/// Size of the bad camera's one honest frame: every picture its clients get must have it.
const BAD_SIZE: (u32, u32) = (160, 120);
const MIB: u64 = 1024;
/// Zenoh's routing does work per new token that grows with the tokens it already holds, slow
/// in a debug build: 5000 tokens took 40-60 s on a loaded two-core machine, come and go.
const JUNK_DEADLINE: Duration = Duration::from_secs(240);

/// These tests run one at a time: each measures a gateway's rate and memory, which other
/// gateways decoding 8000×8000 frames or routing 5000 tokens beside it would distort.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A gateway with a good camera streaming at `GOOD_FPS` and the attacker camera `bad`.
struct Scene {
    good: SyntheticCamera,
    bad: SyntheticCamera,
    gateway: Gateway,
}

impl Scene {
    async fn start(extra: &[&str]) -> Self {
        let good = SyntheticCamera::start(CameraOptions::new("good", 320, 240).fps(GOOD_FPS)).await;
        let (width, height) = BAD_SIZE;
        let bad =
            SyntheticCamera::start(CameraOptions::new("bad", width, height).max_frames(1)).await;
        let gateway = Gateway::spawn(GATEWAY, &[good.endpoint(), bad.endpoint()], extra);
        gateway
            .wait_camera("good", LONG, |c| {
                c["online"] == true && c["fps"].as_f64() > Some(5.0)
            })
            .await;
        gateway
            .wait_camera("bad", LONG, |c| c["last_seq"] == 0)
            .await;
        Self { good, bad, gateway }
    }

    async fn stream(&self, path: &str) -> MjpegStream {
        let mut stream = MjpegStream::open(&self.gateway.url(path))
            .await
            .unwrap_or_else(|response| panic!("{path}: HTTP {}", response.status()));
        stream.next_part(LONG).await.expect("a first part");
        stream
    }

    /// Runs `attack` for [`WINDOW`] while clients read the good camera and `bad_paths`, then
    /// checks the good camera's rate and the gateway's peak RSS (at most `rss_bound_mib` over
    /// its RSS before). Returns the parts the clients of `bad_paths` received.
    async fn attack(
        &self,
        what: &str,
        bad_paths: &[&str],
        rss_bound_mib: u64,
        attack: impl Future<Output = u64>,
    ) -> Vec<Vec<Part>> {
        let mut good = self.stream("/cameras/good/stream.mjpg").await;
        let mut bad = Vec::new();
        for path in bad_paths {
            bad.push(self.stream(path).await);
        }
        let process = self.gateway.process();
        assert!(
            process.reset_peak_rss(),
            "cannot reset the gateway's peak RSS"
        );
        let rss_before = process.vm_rss_kib();
        // Readers run as their own tasks, so that an attack that blocks its thread (zenoh
        // calls may) does not starve them: the rate measured is the gateway's.
        let deadline = Instant::now() + WINDOW;
        let status = self.good.status();
        let good_parts = tokio::spawn(async move {
            let published_before = status.published();
            let parts = read_until(&mut good, deadline).await.len() as u64;
            (parts, status.published() - published_before)
        });
        let bad_parts: Vec<_> = bad
            .into_iter()
            .map(|mut stream| tokio::spawn(async move { read_until(&mut stream, deadline).await }))
            .collect();
        let sent = attack.await;
        let (received, published) = good_parts.await.expect("good reader");
        let bad_parts = futures::future::join_all(bad_parts)
            .await
            .into_iter()
            .map(|parts| parts.expect("bad reader"))
            .collect();
        let peak = process.vm_hwm_kib();
        eprintln!(
            "{what}: {sent} bad samples in {WINDOW:?}; good camera {received}/{published} frames \
             ({:.1} fps); gateway RSS {} MiB before, peak {} MiB",
            received as f64 / WINDOW.as_secs_f64(),
            rss_before / MIB,
            peak / MIB,
        );
        assert!(self.gateway_alive(), "{what}: the gateway died");
        assert!(sent > 0, "{what}: the attack sent nothing");
        assert!(
            published >= u64::from(GOOD_FPS) * WINDOW.as_secs() / 2,
            "{what}: the good camera itself published only {published} frames"
        );
        assert!(
            received as f64 >= GOOD_SHARE * published as f64,
            "{what}: the good camera's client got {received} of {published} frames"
        );
        assert!(
            peak.saturating_sub(rss_before) < rss_bound_mib * MIB,
            "{what}: peak RSS {} MiB is more than {rss_bound_mib} MiB over {} MiB before",
            peak / MIB,
            rss_before / MIB
        );
        bad_parts
    }

    fn gateway_alive(&self) -> bool {
        std::fs::metadata(format!("/proc/{}/status", self.gateway.pid())).is_ok()
            && self
                .gateway
                .process()
                .stderr()
                .lines()
                .all(|line| !line.contains("panicked"))
    }

    async fn rejected(&self, camera: &str, reason: &str) -> f64 {
        let series =
            format!("gateway_rejected_frames_total{{camera=\"{camera}\",reason=\"{reason}\"}}");
        self.gateway.metric(&series).await
    }

    /// Lines the gateway logged so far that contain every one of `words`.
    fn log_lines(&self, words: &[&str]) -> usize {
        let stderr = self.gateway.process().stderr();
        stderr
            .lines()
            .filter(|line| words.iter().all(|word| line.contains(word)))
            .count()
    }
}

/// Every part `stream` yields until `deadline`.
async fn read_until(stream: &mut MjpegStream, deadline: Instant) -> Vec<Part> {
    let mut parts = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match stream.next_part(left).await {
            Some(part) => parts.push(part),
            None => break,
        }
    }
    parts
}

/// Calls `put` every `every` until [`WINDOW`] passed; returns how many times.
async fn repeatedly(every: Duration, mut put: impl AsyncFnMut(u64)) -> u64 {
    let deadline = Instant::now() + WINDOW;
    let mut ticker = tokio::time::interval(every);
    let mut count = 0;
    while Instant::now() < deadline {
        ticker.tick().await;
        put(count).await;
        count += 1;
    }
    count
}

fn frame_meta(seq: u64, width: u32, height: u32) -> FrameMeta {
    FrameMeta {
        seq,
        capture_ts_ns: unix_now_ns(),
        width,
        height,
        generation: 7,
        online: true,
    }
}

fn meta(seq: u64, width: u32, height: u32) -> Vec<u8> {
    frame_meta(seq, width, height).encode().to_vec()
}

/// Every part a client of `bad` got is a complete JPEG of the honest frame's size (scaled for
/// a `?width=` client), never `forbidden`.
fn assert_only_honest(parts: &[Part], size: (u32, u32), forbidden: &[&[u8]]) {
    for part in parts {
        camera_protocol::frame::check_complete_jpeg(&part.body).expect("a complete JPEG");
        assert_eq!(
            jpeg_size(&part.body),
            size,
            "a bad picture reached a client"
        );
        for bad in forbidden {
            assert_ne!(&part.body[..], *bad, "bad bytes reached a client");
        }
    }
}

//! A slow, lossy radio link: robot ↔ delaying proxy (in the base station) ↔ gateway, 100 ms
//! each way plus 5 % of the robot's packets dropped. The stream keeps its frame rate, and
//! frames arrive about the link's delay after capture.

use crate::http::Stream;
use crate::lab::{error_lines, lab};
use crate::setup::{self, FPS, GATEWAY_PORT, ROBOT_ADDR};
use crate::START;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Added by the proxy in each direction.
const DELAY: Duration = Duration::from_millis(100);
/// Packets the robot loses, in and out.
const LOSS_PERCENT: u8 = 5;
/// How long the stream is measured.
const WINDOW: Duration = Duration::from_secs(10);
/// Where the proxy listens in the base station (its end of the robot link; the robot's
/// certificate carries this address too).
const PROXY: &str = "10.77.1.1:7500";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

#[test]
fn hundred_ms_each_way_and_five_percent_loss() {
    crate::void_if_crashed(|| {
        let Some(lab) = lab() else {
            return;
        };
        let base = lab.host("base");
        let robot = lab.host("robot");
        lab.link(&base, &robot, 1);
        robot.lose_percent(LOSS_PERCENT);
        let _hub = setup::hub(&lab, &robot, "robot1");
        let node = setup::camera_node(&robot, &[]);
        let upstream: SocketAddr = format!("{ROBOT_ADDR}:{}", setup::hub_tls_port(&lab))
            .parse()
            .expect("address");
        let proxy_addr: SocketAddr = PROXY.parse().expect("address");
        let _proxy = base.delay_proxy(proxy_addr, upstream, DELAY);
        // 200 ms round trips: the profile's own advice for a slow link (open_timeout 2000).
        let slow_link = lab.profile_variant(
            "base-station",
            "base-station-slow-link",
            &[("open_timeout: 500", "open_timeout: 2000")],
        );
        let gateway = setup::gateway_with(
            &base,
            &slow_link,
            &lab.certs("base"),
            &[&format!("tls/{PROXY}")],
            GATEWAY_PORT,
            &[],
        );
        let http = setup::http_addr(GATEWAY_PORT);
        assert!(
            setup::wait_online(&base, http, "front", true, START).is_some(),
            "camera never online through the proxy.\ngateway:\n{}",
            gateway.stderr()
        );
        let stream = Stream::open(&base, http, "/cameras/front/stream.mjpg").expect("open stream");
        assert!(stream.wait_part(START, |part| part.online).is_some());
        let started = Instant::now();
        std::thread::sleep(WINDOW);
        let window = started..Instant::now();

        let mut newest = 0;
        let mut latencies = Vec::new();
        for part in stream.parts() {
            if !part.online || part.seq <= newest || !window.contains(&part.at) {
                continue;
            }
            newest = part.seq;
            latencies.push(part.wall - part.captured);
        }
        latencies.sort_by(f64::total_cmp);
        assert!(!latencies.is_empty(), "no frame through the slow link");
        let fps = latencies.len() as f64 / WINDOW.as_secs_f64();
        let (p50, p95, max) = (
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies[latencies.len() - 1],
        );
        eprintln!(
            "DELAY {} ms each way + {LOSS_PERCENT} % loss: {fps:.1} fps (camera {FPS}), capture-to-client latency p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            DELAY.as_millis(),
            p50 * 1000.0,
            p95 * 1000.0,
            max * 1000.0
        );
        assert!(
            fps >= f64::from(FPS) / 2.0,
            "only {fps:.1} fps through the slow link (camera {FPS})"
        );
        // The delay is really in the path, and frames are not held back much beyond it.
        assert!(
            p50 >= DELAY.as_secs_f64(),
            "median latency {p50:.3} s below the link's delay: proxy not in the path?"
        );
        assert!(
            p50 <= DELAY.as_secs_f64() + 0.4,
            "median latency {p50:.3} s: frames held back well beyond the link's delay"
        );
        assert!(stream.ended().is_none(), "the stream ended");
        let errors = error_lines(&gateway);
        assert!(errors.is_empty(), "gateway logged errors: {errors:?}");
        drop(gateway);
        drop(node);
    });
}

//! Finding 11: the log cannot be flooded from the network. 200 liveliness tokens churned 43
//! times in 30 s (each appearance used to log ~5 lines: 5.2 MB) must stay under 1 MB of
//! gateway log a minute, measured as the bytes the real binary writes to stderr at `info`.

use super::{Scene, LONG};
use crate::frames::SERIAL;
use std::time::{Duration, Instant};
use test_support::phantoms::Phantoms;

const TOKENS: usize = 200;
const ROUNDS: u32 = 43;
const CHURN: Duration = Duration::from_secs(30);
const BYTES_PER_MINUTE: f64 = 1024.0 * 1024.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveliness_churn_stays_under_a_megabyte_of_log_a_minute() {
    let _serial = SERIAL.lock().await;
    let scene = Scene::start(&[]).await;
    let before = scene.gateway.process().stderr().len();
    let started = Instant::now();
    let round = CHURN / ROUNDS;
    for n in 0..ROUNDS {
        let at = started + round * n;
        let keys = (0..TOKENS).map(|i| format!("camera/churn-{i}"));
        let tokens = Phantoms::declare(&scene.attacker, keys, None).await;
        tokio::time::sleep_until((at + round / 2).into()).await;
        drop(tokens);
        tokio::time::sleep_until((at + round).into()).await;
    }
    // What the gateway still has queued is part of the attack's cost.
    scene
        .gateway
        .wait_camera("front", LONG, |c| {
            c["online"] == true && c["fps"].as_f64() > Some(2.0)
        })
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    let log = scene.gateway.process().stderr();
    let written = &log[before..];
    let per_minute = written.len() as f64 * 60.0 / elapsed.as_secs_f64().max(60.0);
    eprintln!(
        "CHURN {TOKENS} tokens x {ROUNDS} in {elapsed:?}: {} lines, {} bytes of log ({per_minute:.0} B/min; bound {BYTES_PER_MINUTE})",
        written.lines().count(),
        written.len()
    );
    assert!(
        written.contains("churn-"),
        "the gateway never saw the churn"
    );
    assert!(
        per_minute < BYTES_PER_MINUTE,
        "{per_minute:.0} bytes of log a minute"
    );
    // Counted, not silenced: beyond the first cameras, one line stands for all the others.
    assert!(
        written.contains("other cameras"),
        "no line counts the cameras left out"
    );
}

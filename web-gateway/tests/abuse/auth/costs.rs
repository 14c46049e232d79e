//! Issue 23, finding 10: unknown users were checked against the first entry's hash, so with a
//! user made by plain `htpasswd -B` (cost 5) a wrong password answered in 2 ms against 213 ms:
//! which users exist, and which are cheap to guess, showed in the timing. Now every check
//! costs a bcrypt of the file's highest cost, and cheap entries are warned about at start.

use super::{basic, passwd_cost, LONG};
use crate::GATEWAY;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use test_support::Gateway;

/// Password "secret" at bcrypt cost 5, as `htpasswd -B` makes unless told `-C`: Python's
/// `bcrypt` module, `$2b$` renamed to Apache's `$2y$` (the unit tests' reference line).
const CHEAP_LINE: &str = "cheap:$2y$05$lnBe2Bw..jLoC8ihI4Os1.0sgMYFIigpejXRMf0pF8PRDVjwphRPy";
/// Samples per kind of login.
const SAMPLES: u8 = 5;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_logins_take_as_long_whatever_the_user_and_cheap_hashes_are_warned_about() {
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    passwd_cost(&htpasswd, "sturdy", Some("sturdy horse"), 12);
    let text = std::fs::read_to_string(&htpasswd).expect("htpasswd");
    std::fs::write(&htpasswd, format!("{CHEAP_LINE}\n{text}")).expect("write");
    let auth_file = htpasswd.to_str().expect("utf-8 path");
    let gateway = Gateway::spawn(GATEWAY, &[], &["--auth-file", auth_file]);
    let warning = gateway
        .process()
        .wait_for_line("the cheap-hash warning", LONG, |line| {
            (line.contains("WARN") && line.contains("cheap to guess")).then(|| line.to_owned())
        });
    for needle in [
        "\"cheap\" (cost 5)",
        "htpasswd -B -C 12",
        "web-gateway passwd",
    ] {
        assert!(warning.contains(needle), "{needle} missing: {warning}");
    }
    assert!(!warning.contains("sturdy"), "{warning}");

    // Wrong passwords of an unknown user, the cheap one and the sturdy one, interleaved, each
    // from its own address (no back-off in the way).
    let url = gateway.url("/api/cameras");
    let kinds = ["nobody", "cheap", "sturdy"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    for sample in 0..SAMPLES {
        for (index, user) in kinds.iter().enumerate() {
            let address = IpAddr::from([127, 0, 1, 10 * sample + index as u8 + 1]);
            let client = reqwest::Client::builder()
                .local_address(address)
                .build()
                .expect("client");
            let started = Instant::now();
            let response = client
                .get(&url)
                .header("authorization", basic(user, "wrong horse"))
                .send()
                .await
                .expect("GET");
            times[index].push(started.elapsed());
            assert_eq!(response.status(), 401, "{user}");
        }
    }
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    eprintln!("wrong password, median of {SAMPLES}: {kinds:?} {medians:?}");
    let slowest = *medians.iter().max().expect("three");
    for (user, median) in kinds.iter().zip(&medians) {
        // Before: 2 ms for the cheap user against ~200 ms (a ratio of 0.01).
        assert!(
            median.as_secs_f64() >= 0.5 * slowest.as_secs_f64(),
            "{user}: {median:?} against {slowest:?}: the timing tells users apart"
        );
    }
    // The cheap user's right password still works (its own hash decides).
    let response = reqwest::Client::new()
        .get(&url)
        .header("authorization", basic("cheap", "secret"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
}

//! Issue 23, finding 4: a wrong-password flood locked new logins out (one bcrypt slot, a FIFO
//! queue, 10 s then 503). Now 150 parallel guessing loops from three addresses get 429 with
//! `Retry-After` (no bcrypt) while fresh addresses log in no more than 1 s slower than without
//! the flood, and the bcrypt work the flood causes is a few checks per address. Behind
//! `--trusted-proxy`, the address limited is the forwarded client.

use super::{basic, passwd_cost, LONG};
use crate::GATEWAY;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::{metrics, Gateway};
use tokio::sync::Notify;

/// Parallel guessing loops, spread over [`FLOOD_FROM`].
const LOOPS: usize = 150;
const FLOOD_FROM: [[u8; 4]; 3] = [[127, 0, 0, 2], [127, 0, 0, 3], [127, 0, 0, 4]];
/// The requirement: a first login from another address is delayed at most this much.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// bcrypt cost of every user here: what `web-gateway passwd` writes and the docs advise.
const COST: u32 = 12;

fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(address))
        .timeout(LONG)
        .build()
        .expect("client")
}

/// The flood's answers.
#[derive(Debug, Default)]
struct Tally {
    throttled: AtomicU64,
    /// 429s without a `Retry-After` of at least 1 s.
    without_retry_after: AtomicU64,
    unauthorized: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
    /// Told on each 429.
    answered: Notify,
}

async fn guess(
    client: reqwest::Client,
    url: String,
    n: usize,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut round = 0u64;
    while !stop.load(Ordering::Acquire) {
        round += 1;
        let wrong = basic("admin", &format!("guess-{n}-{round}"));
        let response = match client.get(&url).header("authorization", wrong).send().await {
            Ok(response) => response,
            Err(_) => {
                tally.other.fetch_add(1, Ordering::AcqRel);
                continue;
            }
        };
        let counter = match response.status().as_u16() {
            429 => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
                if retry_after.is_none_or(|secs| secs < 1) {
                    tally.without_retry_after.fetch_add(1, Ordering::AcqRel);
                }
                tally.answered.notify_waiters();
                &tally.throttled
            }
            401 => &tally.unauthorized,
            503 => &tally.busy,
            _ => &tally.other,
        };
        counter.fetch_add(1, Ordering::AcqRel);
    }
}

/// The first login of `user` from `address`: asserts 200, gives its time.
async fn first_login(url: &str, address: [u8; 4], user: &str, password: &str) -> Duration {
    let client = client_from(address);
    let started = Instant::now();
    let response = client
        .get(url)
        .header("authorization", basic(user, password))
        .send()
        .await
        .expect("GET");
    let took = started.elapsed();
    assert_eq!(response.status(), 200, "{user} from {address:?}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_flood_does_not_delay_another_addresss_first_login() {
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    let users = ["admin", "viewer", "ops", "dock"];
    for user in users {
        passwd_cost(
            &htpasswd,
            user,
            Some(&format!("{user} correct horse")),
            COST,
        );
    }
    let auth_file = htpasswd.to_str().expect("utf-8 path");
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &["--auth-file", auth_file, "--metrics-access", "open"],
    );
    let url = gateway.url("/api/cameras");
    let password = |user: &str| format!("{user} correct horse");

    // Without the flood: two users' first logins, from their own fresh addresses.
    let mut quiet = Vec::new();
    for (user, address) in [("ops", [127, 0, 0, 10]), ("dock", [127, 0, 0, 11])] {
        quiet.push(first_login(&url, address, user, &password(user)).await);
    }
    let baseline = *quiet.iter().max().expect("two");

    let cpu_before = gateway.process().cpu_time();
    let flood_started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<reqwest::Client> = FLOOD_FROM.iter().map(|a| client_from(*a)).collect();
    let loops: Vec<_> = (0..LOOPS)
        .map(|n| {
            let client = clients[n % clients.len()].clone();
            tokio::spawn(guess(client, url.clone(), n, stop.clone(), tally.clone()))
        })
        .collect();
    // Going at full strength: every loop has been answered 429 about once.
    tokio::time::timeout(LONG, async {
        while tally.throttled.load(Ordering::Acquire) < LOOPS as u64 {
            let notified = tally.answered.notified();
            if tally.throttled.load(Ordering::Acquire) >= LOOPS as u64 {
                break;
            }
            notified.await;
        }
    })
    .await
    .expect("the flood is answered 429 within 30 s");

    // During the flood: the flood's own target, and another user, from fresh addresses.
    let mut flooded = Vec::new();
    for (user, address) in [("admin", [127, 0, 0, 20]), ("viewer", [127, 0, 0, 21])] {
        flooded.push(first_login(&url, address, user, &password(user)).await);
    }
    let health = gateway.get("/healthz").await.status();
    stop.store(true, Ordering::Release);
    for task in loops {
        task.await.expect("guessing loop");
    }
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let cpu = (gateway.process().cpu_time() - cpu_before).as_secs_f64();
    let text = gateway.metrics().await;
    let failures = |reason: &str| {
        metrics::value(
            &text,
            &format!("gateway_auth_failures_total{{reason=\"{reason}\"}}"),
        )
    };
    let count = |counter: &AtomicU64| counter.load(Ordering::Acquire);
    let (throttled, unauthorized) = (count(&tally.throttled), count(&tally.unauthorized));
    let (busy, other) = (count(&tally.busy), count(&tally.other));
    eprintln!(
        "first logins quiet {quiet:?}, during the flood {flooded:?}; flood {flood_secs:.1} s: \
         {throttled} × 429, {unauthorized} × 401, {busy} × 503, {other} other; \
         bcrypt checks failed {}, gateway CPU {cpu:.2} s ({:.0} % of one core)",
        failures("wrong_password"),
        100.0 * cpu / flood_secs
    );
    assert_eq!(health, 200);
    for took in &flooded {
        assert!(
            *took < baseline + MAX_DELAY,
            "a first login took {took:?} during the flood, {baseline:?} without it"
        );
    }
    assert_eq!(
        count(&tally.without_retry_after),
        0,
        "every 429 says Retry-After"
    );
    assert_eq!(busy + other, 0, "the flood got 401 or 429 only");
    assert!(
        throttled > 10 * unauthorized,
        "{throttled} × 429 against {unauthorized} checked guesses"
    );
    assert_eq!(failures("throttled"), throttled as f64, "{text}");
    // Each address: its free failures and one more per back-off step (1, 2, 4 … s).
    let per_address = 5.0 + (flood_secs.log2().ceil() + 1.0);
    assert!(
        failures("wrong_password") <= FLOOD_FROM.len() as f64 * per_address,
        "the flood ran {} bcrypt checks in {flood_secs:.1} s",
        failures("wrong_password")
    );
    assert_eq!(failures("wrong_password"), unauthorized as f64);
}

/// Behind a trusted reverse proxy, the forwarded client is the one held back: another client
/// of the same proxy logs in, and a stranger's `X-Forwarded-For` is not believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let (_dir, gateway) = super::viewer_behind_trusted_proxy();
    let url = gateway.url("/api/cameras");
    let status = |client: reqwest::Client, forwarded: &'static str, password: &'static str| {
        let request = client
            .get(&url)
            .header("authorization", basic("viewer", password))
            .header("x-forwarded-for", forwarded);
        async move { request.send().await.expect("GET").status().as_u16() }
    };
    let proxy = client_from([127, 0, 0, 1]);
    for _ in 0..6 {
        assert_eq!(status(proxy.clone(), "203.0.113.9", "wrong").await, 401);
    }
    // Blocked for 1 s now: both answered 429 (held back 5–10 s), the right password
    // unchecked like the wrong one.
    let started = Instant::now();
    let (wrong, right) = tokio::join!(
        status(proxy.clone(), "203.0.113.9", "wrong"),
        status(proxy.clone(), "203.0.113.9", "correct horse"),
    );
    assert_eq!(
        (wrong, right),
        (429, 429),
        "a blocked address gets no check"
    );
    eprintln!("two 429s held back {:?}", started.elapsed());
    assert_eq!(
        status(proxy, "203.0.113.10", "correct horse").await,
        200,
        "another client of the proxy"
    );
    let stranger = client_from([127, 0, 0, 2]);
    assert_eq!(
        status(stranger, "203.0.113.9", "correct horse").await,
        200,
        "a header from an untrusted peer names nobody"
    );
}

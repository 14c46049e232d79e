//! "Say when a robot cannot be reached": the gateway binary's `/healthz` lists every
//! `--zenoh-connect` endpoint with `connected` and, when down, why (a stable `reason` and an
//! `error` sentence), logs a WARN naming it, and exports `gateway_zenoh_endpoint_connected`.
//! Peers are real zenoh sessions on loopback (plain and TLS, certificates from
//! `test_support::certs`); every wait is bounded.

use crate::GATEWAY;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use test_support::certs::{Ca, Issued};
use test_support::{free_port, listening_session, CameraOptions, Gateway, SyntheticCamera};

/// The issue's bound: a dead endpoint shows on `/healthz` within 15 s.
const WITHIN: Duration = Duration::from_secs(15);

/// `/healthz`'s entry for each of `endpoints` once `accept` takes them all (each entry
/// checked with its endpoint), polled every 200 ms; panics with the last body after `WITHIN`.
async fn wait_health(
    gateway: &Gateway,
    what: &str,
    accept: impl Fn(&str, &Value) -> bool,
    endpoints: &[&str],
) -> Vec<Value> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + WITHIN;
    let mut last = Value::Null;
    loop {
        if let Ok(response) = client.get(gateway.url("/healthz")).send().await {
            assert_eq!(response.status(), 200, "a dead robot is not a dead gateway");
            if let Ok(body) = response.json::<Value>().await {
                let entries: Option<Vec<Value>> = endpoints
                    .iter()
                    .map(|endpoint| {
                        body["endpoints"]
                            .as_array()?
                            .iter()
                            .find(|entry| entry["endpoint"] == *endpoint)
                            .filter(|entry| accept(endpoint, entry))
                            .cloned()
                    })
                    .collect();
                if let Some(entries) = entries {
                    return entries;
                }
                last = body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never showed {what} within {WITHIN:?}; last: {last:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn connected(_: &str, entry: &Value) -> bool {
    entry["connected"] == true && entry.get("reason").is_none() && entry.get("error").is_none()
}

fn down_because(reason: &'static str) -> impl Fn(&str, &Value) -> bool {
    move |_, entry| entry["connected"] == false && entry["reason"] == reason
}

/// The gateway's stderr line that warns about `endpoint` for `reason`, within 10 s.
fn warning(gateway: &Gateway, endpoint: &str, reason: &str) -> String {
    let field = format!("reason=\"{reason}\"");
    gateway.process().wait_for_line(
        &format!("a WARN about {endpoint} ({reason})"),
        Duration::from_secs(10),
        |line| {
            (line.contains("WARN") && line.contains(endpoint) && line.contains(&field))
                .then(|| line.to_owned())
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_tells_a_live_endpoint_from_a_closed_port() {
    let _shared = crate::shared().await;
    let live = format!("tcp/127.0.0.1:{}", free_port());
    let _peer = listening_session(&live).await;
    let closed = format!("tcp/127.0.0.1:{}", free_port());
    // The wrong profile: TLS to the peer's plain zenoh port.
    let plain = live.replace("tcp/", "tls/");
    let endpoints = [live.clone(), closed.clone(), plain.clone()];
    let gateway = Gateway::spawn(GATEWAY, &endpoints, &[]);

    let started = Instant::now();
    let entries = wait_health(
        &gateway,
        "the live peer connected, the closed port refused, TLS to a plain port not TLS",
        |endpoint, entry| match endpoint {
            _ if endpoint == live => connected(endpoint, entry),
            _ if endpoint == closed => down_because("refused")(endpoint, entry),
            _ => down_because("not_tls")(endpoint, entry),
        },
        &[&live, &closed, &plain],
    )
    .await;
    let error = entries[1]["error"].as_str().expect("error sentence");
    assert!(
        error.contains("refused") && error.contains(&closed[4..]),
        "{error}"
    );
    assert!(
        entries[1]["since"].as_u64().is_some_and(|ms| ms > 0),
        "{entries:?}"
    );
    let line = warning(&gateway, &closed, "refused");
    assert!(
        started.elapsed() < WITHIN,
        "warned after {:?}",
        started.elapsed()
    );
    assert!(!line.contains(&live), "{line}");
    assert_eq!(
        gateway
            .metric(&format!(
                "gateway_zenoh_endpoint_connected{{endpoint=\"{live}\"}}"
            ))
            .await,
        1.0
    );
    assert_eq!(
        gateway
            .metric(&format!(
                "gateway_zenoh_endpoint_connected{{endpoint=\"{closed}\"}}"
            ))
            .await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_goes_away_and_comes_back_is_followed() {
    let _shared = crate::shared().await;
    // A robot as a camera that publishes nothing; restarted on the same port, which its
    // start retries while the OS still holds it.
    let robot = CameraOptions::new("robot", 64, 48).max_frames(0);
    let peer = SyntheticCamera::start(robot.clone()).await;
    let endpoint = peer.endpoint();
    let gateway = Gateway::spawn(GATEWAY, std::slice::from_ref(&endpoint), &[]);
    wait_health(&gateway, "connected", connected, &[&endpoint]).await;

    peer.stop().await;
    wait_health(
        &gateway,
        "refused once the peer is gone",
        down_because("refused"),
        &[&endpoint],
    )
    .await;
    warning(&gateway, &endpoint, "refused");

    let _peer = SyntheticCamera::start(robot).await;
    wait_health(&gateway, "connected again", connected, &[&endpoint]).await;
    gateway.process().wait_for_line(
        "the INFO that the endpoint is back",
        Duration::from_secs(10),
        |line| (line.contains("INFO") && line.contains("connected again")).then_some(()),
    );
}

/// A zenoh peer listening for mutual TLS on `endpoint`, with `server`'s certificate and
/// client certificates checked against `ca`.
async fn tls_peer(endpoint: &str, ca: &Ca, server: &Issued) -> zenoh::Session {
    let config = format!(
        r#"{{ mode: "peer", listen: {{ endpoints: ["{endpoint}"] }},
             scouting: {{ multicast: {{ enabled: false }}, gossip: {{ enabled: false }} }},
             transport: {{ link: {{ tls: {{ root_ca_certificate: {ca:?}, listen_certificate: {cert:?},
                 listen_private_key: {key:?}, enable_mtls: true }} }} }} }}"#,
        ca = ca.path,
        cert = server.cert,
        key = server.key,
    );
    let config = zenoh::Config::from_json5(&config).expect("TLS peer config");
    zenoh::open(config).await.expect("open the TLS peer")
}

/// A gateway zenoh profile: trust `ca`, present `client`, check the server's name.
fn gateway_profile(dir: &Path, name: &str, ca: &Ca, client: &Issued) -> String {
    let text = format!(
        r#"{{ mode: "peer",
             connect: {{ endpoints: [], exit_on_failure: false, timeout_ms: -1,
                 retry: {{ period_init_ms: 250, period_max_ms: 1000, period_increase_factor: 2 }} }},
             scouting: {{ multicast: {{ enabled: false }} }},
             transport: {{ link: {{ tls: {{ root_ca_certificate: {ca:?}, connect_certificate: {cert:?},
                 connect_private_key: {key:?}, enable_mtls: true, verify_name_on_connect: true }} }} }} }}"#,
        ca = ca.path,
        cert = client.cert,
        key = client.key,
    );
    let path = dir.join(format!("{name}.json5"));
    std::fs::write(&path, text).expect("write the gateway's zenoh profile");
    path.to_str().expect("UTF-8 path").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_endpoints_say_which_certificate_check_failed() {
    let _shared = crate::shared().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let robots = Ca::new(dir.path(), "robots-ca");
    let stranger = Ca::new(dir.path(), "stranger-ca");
    // The robot's certificate names `robot1` and `localhost`, not 127.0.0.1.
    let robot = robots.issue(dir.path(), "robot", "robot", &["robot1", "localhost"]);
    let base = robots.issue(dir.path(), "base", "base-station", &["base"]);
    let forged = stranger.issue(dir.path(), "forged", "base-station", &["base"]);
    let port = free_port();
    let _robot = tls_peer(&format!("tls/127.0.0.1:{port}"), &robots, &robot).await;

    let by_name = format!("tls/localhost:{port}");
    let by_address = format!("tls/127.0.0.1:{port}");
    let cases = [
        // (profile name, CA trusted, certificate presented, endpoint, expected reason)
        ("good", &robots, &base, &by_name, None),
        (
            "address",
            &robots,
            &base,
            &by_address,
            Some("certificate_name"),
        ),
        ("wrong-ca", &stranger, &base, &by_name, Some("unknown_ca")),
        (
            "forged",
            &robots,
            &forged,
            &by_name,
            Some("certificate_refused"),
        ),
    ];
    let mut gateways = Vec::new();
    for (name, ca, client, endpoint, reason) in cases {
        let profile = gateway_profile(dir.path(), name, ca, client);
        let args = ["--zenoh-config", profile.as_str()];
        let gateway = Gateway::spawn(GATEWAY, std::slice::from_ref(endpoint), &args);
        gateways.push((gateway, endpoint.as_str(), reason));
    }
    for (gateway, endpoint, reason) in &gateways {
        let Some(reason) = reason else {
            wait_health(gateway, "connected over mTLS", connected, &[endpoint]).await;
            continue;
        };
        let entry = wait_health(gateway, reason, down_because(reason), &[endpoint]).await;
        let error = entry[0]["error"]
            .as_str()
            .expect("error sentence")
            .to_owned();
        let expected = match *reason {
            "certificate_name" => "certificate not valid for the name 127.0.0.1",
            "unknown_ca" => "unknown CA",
            _ => "the robot refused our certificate: unknown CA",
        };
        assert!(error.starts_with(expected), "{reason}: {error}");
        if *reason == "certificate_name" {
            assert!(
                error.contains("robot1") && error.contains("localhost"),
                "{error}"
            );
        }
        warning(gateway, endpoint, reason);
    }
}

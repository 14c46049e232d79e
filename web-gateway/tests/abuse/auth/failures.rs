//! Failed logins and refused Host/Origin requests are counted by reason in /metrics and logged
//! (peer, reason, user; never the secret), one line per peer and reason per 10 s.
//! Here fewer failures than an address's free ones (5): the back-off is `flood.rs`'s.

use super::{basic, passwd, LONG, TOKEN};
use crate::GATEWAY;
use test_support::{metrics, Gateway};

/// GETs `url` with `headers`; the status.
async fn status_of(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("GET").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_counted_by_reason_and_logged_without_secrets() {
    const WRONG: &str = "wrong-horse-battery";
    const GUESSED_TOKEN: &str = "guessed-token-0123456789abc";
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    passwd(&htpasswd, "viewer", Some("correct horse"));
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("{TOKEN}\n")).expect("tokens");
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &[
            "--auth-file",
            htpasswd.to_str().expect("utf-8 path"),
            "--token-file",
            tokens.to_str().expect("utf-8 path"),
            "--metrics-access",
            "open",
        ],
    );
    let failures = |text: &str, reason: &str| {
        metrics::value(
            text,
            &format!("gateway_auth_failures_total{{reason=\"{reason}\"}}"),
        )
    };
    let refused = |text: &str, reason: &str| {
        metrics::value(
            text,
            &format!("gateway_requests_refused_total{{reason=\"{reason}\"}}"),
        )
    };
    // Every series is there before the first failure (alerts see a rate of 0, not "no data").
    let text = gateway.metrics().await;
    for series in [
        "gateway_auth_failures_total{reason=\"no_credentials\"} 0",
        "gateway_auth_failures_total{reason=\"malformed\"} 0",
        "gateway_auth_failures_total{reason=\"wrong_password\"} 0",
        "gateway_auth_failures_total{reason=\"unknown_token\"} 0",
        "gateway_auth_failures_total{reason=\"busy\"} 0",
        "gateway_auth_failures_total{reason=\"throttled\"} 0",
        "gateway_requests_refused_total{reason=\"unknown_host\"} 0",
        "gateway_requests_refused_total{reason=\"foreign_origin\"} 0",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }

    let client = reqwest::Client::new();
    let api = gateway.url("/api/cameras");
    // A browser's first request: counted, not logged (it is normal before the 401 challenge).
    assert_eq!(status_of(&client, &api, &[]).await, 401);
    let wrong = basic("viewer", WRONG);
    for _ in 0..3 {
        assert_eq!(
            status_of(&client, &api, &[("authorization", &wrong)]).await,
            401
        );
    }
    let guessed = format!("Bearer {GUESSED_TOKEN}");
    for _ in 0..2 {
        assert_eq!(
            status_of(&client, &api, &[("authorization", &guessed)]).await,
            401
        );
    }
    let digest = [("authorization", "Digest username=viewer")];
    assert_eq!(status_of(&client, &api, &digest).await, 401);
    let text = gateway.metrics().await;
    let counted = [
        ("no_credentials", 1.0),
        ("wrong_password", 3.0),
        ("unknown_token", 2.0),
        ("malformed", 1.0),
        ("busy", 0.0),
        ("throttled", 0.0),
    ];
    for (reason, count) in counted {
        assert_eq!(failures(&text, reason), count, "{reason}:\n{text}");
    }
    // Good logins count nothing.
    let good = basic("viewer", "correct horse");
    assert_eq!(
        status_of(&client, &api, &[("authorization", &good)]).await,
        200
    );
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        status_of(&client, &api, &[("authorization", &bearer)]).await,
        200
    );
    // Browser-side attacks are counted beside them, by reason: twice each from 127.0.0.1,
    // then once each from 127.0.0.2 (another peer, for the log below). The rebinding name is
    // long: the log quotes only its start.
    let port = gateway.base.rsplit(':').next().expect("port");
    let long_name = format!("{}.evil.example", "rebind".repeat(12));
    let rebound = format!("{long_name}:{port}");
    let foreign = [
        ("origin", "http://evil.example"),
        ("authorization", &bearer),
    ];
    let other_peer = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    for (client, times) in [(&client, 2), (&other_peer, 1)] {
        for _ in 0..times {
            assert_eq!(status_of(client, &api, &[("host", &rebound)]).await, 421);
            assert_eq!(status_of(client, &api, &foreign).await, 403);
        }
    }
    let text = gateway.metrics().await;
    for (reason, count) in counted {
        assert_eq!(
            failures(&text, reason),
            count,
            "{reason} after good logins:\n{text}"
        );
    }
    assert_eq!(refused(&text, "unknown_host"), 3.0, "{text}");
    assert_eq!(refused(&text, "foreign_origin"), 3.0, "{text}");

    // The log: the first failure of each reason with credentials (not the one without)
    // names the peer, the reason and the Basic user; the repeats wait for the next line.
    let login_line = |reason: &str| {
        let wanted = format!("reason=\"{reason}\"");
        gateway
            .process()
            .wait_for_line("the failed-login warning", LONG, |line| {
                (line.contains("WARN") && line.contains("login failed") && line.contains(&wanted))
                    .then(|| line.to_owned())
            })
    };
    let line = login_line("wrong_password");
    for needle in ["peer=127.0.0.1", "user=\"viewer\""] {
        assert!(line.contains(needle), "{needle} missing: {line}");
    }
    for reason in ["unknown_token", "malformed"] {
        let line = login_line(reason);
        assert!(
            line.contains("peer=127.0.0.1") && !line.contains("user="),
            "{line}"
        );
    }
    // Refusals: one line per peer and reason (the repeats wait for the next line), with the
    // refused value, the long host name cut. The last request's line comes last, so once it
    // is there every line before it is too.
    let refusal_line = |peer: &str, reason: &str| {
        let wanted = [
            "WARN".to_owned(),
            "request refused".to_owned(),
            format!("peer={peer} "),
            format!("reason=\"{reason}\""),
        ];
        gateway
            .process()
            .wait_for_line("the refusal warning", LONG, |line| {
                wanted
                    .iter()
                    .all(|needle| line.contains(needle.as_str()))
                    .then(|| line.to_owned())
            })
    };
    let mut lines = Vec::new();
    for peer in ["127.0.0.2", "127.0.0.1"] {
        let host = refusal_line(peer, "unknown_host");
        assert!(
            host.contains("host=\"rebindrebind")
                && host.contains("…")
                && !host.contains(&long_name),
            "{host}"
        );
        let origin = refusal_line(peer, "foreign_origin");
        assert!(
            origin.contains("origin=\"http://evil.example\""),
            "{origin}"
        );
        lines.extend([host, origin]);
    }
    let stderr = gateway.process().stderr();
    assert_eq!(stderr.matches("request refused").count(), 4, "{stderr}");
    for line in &lines {
        assert_eq!(stderr.matches(line.as_str()).count(), 1, "{stderr}");
    }
    assert_eq!(stderr.matches("login failed").count(), 3, "{stderr}");
    for secret in [WRONG, GUESSED_TOKEN, "correct horse", TOKEN] {
        assert!(!stderr.contains(secret), "{secret:?} logged:\n{stderr}");
    }
}

/// Behind a reverse proxy named with `--trusted-proxy`, a failed login names the client the
/// proxy forwards (X-Forwarded-For); the same header from any other peer is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxys_client_is_the_peer_logged() {
    let (_dir, gateway) = super::viewer_behind_trusted_proxy();
    let api = gateway.url("/api/cameras");
    let wrong = basic("viewer", "not the password");
    // The client claims 198.51.100.7; the proxy appends what it saw, 203.0.113.9.
    let forwarded = [
        ("authorization", wrong.as_str()),
        ("x-forwarded-for", "198.51.100.7, 203.0.113.9"),
    ];
    let proxy = reqwest::Client::new();
    assert_eq!(status_of(&proxy, &api, &forwarded).await, 401);
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    assert_eq!(status_of(&stranger, &api, &forwarded).await, 401);
    for peer in ["203.0.113.9", "127.0.0.2"] {
        gateway
            .process()
            .wait_for_line("the failed-login warning", LONG, |line| {
                (line.contains("login failed") && line.contains(&format!("peer={peer} ")))
                    .then_some(())
            });
    }
    let stderr = gateway.process().stderr();
    assert!(
        !stderr.contains("198.51.100.7"),
        "the client's own claim was believed:\n{stderr}"
    );
    assert!(
        !stderr.contains("peer=127.0.0.1 "),
        "the proxy was logged:\n{stderr}"
    );
}

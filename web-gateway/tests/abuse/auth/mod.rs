//! Finding 7, network side: there was no authentication at all while `launch/robot.sh`
//! served 0.0.0.0:8080. Now, with `--auth-file`/`--token-file`, every request needs HTTP Basic
//! (htpasswd bcrypt, as written by `web-gateway passwd` and by other bcrypt implementations),
//! a bearer token, or the session cookie a login hands out — which is what lets a browser's
//! WebSocket in. `/healthz` stays open. Without auth on a non-loopback address, a warning.

use crate::origin::{assert_refused, status_and_json, ws_refusal};
use crate::GATEWAY;
use base64::Engine;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::binaries::gateway_command;
use test_support::{run_bounded, CameraOptions, ChildProcess, Gateway, SyntheticCamera};

const TOKEN: &str = "machine-token-0123456789abcdef";
const LONG: Duration = Duration::from_secs(30);

/// `web-gateway passwd FILE USER` with the password typed twice on stdin; or `--generate`
/// when `password` is `None`, returning the printed password. bcrypt cost 10.
fn passwd(file: &Path, user: &str, password: Option<&str>) -> String {
    passwd_cost(file, user, password, 10)
}

/// [`passwd`] at bcrypt `cost`.
fn passwd_cost(file: &Path, user: &str, password: Option<&str>, cost: u32) -> String {
    let mut command = Command::new("sh");
    let script = match password {
        Some(_) => r#"printf '%s\n%s\n' "$3" "$3" | "$0" passwd --cost "$4" "$1" "$2""#,
        None => r#""$0" passwd --cost "$4" --generate "$1" "$2""#,
    };
    command.args(["-c", script, GATEWAY]).arg(file).args([
        user,
        password.unwrap_or_default(),
        &cost.to_string(),
    ]);
    let (status, stdout, stderr) = run_bounded(&mut command, Duration::from_secs(60));
    assert!(status.success(), "passwd failed: {stderr}");
    assert!(stderr.contains(user), "{stderr}");
    password.map_or_else(|| stdout.trim().to_owned(), str::to_owned)
}

/// An htpasswd line for `user` made by Python's `bcrypt` (another implementation than ours),
/// `$2b$` renamed to the `$2y$` Apache's `htpasswd -B` writes; `None` (skip) without it.
fn reference_line(user: &str, password: &str) -> Option<String> {
    test_support::ci::require("reference bcrypt line", test_support::ci::python_bcrypt())?;
    let script = "import bcrypt, sys; h = bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(10)).decode(); print(sys.argv[1] + ':' + h.replace('$2b$', '$2y$', 1))";
    let mut command = Command::new("python3");
    command.args(["-c", script, user, password]);
    let (status, stdout, stderr) = run_bounded(&mut command, Duration::from_secs(30));
    assert!(status.success(), "python bcrypt: {stderr}");
    Some(stdout.trim().to_owned())
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_needs_credentials_and_a_login_opens_the_websocket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    passwd(&htpasswd, "viewer", Some("correct horse"));
    let generated = passwd(&htpasswd, "robot-admin", None);
    assert_eq!(generated.len(), 24, "{generated:?}");
    let text = std::fs::read_to_string(&htpasswd).expect("htpasswd");
    assert!(text.lines().all(|line| line.contains(":$2y$10$")), "{text}");
    let reference = reference_line("ref", "reference pw");
    if let Some(line) = &reference {
        std::fs::write(&htpasswd, format!("{text}{line}\n")).expect("append");
    }
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("# dashboards\n{TOKEN}\n")).expect("tokens");

    let camera = SyntheticCamera::start(CameraOptions::new("dock", 160, 120).fps(10)).await;
    let auth_file = htpasswd.to_str().expect("utf-8 path");
    let token_file = tokens.to_str().expect("utf-8 path");
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        &["--auth-file", auth_file, "--token-file", token_file],
    );
    let client = reqwest::Client::new();
    let api = gateway.url("/api/cameras");
    let get = |authorization: Option<String>| {
        let mut request = client.get(&api);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };

    let refused = get(None).await.expect("GET");
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        challenge.starts_with("Basic realm=\"web-gateway\""),
        "{challenge}"
    );
    let (status, json) = status_and_json(refused).await;
    assert_eq!(status, 401, "{json}");
    assert!(
        json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Bearer"),
        "{json}"
    );
    for wrong in [
        basic("viewer", "wrong horse"),
        basic("nobody", "correct horse"),
        "Bearer not-the-token-0123456789".to_owned(),
        "Digest username=viewer".to_owned(),
    ] {
        let (status, json) = status_and_json(get(Some(wrong.clone())).await.expect("GET")).await;
        assert_eq!(status, 401, "{wrong}: {json}");
    }
    let mut logins = vec![
        basic("viewer", "correct horse"),
        basic("robot-admin", &generated),
        format!("Bearer {TOKEN}"),
    ];
    if reference.is_some() {
        logins.push(basic("ref", "reference pw"));
    }
    let mut cookie = String::new();
    for login in &logins {
        let started = Instant::now();
        let response = get(Some(login.clone())).await.expect("GET");
        assert_eq!(response.status(), 200, "{login}");
        let set = response.headers()["set-cookie"].to_str().expect("ascii");
        assert!(set.contains("HttpOnly; SameSite=Strict; Path=/"), "{set}");
        cookie = set.split(';').next().expect("name=value").to_owned();
        eprintln!(
            "login {:?}: first request {:?}",
            &login[..6],
            started.elapsed()
        );
    }
    // Every other path is closed too, unknown ones included (no 404 probing without a login);
    // the cookie opens them like a password.
    for path in [
        "/",
        "/cameras/dock/stream.mjpg",
        "/cameras/dock/snapshot.jpg",
        "/nope",
        "/ws",
    ] {
        let response = client.get(gateway.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 401, "{path}");
    }
    let snapshot = client
        .get(gateway.url("/cameras/dock/snapshot.jpg"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET");
    assert_ne!(snapshot.status(), 401, "the cookie does not open snapshots");
    assert!(
        snapshot.headers().get("set-cookie").is_none(),
        "a session renewed is not re-issued"
    );
    // Open without credentials: health. Closed by default: metrics.
    assert_eq!(
        client
            .get(gateway.url("/healthz"))
            .send()
            .await
            .expect("GET")
            .status(),
        200
    );
    assert_eq!(
        client
            .get(gateway.url("/metrics"))
            .send()
            .await
            .expect("GET")
            .status(),
        401
    );

    // The browser case: the WebSocket handshake carries only the cookie.
    let ws = gateway.url("/ws");
    assert_refused(ws_refusal(&ws, &[]).await, 401, "log in");
    assert_refused(
        ws_refusal(&ws, &[("cookie", "web_gateway_1=00")]).await,
        401,
        "log in",
    );
    let own_origin = gateway.base.clone();
    let with_cookie = [("cookie", cookie.as_str()), ("origin", own_origin.as_str())];
    assert!(
        ws_refusal(&ws, &with_cookie).await.is_none(),
        "cookie not accepted on /ws"
    );
    // The same cookie from a foreign page (cross-site WebSocket hijacking): refused.
    let hijack = [
        ("cookie", cookie.as_str()),
        ("origin", "http://evil.example"),
    ];
    assert_refused(ws_refusal(&ws, &hijack).await, 403, "--allow-origin");
    // A machine's WebSocket with its token.
    let bearer = format!("Bearer {TOKEN}");
    assert!(ws_refusal(&ws, &[("authorization", &bearer)])
        .await
        .is_none());
    camera.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_opened_and_bad_auth_files_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("{TOKEN}\n")).expect("tokens");
    let token_file = tokens.to_str().expect("utf-8 path");
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &["--token-file", token_file, "--metrics-access", "open"],
    );
    assert_eq!(gateway.get("/metrics").await.status(), 200);
    assert_eq!(gateway.get("/api/cameras").await.status(), 401);

    // A file with an MD5 (`htpasswd -m`) line: the gateway refuses to start and says where.
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        "ok:$2y$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234\nold:$apr1$x$y\n",
    )
    .expect("write");
    let mut command = gateway_command(GATEWAY, "127.0.0.1:0");
    command.arg("--auth-file").arg(&htpasswd);
    let (status, _, stderr) = run_bounded(&mut command, Duration::from_secs(30));
    assert!(!status.success());
    assert!(
        stderr.contains("line 2") && stderr.contains("Apache MD5") && stderr.contains("passwd"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interface_without_auth_is_warned_about() {
    // Binds every interface on a free port; this test only talks to it over loopback.
    let mut command = gateway_command(GATEWAY, "0.0.0.0:0");
    let gateway = ChildProcess::spawn("gateway", &mut command);
    let warning = gateway.wait_for_line("the no-authentication warning", LONG, |line| {
        let warned = line.contains("WARN") && line.contains("WITHOUT authentication");
        warned.then(|| line.to_owned())
    });
    assert!(warning.contains("--auth-file"), "{warning}");
    let port = gateway.wait_for_line("the listening line", LONG, |line| {
        let (_, rest) = line.split_once("listening on http://0.0.0.0:")?;
        rest.split_whitespace().next()?.parse::<u16>().ok()
    });
    let local = format!("http://127.0.0.1:{port}/api/cameras");
    assert_eq!(reqwest::get(local).await.expect("GET").status(), 200);
}

/// A gateway with user `viewer` (password `correct horse`) that believes `X-Forwarded-For`
/// from 127.0.0.1 (`--trusted-proxy`); the folder holding its htpasswd file goes with it.
fn viewer_behind_trusted_proxy() -> (tempfile::TempDir, Gateway) {
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    passwd(&htpasswd, "viewer", Some("correct horse"));
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &[
            "--auth-file",
            htpasswd.to_str().expect("utf-8 path"),
            "--trusted-proxy",
            "127.0.0.1",
        ],
    );
    (dir, gateway)
}

mod costs;
mod failures;
mod flood;
mod sessions;

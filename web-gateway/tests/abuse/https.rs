//! Optional HTTPS: a snapshot over TLS from a client that trusts only a throwaway CA, plain
//! HTTP to the TLS port refused cleanly, unusable certificate files refused with their name.

use crate::GATEWAY;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use test_support::certs::{Ca, Issued};
use test_support::net::{body_of, read_until_closed, status_of, Ended};
use test_support::{jpeg_size, run_bounded, CameraOptions, Gateway, SyntheticCamera, DEADLINE};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// A CA and a certificate for localhost/127.0.0.1 signed by it, as PEM files in `dir`.
struct Certs {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

fn make_certs(dir: &Path) -> Certs {
    let ca = Ca::new(dir, "ca");
    let Issued { cert, key } = ca.issue(dir, "cert", "localhost", &["localhost", "127.0.0.1"]);
    Certs {
        ca_pem: ca.pem,
        cert,
        key,
    }
}

fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA PEM");
    test_support::tls::connector_trusting(ca)
}

/// GET `path` over HTTPS; the whole response (`Connection: close`).
async fn https_get(tls: &tokio_rustls::TlsConnector, address: &str, path: &str) -> Vec<u8> {
    https_get_with(tls, address, path, "").await
}

/// [`https_get`] with `headers` (`Name: value\r\n` lines) added to the request.
async fn https_get_with(
    tls: &tokio_rustls::TlsConnector,
    address: &str,
    path: &str,
    headers: &str,
) -> Vec<u8> {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut stream = tls.connect(name, tcp).await.expect("TLS handshake");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    match read_until_closed(&mut stream, DEADLINE).await {
        Ended::Closed(response) => response,
        Ended::StillOpen(_) => panic!("GET {path} over HTTPS did not complete"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_over_https_and_plain_http_is_refused_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = make_certs(dir.path());
    let camera = SyntheticCamera::start(CameraOptions::new("secure", 320, 240).fps(10)).await;
    let (cert, key) = (
        certs.cert.to_str().expect("path"),
        certs.key.to_str().expect("path"),
    );
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        &["--tls-cert", cert, "--tls-key", key],
    );
    let address = gateway
        .base
        .strip_prefix("https://")
        .expect("the gateway logs an https:// URL")
        .to_owned();
    let tls = connector(&certs.ca_pem);
    let started = Instant::now();
    let snapshot = loop {
        let response = https_get(&tls, &address, "/cameras/secure/snapshot.jpg").await;
        if status_of(&response) == Some(200) {
            break response;
        }
        assert!(started.elapsed() < DEADLINE, "no snapshot over HTTPS");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let jpeg = body_of(&snapshot).expect("body");
    assert_eq!(jpeg_size(jpeg), (320, 240));

    // Plain HTTP to the TLS port: the handshake fails, the connection is closed, nothing else.
    let mut plain = TcpStream::connect(&address).await.expect("connect");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    match read_until_closed(&mut plain, Duration::from_secs(10)).await {
        Ended::Closed(reply) => assert_eq!(status_of(&reply), None, "plain HTTP answered"),
        Ended::StillOpen(_) => panic!("plain HTTP to the TLS port left open"),
    }
    let health = https_get(&tls, &address, "/healthz").await;
    assert_eq!(
        status_of(&health),
        Some(200),
        "HTTPS broken after a plain HTTP client"
    );
}

#[test]
fn unusable_certificate_files_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = make_certs(dir.path());
    let missing = dir.path().join("missing-key.pem");
    let run = |args: &[&str]| {
        let mut command = test_support::binaries::gateway_command(GATEWAY, "127.0.0.1:0");
        command.args(args);
        let (status, _, stderr) = run_bounded(&mut command, DEADLINE);
        assert!(!status.success(), "started with {args:?}");
        stderr
    };
    let cert = certs.cert.to_str().expect("path");
    let stderr = run(&[
        "--tls-cert",
        cert,
        "--tls-key",
        missing.to_str().expect("path"),
    ]);
    assert!(stderr.contains("missing-key.pem"), "{stderr}");
    let stderr = run(&["--tls-cert", cert]);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

/// Logins over HTTPS: the session cookie carries `Secure`, so a browser never sends it over
/// plain HTTP, where anyone on the path could copy it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_under_https() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = make_certs(dir.path());
    let (cert, key) = (
        certs.cert.to_str().expect("path"),
        certs.key.to_str().expect("path"),
    );
    let token = "https-token-0123456789abcdef";
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &["--tls-cert", cert, "--tls-key", key, "--token", token],
    );
    let address = gateway
        .base
        .strip_prefix("https://")
        .expect("https")
        .to_owned();
    let tls = connector(&certs.ca_pem);
    let refused = https_get(&tls, &address, "/api/cameras").await;
    assert_eq!(status_of(&refused), Some(401));
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let response = https_get_with(&tls, &address, "/api/cameras", &bearer).await;
    assert_eq!(status_of(&response), Some(200));
    let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let cookie = text
        .lines()
        .find(|line| line.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no session cookie: {text}"));
    assert!(
        cookie.contains("httponly; samesite=strict; path=/; secure"),
        "{cookie}"
    );
}

//! Issue 23, finding 11 at the hub: a stranger reconnecting in a loop to the hub's TLS port
//! with junk instead of a handshake. zenoh warns once per failed handshake (~10 a second: its
//! accept loop pauses 100 ms after each); the shared logging set-up
//! (`robot_cli::process`) lets 5 lines per zenoh log statement through per 10 s and says how
//! many it left out.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use test_support::certs::Ca;
use test_support::{free_port, Hub};

/// How long the stranger keeps at it: a window and a bit, so a summary line must show.
const ATTACK: Duration = Duration::from_secs(13);
/// zenoh lines per log statement per 10 s (`robot_cli::process` limit).
const BURST: usize = 5;

#[test]
fn failed_tls_handshakes_are_logged_at_a_bounded_rate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Ca::new(dir.path(), "ca");
    let issued = ca.issue(dir.path(), "cert", "robot1", &["127.0.0.1", "localhost"]);
    std::fs::rename(&issued.key, dir.path().join("key.pem")).expect("key.pem");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/zenoh/robot.json5");
    let tls_port = free_port();
    let listen = [
        format!("tcp/127.0.0.1:{}", free_port()),
        format!("tls/127.0.0.1:{tls_port}"),
    ];
    let certs = dir.path().to_str().expect("utf-8 path");
    let profile = profile.to_str().expect("utf-8 path");
    let hub = Hub::spawn_on(
        &listen,
        &["--zenoh-config", profile, "--zenoh-certs", certs],
    );
    let before = hub.stderr().len();

    let started = Instant::now();
    let mut attempts = 0;
    while started.elapsed() < ATTACK {
        let mut stream =
            TcpStream::connect(("127.0.0.1", tls_port)).expect("connect to the TLS port");
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let _ = stream.write_all(b"GET / HTTP/1.0\r\n\r\n");
        let _ = stream.read(&mut [0; 256]);
        attempts += 1;
    }
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let log = hub.stderr();
    let written = &log[before..];
    let zenoh_lines = written
        .lines()
        .filter(|line| line.contains("zenoh_link_tls") && !line.contains("left out"))
        .count();
    let windows = elapsed.as_secs() as usize / 10 + 1;
    eprintln!(
        "TLS JUNK {attempts} attempts in {elapsed:?}: {zenoh_lines} zenoh_link_tls lines, {} bytes of hub log",
        written.len()
    );
    assert!(
        attempts >= 20,
        "only {attempts} attempts: the test proves nothing"
    );
    assert!(
        zenoh_lines >= 1,
        "zenoh logged no failed handshake:\n{written}"
    );
    assert!(
        zenoh_lines <= BURST * windows,
        "{zenoh_lines} zenoh lines for {attempts} attempts in {elapsed:?}:\n{written}"
    );
    assert!(
        written.contains("left out of the log"),
        "no line says how many were left out:\n{written}"
    );
}

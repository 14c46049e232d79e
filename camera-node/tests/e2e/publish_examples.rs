//! The publishing examples (`crates/camera-protocol/examples/publish.rs`, `examples/python/publish.py`) against the
//! real `web-gateway`: the gateway must serve each file's bytes unchanged, as MJPEG parts and
//! as snapshots; bad files stop the example with the file's name; Ctrl+C ends it cleanly.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use test_support::jpeg::write_jpeg_dir;
use test_support::{
    free_port, run_bounded, target_binary, ChildProcess, Gateway, Hub, MjpegStream, DEADLINE,
};

/// Sizes of the files each test publishes: all different, so a part's size headers tell
/// which file it carried.
const SIZES: [(u32, u32); 3] = [(160, 120), (96, 64), (200, 100)];

fn gateway_binary() -> PathBuf {
    target_binary("web-gateway")
}

/// A directory of drawn JPEGs plus a file that is not one (it must be ignored).
fn frames_dir() -> (tempfile::TempDir, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_jpeg_dir(dir.path(), &SIZES)
        .iter()
        .map(|path| std::fs::read(path).expect("read back"))
        .collect();
    std::fs::write(dir.path().join("notes.txt"), "not a frame").expect("write");
    (dir, files)
}

fn rust_example(camera: &str, dir: &Path, hub: &str) -> Command {
    let mut command = Command::new(target_binary("examples/publish"));
    command
        .args(["--camera", camera, "--fps", "15", "--zenoh-connect", hub])
        .arg("--dir")
        .arg(dir)
        .env("RUST_LOG", "info");
    command
}

fn python_example(camera: &str, dir: &Path, hub: &str) -> Command {
    let mut command = Command::new("python3");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/camera-protocol/examples/python/publish.py"
        ))
        .args(["--camera", camera, "--fps", "15", "--connect", hub])
        .arg("--dir")
        .arg(dir);
    command
}

/// Waits for the example's "publishing" line.
fn started(name: &str, mut command: Command) -> ChildProcess {
    let process = ChildProcess::spawn(name, &mut command);
    process.wait_for_line("that it is publishing", DEADLINE, |line| {
        line.contains("publishing").then_some(())
    });
    process
}

/// Reads parts of `camera`'s stream until every file was seen, checking each online part is
/// one of the files byte for byte, with the size headers of that file; then a snapshot.
async fn assert_serves_files(gateway: &Gateway, camera: &str, files: &[Vec<u8>]) {
    let url = gateway.url(&format!("/cameras/{camera}/stream.mjpg"));
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut stream = loop {
        match MjpegStream::open(&url).await {
            Ok(stream) => break stream,
            Err(response) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{url}: {}",
                    response.status()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let mut seen = HashSet::new();
    while seen.len() < files.len() {
        let part = stream
            .next_part(DEADLINE)
            .await
            .unwrap_or_else(|| panic!("{camera}: stream ended; files seen: {seen:?}"));
        if part.header("x-camera-online") == Some("false") {
            continue; // the gateway's own NO SIGNAL picture before the first frame
        }
        let index = files
            .iter()
            .position(|file| *file == part.body)
            .unwrap_or_else(|| {
                panic!(
                    "{camera}: part of {} bytes is none of the files",
                    part.body.len()
                )
            });
        seen.insert(index);
    }
    let snapshot = gateway
        .get(&format!("/cameras/{camera}/snapshot.jpg"))
        .await;
    assert_eq!(snapshot.status(), 200);
    let body = snapshot.bytes().await.expect("snapshot body");
    assert!(
        files.iter().any(|file| *file == body),
        "{camera}: snapshot is none of the files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_publish_examples_sharing_a_hub_are_served_byte_for_byte() {
    let (dir, files) = frames_dir();
    let (other_dir, other_files) = frames_dir();
    let hub = Hub::spawn();
    let mut first = started("publish", rust_example("files", dir.path(), &hub.endpoint));
    let _second = started(
        "publish2",
        rust_example("more", other_dir.path(), &hub.endpoint),
    );
    let gateway = Gateway::spawn(gateway_binary(), std::slice::from_ref(&hub.endpoint), &[]);
    assert_serves_files(&gateway, "files", &files).await;
    assert_serves_files(&gateway, "more", &other_files).await;
    assert_ctrl_c_ends_cleanly(&mut first);
}

#[test]
fn rust_publish_example_names_a_bad_file() {
    let (dir, _) = frames_dir();
    std::fs::write(dir.path().join("frame-01.jpg"), b"\xFF\xD8garbage\xFF\xD9").expect("write");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let (status, _, stderr) =
        run_bounded(&mut rust_example("bad", dir.path(), &endpoint), DEADLINE);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("frame-01.jpg") && stderr.contains("not a usable JPEG"),
        "{stderr}"
    );
}

/// SIGINT, as Ctrl+C sends it: exit 0 within 10 s and no Python traceback.
fn assert_ctrl_c_ends_cleanly(example: &mut ChildProcess) {
    example.signal("INT");
    let status = example
        .wait_exit(Duration::from_secs(10))
        .expect("the example exits on SIGINT");
    let stderr = example.stderr();
    assert!(status.success(), "exit {status}:\n{stderr}");
    assert!(!stderr.contains("Traceback"), "{stderr}");
}

fn python_ready(test: &str) -> bool {
    test_support::ci::require(test, test_support::ci::python_zenoh()).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_publish_example_is_served_byte_for_byte_and_stops_on_ctrl_c() {
    if !python_ready("python_publish_example_is_served_byte_for_byte_and_stops_on_ctrl_c") {
        return;
    }
    let (dir, files) = frames_dir();
    let hub = Hub::spawn();
    let mut python = started(
        "publish.py",
        python_example("py", dir.path(), &hub.endpoint),
    );
    let gateway = Gateway::spawn(gateway_binary(), std::slice::from_ref(&hub.endpoint), &[]);
    assert_serves_files(&gateway, "py", &files).await;
    // The info queryable answers as the library's does.
    gateway
        .wait_camera("py", DEADLINE, |entry| entry["info"]["source"] == "files")
        .await;
    assert_ctrl_c_ends_cleanly(&mut python);
}

#[test]
fn python_publish_example_names_a_bad_file() {
    if !python_ready("python_publish_example_names_a_bad_file") {
        return;
    }
    let (dir, _) = frames_dir();
    std::fs::write(dir.path().join("frame-02.jpg"), b"\xFF\xD8\xFF\xC0\x00").expect("write");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let (status, _, stderr) =
        run_bounded(&mut python_example("bad", dir.path(), &endpoint), DEADLINE);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("frame-02.jpg") && !stderr.contains("Traceback"),
        "{stderr}"
    );
}

/// No hub yet: the example says what it waits for, and Ctrl+C still ends it at once (zenoh's
/// `open` of a client blocks until a router answers).
#[test]
fn python_subscribe_example_stops_on_ctrl_c_while_waiting_for_the_hub() {
    if !python_ready("python_subscribe_example_stops_on_ctrl_c_while_waiting_for_the_hub") {
        return;
    }
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut command = Command::new("python3");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/camera-protocol/examples/python/subscribe.py"
        ))
        .args(["--connect", &endpoint]);
    let mut python = ChildProcess::spawn("subscribe.py", &mut command);
    python.wait_for_line("that it waits for the hub", DEADLINE, |line| {
        (line.contains("waiting for the zenoh hub") && line.contains(&endpoint)).then_some(())
    });
    assert_ctrl_c_ends_cleanly(&mut python);
}

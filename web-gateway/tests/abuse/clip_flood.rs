//! Issue 23, finding 7: every `clip.mcap` download built the whole clip in memory, with no
//! bound on downloads at once: 20 slow readers took the gateway from 125 MB to 1.98 GB. Now a
//! download is streamed chunk by chunk at its reader's pace and downloads at once are capped
//! (per client address and in total, 429/503 with Retry-After).

use crate::GATEWAY;
use std::time::{Duration, Instant};
use test_support::ci::{python_mcap, require};
use test_support::mcap_reader::read_mcap_bytes;
use test_support::net::status_of;
use test_support::{CameraOptions, Gateway, SyntheticCamera, DEADLINE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Parallel slow readers, and the most they may add to the gateway's resident memory.
const READERS: usize = 20;
const RSS_BOUND_KIB: u64 = 150 * 1024;
/// The clip buffer filled before the readers start (the gateway held ~90 MB).
const CLIP_BYTES: usize = 96 << 20;
const FRAME_PADDING: usize = 512 << 10;
/// Each reader takes this much every [`READ_EVERY`] for [`READ_FOR`] (~160 KB/s).
const READ_BYTES: usize = 32 << 10;
const READ_EVERY: Duration = Duration::from_millis(200);
const READ_FOR: Duration = Duration::from_secs(8);

/// Opens `GET path` on a raw socket and reads the status line; the socket is left unread.
async fn open(address: &str, path: &str) -> (u16, Vec<u8>, TcpStream) {
    let mut socket = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut head = vec![0u8; 4096];
    let read = socket.read(&mut head).await.expect("read head");
    head.truncate(read);
    let status = status_of(&head).expect("an HTTP status line");
    (status, head, socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clip_readers_keep_memory_bounded() {
    if require("clip flood", python_mcap()).is_none() {
        return;
    }
    let camera = SyntheticCamera::start(
        CameraOptions::new("front", 320, 240)
            .padding(FRAME_PADDING)
            .fps(25),
    )
    .await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        &[
            "--clip-buffer",
            "60",
            "--clip-buffer-bytes",
            &CLIP_BYTES.to_string(),
            // Every reader streams (the bound holds with all of them at once); the next
            // download meets the total limit.
            "--clip-exports",
            &READERS.to_string(),
            "--clip-exports-per-client",
            &(READERS + 1).to_string(),
        ],
    );
    gateway
        .wait_camera("front", DEADLINE, |c| c["online"] == true)
        .await;
    let started = Instant::now();
    while gateway.metric("gateway_clip_buffer_bytes").await < (CLIP_BYTES * 9 / 10) as f64 {
        assert!(started.elapsed() < DEADLINE, "the clip buffer never filled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let idle = gateway.vm_rss_kib();
    let address = gateway
        .base
        .strip_prefix("http://")
        .expect("http base")
        .to_owned();

    let mut readers = Vec::new();
    for _ in 0..READERS {
        let address = address.clone();
        readers.push(tokio::spawn(async move {
            let (status, head, mut socket) = open(&address, "/cameras/front/clip.mcap").await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&head));
            let (mut read, mut buffer) = (head.len(), vec![0u8; READ_BYTES]);
            let until = Instant::now() + READ_FOR;
            while Instant::now() < until {
                tokio::time::sleep(READ_EVERY).await;
                read += socket.read(&mut buffer).await.expect("read clip");
            }
            read
        }));
    }
    // Once every slot is taken, one more download is refused at once, with a JSON reason.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, head, _socket) = open(&address, "/cameras/front/clip.mcap").await;
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert_eq!(status, 503, "{head}");
    assert!(
        head.contains("retry-after: 5") && head.contains("clip_exports"),
        "{head}"
    );

    let mut peak = idle;
    while readers.iter().any(|reader| !reader.is_finished()) {
        peak = peak.max(gateway.vm_rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reader in readers {
        let read = reader.await.expect("reader");
        assert!(read > READ_BYTES, "a reader got {read} bytes");
    }
    eprintln!("clip flood: idle RSS {idle} KiB, peak {peak} KiB with {READERS} slow readers");
    assert!(
        peak <= idle + RSS_BOUND_KIB,
        "RSS grew from {idle} KiB to {peak} KiB with {READERS} slow clip readers"
    );

    // The slots were freed, and a download read at full speed is a valid MCAP of the frames.
    let response = gateway.get("/cameras/front/clip.mcap?seconds=2").await;
    assert_eq!(response.status(), 200);
    let clip = read_mcap_bytes(&response.bytes().await.expect("clip body"));
    assert!(
        clip.messages.len() >= 10,
        "{} messages",
        clip.messages.len()
    );
    assert_eq!(clip.message_count, Some(clip.messages.len() as u64));
    for message in &clip.messages {
        assert!(
            camera.pictures().iter().any(|p| p[..] == message.data[..]),
            "a clip message is not one of the camera's pictures"
        );
    }
}

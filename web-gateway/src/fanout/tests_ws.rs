//! WebSocket clients of the writer against real loopback sockets: frames byte-identical to
//! the tungstenite path's messages, slow readers, control frames, refusals, moves, shutdown.

use super::inbound::tests::masked;
use super::inbound::{next_text, MAX_MESSAGE};
use super::tests::{frame, setup, Setup};
use super::*;
use crate::camera::slot::{show, SlotSender};
use crate::camera::wire::encode_message;
use bytes::Bytes;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";

/// Joins a WebSocket client of camera `front` to `feed`'s writer, with a session task that
/// echoes each text message; returns the client's end, the head read.
async fn join_ws(setup: &Setup, feed: Feed, receive_buffer: Option<u32>) -> TcpStream {
    join_ws_after(setup, feed, receive_buffer, &[]).await
}

/// [`join_ws`] for a client that sent `early` right after its request head (read with it).
async fn join_ws_after(
    setup: &Setup,
    feed: Feed,
    receive_buffer: Option<u32>,
    early: &[u8],
) -> TcpStream {
    let (mut handed, mut far) = setup
        .pair(HEAD, Duration::from_secs(2), receive_buffer)
        .await;
    handed.after_head = Bytes::copy_from_slice(early);
    let (joining, link, mut reader) =
        WsJoining::new(handed, "front".into(), setup.metrics.sent("ws", "front"));
    setup.writers.join_ws(feed, joining);
    tokio::spawn(async move {
        while let Some(text) = next_text(&link, &mut reader).await {
            link.send(ws::text(&text));
        }
    });
    if receive_buffer.is_none() {
        let mut head = vec![0u8; HEAD.len()];
        far.read_exact(&mut head).await.expect("head");
        assert_eq!(head, HEAD);
    }
    far
}

/// The next frame from the server (10 s at most): its first byte and payload; unmasked.
async fn read_frame(far: &mut TcpStream) -> (u8, Vec<u8>) {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut start = [0u8; 2];
        far.read_exact(&mut start).await.expect("frame header");
        assert_eq!(start[1] & 0x80, 0, "server frames are not masked");
        let len = match start[1] {
            126 => u64::from(far.read_u16().await.expect("16-bit length")),
            127 => far.read_u64().await.expect("64-bit length"),
            len => u64::from(len),
        };
        let mut payload = vec![0u8; len as usize];
        far.read_exact(&mut payload).await.expect("payload");
        (start[0], payload)
    })
    .await
    .expect("a frame within 10 s")
}

/// Reads frames until a close frame; its code. Binary frames before it are skipped.
async fn close_code(far: &mut TcpStream) -> u16 {
    loop {
        let (first, payload) = read_frame(far).await;
        if first == 0x88 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
        assert_eq!(first, 0x82, "only binary frames before the close");
    }
}

async fn closed(far: &mut TcpStream) {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), far.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(_))),
        "socket closed after the close frame"
    );
}

#[tokio::test]
async fn each_frame_is_one_binary_message_byte_identical_to_tungstenites() {
    let setup = setup();
    let first = frame(1, 10);
    show(&setup.slot, first.clone(), 0);
    let mut far = join_ws(&setup, setup.feed(), None).await;
    let (header, payload) = read_frame(&mut far).await;
    let payload = payload.to_vec();
    assert_eq!(header, 0x82, "FIN, binary");
    assert_eq!(payload, &encode_message("front", &first)[..]);
    // 16- and 64-bit lengths.
    for (seq, padding) in [(2, 1000), (3, 70_000)] {
        let next = frame(seq, padding);
        show(&setup.slot, next.clone(), 0);
        let (header, payload) = read_frame(&mut far).await;
        assert_eq!(header, 0x82);
        assert_eq!(payload, &encode_message("front", &next)[..]);
    }
    // A burst of two: both.
    let burst = [frame(4, 10), frame(5, 10)];
    for frame in &burst {
        show(&setup.slot, frame.clone(), 0);
    }
    for frame in &burst {
        assert_eq!(
            read_frame(&mut far).await.1,
            &encode_message("front", frame)[..]
        );
    }
    let sent = "gateway_bytes_sent_total{endpoint=\"ws\"}";
    assert!(setup.metrics.encode().contains(sent), "bytes counted");
}

#[tokio::test]
async fn a_slow_reader_skips_to_the_newest_and_a_stalled_one_is_dropped() {
    let setup = setup();
    show(&setup.slot, frame(1, 10), 0);
    let mut slow = join_ws(&setup, setup.feed(), Some(16 * 1024)).await;
    let mut fast = join_ws(&setup, setup.feed(), None).await;
    assert_eq!(read_frame(&mut fast).await.0, 0x82);
    for seq in 2..=6 {
        let big = frame(seq, 256 * 1024);
        show(&setup.slot, big.clone(), 0);
        let (_, payload) = read_frame(&mut fast).await;
        assert!(
            payload == encode_message("front", &big),
            "frame {seq} whole"
        );
    }
    let mut head = vec![0u8; HEAD.len()];
    slow.read_exact(&mut head).await.expect("head");
    let mut seqs = Vec::new();
    while seqs.last() != Some(&6) {
        let (_, payload) = read_frame(&mut slow).await;
        let meta = camera_protocol::FrameMeta::decode(&payload[6..38]).expect("meta");
        seqs.push(meta.seq);
    }
    assert!(
        seqs.len() < 6 && seqs[0] == 1,
        "skipped to the newest: {seqs:?}"
    );
    // Stop reading: a big frame fills its socket, and after the stall it is reset.
    show(&setup.slot, frame(7, 256 * 1024), 0);
    read_frame(&mut fast).await;
    let dropped = "gateway_clients_dropped_total{reason=\"write_stall\"} 1";
    tokio::time::timeout(Duration::from_secs(10), async {
        while !setup.metrics.encode().contains(dropped) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the stalled client is dropped");
}

#[tokio::test]
async fn pings_texts_and_closes_are_answered_between_frames() {
    let setup = setup();
    let mut far = join_ws(&setup, setup.feed(), None).await;
    far.write_all(&masked(0x89, b"abc")).await.expect("ping");
    assert_eq!(read_frame(&mut far).await, (0x8A, b"abc".to_vec()), "pong");
    far.write_all(&masked(0x81, b"{\"camera\":\"x\"}"))
        .await
        .expect("text");
    assert_eq!(
        read_frame(&mut far).await,
        (0x81, b"{\"camera\":\"x\"}".to_vec())
    );
    show(&setup.slot, frame(1, 10), 0);
    assert_eq!(read_frame(&mut far).await.0, 0x82);
    far.write_all(&masked(0x88, &1000u16.to_be_bytes()))
        .await
        .expect("close");
    assert_eq!(close_code(&mut far).await, 1000);
    closed(&mut far).await;
}

#[tokio::test]
async fn frames_sent_before_the_101_are_read() {
    let setup = setup();
    let early = [masked(0x89, b"early"), masked(0x81, b"too")].concat();
    let mut far = join_ws_after(&setup, setup.feed(), None, &early).await;
    assert_eq!(read_frame(&mut far).await, (0x8A, b"early".to_vec()));
    assert_eq!(read_frame(&mut far).await, (0x81, b"too".to_vec()));
}

#[tokio::test]
async fn oversized_and_unmasked_frames_close_with_their_codes() {
    let setup = setup();
    let mut big = join_ws(&setup, setup.feed(), None).await;
    big.write_all(&masked(0x81, &[b'a'; MAX_MESSAGE + 1]))
        .await
        .expect("send");
    assert_eq!(close_code(&mut big).await, 1009);
    closed(&mut big).await;
    let mut bare = join_ws(&setup, setup.feed(), None).await;
    bare.write_all(&[0x81, 2, b'h', b'i']).await.expect("send");
    assert_eq!(close_code(&mut bare).await, 1002);
    closed(&mut bare).await;
}

#[tokio::test]
async fn a_moved_client_gets_the_other_feeds_frames_and_shutdown_closes() {
    let setup = setup();
    show(&setup.slot, frame(1, 10), 0);
    let (handed, mut far) = setup.pair(HEAD, Duration::from_secs(5), None).await;
    let (joining, link, _) =
        WsJoining::new(handed, "front".into(), setup.metrics.sent("ws", "front"));
    setup.writers.join_ws(setup.feed(), joining);
    let mut head = vec![0u8; HEAD.len()];
    far.read_exact(&mut head).await.expect("head");
    let (_, payload) = read_frame(&mut far).await;
    assert_eq!(
        camera_protocol::FrameMeta::decode(&payload[6..38]).map(|m| m.seq),
        Ok(1)
    );
    let other = SlotSender::default();
    let preview = frame(100, 3);
    show(&other, preview.clone(), 0);
    let feed = Feed {
        frames: other.subscribe(),
        messages: Arc::default(),
    };
    link.move_to(feed);
    assert_eq!(
        read_frame(&mut far).await.1,
        &encode_message("front", &preview)[..]
    );
    show(&setup.slot, frame(2, 10), 0);
    let next = frame(101, 3);
    show(&other, next.clone(), 0);
    let (_, payload) = read_frame(&mut far).await;
    assert!(
        payload == encode_message("front", &next),
        "only the new feed"
    );
    drop(setup.cancel);
    assert_eq!(close_code(&mut far).await, ws::CLOSE_GOING_AWAY);
}

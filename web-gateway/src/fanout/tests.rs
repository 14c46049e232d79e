//! The writer against real loopback sockets: bursts, slow readers, stalls.

use super::*;
use crate::camera::slot::{show, SlotSender};
use crate::metrics::Metrics;
use crate::mjpeg::OPENING;
use crate::server::heap::HeapWatch;
use crate::server::Drops;
use bytes::Bytes;
use camera_protocol::{Frame, FrameMeta};
use std::time::Duration;
use test_support::multipart::MultipartParser;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n";

pub(super) fn frame(seq: u64, padding: usize) -> Arc<Frame> {
    let meta = FrameMeta {
        seq,
        capture_ts_ns: camera_protocol::meta::unix_now_ns(),
        width: 2,
        height: 2,
        generation: 1,
        online: true,
    };
    let jpeg = [&[0xFF, 0xD8][..], &vec![seq as u8; padding], &[0xFF, 0xD9]].concat();
    Arc::new(Frame {
        jpeg: Bytes::from(jpeg),
        meta,
    })
}

pub(super) struct Setup {
    pub writers: Arc<Writers>,
    pub slot: SlotSender,
    pub messages: Arc<MessageCache>,
    pub metrics: Arc<Metrics>,
    pub cancel: tokio_util::sync::DropGuard,
}

pub(super) fn setup() -> Setup {
    let cancel = CancellationToken::new();
    Setup {
        writers: Arc::new(Writers::new(cancel.clone(), TaskTracker::new())),
        slot: SlotSender::default(),
        messages: Arc::default(),
        metrics: Arc::new(Metrics::new()),
        cancel: cancel.drop_guard(),
    }
}

impl Setup {
    /// A connected pair of loopback sockets (ours, the client's), both buffers small when
    /// `receive_buffer` is given; `handed` is ours with `head` to send first.
    pub(super) async fn pair(
        &self,
        head: &'static [u8],
        write_stall: Duration,
        receive_buffer: Option<u32>,
    ) -> (Handed, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let far = socket.connect(listener.local_addr().expect("addr"));
        let (accepted, far) = tokio::join!(listener.accept(), far);
        let ((stream, peer), far) = (accepted.expect("accept"), far.expect("connect"));
        if let Some(size) = receive_buffer {
            socket2::SockRef::from(&stream)
                .set_send_buffer_size(size as usize)
                .expect("SO_SNDBUF");
        }
        let handed = Handed {
            stream,
            peer,
            head: Bytes::from_static(head),
            after_head: Bytes::new(),
            write_stall,
            idle: Duration::from_secs(60),
            drops: Drops::new(self.metrics.clone()),
            open: Arc::new(HeapWatch::default()).opened(),
        };
        (handed, far)
    }

    pub(super) fn feed(&self) -> Feed {
        Feed {
            frames: self.slot.subscribe(),
            messages: self.messages.clone(),
        }
    }

    /// A client socket joined to the feed's writer with `write_stall`; returns its far end.
    async fn join(&self, write_stall: Duration, receive_buffer: Option<u32>) -> TcpStream {
        self.join_paced(write_stall, receive_buffer, None).await
    }

    /// [`Self::join`] for a client capped at one part per `min_interval` (`?fps=`).
    async fn join_paced(
        &self,
        write_stall: Duration,
        receive_buffer: Option<u32>,
        min_interval: Option<Duration>,
    ) -> TcpStream {
        let (handed, far) = self.pair(HEAD, write_stall, receive_buffer).await;
        let feed = self.feed();
        let joining = Joining {
            handed,
            min_interval,
            sent: self.metrics.sent("mjpeg", "t"),
            guards: Box::new(()),
        };
        self.writers.join(feed, joining);
        far
    }
}

/// Reads parts from `far` until `count` arrived (10 s at most); their sequence numbers.
async fn parts(far: &mut TcpStream, parser: &mut MultipartParser, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while seqs.len() < count {
        let read = tokio::time::timeout(Duration::from_secs(10), far.read(&mut buf))
            .await
            .expect("a part within 10 s")
            .expect("read");
        assert!(read > 0, "writer closed the socket");
        parser
            .feed(&buf[..read], &mut |part| seqs.push(part.seq.expect("seq")))
            .expect("well-formed stream");
    }
    seqs
}

async fn skip_head(far: &mut TcpStream) {
    let mut head = vec![0u8; HEAD.len()];
    far.read_exact(&mut head).await.expect("head");
    assert_eq!(head, HEAD);
}

#[tokio::test]
async fn head_current_frame_then_each_frame_and_bursts_whole() {
    let setup = setup();
    show(&setup.slot, frame(1, 10), 0);
    let mut far = setup.join(Duration::from_secs(5), None).await;
    skip_head(&mut far).await;
    let mut parser = MultipartParser::strict(&OPENING[2..OPENING.len() - 2]);
    assert_eq!(parts(&mut far, &mut parser, 1).await, vec![1]);
    show(&setup.slot, frame(2, 10), 0);
    assert_eq!(parts(&mut far, &mut parser, 1).await, vec![2]);
    // Two frames together (a link's burst): the writer sends both.
    show(&setup.slot, frame(3, 10), 0);
    show(&setup.slot, frame(4, 10), 0);
    assert_eq!(parts(&mut far, &mut parser, 2).await, vec![3, 4]);
    assert_eq!(setup.writers.len(), 1);
    drop(far);
    // Writing to the closed socket fails (the first write after the close may still be
    // taken by the kernel); the writer leaves with its last client.
    tokio::time::timeout(Duration::from_secs(5), async {
        for seq in 5.. {
            show(&setup.slot, frame(seq, 10), 0);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if setup.writers.is_empty() {
                break;
            }
        }
    })
    .await
    .expect("writer ended with its last client");
}

#[tokio::test]
async fn a_slow_reader_skips_to_the_newest_and_a_stalled_one_is_dropped() {
    let setup = setup();
    show(&setup.slot, frame(1, 10), 0);
    // Small socket buffers: a 256 KiB frame cannot fit while the client does not read.
    let mut slow = setup.join(Duration::from_secs(2), Some(16 * 1024)).await;
    let mut fast = setup.join(Duration::from_secs(60), None).await;
    skip_head(&mut fast).await;
    let mut fast_parser = MultipartParser::strict(&OPENING[2..OPENING.len() - 2]);
    assert_eq!(parts(&mut fast, &mut fast_parser, 1).await, vec![1]);
    for seq in 2..=6 {
        show(&setup.slot, frame(seq, 256 * 1024), 0);
        // The fast client gets every frame although the slow one takes nothing.
        assert_eq!(parts(&mut fast, &mut fast_parser, 1).await, vec![seq]);
    }
    // Read the slow one now: frame 2 (in its socket when it stopped) then the newest, 6.
    skip_head(&mut slow).await;
    let mut slow_parser = MultipartParser::strict(&OPENING[2..OPENING.len() - 2]);
    let got = parts(&mut slow, &mut slow_parser, 3).await;
    assert_eq!(got[0], 1);
    assert_eq!(*got.last().expect("parts"), 6, "{got:?}");
    assert!(
        got.len() == 3 && got[1] < 6,
        "skipped to the newest: {got:?}"
    );
    // Stop reading again: one more big frame fills its socket, and after the write stall
    // the slow client is reset and counted while the fast one goes on.
    show(&setup.slot, frame(7, 256 * 1024), 0);
    assert_eq!(parts(&mut fast, &mut fast_parser, 1).await, vec![7]);
    let dropped = "gateway_clients_dropped_total{reason=\"write_stall\"} 1";
    tokio::time::timeout(Duration::from_secs(10), async {
        while !setup.metrics.encode().contains(dropped) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the stalled client is dropped");
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the stalled socket was closed");
    show(&setup.slot, frame(8, 10), 0);
    assert_eq!(parts(&mut fast, &mut fast_parser, 1).await, vec![8]);
}

#[tokio::test]
async fn an_fps_capped_client_gets_the_newest_frame_at_its_turn() {
    let setup = setup();
    show(&setup.slot, frame(0, 10), 0);
    let interval = Duration::from_millis(200);
    let mut far = setup
        .join_paced(Duration::from_secs(5), None, Some(interval))
        .await;
    skip_head(&mut far).await;
    let mut parser = MultipartParser::strict(&OPENING[2..OPENING.len() - 2]);
    assert_eq!(parts(&mut far, &mut parser, 1).await, vec![0]);
    // 50 frames in about a second: the client may take one per 200 ms.
    let start = std::time::Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for seq in 1..=50 {
        ticker.tick().await;
        show(&setup.slot, frame(seq, 10), 0);
    }
    // After the last frame the client's next turn brings it, and nothing follows.
    let mut got = Vec::new();
    while got.last() != Some(&50) {
        got.extend(parts(&mut far, &mut parser, 1).await);
    }
    // At most one part per turn over however long the frames took on this machine.
    let turns = (start.elapsed().as_millis() / interval.as_millis()) as usize + 1;
    assert!(
        got.len() <= turns && got.len() < 25,
        "one part per turn ({turns}), not per frame: {got:?}"
    );
    assert!(got.windows(2).all(|pair| pair[0] < pair[1]), "{got:?}");
}

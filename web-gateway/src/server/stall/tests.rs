use super::*;
use crate::metrics::Metrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn guarded<T>(inner: T, write_stall: u64, idle: u64) -> (StallGuard<T>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let peer = SocketAddr::from(([127, 0, 0, 1], 9));
    let guard = StallGuard::new(
        inner,
        Duration::from_secs(write_stall),
        Duration::from_secs(idle),
    )
    .reporting(Drops::new(metrics.clone()), peer);
    (guard, metrics)
}

fn dropped(metrics: &Metrics, reason: &str) -> bool {
    metrics.encode().contains(&format!(
        "gateway_clients_dropped_total{{reason=\"{reason}\"}} 1"
    ))
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_fails_the_write_and_is_counted() {
    let (near, mut far) = tokio::io::duplex(1024);
    let (mut guarded, metrics) = guarded(near, 30, 600);
    // The peer reads the first KiB, then nothing: writes block, then fail after 30 s.
    let chunk = [7u8; 1024];
    guarded.write_all(&chunk).await.expect("buffer has room");
    let mut first = [0u8; 1024];
    far.read_exact(&mut first).await.expect("peer reads");
    guarded
        .write_all(&chunk)
        .await
        .expect("buffer has room again");
    let started = Instant::now();
    let error = guarded.write_all(&chunk).await.expect_err("stalled");
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(started.elapsed().as_secs(), 30);
    assert!(dropped(&metrics, "write_stall"), "{}", metrics.encode());
    // Counted once, however often hyper retries the write or shuts down.
    let _ = guarded.write_all(&chunk).await;
    let _ = guarded.shutdown().await;
    assert!(dropped(&metrics, "write_stall"), "{}", metrics.encode());
}

#[tokio::test(start_paused = true)]
async fn a_slow_but_moving_peer_is_kept() {
    let (near, mut far) = tokio::io::duplex(64);
    let (mut guarded, metrics) = guarded(near, 30, 600);
    let reader = tokio::spawn(async move {
        let mut total = 0;
        let mut buf = [0u8; 64];
        while total < 64 * 20 {
            tokio::time::sleep(Duration::from_secs(20)).await;
            total += far.read(&mut buf).await.expect("read");
        }
        total
    });
    // 20 chunks, each taking 20 s to drain: 400 s in all, but never 30 s without progress.
    for _ in 0..20 {
        guarded.write_all(&[1u8; 64]).await.expect("slow peer kept");
    }
    assert_eq!(reader.await.expect("reader"), 64 * 20);
    assert!(!metrics.encode().contains("} 1"), "{}", metrics.encode());
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_times_out_when_idle() {
    let (near, _far) = tokio::io::duplex(64);
    let (mut guarded, metrics) = guarded(near, 30, 90);
    let mut buf = [0u8; 8];
    let started = Instant::now();
    let error = guarded.read(&mut buf).await.expect_err("idle");
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(started.elapsed().as_secs(), 90);
    assert!(dropped(&metrics, "idle_timeout"), "{}", metrics.encode());
}

#[tokio::test(start_paused = true)]
async fn writes_keep_a_connection_alive_past_the_idle_timeout() {
    let (near, mut far) = tokio::io::duplex(1024);
    let (guarded, _metrics) = guarded(near, 30, 90);
    let (mut read_half, mut write_half) = tokio::io::split(guarded);
    let writer = tokio::spawn(async move {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(60)).await;
            write_half.write_all(b"frame").await.expect("write");
        }
    });
    let drain = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while far.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    // 600 s in all, never 90 s without a byte: the read side waits without timing out.
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(600), read_half.read(&mut buf)).await;
    assert!(read.is_err(), "the read ended early: {read:?}");
    writer.await.expect("writer");
    drain.abort();
}

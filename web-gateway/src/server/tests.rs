//! `serve_connections` in-process: the peer address reaches handlers, and `cancel` ends the
//! server promptly with a keep-alive connection still open.

use super::*;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options() -> ServeOptions {
    ServeOptions {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        write_stall_timeout: Duration::from_secs(30),
        tls: None,
        drops: Drops::new(Arc::new(Metrics::new())),
        heap: Arc::default(),
    }
}

#[tokio::test]
async fn handlers_see_the_peer_and_cancel_ends_the_server() {
    let app = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let cancel = CancellationToken::new();
    let server = tokio::spawn(serve_connections(listener, app, options(), cancel.clone()));

    let mut client = TcpStream::connect(address).await.expect("connect");
    let me = client.local_addr().expect("client address");
    client
        .write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&response).ends_with(&me.to_string()) {
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed early: {}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&chunk[..n]);
    }

    // The keep-alive connection stays open; cancel closes it and the server returns.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("server ends promptly on cancel")
        .expect("server task");
    let n = tokio::time::timeout(Duration::from_secs(2), client.read(&mut chunk))
        .await
        .expect("connection closed on cancel")
        .unwrap_or(0);
    assert_eq!(n, 0, "data after cancel");
}

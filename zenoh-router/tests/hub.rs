//! The hub binary itself: it relays a client's samples to a peer subscriber, and SIGTERM stops
//! it cleanly. Also what makes `cargo test --workspace` build `zenoh-router`, which the other
//! crates' tests (config profiles, fake Jetson, two hosts, install) start as a child process.

use robot_cli::zenoh_config::NODE_DEFAULT;
use robot_cli::ZenohSettings;
use std::time::Duration;
use test_support::{session_to, Hub, DEADLINE};

#[tokio::test(flavor = "multi_thread")]
async fn hub_relays_a_client_to_a_subscriber_and_stops_on_sigterm() {
    let mut hub = Hub::spawn();
    let subscriber = session_to(&hub.endpoint).await;
    let samples = subscriber
        .declare_subscriber("robot/relay-check")
        .await
        .expect("declare subscriber");

    // A client, as camera nodes are: everything it sends goes through the hub.
    let client_config = ZenohSettings {
        connect: vec![hub.endpoint.clone()],
        ..Default::default()
    }
    .build(NODE_DEFAULT)
    .expect("client config");
    let client = zenoh::open(client_config).await.expect("client session");

    // The subscriber's declaration reaches the client through the hub some time after both
    // sessions open; put until one sample arrives rather than guessing how long that takes.
    let received = tokio::time::timeout(DEADLINE, async {
        loop {
            client
                .put("robot/relay-check", "through the hub")
                .await
                .expect("put");
            if let Ok(Ok(sample)) =
                tokio::time::timeout(Duration::from_millis(200), samples.recv_async()).await
            {
                return sample;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no sample through the hub; its stderr:\n{}", hub.stderr()));
    assert_eq!(
        received.payload().try_to_string().expect("utf-8").as_ref(),
        "through the hub"
    );

    let status = hub.terminate();
    assert!(status.success(), "zenoh-router exited {status} on SIGTERM");
}

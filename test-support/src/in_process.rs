//! The gateway's own `serve` inside the test process (feature `gateway`): for tests where the
//! HTTP and zenoh behaviour is the point, not the process. No binary to spawn, no log line to
//! wait for; the same flags as the binary, loaded by the same `Config::from_args`.

use tokio_util::sync::CancellationToken;
use web_gateway::{AppState, Config};

/// A running in-process gateway: cancelled (streams end, tasks drain) on Drop.
#[derive(Debug)]
pub(crate) struct Served {
    cancel: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Serves HTTP on a free loopback port from this process, connected to `endpoints`; returns
/// what stops it on Drop and its `http://` base URL.
pub(crate) async fn serve(endpoints: &[String], extra: &[&str]) -> (Served, String) {
    let mut args = vec!["web-gateway", "--listen", "127.0.0.1:0"];
    for endpoint in endpoints {
        args.extend(["--zenoh-connect", endpoint.as_str()]);
    }
    args.extend(extra);
    let config = Config::from_args(&args).unwrap_or_else(|error| panic!("{error}"));
    let zenoh_config = config
        .zenoh
        .build(robot_cli::zenoh_config::SUBSCRIBER_DEFAULT)
        .expect("zenoh config");
    let session = zenoh::open(zenoh_config)
        .await
        .expect("gateway zenoh session");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind the gateway's HTTP port");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let cancel = CancellationToken::new();
    let state = AppState::new(config, session, cancel.clone());
    tokio::spawn(async move {
        if let Err(error) = web_gateway::serve(listener, state).await {
            panic!("in-process gateway failed: {error}");
        }
    });
    (Served { cancel }, base)
}

//! Helpers shared by the camera-node and web-gateway tests (a dev-dependency of both).
//!
//! # Layout
//! - [`process`]: child processes killed on Drop, their stderr awaited line by line, bounded runs.
//! - [`binaries`]: the real `camera-node` and `web-gateway` binaries on free loopback ports,
//!   and where `cargo test` put the examples and the other crate's binaries; [`hub`]: the
//!   real `zenoh-router`, the hub every camera node is a client of.
//! - `in_process` (feature `gateway`): `Gateway::serve`, the gateway's `serve` in the test
//!   process, for tests where HTTP behaviour is the point rather than the process.
//! - [`camera`]: [`SyntheticCamera`], a camera node stand-in on the library's `FramePublisher`;
//!   [`camera_variants`]: its `[[variants]]`, published only while subscribed; [`publisher`]:
//!   a bare `FramePublisher` whose frames the test puts one by one.
//! - [`jpeg`]: drawn test pictures, padding, decoded sizes, a directory of JPEG files.
//! - [`multipart`]: the push parser of MJPEG bodies (the benchmark's load client, lenient,
//!   copying nothing; strict, keeping each part, under [`mjpeg`]: the tests' reader of the
//!   gateway's MJPEG streams).
//! - [`h264`]: `ffprobe` decoding an H.264 Annex B file (size, frames, errors).
//! - [`foxglove_client`]: the Python Foxglove WebSocket client (`python/foxglove_client.py`).
//! - [`metrics`]: one series or a sum of series of a gateway's `/metrics` text.
//! - [`mcap_reader`]: MCAP files read by Python's `mcap` package (`python/read_mcap.py`).
//! - [`net`]: raw client sockets: read until the server closes, parse a bare response.
//! - [`zenoh_peer`]: zenoh sessions connected to one endpoint or listening on one, polling a
//!   camera's info; [`phantoms`]: liveliness tokens and forged info answers (abuse tests).
//! - `certs` (feature `certs`, on with `gateway`): throwaway CAs and certificates (rcgen) for TLS tests.
//! - [`ci`]: what a missing tool means (skip locally, fail under `CI`).
//! - [`proxy`]: a byte-counting TCP proxy with an optional fixed delay each way (link
//!   benchmark; delay emulation in the two-host tests, where the kernel has no netem).
//!
//! Everything binds 127.0.0.1 only; every wait is bounded, so a broken binary fails a test
//! instead of hanging it. Helpers panic with the reason: they only run inside tests.
#![allow(clippy::unwrap_used)]

pub mod binaries;
pub mod camera;
pub mod camera_variants;
#[cfg(feature = "certs")]
pub mod certs;
pub mod ci;
pub mod foxglove_client;
pub mod h264;
pub mod hub;
#[cfg(feature = "gateway")]
pub mod in_process;
pub mod jpeg;
pub mod mcap_reader;
pub mod metrics;
pub mod mjpeg;
pub mod multipart;
pub mod net;
pub mod phantoms;
pub mod process;
pub mod proxy;
pub mod publisher;
#[cfg(feature = "gateway")]
pub mod scene;
pub mod target;
#[cfg(feature = "gateway")]
pub mod tls;
pub mod zenoh_peer;

pub use binaries::{target_binary, CameraNode, Gateway};
pub use camera::{CameraOptions, SyntheticCamera};
pub use hub::Hub;
pub use jpeg::{draw_frame, flat_jpeg, jpeg_size, pad_jpeg};
pub use mjpeg::{MjpegStream, Part};
pub use process::{run_bounded, wait_deadline, ChildProcess};
pub use zenoh_peer::{listening_session, session_to, wait_for_info};

use std::time::Duration;

/// Generous: CI machines are small and shared.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

//! The camera node: GStreamer capture (Argus CSI on a Jetson, V4L2 USB cameras, `videotestsrc`)
//! → JPEG frames published on zenoh with the `camera-protocol` crate.
//!
//! # Layout
//! - [`node`]: the whole node minus process concerns, so tests and other programs can embed
//!   it with their own session and cancellation token. `src/main.rs` adds the settings layer,
//!   logging and signals from `robot-cli`.
//!
//! The GStreamer-free parts live in their own crates: `camera-protocol` (the wire format,
//! publisher and subscriber: what the gateway and your own programs use), `camera-record`
//! (MCAP) and `robot-cli` (settings, logging, zenoh configuration).

pub mod node;

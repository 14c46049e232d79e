//! What the three binaries (camera-node, web-gateway, zenoh-router) share, so none of them
//! depends on another: how settings are layered, how a process logs and stops, and how it
//! reaches zenoh.
//!
//! # Layout
//! - [`settings`]: defaults < TOML file < environment < flags, with errors naming the key, the
//!   value and where it came from.
//! - [`process`]: logging (log lines name the binary) and SIGINT/SIGTERM as a cancellation.
//! - [`zenoh_config`]: [`ZenohSettings`] (`--zenoh-*`), the embedded defaults (the hub on
//!   loopback, multicast off) and the message-size bound; [`zenoh_certs`]: the TLS files a
//!   profile names, from one machine's certificate folder.
//! - [`session`]: opening a publisher's session, waiting for the hub, racing SIGTERM.

pub mod process;
pub mod session;
pub mod settings;
pub mod zenoh_certs;
pub mod zenoh_config;

pub use zenoh_config::ZenohSettings;

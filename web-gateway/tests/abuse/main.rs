//! The abuse suite (issue 12): each finding reproduced against the real `web-gateway` binary,
//! with the bound it must now keep asserted (gateway alive, slots freed, bad input counted).
//! `frames`: hostile zenoh samples and camera ids, each beside a good camera at full rate.
//! `variants`: 300 distinct `?width=` streams against the encoder caps.
//! Issue 23: `clip_flood` (slow clip downloads), `disk_fill` (recording's size and floor).

mod auth;
mod clip_flood;
mod connections;
mod disk_fill;
mod frames;
mod https;
mod origin;
mod variants;

/// The binary under test.
const GATEWAY: &str = env!("CARGO_BIN_EXE_web-gateway");

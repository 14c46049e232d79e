//! The abuse suite (issue 12): each finding reproduced against the real `web-gateway` binary,
//! with the bound it must now keep asserted (gateway alive, slots freed, bad input counted).
//! `frames`: hostile zenoh samples and camera ids, each beside a good camera at full rate.
//! `variants`: 300 distinct `?width=` streams against the encoder caps.
//! Issue 23: `clip_flood` (slow clip downloads), `disk_fill` (recording's size and floor).
//! `peers`: hostile zenoh sessions (issue 23): phantom cameras with huge info, a stranger
//! answering a real camera's info, liveliness churn against the log.

mod auth;
mod clip_flood;
mod connections;
mod disk_fill;
mod frames;
mod https;
mod origin;
mod peers;
mod variants;

/// The binary under test.
const GATEWAY: &str = env!("CARGO_BIN_EXE_web-gateway");

//! The abuse suite (issue 12): each finding reproduced against the real `web-gateway` binary,
//! with the bound it must now keep asserted (gateway alive, slots freed, bad input counted).

mod auth;
mod connections;
mod https;
mod origin;

/// The binary under test.
const GATEWAY: &str = env!("CARGO_BIN_EXE_web-gateway");

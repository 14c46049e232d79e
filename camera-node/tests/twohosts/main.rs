//! Robot, base station and router on separate hosts: network namespaces joined by veth pairs.
//!
//! The real binaries run in their own namespaces with the shipped TLS profiles (certificates
//! from launch/make-certs.sh): `camera-node` in `robot`, `web-gateway` in `base`, the
//! `zenoh-router` bin in `router`; the test's HTTP client streams from the gateway inside
//! `base`. Links are cut with nftables (packets silently dropped) or by setting the veth down.
//! The kernels here have no netem: a slow link is a userspace TCP proxy adding a fixed delay
//! each way (`test_support::proxy`) plus random loss from nftables (`link.rs`).
//!
//! Needs root (namespaces, veth, nftables). Without root and outside CI every test prints
//! why it is skipped and passes; under CI (`CI` set) it fails instead. The gateway binary is
//! the workspace's (`cargo test --workspace` builds it; or `cargo build -p web-gateway` first).
//!
//!     sudo -E cargo test -p camera-node --test twohosts

mod delay;
mod fleet;
mod http;
mod lab;
mod link;
mod partitions;
mod restarts;
mod setup;
mod tls;

use std::time::Duration;

/// Generous start-up limit: debug binaries on a small shared CI machine.
pub const START: Duration = Duration::from_secs(30);

//! Robots and a base station on separate hosts: network namespaces joined by veth pairs,
//! deployed as docs/ say. Each robot runs its hub (`zenoh-router` with
//! config/zenoh/robot.json5 and certificates from launch/make-certs.sh) and camera nodes with
//! no zenoh flags; the base station's `web-gateway` (config/zenoh/base-station.json5) reaches
//! the hubs over mutual TLS; the test's HTTP client streams from the gateway inside `base`.
//! Links are cut with nftables (packets silently dropped) or by setting the veth down. The
//! kernels here have no netem: a slow link is a userspace TCP proxy adding a fixed delay each
//! way (`test_support::proxy`) plus random loss from nftables (`link.rs`).
//!
//! Needs root (namespaces, veth, nftables). Without root and outside CI every test prints
//! why it is skipped and passes; under CI (`CI` set) it fails instead. The binaries and the
//! subscribe example are the workspace's: `cargo test --workspace` builds them first.
//!
//!     sudo -E cargo test --workspace --test twohosts -- --nocapture

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

/// Runs a scenario; if it fails after a process under test died of a crash signal, the run is
/// void and the scenario runs once more (a second failure stands).
///
/// zenoh 1.10's TLS link reads and writes one rustls connection from two threads at once
/// (eclipse-zenoh/zenoh#2557): rarely a process segfaults in rustls (seen in the router, about
/// once in 400 fleet runs on a busy 2-core VM). That is zenoh's bug, not what these tests are
/// about; docs/reliability.md says what it means for a deployment. Every crash is printed.
pub fn void_if_crashed(scenario: impl Fn()) {
    use test_support::process::take_crashes;
    take_crashes();
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&scenario));
    let crashes = take_crashes();
    match first {
        Ok(()) if crashes.is_empty() => {}
        Ok(()) => eprintln!("CRASHED (the run passed anyway): {crashes:?}"),
        Err(panic) if crashes.is_empty() => std::panic::resume_unwind(panic),
        Err(_) => {
            eprintln!(
                "VOID RUN: {crashes:?} died of a crash signal (zenoh#2557, see \
                 docs/reliability.md); running the scenario once more"
            );
            scenario();
        }
    }
}

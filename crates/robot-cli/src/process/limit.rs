//! A rate limit on zenoh's own log lines. zenoh logs every failed TLS handshake, refused
//! transport or unknown query at WARN or ERROR, one line per attempt: a stranger reconnecting
//! in a loop to a hub's TLS port writes the disk full. Each of zenoh's log statements
//! (callsite: one reason) passes [`BURST`] lines per [`WINDOW`]; the rest are counted, and the
//! first line let through after a window says how many were left out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::callsite::Identifier;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines each zenoh log statement may write per [`WINDOW`].
pub const BURST: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(10);

/// The [`Layer`] that drops zenoh's lines beyond [`BURST`] per [`WINDOW`] and callsite.
#[derive(Debug, Default)]
pub struct ZenohLogLimit {
    /// Per callsite: its window's start, lines let through in it, lines left out since the
    /// last summary. Bounded: callsites are the log statements compiled into the binary.
    windows: Mutex<HashMap<Identifier, (Instant, u32, u64)>>,
}

/// zenoh's crates log under `zenoh` and `zenoh_*` (`zenoh_link_tls`, `zenoh_transport`, ...);
/// our hub binary's own `zenoh_router` is not one of them.
fn is_zenoh(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or_default();
    krate == "zenoh" || (krate.starts_with("zenoh_") && krate != "zenoh_router")
}

impl ZenohLogLimit {
    /// Whether a line of `callsite` may be written `now`, and how many were left out before it
    /// (to be said once the line is let through).
    fn admit(&self, callsite: Identifier, now: Instant) -> (bool, u64) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (start, passed, left_out) = windows.entry(callsite).or_insert((now, 0, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *passed) = (now, 0);
        }
        if *passed < BURST {
            *passed += 1;
            (true, std::mem::take(left_out))
        } else {
            *left_out += 1;
            (false, 0)
        }
    }
}

impl<S: Subscriber> Layer<S> for ZenohLogLimit {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if !is_zenoh(meta.target()) {
            return true;
        }
        let (admitted, left_out) = self.admit(meta.callsite(), Instant::now());
        if left_out > 0 {
            // Emitted with our lock released; its target is ours, so it is never limited.
            tracing::warn!(
                zenoh_target = meta.target(),
                left_out,
                "zenoh repeated the next message more than {BURST} times in {WINDOW:?}: \
                 {left_out} left out of the log"
            );
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zenoh_targets_are_told_from_ours() {
        assert!(is_zenoh("zenoh_link_tls::unicast"));
        assert!(is_zenoh("zenoh_transport::unicast::establishment::accept"));
        assert!(is_zenoh("zenoh::net::runtime"));
        assert!(!is_zenoh("zenoh_router"));
        assert!(!is_zenoh("web_gateway::discovery"));
    }

    #[test]
    fn a_burst_per_window_then_a_count_of_the_rest() {
        let limit = ZenohLogLimit::default();
        let callsite = Identifier(&CALLSITE);
        let start = Instant::now();
        let passed = (0..100)
            .filter(|_| limit.admit(callsite.clone(), start).0)
            .count();
        assert_eq!(passed, BURST as usize);
        let later = start + WINDOW;
        assert_eq!(
            limit.admit(callsite.clone(), later),
            (true, 100 - u64::from(BURST))
        );
        assert_eq!(limit.admit(callsite, later), (true, 0));
    }

    struct TestCallsite;
    static CALLSITE: TestCallsite = TestCallsite;
    impl tracing::Callsite for TestCallsite {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &tracing::Metadata<'_> {
            unimplemented!("never asked in these tests")
        }
    }
}

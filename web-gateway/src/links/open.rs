//! The links zenoh has open right now, kept current by zenoh's link events (a callback on
//! zenoh's thread: it only counts and wakes the monitor, never blocks).
//!
//! A link is keyed by its protocol and remote socket address: zenoh's TCP and TLS links report
//! the address they resolved and connected to, not the name in the endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use zenoh::sample::SampleKind;
use zenoh::session::LinkEvent;

/// More open links than any gateway has (zenoh bounds its own sessions); new keys beyond it
/// are not tracked rather than grown without bound.
const MAX_LINKS: usize = 4096;

type Key = (String, SocketAddr);

/// Open links by (protocol, remote address), with how many of each.
#[derive(Debug, Default)]
pub struct OpenLinks {
    open: Mutex<HashMap<Key, u32>>,
    /// Woken on every change.
    pub changed: Notify,
}

impl OpenLinks {
    /// Starts following `session`'s links (the ones already open first). Links are followed
    /// while the returned listener lives.
    pub async fn follow(
        self: &Arc<Self>,
        session: &zenoh::Session,
    ) -> zenoh::Result<zenoh::session::LinkEventsListener<()>> {
        let links = self.clone();
        session
            .info()
            .link_events_listener()
            .history(true)
            .callback(move |event| links.apply(&event))
            .await
    }

    /// Whether a link of `scheme` to one of `addrs` is open.
    pub fn any(&self, scheme: &str, addrs: &[SocketAddr]) -> bool {
        let open = self.lock();
        addrs
            .iter()
            .any(|addr| open.contains_key(&(scheme.to_owned(), *addr)))
    }

    fn apply(&self, event: &LinkEvent) {
        let dst = event.link().dst();
        let Ok(addr) = dst.address().as_str().parse::<SocketAddr>() else {
            return;
        };
        let key = (dst.protocol().as_str().to_owned(), addr);
        {
            let mut open = self.lock();
            match event.kind() {
                SampleKind::Put => {
                    if open.len() < MAX_LINKS || open.contains_key(&key) {
                        *open.entry(key).or_default() += 1;
                    }
                }
                SampleKind::Delete => {
                    if let Some(count) = open.get_mut(&key) {
                        *count -= 1;
                        if *count == 0 {
                            open.remove(&key);
                        }
                    }
                }
            }
        }
        self.changed.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, u32>> {
        // A panic while holding it cannot leave the counts half-written: each update is one op.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

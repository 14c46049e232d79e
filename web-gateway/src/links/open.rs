//! The links zenoh has open right now, kept current by zenoh's link and transport events
//! (callbacks on zenoh's threads: they only count and wake the monitor, never block).
//!
//! A link is keyed by its peer and its protocol and remote socket address: zenoh's TCP and TLS
//! links report the address they resolved and connected to, not the name in the endpoint.
//! A transport closed from this side (`session` close, expiry) ends without an event per
//! link, so a closed transport drops every link of its peer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use zenoh::sample::SampleKind;
use zenoh::session::ZenohId;
use zenoh::session::{LinkEvent, LinkEventsListener, TransportEvent, TransportEventsListener};

/// More open links than any gateway has (zenoh bounds its own sessions); new keys beyond it
/// are not tracked rather than grown without bound.
const MAX_LINKS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    peer: ZenohId,
    scheme: String,
    addr: SocketAddr,
}

/// Open links, with how many of each.
#[derive(Debug, Default)]
pub struct OpenLinks {
    open: Mutex<HashMap<Key, u32>>,
    /// Woken on every change.
    pub changed: Notify,
}

/// zenoh's listeners feeding [`OpenLinks`]: links are followed while this lives.
#[derive(Debug)]
pub struct Following {
    _links: LinkEventsListener<()>,
    _transports: TransportEventsListener<()>,
}

impl OpenLinks {
    /// Starts following `session`'s links, the ones already open first.
    pub async fn follow(self: &Arc<Self>, session: &zenoh::Session) -> zenoh::Result<Following> {
        let links = self.clone();
        let transports = session
            .info()
            .transport_events_listener()
            .callback(move |event| links.transport(&event))
            .await?;
        let links = self.clone();
        let links = session
            .info()
            .link_events_listener()
            .history(true)
            .callback(move |event| links.link(&event))
            .await?;
        Ok(Following {
            _links: links,
            _transports: transports,
        })
    }

    /// Whether a link of `scheme` to one of `addrs` is open.
    pub fn any(&self, scheme: &str, addrs: &[SocketAddr]) -> bool {
        self.lock()
            .keys()
            .any(|key| key.scheme == scheme && addrs.contains(&key.addr))
    }

    fn link(&self, event: &LinkEvent) {
        let dst = event.link().dst();
        let Ok(addr) = dst.address().as_str().parse::<SocketAddr>() else {
            return;
        };
        let key = Key {
            peer: *event.link().zid(),
            scheme: dst.protocol().as_str().to_owned(),
            addr,
        };
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

    fn transport(&self, event: &TransportEvent) {
        if event.kind() != SampleKind::Delete {
            return;
        }
        let peer = *event.transport().zid();
        self.lock().retain(|key, _| key.peer != peer);
        self.changed.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, u32>> {
        // A panic while holding it cannot leave the counts half-written: each update is one op.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

//! One diagnostic probe of an endpoint zenoh has no link to: resolve its host, open a TCP
//! connection, and for `tls/` shake hands as zenoh would ([`super::tls_probe`]). Every step
//! has a timeout; the connection is closed as soon as the answer is known. Runs beside
//! zenoh's own connect retries, never instead of them.

use super::failure::{Failure, Reason};
use super::targets::{Protocol, Target};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Longest wait for the system resolver.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for one TCP connect (zenoh's base-station profile gives up after 1.5 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Addresses of one name tried, as zenoh tries them in order.
const MAX_ADDRESSES: usize = 4;

/// What a probe (or a bare resolution) found.
#[derive(Debug)]
pub struct Outcome {
    /// The host's addresses, when resolved: what zenoh's link to it would point at.
    pub addrs: Option<Vec<SocketAddr>>,
    /// `None` for a resolution only; `Ok` when the endpoint answered as zenoh needs it to.
    pub probe: Option<Result<(), Failure>>,
}

/// Resolves `target`'s host, nothing more (to recognise zenoh's links to it).
pub async fn resolve_only(target: Arc<Target>, lookup: Arc<AtomicBool>) -> Outcome {
    Outcome {
        addrs: resolve(&target, &lookup).await.ok(),
        probe: None,
    }
}

/// Resolves, connects and (for `tls/`) shakes hands.
pub async fn probe(target: Arc<Target>, lookup: Arc<AtomicBool>) -> Outcome {
    if target.protocol == Protocol::Other {
        let error = format!(
            "no zenoh link to it; the gateway diagnoses tcp/ and tls/ endpoints only, not {}/",
            target.scheme
        );
        return Outcome {
            addrs: None,
            probe: Some(Err(Failure::new(Reason::NotProbed, error))),
        };
    }
    let addrs = match resolve(&target, &lookup).await {
        Ok(addrs) => addrs,
        Err(failure) => {
            return Outcome {
                addrs: None,
                probe: Some(Err(failure)),
            }
        }
    };
    let result = match connect(&addrs).await {
        Ok((stream, addr)) => match &target.tls {
            Some(settings) => super::tls_probe::handshake(stream, addr, &target, settings).await,
            None => Ok(()),
        },
        Err(failure) => Err(failure),
    };
    Outcome {
        addrs: Some(addrs),
        probe: Some(result),
    }
}

/// The target's addresses. The system resolver blocks a thread and cannot be cancelled, so a
/// lookup that outlives its timeout keeps `lookup` set and the next probe does not start
/// another: at most one resolver thread per endpoint, however slow DNS is.
async fn resolve(target: &Target, lookup: &Arc<AtomicBool>) -> Result<Vec<SocketAddr>, Failure> {
    if let Some(addr) = target.literal {
        return Ok(vec![addr]);
    }
    let host = target.host().to_owned();
    let not_resolved = |why: String| {
        Failure::new(
            Reason::NameNotResolved,
            format!("name not resolved: {host} ({why}; check DNS or /etc/hosts)"),
        )
    };
    if lookup.swap(true, Ordering::AcqRel) {
        return Err(not_resolved(
            "the previous lookup is still waiting for DNS".into(),
        ));
    }
    let address = target.address.clone();
    let busy = lookup.clone();
    let (found_tx, found) = tokio::sync::oneshot::channel();
    // A plain thread, not the runtime's blocking pool: a lookup stuck in DNS must not hold up
    // the runtime's shutdown.
    let spawned = std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let addrs = address.to_socket_addrs().map(Iterator::collect::<Vec<_>>);
            busy.store(false, Ordering::Release);
            let _ = found_tx.send(addrs);
        });
    if let Err(error) = spawned {
        lookup.store(false, Ordering::Release);
        return Err(not_resolved(format!(
            "cannot start a resolver thread: {error}"
        )));
    }
    match tokio::time::timeout(RESOLVE_TIMEOUT, found).await {
        Err(_) => Err(not_resolved(format!(
            "no answer within {RESOLVE_TIMEOUT:?}"
        ))),
        Ok(Err(_)) => Err(not_resolved("the resolver thread ended".into())),
        Ok(Ok(Err(error))) => Err(not_resolved(error.to_string())),
        Ok(Ok(Ok(addrs))) if addrs.is_empty() => Err(not_resolved("no address".into())),
        Ok(Ok(Ok(addrs))) => Ok(addrs),
    }
}

/// Connects to the first address that accepts; the failure reported is the last address's.
async fn connect(addrs: &[SocketAddr]) -> Result<(TcpStream, SocketAddr), Failure> {
    let mut last = None;
    for &addr in addrs.iter().take(MAX_ADDRESSES) {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, addr)),
            Ok(Err(error)) => last = Some(Failure::connect(addr, &error)),
            Err(_) => last = Some(Failure::timed_out(addr)),
        }
    }
    Err(last.unwrap_or_else(|| Failure::new(Reason::NameNotResolved, "no address to connect to")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(endpoint: &str) -> Arc<Target> {
        let tls = Arc::new(super::super::targets::TlsSettings::default());
        Arc::new(super::super::targets::target(endpoint, &tls).expect("valid endpoint"))
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_a_listener_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let open = format!("tcp/{}", listener.local_addr().expect("addr"));
        let lookup = Arc::new(AtomicBool::new(false));
        let outcome = probe(target(&open), lookup.clone()).await;
        assert!(matches!(outcome.probe, Some(Ok(()))), "{outcome:?}");
        drop(listener);
        let outcome = probe(target(&open), lookup).await;
        let failure = outcome.probe.and_then(Result::err).expect("refused");
        assert_eq!(failure.reason, Reason::Refused, "{failure}");
    }

    #[tokio::test]
    async fn names_resolve_and_release_the_lookup() {
        // localhost comes from /etc/hosts: no query leaves the machine.
        let lookup = Arc::new(AtomicBool::new(false));
        let outcome = resolve_only(target("tcp/localhost:7447"), lookup.clone()).await;
        let addrs = outcome.addrs.expect("localhost resolves");
        assert!(
            addrs.iter().all(|addr| addr.ip().is_loopback()),
            "{addrs:?}"
        );
        assert!(!lookup.load(Ordering::Acquire), "lookup flag released");
        // A lookup still running: the next probe does not start a second one.
        lookup.store(true, Ordering::Release);
        let outcome = probe(target("tcp/localhost:7447"), lookup).await;
        let failure = outcome.probe.and_then(Result::err).expect("not resolved");
        assert_eq!(failure.reason, Reason::NameNotResolved, "{failure}");
    }
}

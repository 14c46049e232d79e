//! The one task that decides each endpoint's state: connected when zenoh has a link to one of
//! its addresses (woken by link events, no polling); otherwise probed after a short grace, then
//! every few seconds, one probe at a time per endpoint. Publishes the table `/healthz` reads,
//! sets `gateway_zenoh_endpoint_connected`, and logs: a WARN with the cause (at most once a
//! minute per endpoint), an INFO when a warned-about endpoint comes back.

use super::failure::{Failure, Reason};
use super::open::OpenLinks;
use super::probe::{self, Outcome};
use super::targets::Target;
use super::{unix_ms, EndpointStatus, Links};
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long an endpoint may be without a link before it is probed: zenoh reconnects a blip
/// (or connects at start) in less, and a probe then would only add a connection to the robot.
const GRACE: Duration = Duration::from_secs(2);
/// Pause between the end of one probe of an endpoint and the start of the next.
const PROBE_EVERY: Duration = Duration::from_secs(5);
/// Longest a whole probe may take (resolve, connect, handshake): with [`GRACE`], the first
/// warning comes within 8 s of the link's loss.
const PROBE_DEADLINE: Duration = Duration::from_secs(6);
/// The same endpoint is warned about at most this often, however often it fails.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Probes that reach an endpoint zenoh still has no link to before that is reported: one may
/// just have beaten zenoh's next retry.
const REACHED_BEFORE_NO_SESSION: u32 = 2;

/// One endpoint's state.
#[derive(Debug)]
struct Endpoint {
    target: Arc<Target>,
    /// Set while this endpoint's system resolver call runs (see `probe::resolve`).
    lookup: Arc<AtomicBool>,
    addrs: Vec<SocketAddr>,
    connected: bool,
    ever_connected: bool,
    since: SystemTime,
    down_since: Instant,
    failure: Option<Failure>,
    reached: u32,
    busy: bool,
    next_probe: Instant,
    warned: bool,
}

#[derive(Debug)]
pub struct Monitor {
    endpoints: Vec<Endpoint>,
    links: Arc<Links>,
    open: Arc<OpenLinks>,
    metrics: Arc<Metrics>,
    throttle: LogThrottle<usize>,
    jobs: JoinSet<Outcome>,
    job_of: HashMap<tokio::task::Id, usize>,
}

impl Monitor {
    pub fn new(links: Arc<Links>, open: Arc<OpenLinks>, metrics: Arc<Metrics>) -> Self {
        let now = Instant::now();
        let endpoints = links
            .targets
            .iter()
            .map(|target| {
                metrics.zenoh_endpoint_connected(&target.endpoint, false);
                Endpoint {
                    target: target.clone(),
                    lookup: Arc::default(),
                    addrs: target.literal.into_iter().collect(),
                    connected: false,
                    ever_connected: false,
                    since: SystemTime::now(),
                    down_since: now,
                    failure: None,
                    reached: 0,
                    busy: false,
                    next_probe: now + GRACE,
                    warned: false,
                }
            })
            .collect();
        Self {
            endpoints,
            links,
            open,
            metrics,
            throttle: LogThrottle::new(WARN_EVERY),
            jobs: JoinSet::new(),
            job_of: HashMap::new(),
        }
    }

    /// Runs until `cancel`; probes still running are dropped with the task.
    pub async fn run(mut self, cancel: CancellationToken) {
        for index in 0..self.endpoints.len() {
            if self.endpoints[index].target.literal.is_none() {
                let endpoint = &self.endpoints[index];
                let job = probe::resolve_only(endpoint.target.clone(), endpoint.lookup.clone());
                self.spawn(index, job);
            }
        }
        let open = self.open.clone();
        loop {
            for index in 0..self.endpoints.len() {
                self.refresh(index);
            }
            self.stand_by();
            self.start_due_probes();
            self.publish();
            let wake = self.next_wake();
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = open.changed.notified() => {}
                Some(done) = self.jobs.join_next_with_id() => self.finished(done),
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
            }
        }
    }

    fn spawn(
        &mut self,
        index: usize,
        job: impl std::future::Future<Output = Outcome> + Send + 'static,
    ) {
        let address = self.endpoints[index].target.address.clone();
        let bounded = async move {
            tokio::time::timeout(PROBE_DEADLINE, job)
                .await
                .unwrap_or_else(|_| Outcome {
                    addrs: None,
                    probe: Some(Err(Failure::new(
                        Reason::TimedOut,
                        format!("timed out: {address} did not answer within {PROBE_DEADLINE:?}"),
                    ))),
                })
        };
        let id = self.jobs.spawn(bounded).id();
        self.job_of.insert(id, index);
        self.endpoints[index].busy = true;
    }

    /// A client connects to one endpoint only: while it is connected, the others are
    /// alternatives, neither probed nor reported as failing.
    fn standing_by(&self) -> bool {
        self.links.client && self.endpoints.iter().any(|endpoint| endpoint.connected)
    }

    fn stand_by(&mut self) {
        if !self.standing_by() {
            return;
        }
        for endpoint in self.endpoints.iter_mut().filter(|e| !e.connected) {
            endpoint.failure = None;
            endpoint.reached = 0;
        }
    }

    fn start_due_probes(&mut self) {
        if self.standing_by() {
            return;
        }
        let now = Instant::now();
        for index in 0..self.endpoints.len() {
            let endpoint = &self.endpoints[index];
            if endpoint.connected || endpoint.busy || endpoint.next_probe > now {
                continue;
            }
            let job = probe::probe(endpoint.target.clone(), endpoint.lookup.clone());
            self.spawn(index, job);
        }
    }

    /// When the next probe is due, if any endpoint is waiting for one.
    fn next_wake(&self) -> Option<Instant> {
        if self.standing_by() {
            return None;
        }
        self.endpoints
            .iter()
            .filter(|endpoint| !endpoint.connected && !endpoint.busy)
            .map(|endpoint| endpoint.next_probe)
            .min()
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, Outcome), tokio::task::JoinError>) {
        let (id, outcome) = match done {
            Ok((id, outcome)) => (id, Some(outcome)),
            Err(error) => (error.id(), None),
        };
        let Some(index) = self.job_of.remove(&id) else {
            return;
        };
        let endpoint = &mut self.endpoints[index];
        endpoint.busy = false;
        let Some(outcome) = outcome else {
            tracing::error!(endpoint = %endpoint.target.endpoint, "endpoint probe panicked");
            endpoint.next_probe = Instant::now() + PROBE_EVERY;
            return;
        };
        if outcome.probe.is_some() {
            // A bare resolution at start does not delay the first probe.
            endpoint.next_probe = Instant::now() + PROBE_EVERY;
        }
        if let Some(addrs) = outcome.addrs {
            endpoint.addrs = addrs;
        }
        // New addresses may match a link that is already open.
        self.refresh(index);
        let Some(result) = outcome.probe else {
            return;
        };
        if self.endpoints[index].connected || self.standing_by() {
            return;
        }
        let endpoint = &mut self.endpoints[index];
        match result {
            Ok(()) => {
                endpoint.reached += 1;
                endpoint.failure = (endpoint.reached >= REACHED_BEFORE_NO_SESSION).then(|| {
                    Failure::new(
                        Reason::NoSession,
                        format!("{} answers, but zenoh opened no session over it (refused at the zenoh level: a client or a different zenoh version, the same node already reached by another endpoint, or a round trip too slow for transport/unicast/open_timeout (see config/zenoh/base-station.json5); RUST_LOG=zenoh=debug shows why)", endpoint.target.address),
                    )
                });
            }
            Err(failure) => {
                endpoint.reached = 0;
                endpoint.failure = Some(failure);
            }
        }
        self.warn(index);
    }

    fn warn(&mut self, index: usize) {
        let endpoint = &self.endpoints[index];
        let Some(failure) = &endpoint.failure else {
            return;
        };
        let Some(failures) = self.throttle.hit(index) else {
            return;
        };
        let down_secs = endpoint.down_since.elapsed().as_secs();
        let repeated = if failures > 1 {
            format!("; {failures} failed probes since the last warning")
        } else {
            String::new()
        };
        tracing::warn!(
            endpoint = %endpoint.target.endpoint,
            reason = failure.reason.code(),
            "cannot reach zenoh endpoint {}: {} (no link for {down_secs} s{repeated}; zenoh keeps retrying)",
            endpoint.target.endpoint,
            failure.error,
        );
        self.endpoints[index].warned = true;
    }

    /// Compares the endpoint with zenoh's open links; logs and counts a change.
    fn refresh(&mut self, index: usize) {
        let endpoint = &mut self.endpoints[index];
        let connected = self.open.any(&endpoint.target.scheme, &endpoint.addrs);
        if connected == endpoint.connected {
            return;
        }
        endpoint.connected = connected;
        endpoint.since = SystemTime::now();
        self.metrics
            .zenoh_endpoint_connected(&endpoint.target.endpoint, connected);
        let name = &endpoint.target.endpoint;
        if connected {
            if endpoint.warned {
                let secs = endpoint.down_since.elapsed().as_secs();
                tracing::info!(endpoint = %name, "zenoh endpoint {name} connected again after {secs} s");
            } else if !endpoint.ever_connected {
                tracing::info!(endpoint = %name, "connected to zenoh endpoint {name}");
            }
            endpoint.ever_connected = true;
            endpoint.warned = false;
            endpoint.failure = None;
            endpoint.reached = 0;
        } else {
            tracing::debug!(endpoint = %name, "zenoh has no link to {name} any more");
            endpoint.down_since = Instant::now();
            endpoint.next_probe = endpoint.down_since + GRACE;
        }
    }

    fn publish(&self) {
        let table: Vec<EndpointStatus> = self
            .endpoints
            .iter()
            .map(|endpoint| EndpointStatus {
                endpoint: endpoint.target.endpoint.clone(),
                connected: endpoint.connected,
                error: endpoint.failure.as_ref().map(|f| f.error.clone()),
                reason: endpoint.failure.as_ref().map(|f| f.reason.code()),
                since: unix_ms(endpoint.since),
            })
            .collect();
        self.links.publish(table);
    }
}

//! A slow, lossy radio link between two hosts: random loss from nftables, and a fixed delay
//! each way from a userspace TCP proxy (`test_support::proxy`) running inside a host, because
//! the kernels here have no netem.

use crate::lab::Host;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Host {
    /// Drops `percent` % of the packets in and out of this host (except loopback), at random.
    pub fn lose_percent(&self, percent: u8) {
        let rule = |hook: &str, side: &str| {
            format!(
                "chain {hook} {{ type filter hook {hook} priority -300; policy accept; \
                 {side} != \"lo\" numgen random mod 100 < {percent} drop; }}"
            )
        };
        self.nft_script(&format!(
            "table inet loss {{\n{}\n{}\n}}\n",
            rule("input", "iifname"),
            rule("output", "oifname")
        ));
    }

    /// A TCP proxy inside this host from `listen` to `upstream`, holding every chunk back
    /// `delay` in each direction; stops when the guard drops.
    pub fn delay_proxy(
        &self,
        listen: SocketAddr,
        upstream: SocketAddr,
        delay: Duration,
    ) -> DelayProxy {
        let ns = self.ns.clone();
        let stop = CancellationToken::new();
        let (ready, started) = std::sync::mpsc::channel();
        let token = stop.clone();
        // One thread in the namespace running a current-thread runtime: every socket of the
        // proxy is created on it, so all of them live in this host.
        let thread = std::thread::spawn(move || {
            let run = || -> std::io::Result<tokio::runtime::Runtime> {
                let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
                nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            };
            let runtime = match run() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return;
                }
            };
            runtime.block_on(async move {
                let started =
                    test_support::proxy::start_on(listen, upstream, delay, token.clone()).await;
                let ok = started.is_ok();
                let _ = ready.send(started.map(|_| ()));
                if ok {
                    token.cancelled().await;
                }
            });
        });
        match started.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("delay proxy on {listen} cannot start: {error}"),
            Err(_) => panic!("delay proxy on {listen} did not start"),
        }
        DelayProxy {
            stop,
            thread: Some(thread),
        }
    }
}

/// A running [`Host::delay_proxy`]; stopped and joined on drop.
#[derive(Debug)]
pub struct DelayProxy {
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

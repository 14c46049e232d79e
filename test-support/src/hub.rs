//! The robot's hub in tests: the real `zenoh-router` binary on free loopback ports, killed on
//! Drop, and restartable on the same ports (a hub restart is something nodes must survive).

use crate::process::ChildProcess;
use crate::target::{target_binary, without_settings_env};
use crate::{free_port, DEADLINE};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running `zenoh-router`.
#[derive(Debug)]
pub struct Hub {
    /// `None` between [`Hub::kill`] and [`Hub::restart`].
    process: Option<ChildProcess>,
    /// `tcp/127.0.0.1:PORT`, its first listen endpoint: what nodes and gateways connect to.
    pub endpoint: String,
    listen: Vec<String>,
    args: Vec<String>,
}

impl Hub {
    /// A hub with the embedded default (router, no access control) on a free loopback port.
    pub fn spawn() -> Self {
        Self::spawn_on(&[format!("tcp/127.0.0.1:{}", free_port())], &[])
    }

    /// A hub listening on `listen` (the first is [`Hub::endpoint`]) with `args` before them,
    /// e.g. `["--zenoh-config", "config/zenoh/robot.json5", "--zenoh-certs", DIR]`; returns
    /// once it runs (its listeners are bound then).
    pub fn spawn_on(listen: &[String], args: &[&str]) -> Self {
        let mut hub = Self {
            process: None,
            endpoint: listen.first().expect("a listen endpoint").clone(),
            listen: listen.to_vec(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        };
        hub.restart();
        hub
    }

    /// Kills the hub (SIGKILL, as a crash would), if it runs.
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.signal("KILL");
        }
    }

    /// Starts the hub again with the same ports and flags (killing it first if it runs). A
    /// port the kernel still holds for a moment is retried until [`DEADLINE`].
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let mut command = Command::new(target_binary("zenoh-router"));
            command.args(&self.args);
            for endpoint in &self.listen {
                command.args(["--zenoh-listen", endpoint]);
            }
            command.env(
                "RUST_LOG",
                std::env::var("HUB_LOG").unwrap_or_else(|_| "info".into()),
            );
            without_settings_env(&mut command, "ZENOH_ROUTER_");
            let process = ChildProcess::spawn("zenoh-router", &mut command);
            let left = deadline.saturating_duration_since(Instant::now());
            let running = process
                .try_wait_for_line(left, |line| line.contains("router running").then_some(()));
            match running {
                Ok(()) => {
                    self.process = Some(process);
                    return;
                }
                Err(_) if Instant::now() < deadline && process.stderr().contains("in use") => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(why) => panic!("zenoh-router {why} before running:\n{}", process.stderr()),
            }
        }
    }

    /// Everything the hub wrote to stderr since its last start.
    pub fn stderr(&self) -> String {
        self.process
            .as_ref()
            .map(ChildProcess::stderr)
            .unwrap_or_default()
    }

    /// Stops the hub with SIGTERM, as systemd does, and returns how it exited.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut process = self.process.take().expect("the hub runs");
        process.terminate().0
    }

    /// The running process; panics between [`Hub::kill`] and [`Hub::restart`].
    pub fn process(&self) -> &ChildProcess {
        self.process.as_ref().expect("the hub runs")
    }
}

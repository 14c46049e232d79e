//! The Python Foxglove WebSocket client (`python/foxglove_client.py`) as a child process: an
//! independent peer of the gateway's `--foxglove-listen`, whose events are awaited from its
//! stderr lines `FOXGLOVE <event> <json>`.

use crate::process::ChildProcess;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/foxglove_client.py");
const MARK: &str = "FOXGLOVE ";

/// A running client; killed on Drop.
#[derive(Debug)]
pub struct FoxgloveClient {
    process: ChildProcess,
}

fn parse(line: &str) -> Option<(&str, Value)> {
    let rest = &line[line.find(MARK)? + MARK.len()..];
    let (name, json) = rest.split_once(' ')?;
    Some((name, serde_json::from_str(json).ok()?))
}

impl FoxgloveClient {
    /// Connects to `url` (`ws://127.0.0.1:PORT/`) and follows the channel of `topic` until
    /// `done_topic` is advertised (then it unsubscribes and waits for `topic` to go).
    pub fn spawn(url: &str, topic: &str, done_topic: &str) -> Self {
        let mut command = Command::new("python3");
        command.arg(SCRIPT).args([url, topic, done_topic]);
        Self {
            process: ChildProcess::spawn("foxglove-client", &mut command),
        }
    }

    /// The first `event` the client reported (panics, with its output, on `failed` or timeout).
    pub fn wait_event(&self, event: &str, timeout: Duration) -> Value {
        self.wait_until(event, timeout, |_| true)
    }

    /// The first `event` whose value `accept`s.
    pub fn wait_until(
        &self,
        event: &str,
        timeout: Duration,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        let found = self.process.wait_for_line(event, timeout, |line| {
            let (name, value) = parse(line)?;
            match name {
                "failed" => Some(Err(value)),
                _ if name == event && accept(&value) => Some(Ok(value)),
                _ => None,
            }
        });
        found.unwrap_or_else(|failure| {
            panic!(
                "Foxglove client failed while waiting for {event}: {failure}\n{}",
                self.process.stderr()
            )
        })
    }

    /// Every `event` reported so far, in order.
    pub fn events(&self, event: &str) -> Vec<Value> {
        self.process
            .stderr()
            .lines()
            .filter_map(parse)
            .filter(|(name, _)| *name == event)
            .map(|(_, value)| value)
            .collect()
    }

    /// Waits for the client to exit; its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.process.wait_exit(timeout)
    }
}

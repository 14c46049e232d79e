//! Child processes of a benchmark run: test-support's `ChildProcess` (killed by PID on Drop),
//! each logging to its own file, with the harness's `Result`-returning checks.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use test_support::ChildProcess;

/// Starts `command` with stdout and stderr in `<log_dir>/<name>.log`.
pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Result<ChildProcess> {
    ChildProcess::spawn_logged(name, &mut command, log_dir)
        .with_context(|| format!("starting {name} ({command:?})"))
}

/// Fails, with the end of its log, if the process has exited.
pub fn check_alive(process: &mut ChildProcess) -> Result<()> {
    if !process.is_running() {
        bail!(
            "{} exited; last log lines:\n{}",
            process.name(),
            process.stderr_tail(20)
        );
    }
    Ok(())
}

/// Waits until the log has a line containing `pattern`; returns the rest of that line after it.
pub async fn wait_for_log(
    process: &ChildProcess,
    pattern: &str,
    timeout: Duration,
) -> Result<String> {
    // The wait blocks on the log's condition variable: keep it off the runtime's workers.
    let found = tokio::task::block_in_place(|| {
        process.try_wait_for_line(timeout, |line| {
            line.find(pattern)
                .map(|at| line[at + pattern.len()..].trim().to_owned())
        })
    });
    found.or_else(|why| {
        bail!(
            "{} {why} before logging {pattern:?} (waited up to {timeout:?}); last lines:\n{}",
            process.name(),
            process.stderr_tail(20)
        )
    })
}

/// The address in a "listening on http://ADDR" style log rest.
pub fn parse_addr(text: &str) -> Result<SocketAddr> {
    let text = text.trim_start_matches("http://");
    let addr = text
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or("");
    addr.parse()
        .with_context(|| format!("not an address: {text:?}"))
}

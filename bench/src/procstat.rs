//! CPU time and memory of a process from `/proc`: the run time of each of its threads
//! (`/proc/<pid>/task/*/schedstat`, in ns, so a 3 s window at 0.03 cores is still exact; the
//! `utime + stime` ticks of `/proc/<pid>/stat` are only 10 ms) and `VmRSS` / `VmHWM` of
//! `/proc/<pid>/status`. Threads that exit inside a window are missed; every process measured
//! here keeps its threads for its whole life.

use anyhow::{Context, Result};
use std::time::{Duration, Instant};

/// CPU seconds used by the live threads of `pid` so far.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .with_context(|| format!("process {pid} is gone"))?;
    let mut ns = 0u64;
    for task in tasks.flatten() {
        // A thread may exit between listing and reading: skip it.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        ns += text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(ns as f64 / 1e9)
}

/// `(VmRSS, VmHWM)` in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// CPU used by a set of processes over a window.
#[derive(Debug, Clone)]
pub struct CpuWindow {
    pids: Vec<u32>,
    start: Option<(Instant, Vec<f64>)>,
    /// CPU seconds per pid over the window, and the window's length.
    pub result: Option<(Vec<f64>, Duration)>,
}

impl CpuWindow {
    pub fn new(pids: Vec<u32>) -> Self {
        Self {
            pids,
            start: None,
            result: None,
        }
    }

    fn sample(&self) -> Vec<f64> {
        self.pids
            .iter()
            .map(|pid| cpu_seconds(*pid).unwrap_or(f64::NAN))
            .collect()
    }

    pub fn start(&mut self) {
        self.start = Some((Instant::now(), self.sample()));
    }

    pub fn stop(&mut self) {
        if let Some((at, before)) = self.start.take() {
            let after = self.sample();
            let used = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            self.result = Some((used, at.elapsed()));
        }
    }

    /// CPU seconds of process `i` in the window.
    pub fn seconds(&self, i: usize) -> f64 {
        self.result.as_ref().map_or(f64::NAN, |(used, _)| used[i])
    }

    /// Cores used by process `i` on average over the window.
    pub fn cores(&self, i: usize) -> f64 {
        self.result
            .as_ref()
            .map_or(f64::NAN, |(used, window)| used[i] / window.as_secs_f64())
    }
}

impl crate::load::WindowProbe for CpuWindow {
    fn start(&mut self) {
        CpuWindow::start(self);
    }
    fn stop(&mut self) {
        CpuWindow::stop(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_uses_cpu_and_memory() {
        let pid = std::process::id();
        let before = cpu_seconds(pid).expect("stat");
        let until = Instant::now() + Duration::from_millis(100);
        let mut x = 0u64;
        while Instant::now() < until {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        assert!(cpu_seconds(pid).expect("stat") > before);
        let (rss, hwm) = memory_kib(pid).expect("status");
        assert!(rss > 0 && hwm >= rss);
    }
}

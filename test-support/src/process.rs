//! Child processes for tests: killed on Drop, stderr kept and awaited line by line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Log {
    text: String,
    /// The pipe closed: the process exited (or closed stderr); no more lines will come.
    closed: bool,
}

/// A child process whose stderr is collected (and echoed, tagged, for failing tests' output);
/// killed and reaped on Drop.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    log: Arc<(Mutex<Log>, Condvar)>,
    /// The test sent it a signal: an exit is expected, not worth reporting on Drop.
    signalled: AtomicBool,
}

impl ChildProcess {
    /// Spawns `command` with stdin and stdout null and stderr collected; `name` tags its lines,
    /// echoed to the test's output.
    pub fn spawn(name: &str, command: &mut Command) -> Self {
        command.stdout(Stdio::null());
        Self::start(name, command, None)
            .unwrap_or_else(|error| panic!("cannot spawn {name} ({command:?}): {error}"))
    }

    /// Spawns `command` with stdout and stderr in `<log_dir>/<name>.log` (not echoed: a
    /// benchmark's terminal stays readable), stderr also collected for [`Self::wait_for_line`].
    pub fn spawn_logged(
        name: &str,
        command: &mut Command,
        log_dir: &Path,
    ) -> std::io::Result<Self> {
        let path = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&path)?;
        command.stdout(file.try_clone()?);
        Self::start(name, command, Some(file))
    }

    fn start(name: &str, command: &mut Command, file: Option<File>) -> std::io::Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let pipe = child.stderr.take().expect("piped stderr");
        let log = Arc::new((Mutex::new(Log::default()), Condvar::new()));
        let sink = log.clone();
        let tag = name.to_owned();
        std::thread::spawn(move || {
            let mut file = file;
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                match file.as_mut() {
                    Some(file) => {
                        let _ = writeln!(file, "{line}");
                    }
                    None => eprintln!("[{tag}] {line}"),
                }
                let mut log = sink.0.lock().unwrap();
                log.text.push_str(&line);
                log.text.push('\n');
                sink.1.notify_all();
            }
            sink.0.lock().unwrap().closed = true;
            sink.1.notify_all();
        });
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
            signalled: AtomicBool::new(false),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last `lines` lines of stderr.
    pub fn stderr_tail(&self, lines: usize) -> String {
        let text = self.stderr();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.log.0.lock().unwrap().text.clone()
    }

    /// The first stderr line (already written or still to come) for which `find` gives a
    /// value. Panics with the whole stderr when the process ends or `timeout` passes first.
    pub fn wait_for_line<T>(
        &self,
        what: &str,
        timeout: Duration,
        find: impl Fn(&str) -> Option<T>,
    ) -> T {
        self.try_wait_for_line(timeout, find).unwrap_or_else(|why| {
            panic!(
                "{} {why} before logging {what} (waited up to {timeout:?}); stderr:\n{}",
                self.name,
                self.stderr()
            )
        })
    }

    /// [`Self::wait_for_line`] without the panic: `Err("exited")` when stderr closes first
    /// (the process ended), `Err("timed out")` when `timeout` passes.
    pub fn try_wait_for_line<T>(
        &self,
        timeout: Duration,
        find: impl Fn(&str) -> Option<T>,
    ) -> Result<T, &'static str> {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.log;
        let mut log = lock.lock().unwrap();
        loop {
            if let Some(found) = log.text.lines().find_map(&find) {
                return Ok(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if log.closed {
                return Err("exited");
            }
            if left.is_zero() {
                return Err("timed out");
            }
            log = changed.wait_timeout(log, left).unwrap().0;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Sends `signal` (e.g. "TERM", "INT") with kill(1), as systemd or a terminal would.
    pub fn signal(&self, signal: &str) {
        self.signalled.store(true, Ordering::Relaxed);
        let pid = self.pid().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} {pid} failed");
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_deadline(&mut self.child, timeout)
    }

    /// Sends SIGTERM and waits up to 10 s for the exit; returns the status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        self.signal("TERM");
        let start = Instant::now();
        let status = self.wait_exit(Duration::from_secs(10)).unwrap_or_else(|| {
            panic!(
                "{} ignored SIGTERM for 10 s; stderr:\n{}",
                self.name,
                self.stderr()
            )
        });
        (status, start.elapsed())
    }

    /// CPU time (user + system) the process used so far (Linux `/proc/<pid>/stat`): a busy
    /// loop shows here whatever else the machine is doing.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("read /proc/<pid>/stat");
        // Fields after the parenthesised command name (which may contain spaces): utime is
        // the 14th field of the line, stime the 15th.
        let after_name = &stat[stat.rfind(')').expect("comm field") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        let per_second = rustix::param::clock_ticks_per_second();
        Duration::from_millis(ticks * 1000 / per_second)
    }

    /// How many file descriptors the process holds open (Linux `/proc/<pid>/fd`).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("read /proc/<pid>/fd")
            .count()
    }

    /// Resident memory in KiB (Linux `/proc`).
    pub fn vm_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmRSS")
    }

    /// Peak resident memory since the start (or the last [`Self::reset_peak_rss`]) in KiB.
    pub fn vm_hwm_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM")
    }

    /// Sets the process's peak RSS back to its current RSS (Linux ≥ 4.0, `clear_refs` 5), so
    /// that the next [`Self::vm_hwm_kib`] measures one phase of a test. `false` if refused.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        status_kib(self.pid(), field)
            .unwrap_or_else(|| panic!("no {field} line in /proc/{}/status", self.pid()))
    }
}

/// A `kB` line of `/proc/<pid>/status`, e.g. `VmRSS`; `None` once the process is gone.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // A process that ended by itself (a crash, a fatal error) explains most failures of
        // the test that owned it: say so, with the signal, beside its stderr.
        if let (false, Ok(Some(status))) = (*self.signalled.get_mut(), self.child.try_wait()) {
            eprintln!("[{}] had already exited by itself: {status}", self.name);
            if let Some(signal) = crash_signal(status) {
                CRASHES.with(|crashes| {
                    crashes.borrow_mut().push(format!(
                        "{} (pid {}, signal {signal})",
                        self.name,
                        self.pid()
                    ));
                });
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

thread_local! {
    /// Processes dropped on this thread after dying of a crash signal (see [`take_crashes`]).
    static CRASHES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The processes under test that died of a crash signal (SIGSEGV, SIGBUS, SIGABRT, SIGILL,
/// SIGFPE) and were dropped on this thread, i.e. by this test, since the last call.
pub fn take_crashes() -> Vec<String> {
    CRASHES.with(|crashes| std::mem::take(&mut *crashes.borrow_mut()))
}

fn crash_signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    const CRASHES: [i32; 5] = [4, 6, 7, 8, 11];
    status.signal().filter(|signal| CRASHES.contains(signal))
}

/// Polls a child until it exits or `limit` passes (std has no wait with a timeout).
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Runs a command to completion with a time limit; returns (status, stdout, stderr).
/// Panics (after killing it) when it runs longer.
pub fn run_bounded(command: &mut Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot spawn {command:?}: {error}"));
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("stdout")));
    let err = read_all(Box::new(child.stderr.take().expect("stderr")));
    let status = wait_deadline(&mut child, limit);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (out, err) = (out.join().expect("stdout"), err.join().expect("stderr"));
    let status = status.unwrap_or_else(|| {
        panic!("{command:?} ran longer than {limit:?}\nstdout:\n{out}\nstderr:\n{err}")
    });
    (status, out, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(name: &str, script: &str) -> ChildProcess {
        ChildProcess::spawn(name, Command::new("sh").args(["-c", script]))
    }

    #[test]
    fn crashes_are_told_apart_from_exits_and_kills() {
        take_crashes();
        let mut crashed = shell("segfaults", "kill -SEGV $$");
        let mut exited = shell("fails", "exit 3");
        let killed = shell("killed", "sleep 30");
        killed.signal("KILL");
        for process in [&mut crashed, &mut exited] {
            assert!(process.wait_exit(Duration::from_secs(10)).is_some());
        }
        drop((crashed, exited, killed));
        let crashes = take_crashes();
        assert_eq!(crashes.len(), 1, "{crashes:?}");
        assert!(crashes[0].starts_with("segfaults") && crashes[0].ends_with("signal 11)"));
        assert!(take_crashes().is_empty(), "taken once");
    }
}

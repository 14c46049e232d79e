//! Hosts as network namespaces joined by veth pairs, processes inside them, and cleanup.
//!
//! Each `Lab` names its namespaces `rcam<pid>x<n>-<role>`, so parallel tests and parallel test
//! runs never share one; a lab's namespaces (and every process still inside them) are removed
//! on drop, also when the test panicked. Namespaces left by a run that was killed outright are
//! removed by the next run (their pid is gone). Only addresses inside these namespaces are
//! ever used (10.77.x.y), never the machine's own interfaces.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use test_support::ChildProcess;

const PREFIX: &str = "rcam";
static NEXT_LAB: AtomicUsize = AtomicUsize::new(0);

/// Runs `ip`/`nft`-style commands; panics with their stderr when they fail.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The set of namespaces of one test.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    namespaces: Mutex<Vec<String>>,
    /// Certificates made for this lab (see [`Lab::certs`]) and profile variants.
    config: tempfile::TempDir,
}

/// Why a lab cannot be built here.
pub fn unavailable() -> Option<String> {
    // The effective uid, from /proc (no libc call needed).
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(2))
        == Some("0");
    if !root {
        return Some("not root: network namespaces need root".into());
    }
    for tool in ["ip", "nft", "openssl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !found {
            return Some(format!(
                "{tool} not found (apt-get install iproute2 nftables openssl)"
            ));
        }
    }
    None
}

/// A lab, or `None` when this machine cannot build one and we are not under CI (the caller
/// then skips, saying why). Under CI a missing capability is a failure, not a skip.
pub fn lab() -> Option<Lab> {
    let ready = match unavailable() {
        Some(reason) => Err(format!("{reason} (run as root, e.g. sudo -E cargo test)")),
        None => Ok(()),
    };
    test_support::ci::require("two-host test", ready)?;
    sweep_stale();
    let prefix = format!(
        "{PREFIX}{}x{}",
        std::process::id(),
        NEXT_LAB.fetch_add(1, Ordering::Relaxed)
    );
    Some(Lab {
        prefix,
        namespaces: Mutex::new(Vec::new()),
        config: make_config(),
    })
}

/// Removes namespaces of earlier runs whose test process no longer exists.
fn sweep_stale() {
    let list = run("ip", &["netns", "list"]);
    for name in list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('x').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove_namespace(name);
        }
    }
}

fn remove_namespace(name: &str) {
    if let Ok(output) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

/// Machines of the lab and the role their certificate names: `launch/make-certs.sh DIR ROLE
/// MACHINE ADDR...` makes each, as a user would. `intruder` is a second `robot`-role
/// certificate for a process off the robot (the control of the impostor test).
const MACHINES: [(&str, &str); 5] = [
    ("robot", "robot1"),
    ("robot", "robot2"),
    ("base-station", "base"),
    ("viewer", "viewer"),
    ("robot", "intruder"),
];

/// A certificate authority and one certificate folder per machine in `dir`.
fn make_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    make_certs(&dir.path().join("certs"));
    dir
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs make-certs.sh for every machine of [`MACHINES`] into `dir` (one new CA). Every lab
/// address is a name of every robot certificate, so a robot can sit on any subnet.
fn make_certs(dir: &Path) {
    for (role, machine) in MACHINES {
        let mut command = Command::new("bash");
        command.arg(repo().join("launch/make-certs.sh")).args([
            &dir.to_string_lossy(),
            role,
            machine,
        ]);
        if role == "robot" {
            for subnet in 1..=4 {
                for host in 1..=2 {
                    command.arg(format!("10.77.{subnet}.{host}"));
                }
            }
        }
        let output = command.output().expect("run make-certs.sh");
        assert!(
            output.status.success(),
            "make-certs.sh {role} {machine} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Lab {
    /// A new host (network namespace) with loopback up.
    pub fn host(&self, role: &str) -> Host {
        let ns = format!("{}-{role}", self.prefix);
        run("ip", &["netns", "add", &ns]);
        self.namespaces.lock().expect("lock").push(ns.clone());
        let host = Host {
            ns,
            role: role.to_owned(),
        };
        host.ip(&["link", "set", "lo", "up"]);
        host
    }

    /// A veth pair between `a` and `b` on subnet 10.77.`subnet`.0/24: `a` gets .1, `b` .2.
    /// Interfaces are named after the host at the other end (`to-base` in the robot).
    /// Only the /24 is routed: hosts reach their direct neighbours, nothing else.
    pub fn link(&self, a: &Host, b: &Host, subnet: u8) {
        let (a_if, b_if) = (a.interface_to(b), b.interface_to(a));
        run(
            "ip",
            &[
                "link", "add", &a_if, "netns", &a.ns, "type", "veth", "peer", "name", &b_if,
                "netns", &b.ns,
            ],
        );
        for (host, interface, last) in [(a, &a_if, 1), (b, &b_if, 2)] {
            host.ip(&[
                "addr",
                "add",
                &format!("10.77.{subnet}.{last}/24"),
                "dev",
                interface,
            ]);
            host.ip(&["link", "set", interface, "up"]);
        }
    }

    /// A shipped profile, config/zenoh/`name`.json5, used as it is.
    pub fn profile(&self, name: &str) -> PathBuf {
        repo().join(format!("config/zenoh/{name}.json5"))
    }

    /// The certificate folder of `machine` (see [`MACHINES`]): what `--zenoh-certs` takes.
    pub fn certs(&self, machine: &str) -> PathBuf {
        self.config.path().join("certs").join(machine)
    }

    /// A copy of shipped profile `from` saved in the lab as `name`, with each `(old, new)`
    /// text replaced: e.g. a peer without access control of its own, to act as an impostor.
    pub fn profile_variant(&self, from: &str, name: &str, replace: &[(&str, &str)]) -> PathBuf {
        let mut text = std::fs::read_to_string(self.profile(from)).expect("read profile");
        for (old, new) in replace {
            assert!(text.contains(old), "{from} has no {old:?}");
            text = text.replace(old, new);
        }
        let path = self.config.path().join(format!("{name}.json5"));
        std::fs::write(&path, text).expect("write profile");
        path
    }

    /// The certificate folder of `machine` from another, unrelated CA (same names and roles).
    pub fn rogue_certs(&self, machine: &str) -> PathBuf {
        let dir = self.config.path().join("rogue");
        if !dir.exists() {
            make_certs(&dir);
        }
        dir.join(machine)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.lock().expect("lock").drain(..) {
            remove_namespace(&ns);
        }
    }
}

/// One host: a network namespace.
#[derive(Debug, Clone)]
pub struct Host {
    pub ns: String,
    pub role: String,
}

impl Host {
    pub fn interface_to(&self, other: &Host) -> String {
        let name = format!("to-{}", other.role);
        // IFNAMSIZ: 15 characters.
        name.chars().take(15).collect()
    }

    /// `ip ARGS` inside this host.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.ns];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Runs a command inside this host.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.ns, program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Bytes sent so far by `interface` (kernel counter).
    pub fn tx_bytes(&self, interface: &str) -> u64 {
        self.exec(
            "cat",
            &[&format!("/sys/class/net/{interface}/statistics/tx_bytes")],
        )
        .trim()
        .parse()
        .expect("tx_bytes is a number")
    }

    /// Silently drops every packet in and out of this host except on loopback (a Wi-Fi fade:
    /// no error, no reset, packets just vanish). netem is not in these kernels, so loss is
    /// made with nftables.
    pub fn drop_all_traffic(&self) {
        let rules = "table inet fade {\n\
             chain input { type filter hook input priority -300; policy accept; iifname != \"lo\" drop; }\n\
             chain output { type filter hook output priority -300; policy accept; oifname != \"lo\" drop; }\n\
             }\n";
        self.nft_script(rules);
    }

    /// Undoes [`Host::drop_all_traffic`].
    pub fn restore_traffic(&self) {
        self.exec("nft", &["delete", "table", "inet", "fade"]);
    }

    pub fn nft_script(&self, rules: &str) {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), rules).expect("write nft rules");
        self.exec("nft", &["-f", &file.path().to_string_lossy()]);
    }

    /// Starts `program` inside this host (`ip netns exec` execs it, so the child's pid is the
    /// program's); killed (SIGKILL) when the returned guard drops.
    pub fn spawn(&self, name: &str, program: &Path, args: &[String]) -> ChildProcess {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns])
            .arg(program)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("CAMERA_NODE_CONFIG")
            .env_remove("ZENOH_CONFIG_FILE");
        ChildProcess::spawn(&format!("{name}@{}", self.role), &mut command)
    }

    /// A TCP connection opened from inside this host (the socket keeps the namespace it was
    /// created in, so the caller can use it from any thread).
    pub fn connect(&self, addr: SocketAddr) -> std::io::Result<TcpStream> {
        let ns = self.ns.clone();
        std::thread::spawn(move || {
            let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)?;
            TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        })
        .join()
        .expect("connect thread")
    }
}

/// ERROR-level lines of a process's log.
pub fn error_lines(process: &ChildProcess) -> Vec<String> {
    process
        .stderr()
        .lines()
        .filter(|line| line.contains(" ERROR "))
        .map(str::to_owned)
        .collect()
}

/// Waits until `process` logs a line containing `pattern`.
pub fn wait_for_log(process: &ChildProcess, pattern: &str, limit: Duration) {
    process.wait_for_line(pattern, limit, |line| line.contains(pattern).then_some(()));
}

/// Paths of the binaries under test (`camera-node`, `web-gateway`, `zenoh-router`,
/// `examples/subscribe`), built by `cargo test --workspace`.
pub fn binary(name: &str) -> PathBuf {
    test_support::target_binary(name)
}

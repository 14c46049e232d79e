//! Where the workspace's binaries are, and a child's environment cleaned of settings: what
//! every helper that starts a real binary needs (a leaf, so `binaries` and `hub` share it).

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/<relative>` next to the running test, e.g. `examples/publish` or
/// `web-gateway`. `cargo test --workspace` builds every binary and example before running any
/// test; a targeted `cargo test -p X` does not build the other crate's, hence the message.
pub fn target_binary(relative: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir.join(relative);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace`, which builds every binary and example, \
         or build it first (`cargo build --workspace --examples`, `cargo build -p web-gateway`, \
         `cargo build -p zenoh-router`)",
        path.display()
    );
    path
}

/// Removes the environment variables a binary reads its settings from (`<PREFIX><KEY>`), so
/// a test's flags alone decide, whatever the developer's shell exports.
pub fn without_settings_env(command: &mut Command, prefix: &str) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with(prefix) {
            command.env_remove(name);
        }
    }
}

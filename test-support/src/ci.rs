//! What a missing tool (chromium, zenoh-python) means: a skip with the reason on a developer's
//! machine, a failure under CI, where a skipped test would pass without testing anything.

/// Whether the environment says this is a CI run (`CI` set to anything but empty/false/0).
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| !ci.is_empty() && ci != "false" && ci != "0")
}

/// `Some(value)` when the tool is there; otherwise panics under CI, or explains the skip and
/// returns `None`.
pub fn require<T>(test: &str, tool: Result<T, String>) -> Option<T> {
    match tool {
        Ok(value) => Some(value),
        Err(why) if on_ci() => panic!("{test}: {why}; CI is set, so this test must run"),
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// `Ok(())` when `python3 -c "import zenoh"` works.
pub fn python_zenoh() -> Result<(), String> {
    python_imports("import zenoh", "pip install eclipse-zenoh")
}

/// `Ok(())` when python3 has zenoh-python and rosbags (the ROS 2 wire checks).
pub fn python_rosbags() -> Result<(), String> {
    python_imports(
        "import zenoh, zenoh.ext, rosbags.typesys",
        "pip install eclipse-zenoh rosbags, or source launch/lib/deps.sh and run ensure_python_rosbags",
    )
}

/// `Ok(())` when `python3` can import the packages `python/read_mcap.py` needs.
pub fn python_mcap() -> Result<(), String> {
    python_imports(
        "import mcap, mcap_protobuf, google.protobuf",
        "pip install mcap mcap-protobuf-support protobuf, or source launch/lib/deps.sh and run ensure_python_test_packages",
    )
}

/// `Ok(())` when `python3` can import `websockets` (the Foxglove WebSocket client test).
pub fn python_websockets() -> Result<(), String> {
    python_imports(
        "import websockets",
        "pip install websockets, or source launch/lib/deps.sh and run ensure_python_test_packages",
    )
}

/// `Ok(())` when `python3` can import `bcrypt` (reference htpasswd hashes in the auth tests).
pub fn python_bcrypt() -> Result<(), String> {
    python_imports(
        "import bcrypt",
        "pip install bcrypt, or source launch/lib/deps.sh and run ensure_python_test_packages",
    )
}

fn python_imports(imports: &str, fix: &str) -> Result<(), String> {
    let imported = std::process::Command::new("python3")
        .args(["-c", imports])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if imported {
        Ok(())
    } else {
        Err(format!("python3 cannot `{imports}` ({fix})"))
    }
}

//! The shipped examples (Rust `subscribe` and the zenoh-python script) receive frames from the
//! real node.

use crate::NODE;
use std::process::Command;
use test_support::{run_bounded, target_binary, CameraNode, DEADLINE};

/// Checks `lines` of `camera=… seq=… size=WxH …` output: count, camera, size, seq increasing.
fn check_frame_lines(output: &str, count: usize, size: &str) {
    let lines: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with("camera="))
        .collect();
    assert_eq!(lines.len(), count, "{output}");
    let mut last_seq = None;
    for line in lines {
        assert!(
            line.contains("camera=ex ") && line.contains(&format!("size={size} ")),
            "{line}"
        );
        let seq: u64 = line
            .split_whitespace()
            .find_map(|field| field.strip_prefix("seq="))
            .and_then(|seq| seq.parse().ok())
            .unwrap_or_else(|| panic!("no seq in {line}"));
        assert!(
            last_seq.is_none_or(|last| seq > last),
            "seq not increasing: {output}"
        );
        last_seq = Some(seq);
    }
}

/// Runs an example `program [args…] <connect flag> <node endpoint> --count 10 --timeout 25`
/// against a test-source node of `width`x`height`, and returns its output after checking it
/// succeeded and printed ten increasing frames of that size.
fn run_example(mut program: Command, connect_flag: &str, width: u32, height: u32) -> String {
    let (width, height) = (width.to_string(), height.to_string());
    let node = CameraNode::spawn(
        NODE,
        &[
            "--source", "test", "--camera", "ex", "--width", &width, "--height", &height,
        ],
    );
    let (status, stdout, stderr) = run_bounded(
        program.args([
            connect_flag,
            &node.endpoint,
            "--count",
            "10",
            "--timeout",
            "25",
        ]),
        DEADLINE,
    );
    assert!(
        status.success(),
        "{stdout}\n{stderr}\nnode:\n{}",
        node.stderr()
    );
    check_frame_lines(&stdout, 10, &format!("{width}x{height}"));
    stdout
}

#[test]
fn rust_subscribe_example_prints_frames() {
    run_example(
        Command::new(target_binary("examples/subscribe")),
        "--zenoh-connect",
        320,
        240,
    );
}

#[test]
fn python_example_decodes_frames_from_the_rust_node() {
    let test = "python_example_decodes_frames_from_the_rust_node";
    if test_support::ci::require(test, test_support::ci::python_zenoh()).is_none() {
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/camera-protocol/examples/python/subscribe.py"
    );
    let mut python = Command::new("python3");
    python.arg(script);
    let stdout = run_example(python, "--connect", 160, 120);
    assert!(
        stdout.lines().all(|line| line.ends_with("jpeg=True")),
        "{stdout}"
    );
}

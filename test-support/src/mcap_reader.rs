//! MCAP files read by the `mcap` package from PyPI (`python/read_mcap.py`): an independent
//! reader for what the recorder, the clip endpoint and the Foxglove tools produce, decoding
//! each message with the protobuf descriptors of its schema.

use crate::{run_bounded, DEADLINE};
use bytes::Bytes;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One message as the Python reader decoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McapMessage {
    pub topic: String,
    /// Schema name and encoding, and the channel's message encoding.
    pub schema: String,
    pub schema_encoding: String,
    pub message_encoding: String,
    pub log_time: u64,
    pub publish_time: u64,
    /// The message's MCAP sequence number (the frame's `seq`, low 32 bits).
    pub sequence: u64,
    /// Full name of the protobuf type built from the schema's FileDescriptorSet.
    pub type_name: String,
    /// Fields of the decoded `foxglove.CompressedImage`.
    pub timestamp_ns: u64,
    pub frame_id: String,
    pub format: String,
    pub data: Vec<u8>,
}

/// One file: its messages in file order and the message count of its statistics record.
#[derive(Debug, Clone)]
pub struct McapFile {
    pub path: PathBuf,
    pub message_count: Option<u64>,
    pub messages: Vec<McapMessage>,
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/read_mcap.py");

/// Reads `paths` with the Python reader; panics with its stderr if it fails.
pub fn read_mcap(paths: &[PathBuf]) -> Vec<McapFile> {
    try_read_mcap(paths).unwrap_or_else(|error| panic!("{error}"))
}

/// [`read_mcap`], with the reader's failure as an error (e.g. to read a file being written,
/// which must never fail).
pub fn try_read_mcap(paths: &[PathBuf]) -> Result<Vec<McapFile>, String> {
    let (status, out, err) = run_bounded(Command::new("python3").arg(SCRIPT).args(paths), DEADLINE);
    if !status.success() {
        return Err(format!("read_mcap.py failed ({status}):\n{err}"));
    }
    let document: Value = serde_json::from_str(&out).expect("read_mcap.py prints JSON");
    Ok(document["files"]
        .as_array()
        .expect("files array")
        .iter()
        .map(file)
        .collect())
}

/// Whether the MCAP file at `path` ends with a summary section (a finished recording segment;
/// an open one ends with a Footer whose summary start is 0). False for anything else.
pub fn has_summary(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Some(footer) = bytes.len().checked_sub(37).map(|at| &bytes[at..]) else {
        return false;
    };
    let summary_start = u64::from_le_bytes(footer[9..17].try_into().expect("8 bytes"));
    footer[0] == 0x02 && footer.ends_with(b"\x89MCAP0\r\n") && summary_start != 0
}

/// Reads one MCAP held in memory (e.g. a downloaded clip).
pub fn read_mcap_bytes(bytes: &[u8]) -> McapFile {
    let dir = tempfile_dir();
    let path = dir.join("clip.mcap");
    std::fs::write(&path, bytes).expect("write the MCAP to a temporary file");
    let file = read_mcap(std::slice::from_ref(&path)).remove(0);
    let _ = std::fs::remove_dir_all(&dir);
    file
}

/// Each message is one published frame, in order: log time and the decoded timestamp are its
/// capture time, data its JPEG, on the camera's `foxglove.CompressedImage` channel.
pub fn assert_frames(
    what: &str,
    prefix: &str,
    camera: &str,
    messages: &[McapMessage],
    published: &[(u64, Bytes)],
) {
    assert_eq!(
        messages.len(),
        published.len(),
        "{what}: {} messages for {} published frames",
        messages.len(),
        published.len()
    );
    for (index, (message, (capture_ts, jpeg))) in messages.iter().zip(published).enumerate() {
        let context = format!("{what}, message {index}");
        assert_eq!(message.topic, format!("/{prefix}/{camera}"), "{context}");
        assert_eq!(message.schema, "foxglove.CompressedImage", "{context}");
        assert_eq!(message.type_name, "foxglove.CompressedImage", "{context}");
        assert_eq!(
            (
                message.schema_encoding.as_str(),
                message.message_encoding.as_str()
            ),
            ("protobuf", "protobuf"),
            "{context}"
        );
        assert_eq!(message.log_time, *capture_ts, "{context}: log time");
        assert_eq!(message.timestamp_ns, *capture_ts, "{context}: timestamp");
        assert_eq!(message.frame_id, camera, "{context}");
        assert_eq!(message.format, "jpeg", "{context}");
        assert!(message.data == jpeg[..], "{context}: data is not the JPEG");
    }
}

fn tempfile_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "read-mcap-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

fn file(value: &Value) -> McapFile {
    McapFile {
        path: Path::new(text(value, "path")).to_owned(),
        message_count: value["statistics"]["message_count"].as_u64(),
        messages: value["messages"]
            .as_array()
            .expect("messages array")
            .iter()
            .map(message)
            .collect(),
    }
}

fn message(value: &Value) -> McapMessage {
    let number = |key: &str| {
        value[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} is not a u64 in {value}"))
    };
    McapMessage {
        topic: text(value, "topic").to_owned(),
        schema: text(value, "schema").to_owned(),
        schema_encoding: text(value, "schema_encoding").to_owned(),
        message_encoding: text(value, "message_encoding").to_owned(),
        log_time: number("log_time"),
        publish_time: number("publish_time"),
        sequence: number("sequence"),
        type_name: text(value, "type").to_owned(),
        timestamp_ns: number("timestamp_ns"),
        frame_id: text(value, "frame_id").to_owned(),
        format: text(value, "format").to_owned(),
        data: from_hex(text(value, "data_hex")),
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
}

/// Bytes from the lowercase hex the Python helpers print.
pub fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex digit"))
        .collect()
}

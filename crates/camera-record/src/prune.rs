//! Retention: deletes the oldest segments of a recording directory beyond the `Keep` bound.
//!
//! Segment names start with their UTC start time (plus `-N` for a second segment in the same
//! second): the time and N read from the name decide the order, across cameras too.

use super::keep::Keep;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    bytes: u64,
    /// Start time and `-N` suffix: creation order.
    order: (SystemTime, u32),
}

/// Folder levels below `DIR` searched for segments: a camera's folder is `<camera>` or
/// `<prefix>/<camera>` (`CameraName::folder`), the prefix at most this many segments minus one.
const MAX_DEPTH: usize = camera_protocol::keys::MAX_PREFIX_CHUNKS + 1;

/// Every segment in the camera folders under `dir` (`DIR/<folder>/*.mcap`), oldest first.
fn segments(dir: &Path) -> std::io::Result<Vec<Segment>> {
    let mut found = Vec::new();
    collect(dir, 0, &mut found)?;
    found.sort_by(|a, b| a.order.cmp(&b.order).then(a.path.cmp(&b.path)));
    Ok(found)
}

/// Segments in the folders below `dir`, `depth` levels under the recording directory (whose
/// own files are not segments). Symbolic links are not followed.
fn collect(dir: &Path, depth: usize, found: &mut Vec<Segment>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                collect(&entry.path(), depth + 1, found)?;
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let order = name
            .strip_suffix(".mcap")
            .and_then(super::segment::parse_stem);
        if let Some(order) = order.filter(|_| depth > 0 && kind.is_file()) {
            found.push(Segment {
                path: entry.path(),
                bytes: entry.metadata()?.len(),
                order,
            });
        }
    }
    Ok(())
}

/// Deletes old segments, never one in `open` (being written). Returns the deleted paths.
pub fn prune(
    dir: &Path,
    keep: Keep,
    now: SystemTime,
    open: &[PathBuf],
) -> std::io::Result<Vec<PathBuf>> {
    let all = segments(dir)?;
    let mut total: u64 = all.iter().map(|s| s.bytes).sum();
    let mut deleted = Vec::new();
    for segment in all {
        let expired = match keep {
            Keep::Age(age) => {
                now.duration_since(segment.order.0)
                    .unwrap_or(Duration::ZERO)
                    > age
            }
            Keep::Bytes(limit) => total > limit,
        };
        if !expired {
            if matches!(keep, Keep::Age(_)) {
                break;
            }
            continue;
        }
        if open.contains(&segment.path) {
            continue;
        }
        std::fs::remove_file(&segment.path)?;
        total -= segment.bytes;
        deleted.push(segment.path);
    }
    Ok(deleted)
}

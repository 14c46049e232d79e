//! Retention: the finished segments of a recording directory, oldest first, and the deletions
//! that keep them within the `Keep` bounds — by age, by total size, and by each camera
//! folder's fair part of the size.
//!
//! Segment names start with their UTC start time (plus `-N` for a second segment in the same
//! second): the time and N read from the name decide the order, across cameras too. The
//! recorder keeps this index current as it finishes segments and rescans the directory now and
//! then (files deleted or added by hand); segments still being written are never in it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Start time, `-N` suffix, path: creation order, unique.
type Order = (SystemTime, u32, PathBuf);

/// Folder levels below `DIR` searched for segments: a camera's folder is `<camera>` or
/// `<prefix>/<camera>` (`CameraName::folder`), the prefix at most this many segments minus one.
const MAX_DEPTH: usize = camera_protocol::keys::MAX_PREFIX_CHUNKS + 1;

/// The finished segments under a recording directory and their sizes.
#[derive(Debug, Default)]
pub struct Segments {
    by_age: BTreeMap<Order, u64>,
    per_folder: HashMap<PathBuf, u64>,
    total: u64,
}

impl Segments {
    /// Every segment in the camera folders under `dir` (`DIR/<folder>/*.mcap`) except `open`.
    pub fn scan(dir: &Path, open: &[PathBuf]) -> std::io::Result<Self> {
        let mut found = Vec::new();
        collect(dir, 0, &mut found)?;
        let mut segments = Self::default();
        for (path, bytes) in found {
            if !open.contains(&path) {
                segments.add(path, bytes);
            }
        }
        Ok(segments)
    }

    /// Adds a finished segment (its name must be a segment name, else it is not counted).
    pub fn add(&mut self, path: PathBuf, bytes: u64) {
        let order = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".mcap"))
            .and_then(super::segment::parse_stem);
        let (Some((start, n)), Some(folder)) = (order, path.parent().map(Path::to_owned)) else {
            return;
        };
        *self.per_folder.entry(folder.clone()).or_default() += bytes;
        self.total += bytes;
        if let Some(old) = self.by_age.insert((start, n, path), bytes) {
            self.forget_bytes(folder, old);
        }
    }

    /// Bytes of all finished segments.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes of the finished segments in `folder` (a camera's, absolute).
    pub fn of_folder(&self, folder: &Path) -> u64 {
        self.per_folder.get(folder).copied().unwrap_or(0)
    }

    /// Deletes the segments that started more than `age` before `now`. Returns their paths.
    pub fn expire(&mut self, age: Duration, now: SystemTime) -> std::io::Result<Vec<PathBuf>> {
        let expired = |order: &Order| now.duration_since(order.0).unwrap_or(Duration::ZERO) > age;
        self.delete_while(|_, order| expired(order))
    }

    /// Deletes the oldest segments of `folder` while it holds more than `folder_max` bytes,
    /// then the oldest of any folder while all hold more than `total_max`.
    pub fn shrink(
        &mut self,
        folder: &Path,
        folder_max: u64,
        total_max: u64,
    ) -> std::io::Result<Vec<PathBuf>> {
        let mut deleted = Vec::new();
        while self.of_folder(folder) > folder_max {
            let oldest = self
                .by_age
                .keys()
                .find(|o| o.2.parent() == Some(folder))
                .cloned();
            let Some(oldest) = oldest else { break };
            deleted.push(self.delete(oldest)?);
        }
        deleted.extend(self.delete_while(|segments, _| segments.total > total_max)?);
        Ok(deleted)
    }

    /// Deletes oldest first while `more` says so of the oldest segment.
    fn delete_while(
        &mut self,
        more: impl Fn(&Self, &Order) -> bool,
    ) -> std::io::Result<Vec<PathBuf>> {
        let mut deleted = Vec::new();
        while let Some(oldest) = self.by_age.keys().next().cloned() {
            if !more(self, &oldest) {
                break;
            }
            deleted.push(self.delete(oldest)?);
        }
        Ok(deleted)
    }

    /// Deletes one segment; one already gone (deleted by hand) counts as deleted. It leaves
    /// the index either way: a rescan finds it again if it could not be deleted.
    fn delete(&mut self, order: Order) -> std::io::Result<PathBuf> {
        let bytes = self.by_age.remove(&order).unwrap_or(0);
        let path = order.2;
        if let Some(folder) = path.parent() {
            self.forget_bytes(folder.to_owned(), bytes);
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(path),
            Err(error) => Err(error),
        }
    }

    fn forget_bytes(&mut self, folder: PathBuf, bytes: u64) {
        self.total -= bytes;
        if let std::collections::hash_map::Entry::Occupied(mut entry) =
            self.per_folder.entry(folder)
        {
            *entry.get_mut() -= bytes;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

/// Segments (path, bytes) in the folders below `dir`, `depth` levels under the recording
/// directory (whose own files are not segments). Symbolic links are not followed.
fn collect(dir: &Path, depth: usize, found: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
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
        let is_segment = name
            .strip_suffix(".mcap")
            .and_then(super::segment::parse_stem)
            .is_some();
        if is_segment && depth > 0 && kind.is_file() {
            found.push((entry.path(), entry.metadata()?.len()));
        }
    }
    Ok(())
}

//! The disk the recorder may use, read from the filesystem: the `--record-keep` size in
//! bytes (a share of the disk is resolved against its size), each recording camera's fair
//! part of it, and the free-space floor under which recording pauses — logged once per
//! change and shown in [`RecordStats::paused`](super::stats::RecordStats) (metrics, `/healthz`).

use super::disk::{self, DiskSpace, Size};
use super::keep::Keep;
use super::stats::RecordStats;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Bytes written between two reads of the free space (besides one read per second): a fast
/// writer cannot go far below the floor between reads.
const CHECK_EVERY_BYTES: u64 = 64 << 20;

/// What the recorder may use now.
#[derive(Debug)]
pub struct Budget {
    dir: PathBuf,
    keep: Keep,
    min_free: Size,
    disk: DiskSpace,
    paused: bool,
    written_since_check: u64,
    stats: Arc<RecordStats>,
}

/// A change of the pause state seen by [`Budget::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    Paused,
    Resumed,
}

impl Budget {
    /// Reads the disk holding `dir` at once (fails if it cannot be read).
    pub fn new(
        dir: PathBuf,
        keep: Keep,
        min_free: Size,
        stats: Arc<RecordStats>,
    ) -> std::io::Result<Self> {
        let mut budget = Self {
            disk: disk::space(&dir)?,
            dir,
            keep,
            min_free,
            paused: false,
            written_since_check: 0,
            stats,
        };
        budget.check();
        Ok(budget)
    }

    /// The size bound of the whole directory, in bytes.
    pub fn limit(&self) -> u64 {
        self.keep.size.of(self.disk.total)
    }

    /// The part of [`Budget::limit`] one of `cameras` recording cameras may use.
    pub fn share(&self, cameras: usize) -> u64 {
        self.limit() / cameras.max(1) as u64
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Counts bytes written; re-reads the disk every [`CHECK_EVERY_BYTES`].
    pub fn wrote(&mut self, bytes: u64) -> Change {
        self.written_since_check += bytes;
        if self.written_since_check < CHECK_EVERY_BYTES {
            return Change::None;
        }
        self.check()
    }

    /// Re-reads the disk and pauses (free space under the floor) or resumes (free space a
    /// sixteenth above it, so that recording does not flap around the floor).
    pub fn check(&mut self) -> Change {
        self.written_since_check = 0;
        match disk::space(&self.dir) {
            Ok(space) => self.disk = space,
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), %error, "cannot read the free space of the recording disk");
                return Change::None;
            }
        }
        let floor = self.min_free.of(self.disk.total);
        let resume_at = floor.saturating_add(floor / 16);
        let change = if !self.paused && self.disk.free < floor {
            self.paused = true;
            tracing::warn!(
                dir = %self.dir.display(),
                free_bytes = self.disk.free,
                floor_bytes = floor,
                "recording paused: free space on the recording disk is under the floor (--record-min-free {}); resumes above {resume_at} bytes free",
                self.min_free
            );
            Change::Paused
        } else if self.paused && self.disk.free >= resume_at {
            self.paused = false;
            tracing::info!(dir = %self.dir.display(), free_bytes = self.disk.free, "recording resumed: free space is back above the floor");
            Change::Resumed
        } else {
            Change::None
        };
        self.stats.paused.store(self.paused, Ordering::Relaxed);
        self.stats
            .budget_bytes
            .store(self.limit(), Ordering::Relaxed);
        change
    }
}

//! Gives the heap that departed clients used back to the system.
//!
//! glibc keeps freed memory in its per-thread arenas and only returns the free space at the
//! very top of each one; a few long-lived allocations above the clients' buffers pin the
//! rest. After 300 clients left, the gateway measured 5 MiB more RSS than before they came
//! although its live heap was back to the idle size (heaptrack; docs/security.md). The
//! fix is `malloc_trim(0)`, which also releases the free pages in the middle of the arenas,
//! called when the connections have fallen to half of their recent peak or fewer. Calling it
//! on every disconnect would take the arena locks far more often than memory changes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How often the accept loop compares open connections to their peak.
pub const CHECK_PERIOD: Duration = Duration::from_secs(2);

/// The process's one heap watch: every listener (HTTP, Foxglove) counts its connections
/// here, so one [`HeapTrimmer`] sees them all (two trimmers would each see half and trim
/// twice as often). Shared through [`super::ServeOptions`].
#[derive(Debug, Default)]
pub struct HeapWatch {
    open: AtomicUsize,
    trimmer: Mutex<HeapTrimmer>,
}

/// One open connection of any listener; counted out on Drop.
#[derive(Debug)]
pub struct OpenConnection(Arc<HeapWatch>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HeapWatch {
    /// Counts a new connection until the returned guard drops.
    pub fn opened(self: &Arc<Self>) -> OpenConnection {
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.trimmer().opened(open);
        OpenConnection(self.clone())
    }

    /// Trims the heap if the connections fell to half their peak (see [`HeapTrimmer`]).
    pub fn check(&self) {
        let open = self.open.load(Ordering::Relaxed);
        self.trimmer().check(open);
    }

    fn trimmer(&self) -> std::sync::MutexGuard<'_, HeapTrimmer> {
        self.trimmer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Decides when the heap is worth trimming: fed the process's connection count by
/// [`HeapWatch`].
#[derive(Debug, Default)]
pub struct HeapTrimmer {
    /// Most connections open at once since the last trim.
    peak: usize,
}

impl HeapTrimmer {
    /// A connection opened: `open` are open now.
    pub fn opened(&mut self, open: usize) {
        self.peak = self.peak.max(open);
    }

    /// Whether the heap should be trimmed now that `open` connections are left; if so the
    /// peak restarts from `open`.
    pub fn should_trim(&mut self, open: usize) -> bool {
        let trim = self.peak > 0 && open <= self.peak / 2;
        if trim {
            self.peak = open;
        }
        trim
    }

    /// [`Self::should_trim`], then the trim itself on the blocking pool (it walks every arena
    /// under its lock; no worker thread should wait for that).
    pub fn check(&mut self, open: usize) {
        if self.should_trim(open) {
            tokio::task::spawn_blocking(release_free_memory);
        }
    }
}

/// Returns the allocator's free pages to the kernel; a no-op where the allocator is not
/// glibc's.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc_trim();
}

/// The workspace's one `unsafe` block (`.ci/run` checks that no other appears).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn glibc_trim() {
    // SAFETY: malloc_trim takes no pointers, is thread-safe (it locks each arena in turn) and
    // only hands whole free pages back with madvise(MADV_DONTNEED); no live allocation moves.
    // glibc has had it since 2.0, so JetPack 4.6's 2.27 has it.
    let started = std::time::Instant::now();
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(
        released = released != 0,
        took = ?started.elapsed(),
        "heap trimmed (malloc_trim)"
    );
}

#[cfg(test)]
mod tests {
    use super::HeapTrimmer;

    #[test]
    fn trims_once_half_the_connections_left() {
        let mut trimmer = HeapTrimmer::default();
        assert!(!trimmer.should_trim(0), "nothing ever opened");
        for open in 1..=300 {
            trimmer.opened(open);
        }
        assert!(!trimmer.should_trim(299), "one client left of 300");
        assert!(!trimmer.should_trim(151));
        assert!(trimmer.should_trim(150), "half of them left");
        assert!(!trimmer.should_trim(150), "no further change");
        assert!(trimmer.should_trim(0), "the rest left");
        assert!(!trimmer.should_trim(0), "trimmed already");
    }

    #[test]
    fn a_lone_scraper_leaving_trims() {
        let mut trimmer = HeapTrimmer::default();
        trimmer.opened(1);
        assert!(!trimmer.should_trim(1));
        assert!(trimmer.should_trim(0));
    }

    #[test]
    fn trimming_is_harmless_while_the_heap_is_in_use() {
        let kept: Vec<Vec<u8>> = (0..64).map(|n| vec![n; 64 * 1024]).collect();
        super::release_free_memory();
        assert!(kept
            .iter()
            .enumerate()
            .all(|(n, v)| v.iter().all(|&b| b as usize == n)));
    }
}

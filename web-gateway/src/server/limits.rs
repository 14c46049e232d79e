//! The process's open-file limit.
//!
//! Every client costs a descriptor. Under systemd's default soft limit of 1024 a thousand
//! idle connections used to starve the gateway; the hard limit (65536 in our units) is ours
//! to take, so the soft limit is raised to it at start.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The soft open-file limit before and after [`raise_open_file_limit`]; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, so that the number of clients is bounded
/// by `--max-clients` and the timeouts, not by a 1024-descriptor default.
pub fn raise_open_file_limit() -> Result<OpenFileLimit, std::io::Error> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
    }
    Ok(OpenFileLimit {
        before: limit.current,
        after: getrlimit(Resource::Nofile).current,
    })
}

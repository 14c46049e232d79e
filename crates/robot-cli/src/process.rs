//! Process concerns the binaries share: logging to stderr, stopping on SIGINT/SIGTERM and the
//! exit code.
//!
//! Ctrl+C and `systemctl stop` take the same path: the token is cancelled, and each binary
//! winds down (pipeline to Null, liveliness token dropped, HTTP drained, session closed).
//! zenoh's own log lines, which strangers on the network can trigger, are rate-limited
//! (`limit.rs`).

mod limit;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Exit status 0, or 2 after logging `result`'s error. `{:#}` prints each cause once, on one
/// line (library errors carry no duplicate `source()`). A macro so that the line is logged
/// under the calling binary's target (`ERROR web_gateway: ...`), not this crate's.
#[macro_export]
macro_rules! exit_code {
    ($result:expr) => {
        match $result {
            Ok(()) => ::std::process::ExitCode::SUCCESS,
            Err(error) => {
                $crate::process::__tracing::error!("{error:#}");
                ::std::process::ExitCode::from(2)
            }
        }
    };
}

#[doc(hidden)]
pub use tracing as __tracing;

/// Logs to stderr at `RUST_LOG` (default `info`), coloured only on a terminal so journald
/// and log files get plain text; zenoh's lines at most [`limit::BURST`] per statement per
/// [`limit::WINDOW`].
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    tracing_subscriber::registry()
        .with(filter)
        .with(limit::ZenohLogLimit::default())
        .with(format)
        .init();
}

/// Cancels `cancel` on the first SIGINT or SIGTERM. If SIGTERM cannot be watched, says so
/// and still stops on SIGINT.
pub async fn cancel_on_signal(cancel: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = interrupt => tracing::info!("SIGINT: stopping"),
                _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            },
            Err(error) => {
                tracing::error!("cannot watch SIGTERM ({error}); stopping on SIGINT only");
                let _ = interrupt.await;
                tracing::info!("SIGINT: stopping");
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
        tracing::info!("interrupted: stopping");
    }
    cancel.cancel();
}

//! SIGINT/SIGTERM → cancellation, so Ctrl+C and `systemctl stop` take the same clean path
//! (pipeline to Null, liveliness token dropped, session closed).

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// Cancels `cancel` on the first SIGINT or SIGTERM.
pub async fn cancel_on_signal(cancel: CancellationToken) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => {
            result?;
            tracing::info!("SIGINT: stopping");
        }
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
    }
    cancel.cancel();
    Ok(())
}

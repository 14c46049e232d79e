//! `camera-node`: settings, logging, signals and exit codes around [`camera_node::node::run`].

use anyhow::Context;
use camera_node::node::{self, cli::Cli};
use robot_cli::{process, settings};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Shutdown budget after SIGINT/SIGTERM: the node promises to exit within 2 s.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(1500);

// One async worker: per frame the node's own work is one short task (hand the JPEG to zenoh),
// and with a second worker every frame also woke the idle one to look for work to steal:
// 13 → 9 syscalls per frame at 640×480@30 (docs/benchmarks.md, "Camera node against
// gst-launch-1.0: where the extra CPU goes"). Blocking work (state changes, planning) runs on
// the blocking pool and zenoh runs its own runtimes, so nothing waits behind a frame.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> ExitCode {
    process::init_logging();
    robot_cli::exit_code!(run().await)
}

async fn run() -> anyhow::Result<()> {
    let cli = settings::load::<Cli>()?;
    let config = cli.settings;
    if cli.print_pipeline {
        // Planning probes the device (opens it, queries caps): not on an async worker.
        let (plan, missing) = tokio::task::spawn_blocking(move || node::plan(&config))
            .await
            .context("pipeline planning panicked")??;
        tracing::info!(source = plan.kind.as_str(), reason = %plan.reason, encoder = %plan.encoder);
        for element in &missing {
            tracing::warn!(
                "this pipeline cannot run here: {}",
                node::source::element_hint(element)
            );
        }
        writeln!(std::io::stdout(), "{}", plan.launch)?;
        return Ok(());
    }
    // A bad value or calibration file stops the node before it waits for the hub.
    let prepared = node::prepare(config.clone())?;
    let cancel = CancellationToken::new();
    tokio::spawn(process::cancel_on_signal(cancel.clone()));
    // A client waits in `open` until the hub answers; SIGTERM meanwhile is a clean exit.
    let opened =
        robot_cli::session::open_publisher(&config.zenoh, cancel.clone().cancelled_owned());
    let Some(session) = opened.await? else {
        return Ok(());
    };
    let mut node = tokio::spawn(node::run_prepared(
        prepared,
        session.clone(),
        cancel.clone(),
    ));
    tokio::select! {
        result = &mut node => result.context("capture task panicked")??,
        () = async { cancel.cancelled().await; tokio::time::sleep(SHUTDOWN_BUDGET).await } => {
            tracing::warn!("capture did not stop within {SHUTDOWN_BUDGET:?}; exiting anyway");
        }
    }
    let closed = tokio::time::timeout(Duration::from_millis(400), session.close()).await;
    if !matches!(closed, Ok(Ok(()))) {
        tracing::warn!("zenoh session did not close cleanly");
    }
    Ok(())
}

//! `camera-node`: flags, logging, signals and exit codes around [`camera_node::node::run`].

use anyhow::Context;
use camera_node::node::{self, cli::Cli, config::NodeConfig};
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Shutdown budget after SIGINT/SIGTERM: the node promises to exit within 2 s.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(1500);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    logs.with_writer(std::io::stderr).init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = NodeConfig::load(&cli)?;
    if cli.print_pipeline {
        let (plan, missing) = node::plan(&config)?;
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
    let session = camera_node::session::open_publisher(&config.zenoh).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(node::signals::cancel_on_signal(cancel.clone()));
    let mut node = tokio::spawn(node::run(config, session.clone(), cancel.clone()));
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

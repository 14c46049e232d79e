//! `zenoh-router`: the robot's zenoh hub, until SIGINT/SIGTERM (see README.md).

use robot_cli::{process, settings};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use zenoh_router::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    process::init_logging();
    robot_cli::exit_code!(run().await)
}

async fn run() -> anyhow::Result<()> {
    let cli = settings::load::<Cli>()?;
    let cancel = CancellationToken::new();
    tokio::spawn(process::cancel_on_signal(cancel.clone()));
    zenoh_router::run(&cli.settings, cancel).await?;
    Ok(())
}

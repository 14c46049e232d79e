//! `web-gateway` binary: load settings, open zenoh, bind HTTP, serve until SIGINT/SIGTERM.

use anyhow::Context;
use robot_cli::{process, settings, zenoh_config};
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use web_gateway::{AppState, Flags};

/// Hard limit on shutdown, whatever clients or zenoh do.
const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(1500);

#[tokio::main]
async fn main() -> ExitCode {
    process::init_logging();
    robot_cli::exit_code!(run().await)
}

async fn run() -> anyhow::Result<()> {
    let flags = settings::load::<Flags>()?;
    if let Some(command) = &flags.command {
        return Ok(web_gateway::auth::passwd::run(command)?);
    }
    match web_gateway::server::raise_open_file_limit() {
        Ok(limit) if limit.before == limit.after => tracing::info!(
            "open-file limit (RLIMIT_NOFILE) is {}, the hard limit",
            show_limit(limit.after)
        ),
        Ok(limit) => tracing::info!(
            "open-file limit (RLIMIT_NOFILE) raised from {} to {}",
            show_limit(limit.before),
            show_limit(limit.after)
        ),
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit; clients may hit it")
        }
    }
    let config = flags.settings;
    let mut zenoh_config = config
        .zenoh
        .build(robot_cli::zenoh_config::SUBSCRIBER_DEFAULT)?;
    let bound = zenoh_config::bound_message_size(&mut zenoh_config, config.zenoh_message_bound())?;
    if bound < config.max_frame_bytes {
        tracing::warn!(bound, max_frame_bytes = config.max_frame_bytes,
            "the zenoh config's transport/link/rx/max_message_size is below --max-frame-bytes: larger frames are dropped by zenoh unseen and uncounted");
    } else {
        tracing::info!(
            bound,
            "zenoh drops messages larger than this as they arrive, before reassembly"
        );
    }
    let session = zenoh::open(zenoh_config)
        .await
        .map_err(|error| anyhow::anyhow!("cannot open zenoh session: {error}"))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (port taken? pass --listen)",
                config.listen
            )
        })?;
    let cancel = CancellationToken::new();
    tokio::spawn(process::cancel_on_signal(cancel.clone()));
    let state = AppState::new(config, session.clone(), cancel.clone());
    let server = web_gateway::serve(listener, state);
    let deadline = async {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_DEADLINE).await;
    };
    tokio::select! {
        served = server => served?,
        _ = deadline => tracing::warn!("shutdown deadline reached with connections still open"),
    }
    let _ = tokio::time::timeout(Duration::from_millis(300), session.close()).await;
    Ok(())
}

fn show_limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

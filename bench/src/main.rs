//! `camera-bench`: the benchmark harness of `launch/bench.sh`.
//!
//! - `run`: starts camera-node, web-gateway, the bare writer, gst-launch and the seed program
//!   as children and prints the tables (markdown) that docs/benchmarks.md records;
//! - `load`: the load client alone, against any MJPEG or WebSocket URL;
//! - `bare-writer`: the physical-limit MJPEG server the gateway is compared with.

mod bare;
mod pair;
mod procs;
mod procstat;
mod report;
mod suite;

use anyhow::{Context, Result};
// The load client lives in the library half, which tests reuse (web-gateway's soak).
use camera_bench::{http, load};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "camera-bench",
    about = "Benchmarks camera-node and web-gateway (see docs/benchmarks.md)."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the tables and writes them as markdown.
    Run(RunArgs),
    /// Opens N clients of one URL and prints what they received.
    Load(LoadArgs),
    /// Serves the *.jpg files of a directory as an MJPEG stream, one write per client-frame.
    BareWriter(BareArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Fewer rows and a short window, for iterating and CI smoke runs.
    #[arg(long)]
    quick: bool,
    /// Directory with camera-node and web-gateway (a release build).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Measurement window per row in seconds [default: 10, quick: 3].
    #[arg(long)]
    window_secs: Option<f64>,
    /// Where child process logs and recorded frames go.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// The seed program (shared/seed/web_streaming_testsrc.py); its table is skipped without it.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Python with OpenCV and Flask (Debian's python3-opencv, python3-flask) for the seed.
    #[arg(long, default_value = "/usr/bin/python3")]
    python: PathBuf,
    /// Tables to run, comma separated: fanout,node,seed,link [default: all].
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Markdown output file (the tables only).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Fan-out rows instead of the default ones, e.g. `mjpeg:300,mjpeg:1000,ws:100` (for
    /// profiling one load; the docs tables come from the default rows).
    #[arg(long, value_delimiter = ',', value_parser = suite::parse_row)]
    rows: Vec<(load::Protocol, usize)>,
    /// Fan-out cameras instead of the default ones, `WIDTHxHEIGHT[:PATTERN]`, e.g. `1280x720`
    /// or `640x480:ball` (~10 KB frames; `pinwheel`, the default, gives ~48 KB at 640×480).
    #[arg(long, value_delimiter = ',', value_parser = suite::parse_size)]
    sizes: Vec<(u32, u32, String)>,
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// http://HOST:PORT/PATH (MJPEG) or ws://HOST:PORT/PATH (WebSocket).
    url: String,
    #[arg(long, default_value_t = 1)]
    clients: usize,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

#[derive(Debug, clap::Args)]
struct BareArgs {
    #[arg(long)]
    frames: PathBuf,
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Stops by itself after this long.
    #[arg(long, default_value_t = 3600)]
    max_seconds: u64,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Cmd::BareWriter(args) => {
            let frames = bare::load_frames(&args.frames)?;
            let listener = std::net::TcpListener::bind(args.listen)?;
            tracing::info!("listening on http://{}", listener.local_addr()?);
            bare::serve(
                listener,
                &frames,
                args.fps,
                Duration::from_secs(args.max_seconds),
            )
        }
        Cmd::Load(args) => tokio::runtime::Runtime::new()?.block_on(load_once(args)),
        Cmd::Run(args) => tokio::runtime::Runtime::new()?.block_on(run(args)),
    }
}

async fn load_once(args: LoadArgs) -> Result<()> {
    let (protocol, rest) = if let Some(rest) = args.url.strip_prefix("ws://") {
        (load::Protocol::WebSocket, rest)
    } else {
        (
            load::Protocol::Mjpeg,
            args.url
                .strip_prefix("http://")
                .context("URL must start with http:// or ws://")?,
        )
    };
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let addr = tokio::net::lookup_host(host)
        .await?
        .next()
        .context("host has no address")?;
    let spec = load::LoadSpec {
        addr,
        path,
        protocol,
        clients: args.clients,
        window: Duration::from_secs_f64(args.seconds),
        connect_timeout: Duration::from_secs(60),
        slow: None,
        stamps_from: None,
    };
    let mut none = procstat::CpuWindow::new(vec![]);
    let result = load::run(&spec, &mut none).await?;
    let fps = result.fps_sorted();
    tracing::info!(
        clients = args.clients,
        fps_median = fps.get(fps.len() / 2).copied().unwrap_or(0.0),
        fps_min = fps.first().copied().unwrap_or(0.0),
        duplicates = result.duplicates(),
        not_jpeg = result.not_jpeg(),
        latency_p50_ms = report::ms(result.latency_us(50.0)),
        latency_p99_ms = report::ms(result.latency_us(99.0)),
        errors = ?result.errors(),
        "done"
    );
    Ok(())
}

async fn run(args: RunArgs) -> Result<()> {
    let bin_dir = std::fs::canonicalize(&args.bin_dir)
        .with_context(|| format!("{} (build first)", args.bin_dir.display()))?;
    std::fs::create_dir_all(&args.work_dir)?;
    let settings = suite::Settings {
        bins: pair::Bins {
            zenoh_router: bin_dir.join("zenoh-router"),
            camera_node: bin_dir.join("camera-node"),
            gateway: bin_dir.join("web-gateway"),
            bench: std::env::current_exe()?,
        },
        quick: args.quick,
        window: Duration::from_secs_f64(args.window_secs.unwrap_or(if args.quick {
            3.0
        } else {
            10.0
        })),
        logs: std::fs::canonicalize(&args.work_dir)?,
        seed: args.seed,
        python: args.python,
        rows: args.rows,
    };
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let mut out = String::new();
    let mut record = |table: Result<report::Table>, name: &str| {
        let text = match table {
            Ok(table) => table.render(),
            Err(error) => format!("### {name}\n\nfailed: {error:#}\n"),
        };
        tracing::info!("\n{text}");
        out += &text;
        out += "\n";
    };
    if wanted("fanout") {
        let defaults = if settings.quick {
            vec![(640, 480, "pinwheel".to_owned())]
        } else {
            vec![
                (640, 480, "ball".to_owned()),
                (640, 480, "pinwheel".to_owned()),
                (1280, 720, "pinwheel".to_owned()),
            ]
        };
        let sizes = if args.sizes.is_empty() {
            defaults
        } else {
            args.sizes.clone()
        };
        for (width, height, pattern) in sizes {
            let camera = pair::CameraSpec {
                width,
                height,
                fps: 30,
                pattern,
                extra: vec![],
            };
            record(suite::fan_out(&settings, &camera).await, "fan-out");
        }
    }
    if wanted("node") {
        record(suite::node_cost(&settings).await, "camera node");
    }
    if wanted("seed") {
        record(suite::seed_vs_ours(&settings).await, "seed");
    }
    if wanted("link") {
        record(suite::link_bytes(&settings).await, "link");
    }
    if let Some(path) = args.markdown {
        std::fs::write(&path, &out).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

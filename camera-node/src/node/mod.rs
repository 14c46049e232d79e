//! The capture node: GStreamer pipeline → JPEG frames on zenoh.
//!
//! [`run`] is the whole node minus process concerns (flags, logging, signals: `robot_cli::process`),
//! so tests and other programs can embed it with their own session and cancellation token.
//! Data flow: `source` picks a launch string → `capture` runs it and hands frames over a
//! channel → `supervisor` publishes them with the library's [`FramePublisher`] (which also
//! answers info/snapshot queries) and restarts lost pipelines; with `--ros2` each frame is also
//! published as a ROS 2 CompressedImage (`ros2`, the library's `Ros2Publisher`). `[[variants]]`
//! add branches to the pipeline: JPEG variants (`variants`) and H.264 lanes (`video`).

pub mod capture;
pub mod cli;
pub mod config;
pub mod gate;
pub mod loss;
pub mod on_demand;
pub mod probe;
pub mod ros2;
pub mod source;
pub mod source_error;
pub mod supervisor;
pub mod variant_config;
pub mod variants;
pub mod video;

use camera_protocol::info::CameraInfo;
use camera_protocol::keys::{CameraKeys, KeyError};
use camera_protocol::publisher::{FramePublisher, PublishError, PublisherOptions};
use camera_protocol::ros2::{CameraInfoError, Ros2Error, Ros2Publisher};
use config::NodeConfig;
use gstreamer as gst;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

/// The node could not start.
#[derive(Debug, Error)]
pub enum NodeError {
    // No `#[from]`: that would make the error a `source()` too, printed twice by `{:#}`.
    #[error("cannot initialise GStreamer: {0}")]
    Gst(gst::glib::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    CameraInfo(#[from] CameraInfoError),
    #[error(transparent)]
    Ros2(#[from] Ros2Error),
    #[error(transparent)]
    Config(#[from] robot_cli::settings::Invalid),
    #[error("zenoh: {0}")]
    Zenoh(zenoh::Error),
}

/// A config checked and its files read, ready to run: everything [`run`] does before it
/// touches zenoh, so that a bad value or calibration file stops the node before it waits for
/// the hub or announces anything.
#[derive(Debug)]
pub struct Prepared {
    config: NodeConfig,
    keys: CameraKeys,
    variants: variant_config::Resolved,
    info: CameraInfo,
    ros2: Option<camera_protocol::ros2::Ros2Settings>,
}

/// Checks `config` and reads the files it names (see [`Prepared`]).
pub fn prepare(config: NodeConfig) -> Result<Prepared, NodeError> {
    gst::init().map_err(NodeError::Gst)?;
    let keys = CameraKeys::new(&config.prefix, &config.camera)?;
    let variants = config.variants()?;
    let mut info = initial_info(&config);
    info.variants = variants
        .jpeg
        .iter()
        .map(|v| variants::info_of(v, &keys, 0))
        .collect();
    info.video = variants
        .h264
        .iter()
        .map(|lane| video::info_of(lane, &keys, "", 0))
        .collect();
    let ros2 = match config.ros2.enabled {
        true => Some(config.ros2.settings(&config.camera)?),
        false => None,
    };
    Ok(Prepared {
        config,
        keys,
        variants,
        info,
        ros2,
    })
}

/// Captures and publishes until `cancel` fires; the pipeline is at Null when this returns.
pub async fn run(
    config: NodeConfig,
    session: zenoh::Session,
    cancel: CancellationToken,
) -> Result<(), NodeError> {
    run_prepared(prepare(config)?, session, cancel).await
}

/// [`run`] of a config already [`prepare`]d.
pub async fn run_prepared(
    prepared: Prepared,
    session: zenoh::Session,
    cancel: CancellationToken,
) -> Result<(), NodeError> {
    let Prepared {
        config,
        keys,
        variants: variant_list,
        info,
        ros2: ros2_settings,
    } = prepared;
    let options = PublisherOptions {
        priority: config.priority.into(),
        ..PublisherOptions::default()
    };
    let publisher = FramePublisher::declare(&session, &keys, info, options).await?;
    let ros2 = if let Some(settings) = ros2_settings {
        let ros2 = Ros2Publisher::declare(&session, &settings).await?;
        let topic = ros2.image_topic();
        tracing::info!(topic = %topic.fq_name(), key = %topic.data_key(), "ROS 2 CompressedImage topic up");
        Some(ros2)
    } else {
        None
    };
    let variants = variants::Variants::declare(
        &session,
        &keys,
        &variant_list.jpeg,
        config.priority.into(),
        &cancel,
    )
    .await
    .map_err(NodeError::Zenoh)?;
    let video = video::VideoLanes::declare(
        &session,
        &keys,
        &variant_list.h264,
        config.priority.into(),
        &cancel,
    )
    .await
    .map_err(NodeError::Zenoh)?;
    let demand = if config.on_demand {
        let lanes = video.demand();
        on_demand::Demand::track(&publisher, ros2.as_ref(), lanes, cancel.child_token()).await?
    } else {
        on_demand::Demand::always()
    };
    tracing::info!(camera = %config.camera, key = %keys.jpeg(), "camera node up");
    let supervisor = supervisor::Supervisor {
        config,
        publisher,
        ros2,
        variants,
        video,
        demand,
        cancel: cancel.clone(),
    };
    supervisor.run().await;
    cancel.cancel();
    Ok(())
}

/// The pipeline `run` would start, for `--print-pipeline`, and the elements it uses that this
/// machine lacks. The string is built as if they existed, so that the Argus pipeline can be read
/// on any machine; the caller warns about the missing ones.
pub fn plan(
    config: &NodeConfig,
) -> Result<(source::PipelinePlan, Vec<String>), capture::BuildError> {
    gst::init().map_err(|error| capture::BuildError::Parse {
        launch: String::new(),
        message: error.to_string(),
    })?;
    let mut env = AssumeMissing {
        real: probe::GstEnvironment,
        assumed: Vec::new(),
    };
    loop {
        match source::plan(config, &env) {
            // Each round assumes one more element, so this ends after at most one round per
            // element the pipeline names.
            Err(source::SourceError::MissingElement { name, .. })
                if !env.assumed.contains(&name) =>
            {
                env.assumed.push(name);
            }
            result => return Ok((result?, env.assumed)),
        }
    }
}

/// This machine, except that the `assumed` elements exist: only elements a resolved source
/// requires are added, so `auto`'s choice and the encoder choice still follow the real machine.
struct AssumeMissing {
    real: probe::GstEnvironment,
    assumed: Vec<String>,
}

impl source::Environment for AssumeMissing {
    fn has_element(&self, name: &str) -> bool {
        self.assumed.iter().any(|assumed| assumed == name) || self.real.has_element(name)
    }

    fn device_exists(&self, path: &std::path::Path) -> bool {
        self.real.device_exists(path)
    }

    fn device_caps(
        &self,
        device: &std::path::Path,
    ) -> Result<Vec<source::OfferedFormat>, source::SourceError> {
        self.real.device_caps(device)
    }
}

fn initial_info(config: &NodeConfig) -> CameraInfo {
    CameraInfo {
        width: config.width,
        height: config.height,
        fps: config.fps,
        quality: config.quality,
        ..CameraInfo::new(&config.camera, config.source.as_str())
    }
}

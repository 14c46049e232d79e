//! Whether anybody wants frames right now, from the zenoh matching status of the frame
//! publisher, of the H.264 lanes (`VideoLanes::demand`) and, with `--ros2`, of the ROS 2
//! image publisher.
//!
//! With `on_demand = false` demand is constantly true. Otherwise a task forwards matching
//! changes into a `watch` channel the supervisor selects on, so it can pause the pipeline
//! while nobody subscribes (on either key) and resume as soon as someone does.

use super::NodeError;
use camera_protocol::publisher::FramePublisher;
use camera_protocol::ros2::Ros2Publisher;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Demand for frames as seen by the supervisor.
#[derive(Debug)]
pub struct Demand {
    rx: watch::Receiver<bool>,
    // Keeps the channel open when nothing ever changes it (on_demand off).
    _constant: Option<watch::Sender<bool>>,
}

impl Demand {
    /// Always wanted.
    pub fn always() -> Self {
        let (tx, rx) = watch::channel(true);
        Self {
            rx,
            _constant: Some(tx),
        }
    }

    /// Follows the publishers' matching status until `cancel` fires; `lanes` is true while
    /// someone subscribes to an H.264 lane (a lane alone keeps the camera running).
    pub async fn track(
        publisher: &FramePublisher,
        ros2: Option<&Ros2Publisher>,
        mut lanes: watch::Receiver<bool>,
        cancel: CancellationToken,
    ) -> Result<Self, NodeError> {
        let frames = publisher.matching_listener().await?;
        let mut ours = publisher.has_subscribers().await?;
        let (ros_listener, mut theirs) = match ros2 {
            Some(ros2) => {
                let listener = ros2.matching_listener().await?;
                (Some(listener), ros2.has_subscribers().await?)
            }
            None => (None, false),
        };
        let mut watched_lane = *lanes.borrow_and_update();
        let (tx, rx) = watch::channel(ours || theirs || watched_lane);
        tokio::spawn(async move {
            loop {
                let ros_change = async {
                    match &ros_listener {
                        Some(listener) => listener.recv_async().await.ok(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = cancel.cancelled() => break,
                    status = frames.recv_async() => match status {
                        Ok(status) => ours = status.matching(),
                        Err(_) => break,
                    },
                    status = ros_change => match status {
                        Some(status) => theirs = status.matching(),
                        None => break,
                    },
                    changed = lanes.changed() => match changed {
                        Ok(()) => watched_lane = *lanes.borrow_and_update(),
                        Err(_) => break,
                    },
                }
                tracing::info!(
                    subscribers = ours,
                    ros2_subscribers = theirs,
                    h264_subscribers = watched_lane,
                    "frame demand changed"
                );
                // send_replace: the value must update even with no receiver waiting.
                tx.send_replace(ours || theirs || watched_lane);
            }
        });
        Ok(Self {
            rx,
            _constant: None,
        })
    }

    pub fn wanted(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits for the next change; never returns once the tracker has stopped.
    pub async fn changed(&mut self) -> bool {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.rx.borrow_and_update()
    }
}

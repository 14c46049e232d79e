//! Whether anybody wants frames right now, from the frame publisher's zenoh matching status.
//!
//! With `on_demand = false` demand is constantly true. Otherwise a task forwards matching
//! changes into a `watch` channel the supervisor selects on, so it can pause the pipeline
//! while nobody subscribes and resume as soon as someone does.

use crate::publisher::{FramePublisher, PublishError};
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

    /// Follows the publisher's matching status until `cancel` fires.
    pub async fn track(
        publisher: &FramePublisher,
        cancel: CancellationToken,
    ) -> Result<Self, PublishError> {
        let listener = publisher.matching_listener().await?;
        let (tx, rx) = watch::channel(publisher.has_subscribers().await?);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    status = listener.recv_async() => match status {
                        Ok(status) => {
                            tracing::info!(subscribers = status.matching(), "frame demand changed");
                            // send_replace: the value must update even with no receiver waiting.
                            tx.send_replace(status.matching());
                        }
                        Err(_) => break,
                    },
                }
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

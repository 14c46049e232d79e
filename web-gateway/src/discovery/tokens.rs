//! The liveliness subscribers discovery reads: one per configured prefix (`<prefix>/*`, with
//! history, so cameras already running are found at once) and, with `[ros2] topics`, the
//! rmw_zenoh graph's publisher tokens.

use crate::state::AppState;
use camera_protocol::keys::Layout;
use std::sync::Arc;
use zenoh::handlers::{FifoChannel, FifoChannelHandler, IntoHandler};
use zenoh::pubsub::Subscriber;
use zenoh::sample::Sample;

/// The liveliness subscribers of every configured prefix, their tokens in one channel.
#[derive(Debug)]
pub struct LivelinessSubscriber {
    /// Held for their declarations (dropping one undeclares it).
    _declared: Vec<Subscriber<()>>,
    tokens: FifoChannelHandler<Sample>,
}

impl LivelinessSubscriber {
    /// The next token event; `None` once the session is closed.
    pub(super) async fn recv(&self) -> Option<Sample> {
        self.tokens.recv_async().await.ok()
    }
}

/// Declares a liveliness subscriber per prefix (`<prefix>/*`); events flow once [`run`] is
/// polled. A token two overlapping patterns match is passed on by the first one only.
pub async fn subscribe(state: &AppState) -> Result<LivelinessSubscriber, zenoh::Error> {
    let (channel, tokens) = FifoChannel::default().into_handler();
    let prefixes = Arc::new(state.prefixes.clone());
    let mut declared = Vec::new();
    for (index, key) in prefixes.liveliness_keys().into_iter().enumerate() {
        let (channel, prefixes) = (channel.clone(), prefixes.clone());
        let subscriber = state
            .zenoh
            .liveliness()
            .declare_subscriber(key)
            .history(true)
            .callback(move |sample| {
                let owner = prefixes.find(sample.key_expr().as_str(), Layout::Liveliness);
                if owner.is_some_and(|found| found.pattern == index) {
                    channel.call(sample);
                }
            })
            .await?;
        declared.push(subscriber);
    }
    Ok(LivelinessSubscriber {
        _declared: declared,
        tokens,
    })
}

/// The ROS 2 graph subscriber: one liveliness key, a channel of its own.
pub(super) type Ros2Subscriber = Subscriber<FifoChannelHandler<Sample>>;

/// Declares the ROS 2 graph subscriber when `[ros2] topics` asks for ROS cameras.
pub(super) async fn subscribe_ros2(state: &AppState) -> Option<Ros2Subscriber> {
    if !state.config.ros2.enabled() {
        return None;
    }
    let key = camera_protocol::ros2::tokens::all_publishers(state.config.ros2.domain_id());
    match state
        .zenoh
        .liveliness()
        .declare_subscriber(&key)
        .history(true)
        .await
    {
        Ok(subscriber) => Some(subscriber),
        Err(error) => {
            tracing::error!(%key, %error, "cannot watch ROS 2 publishers: ROS 2 topics will not show");
            None
        }
    }
}

pub(super) async fn next_token(subscriber: Option<&Ros2Subscriber>) -> Option<Sample> {
    match subscriber {
        Some(subscriber) => subscriber.recv_async().await.ok(),
        None => std::future::pending().await,
    }
}

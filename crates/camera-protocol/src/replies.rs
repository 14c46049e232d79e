//! Query replies held to a bound as they arrive, each naming the session that sent it.
//!
//! Any zenoh session may answer a query on a camera's key, as often and as large as its link
//! allows. So every queryable answers ([`QueryTarget::All`], no consolidation: the camera's
//! own reply cannot be hidden behind a faster stranger's), each reply's size is checked inside
//! zenoh's callback before it is kept, at most [`MAX_REPLIES`] are kept per query, and each
//! carries zenoh's replier id so the caller can take the camera's answer and drop the rest.

use crate::meta::SourceId;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zenoh::query::{ConsolidationMode, QueryTarget};
use zenoh::sample::Sample;

/// Replies kept per query; more are counted in [`Replies::excess`] and dropped.
pub const MAX_REPLIES: usize = 8;
/// Longest error text kept from an error reply (the rest is cut).
const MAX_ERROR_TEXT: usize = 512;

/// One reply, checked against the size bound.
#[derive(Debug)]
pub struct Answer {
    /// The session that sent it, as zenoh reports it; `None`: the replier did not say.
    pub replier: Option<SourceId>,
    pub body: Body,
}

/// What a reply held.
#[derive(Debug)]
pub enum Body {
    /// A sample within the bound.
    Sample(Box<Sample>),
    /// An error reply's text (cut at 512 bytes).
    Error(String),
    /// A payload of this many bytes, over the bound: dropped unread.
    TooLarge(usize),
}

/// Every reply to one query, in arrival order.
#[derive(Debug, Default)]
pub struct Replies {
    pub answers: Vec<Answer>,
    /// Replies beyond [`MAX_REPLIES`], dropped unread.
    pub excess: usize,
}

/// Sends a query on `key` to every queryable and gathers their replies until the query ends
/// (all answered, or `timeout`); payloads over `max_bytes` are counted, not kept.
pub async fn gather(
    session: &zenoh::Session,
    key: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Replies, zenoh::Error> {
    let (answers, mut received) = tokio::sync::mpsc::channel(MAX_REPLIES);
    let excess = Arc::new(AtomicUsize::new(0));
    let counted = excess.clone();
    // zenoh drops the callback (and with it the sender) when the query ends: `recv` then
    // returns `None`.
    session
        .get(key)
        .target(QueryTarget::All)
        .consolidation(ConsolidationMode::None)
        .timeout(timeout)
        .callback(move |reply| {
            let replier = reply.replier_id().map(|id| SourceId::of_zid(&id.zid()));
            let body = match reply.result() {
                Ok(sample) if sample.payload().len() > max_bytes => {
                    Body::TooLarge(sample.payload().len())
                }
                Ok(sample) => Body::Sample(Box::new(sample.clone())),
                Err(error) if error.payload().len() > max_bytes => {
                    Body::TooLarge(error.payload().len())
                }
                Err(error) => Body::Error(error_text(&error.payload().to_bytes())),
            };
            if answers.try_send(Answer { replier, body }).is_err() {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await?;
    let mut replies = Replies::default();
    while let Some(answer) = received.recv().await {
        replies.answers.push(answer);
    }
    replies.excess = excess.load(Ordering::Relaxed);
    Ok(replies)
}

impl Replies {
    /// The sessions that answered, each once, in arrival order.
    pub fn repliers(&self) -> Vec<Option<SourceId>> {
        let mut seen = Vec::new();
        for answer in &self.answers {
            if !seen.contains(&answer.replier) {
                seen.push(answer.replier);
            }
        }
        seen
    }
}

fn error_text(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_ERROR_TEXT)];
    String::from_utf8_lossy(cut).into_owned()
}

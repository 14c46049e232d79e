//! Whether an announced camera has shown it is one. A liveliness token costs an attacker
//! nothing; a valid frame, or at least an info document that parses, is what a camera node
//! sends within seconds. A camera with neither [`PROVE_WITHIN`] after it was announced is a
//! phantom (a token alone, or info too large or malformed) and asks to be forgotten, token or
//! not. One with info but still no frame is kept, but a newcomer may evict it once
//! [`PROVE_WITHIN`] has passed (`discovery.rs`), so phantoms cannot keep real cameras out.

use std::time::{Duration, Instant};

/// How long an announced camera has to send a valid frame or a valid info document.
pub const PROVE_WITHIN: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub struct Proof {
    since: Instant,
    frame: bool,
    answered: bool,
    reported: bool,
}

impl Proof {
    pub fn new(since: Instant) -> Self {
        Self {
            since,
            frame: false,
            answered: false,
            reported: false,
        }
    }

    /// A valid frame arrived (live, or the node's snapshot).
    pub fn frame(&mut self) {
        self.frame = true;
    }

    /// A session sent a valid info document for this camera.
    pub fn answered(&mut self) {
        self.answered = true;
    }

    /// When to report this camera as a phantom; `None` once it has shown itself or been
    /// reported.
    pub fn phantom_at(&self) -> Option<Instant> {
        (!self.frame && !self.answered && !self.reported).then_some(self.since + PROVE_WITHIN)
    }

    pub fn reported(&mut self) {
        self.reported = true;
    }
}

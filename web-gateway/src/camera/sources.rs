//! Which publisher a camera's frames are taken from when several publish on its key (two
//! robots left at the default prefix both put `camera/front/jpeg`): one is served
//! consistently, the others are ignored and reported, instead of interleaving their frames.
//!
//! Publishers name themselves with the [`SourceId`] appended to the frame attachment
//! (`docs/protocol.md`); publishers that do not (ROS 2 topics, older nodes) count as one
//! unnamed source. The first source heard is served until it has been silent for
//! `quiet_after` (the offline timeout) while another one publishes; then the other is served.
//! A node restarted in place (`kill -9`, then started again: a new session, `seq` from 0) takes
//! over sooner, once the old one has been silent for [`RESTART_AFTER`].

use camera_protocol::meta::SourceId;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Other publishers remembered per camera: source ids come off the network, so the list is
/// bounded; more than this many at once are still ignored, just not listed.
const MAX_OTHERS: usize = 8;
/// A new source whose `seq` is still below this has just started (a few seconds of frames).
const JUST_STARTED_SEQ: u64 = 64;
/// How long the served source must be silent before a just-started source replaces it: the
/// camera node was restarted, and waiting the whole offline timeout would leave its stream
/// blank for seconds. Two robots publishing at once are never silent this long.
pub const RESTART_AFTER: Duration = Duration::from_secs(1);

/// A publisher of a camera's key; `None` for publishers that do not name themselves.
pub type Source = Option<SourceId>;

/// Several publishers on one camera's key, as `/api/cameras` and the page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Publishers heard within the offline timeout, the served one included.
    pub sources: usize,
    /// The served publisher's session id (`"unnamed"` for one that does not say).
    pub serving: String,
    /// The ignored publishers' session ids.
    pub ignored: Vec<String>,
}

/// What to do with a frame of some source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Serve,
    /// Serve it: the previously served source went silent, this one takes over.
    Switched,
    Ignore,
}

/// The sources of one camera's frames; owned by whoever runs `ingest::accept`.
#[derive(Debug)]
pub struct Sources {
    camera: String,
    key: String,
    quiet_after: Duration,
    /// The served source and when its last frame came.
    serving: Option<(Source, Instant)>,
    /// Ignored sources and when each was last heard.
    others: Vec<(Source, Instant)>,
    /// A conflict was warned about and has not ended yet.
    warned: bool,
}

pub fn name(source: Source) -> String {
    source.map_or_else(|| "unnamed".to_owned(), |id| id.to_string())
}

impl Sources {
    /// `key`: the frame key, for the warning.
    pub fn new(camera: &str, key: &str, quiet_after: Duration) -> Self {
        Self {
            camera: camera.to_owned(),
            key: key.to_owned(),
            quiet_after,
            serving: None,
            others: Vec::new(),
            warned: false,
        }
    }

    /// Whether a frame `seq` of `source` arriving `now` is served.
    pub fn check(&mut self, source: Source, seq: u64, now: Instant) -> Verdict {
        let quiet_after = self.quiet_after;
        self.others
            .retain(|(_, heard)| now.duration_since(*heard) <= quiet_after);
        let verdict = match self.serving {
            Some((serving, _)) if serving == source => Verdict::Serve,
            Some((serving, last))
                if now.duration_since(last) > quiet_after
                    || (seq < JUST_STARTED_SEQ && now.duration_since(last) > RESTART_AFTER) =>
            {
                tracing::info!(camera = %self.camera, serving = %name(source),
                    silent = %name(serving), "the served publisher went silent: serving another");
                self.others.retain(|(other, _)| *other != source);
                Verdict::Switched
            }
            Some((serving, _)) => {
                self.ignored(serving, source, now);
                return Verdict::Ignore;
            }
            None => Verdict::Serve,
        };
        self.serving = Some((source, now));
        if self.warned && self.others.is_empty() {
            self.warned = false;
            tracing::info!(camera = %self.camera, serving = %name(source),
                "only one publisher left: conflict over");
        }
        verdict
    }

    fn ignored(&mut self, serving: Source, source: Source, now: Instant) {
        if let Some((_, heard)) = self.others.iter_mut().find(|(other, _)| *other == source) {
            *heard = now;
        } else if self.others.len() < MAX_OTHERS {
            self.others.push((source, now));
        }
        if !self.warned {
            self.warned = true;
            tracing::warn!(camera = %self.camera, key = %self.key, serving = %name(serving),
                ignored = %name(source),
                "two publishers put frames on one camera key: serving the first, ignoring the \
                 other. Give each robot its own prefix (camera-node --prefix robot1/camera; \
                 web-gateway --prefix '*/camera' shows every robot; docs/base-station.md)");
        }
    }

    /// The session of the served publisher if it published within the offline timeout:
    /// the camera itself, whose info and snapshot replies are believed (`replier.rs`).
    pub fn serving(&self, now: Instant) -> Option<SourceId> {
        let (serving, last) = self.serving?;
        serving.filter(|_| now.duration_since(last) <= self.quiet_after)
    }

    /// The conflict as of `now`: other sources heard within the offline timeout.
    pub fn conflict(&self, now: Instant) -> Option<Conflict> {
        let (serving, _) = self.serving?;
        let ignored: Vec<String> = self
            .others
            .iter()
            .filter(|(_, heard)| now.duration_since(*heard) <= self.quiet_after)
            .map(|(source, _)| name(*source))
            .collect();
        (!ignored.is_empty()).then(|| Conflict {
            sources: ignored.len() + 1,
            serving: name(serving),
            ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Source = Some(SourceId(0xa));
    const B: Source = Some(SourceId(0xb));

    #[test]
    fn the_first_source_is_served_until_it_goes_silent() {
        let mut sources = Sources::new("front", "camera/front/jpeg", Duration::from_secs(3));
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(sources.check(A, 1000, at(0)), Verdict::Serve);
        assert_eq!(sources.check(B, 1000, at(10)), Verdict::Ignore);
        assert_eq!(sources.check(A, 1000, at(100)), Verdict::Serve);
        assert_eq!(sources.check(B, 1000, at(110)), Verdict::Ignore);
        let conflict = sources.conflict(at(200)).expect("conflict");
        assert_eq!(
            conflict,
            Conflict {
                sources: 2,
                serving: "a".into(),
                ignored: vec!["b".into()],
            }
        );
        // A stops; B is ignored until A has been silent for 3 s, then served.
        assert_eq!(sources.check(B, 1000, at(3_000)), Verdict::Ignore);
        assert_eq!(sources.check(B, 1000, at(3_101)), Verdict::Switched);
        assert_eq!(sources.check(B, 1000, at(3_200)), Verdict::Serve);
        assert_eq!(sources.conflict(at(3_200)), None);
        // A returns: now A is the one ignored.
        assert_eq!(sources.check(A, 1000, at(3_300)), Verdict::Ignore);
        assert_eq!(
            sources.conflict(at(3_300)).map(|c| c.serving),
            Some("b".into())
        );
        assert_eq!(sources.conflict(at(6_400)), None, "A silent for 3 s");
    }

    #[test]
    fn a_restarted_node_takes_over_after_a_second_of_silence() {
        let mut sources = Sources::new("front", "camera/front/jpeg", Duration::from_secs(3));
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(sources.check(A, 900, at(0)), Verdict::Serve);
        // A new session counting from 0 while A was heard 0.5 s ago: a second publisher.
        assert_eq!(sources.check(B, 0, at(500)), Verdict::Ignore);
        // A silent for over a second: B is A's node restarted.
        assert_eq!(sources.check(B, 10, at(1_100)), Verdict::Switched);
        // Running publishers are not taken over after a second, only after the timeout.
        assert_eq!(sources.check(A, 950, at(2_200)), Verdict::Ignore);
    }

    #[test]
    fn unnamed_publishers_are_one_source_and_others_are_bounded() {
        let mut sources = Sources::new("front", "camera/front/jpeg", Duration::from_secs(3));
        let now = Instant::now();
        assert_eq!(sources.check(None, 1000, now), Verdict::Serve);
        assert_eq!(sources.check(None, 1000, now), Verdict::Serve);
        for id in 0..100 {
            assert_eq!(
                sources.check(Some(SourceId(id)), 1000, now),
                Verdict::Ignore
            );
        }
        let conflict = sources.conflict(now).expect("conflict");
        assert_eq!(conflict.serving, "unnamed");
        assert_eq!(conflict.ignored.len(), MAX_OTHERS);
    }
}

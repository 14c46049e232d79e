//! One camera's current segment file: `DIR/<camera>/<UTC start>.mcap`, replaced by a new one
//! every segment length. A complete MCAP after every flush ([`GrowingFile`]), so the newest
//! segment can be read while it is written.

use super::growing::GrowingFile;
use super::mcap_file::FrameMcap;
use super::sample::Sample;
use super::RecordedCamera;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A segment being written.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    started: SystemTime,
    mcap: FrameMcap<GrowingFile>,
    /// When the last frame was written (monotonic: idleness, not wall-clock time).
    written_at: Instant,
    /// Bytes the file will hold once finished, estimated from above ([`overhead`], [`cost`]):
    /// what the size budget counts while the segment is open.
    bytes: u64,
    frames: u64,
    /// When the video channel last got an access unit; `None` until its first keyframe.
    video_at: Option<Instant>,
    /// Since when the segment has been due while it waits for a keyframe to end at.
    due_since: Option<Instant>,
}

/// A segment whose camera sent an access unit this recently ends at a keyframe.
const VIDEO_RECENT: Duration = Duration::from_secs(1);
/// A due segment waits at most this long for a keyframe to end at; then the next segment
/// drops access units until the next keyframe.
pub const KEYFRAME_WAIT: Duration = Duration::from_secs(5);

/// Upper estimate of a segment's bytes without messages: header, schemas (twice: data and
/// summary), channels, statistics, indexes and footer.
pub fn overhead() -> u64 {
    2 * (super::proto::schema().len() + super::proto::video_schema().len()) as u64 + 4096
}

/// Upper estimate of the bytes one sample adds to a segment: the message record, its
/// protobuf fields, its message index entry and its share of the chunk records.
pub fn cost(frame_id: &str, sample: &Sample) -> u64 {
    (sample.payload_len() + frame_id.len()) as u64 + 128
}

/// `YYYYMMDDTHHMMSSZ` of a time (UTC), the stem of a segment's file name.
pub fn format_start(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The start time in a segment stem written by [`format_start`] (a `-N` suffix is allowed).
pub fn parse_start(stem: &str) -> Option<SystemTime> {
    parse_stem(stem).map(|(start, _)| start)
}

/// Start time and `-N` suffix (0 without one) of a segment stem: the order segments were
/// created in. Names alone do not sort that way (`…Z-1` < `…Z` < `…Z-10` < `…Z-2`).
pub fn parse_stem(stem: &str) -> Option<(SystemTime, u32)> {
    let stamp = stem.get(..16)?;
    let rest = &stem[16..];
    let attempt = match rest.strip_prefix('-') {
        None if rest.is_empty() => 0,
        Some(number) if !number.starts_with('0') => number.parse().ok()?,
        _ => return None,
    };
    if !stamp.ends_with('Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<u64>().ok();
    if stamp.as_bytes().get(8) != Some(&b'T') {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
    Some((UNIX_EPOCH + Duration::from_secs(secs), attempt))
}

// Howard Hinnant's civil-date algorithms (public domain description at
// https://howardhinnant.github.io/date_algorithms.html), for file names without a date crate.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Segment {
    /// Creates `camera_dir/<start>.mcap` (or `<start>-N.mcap` if that exists).
    pub fn create(camera_dir: &Path, started: SystemTime) -> std::io::Result<Self> {
        Self::create_from(camera_dir, started, 0)
    }

    /// [`Segment::create`] with a `-N` suffix of at least `first` (0: none): a camera whose
    /// earlier segment of the same second was already deleted must not reuse its name, which
    /// would sort before that second's later segments.
    pub fn create_from(
        camera_dir: &Path,
        started: SystemTime,
        first: u32,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(camera_dir)?;
        let stem = format_start(started);
        let mut attempt = first;
        loop {
            let name = if attempt == 0 {
                format!("{stem}.mcap")
            } else {
                format!("{stem}-{attempt}.mcap")
            };
            let path = camera_dir.join(name);
            match File::options().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    let mut mcap = FrameMcap::new(GrowingFile::new(file)).map_err(to_io)?;
                    // Readable from the start: header and schema on disk, then an end.
                    mcap.flush().map_err(to_io)?;
                    return Ok(Self {
                        path,
                        started,
                        mcap,
                        written_at: Instant::now(),
                        bytes: overhead(),
                        frames: 0,
                        video_at: None,
                        due_since: None,
                    });
                }
                Err(error)
                    if error.kind() == std::io::ErrorKind::AlreadyExists
                        && attempt < first + 100 =>
                {
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this segment has run for `length` at `now`.
    pub fn is_due(&self, now: SystemTime, length: Duration) -> bool {
        now.duration_since(self.started).unwrap_or_default() >= length
    }

    /// Estimated bytes once finished (see [`cost`]).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether the segment is due at `now` (its length run out, or `full`), and may end here,
    /// before `next`: a segment with video ends at a keyframe, so that the next one starts
    /// its video where a decoder can, unless it has waited [`KEYFRAME_WAIT`] for one.
    pub fn ends_before(
        &mut self,
        next: &Sample,
        now: SystemTime,
        length: Duration,
        full: bool,
    ) -> bool {
        if !(full || self.is_due(now, length)) {
            return false;
        }
        let waited = *self.due_since.get_or_insert_with(Instant::now);
        let video_flows = self.video_at.is_some_and(|at| at.elapsed() < VIDEO_RECENT);
        let at_keyframe = matches!(next, Sample::Video(frame) if frame.meta.is_keyframe());
        !video_flows || at_keyframe || waited.elapsed() >= KEYFRAME_WAIT
    }

    /// Whether the segment is due but waits (less than [`KEYFRAME_WAIT`] so far) for a
    /// keyframe to end at.
    pub fn awaits_keyframe(&self) -> bool {
        self.due_since
            .is_some_and(|at| at.elapsed() < KEYFRAME_WAIT)
    }

    /// Whether `sample` can be written: an access unit only once the video channel started
    /// at a keyframe (a decoder, and Foxglove, cannot start at a delta frame).
    pub fn takes(&self, sample: &Sample) -> bool {
        self.video_at.is_some() || !sample.is_video_delta()
    }

    /// Writes `sample` of `camera` on its topic (a JPEG) or video topic (an access unit).
    pub fn write(&mut self, camera: &RecordedCamera, sample: &Sample) -> std::io::Result<()> {
        self.written_at = Instant::now();
        self.bytes += cost(camera.frame_id(), sample);
        self.frames += 1;
        match sample {
            Sample::Jpeg(frame) => self.mcap.write(camera.topic(), camera.frame_id(), frame),
            Sample::Video(frame) => {
                self.video_at = Some(self.written_at);
                self.mcap
                    .write_video(camera.video_topic(), camera.frame_id(), frame)
            }
        }
        .map_err(to_io)
    }

    /// How long since the last frame was written (or the segment was created).
    pub fn idle_for(&self) -> Duration {
        self.written_at.elapsed()
    }

    /// Ends the current chunk and puts it on disk: readers see every frame written so far.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.mcap.flush().map_err(to_io)
    }

    /// Writes the summary and footer so readers can seek; the file is complete after this.
    /// Returns its size.
    pub fn finish(self) -> std::io::Result<u64> {
        let out = self.mcap.finish().map_err(to_io)?;
        let file = out.into_file();
        file.sync_data()?;
        Ok(file.metadata()?.len())
    }
}

fn to_io(error: mcap::McapError) -> std::io::Error {
    match error {
        mcap::McapError::Io(error) => error,
        other => std::io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_names_round_trip() {
        for secs in [0u64, 951_782_400, 1_764_104_400, 4_102_444_799] {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            let name = format_start(time);
            assert_eq!(parse_start(&name), Some(time), "{name}");
            assert_eq!(parse_start(&format!("{name}-3")), Some(time));
            assert_eq!(parse_stem(&format!("{name}-12")), Some((time, 12)));
            assert_eq!(parse_stem(&name), Some((time, 0)));
        }
        assert_eq!(
            format_start(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
        for bad in [
            "",
            "2026",
            "20261125T2153Z",
            "20261325T000000Z",
            "20261125X000000Z",
            "20261125T000000Zx",
            "20261125T000000Z-",
            "20261125T000000Z-01",
            "20261125T000000Z-x",
        ] {
            assert_eq!(parse_start(bad), None, "{bad}");
        }
    }
}

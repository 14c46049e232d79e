//! Reading an H.264 Annex B file with `ffprobe`, the way a user's ffmpeg would: the decoded
//! picture size and how many frames decode, with ffprobe's own error text.

use crate::process::run_bounded;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What `ffprobe -count_frames` found in an H.264 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Frames ffprobe decoded.
    pub frames: u64,
    /// Everything ffprobe said at `-v error`: empty when every frame decoded cleanly.
    pub errors: String,
}

/// `Ok(())` when `ffprobe` runs (Debian package ffmpeg; launch/lib/deps.sh).
pub fn ffprobe_available() -> Result<(), String> {
    match Command::new("ffprobe").arg("-version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err("ffprobe is missing (apt-get install ffmpeg)".to_owned()),
    }
}

/// Decodes every frame of the raw H.264 file `path` (at most 60 s of ffprobe's time).
pub fn ffprobe_h264(path: &Path) -> Probed {
    let (status, out, errors) = run_bounded(
        Command::new("ffprobe")
            .args(["-v", "error", "-f", "h264", "-select_streams", "v:0"])
            .args([
                "-count_frames",
                "-show_streams",
                "-of",
                "default=noprint_wrappers=1",
            ])
            .arg(path),
        Duration::from_secs(60),
    );
    assert!(
        status.success(),
        "ffprobe {}: {status}\n{errors}",
        path.display()
    );
    let field = |name: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("ffprobe printed no {name}:\n{out}"))
            .to_owned()
    };
    let number = |name: &str| {
        field(name)
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("ffprobe's {name} is not a number:\n{out}"))
    };
    Probed {
        codec: field("codec_name"),
        width: number("width") as u32,
        height: number("height") as u32,
        frames: number("nb_read_frames"),
        errors: errors.trim().to_owned(),
    }
}

//! Real H.264 access units for tests, made by `gst-launch-1.0` (videotestsrc → x264enc with
//! zero-latency tuning, no B-frames → h264parse, one Annex B access unit per file, SPS/PPS on
//! every keyframe, as the camera node's lane carries them), and `ffprobe`'s reading of a
//! stream. The same source as JPEG files, for comparing the two ([`encode_jpeg`]).

use crate::{run_bounded, DEADLINE};
use bytes::Bytes;
use camera_protocol::video::h264::{nal, nal_type, nal_units};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to encode.
#[derive(Debug, Clone)]
pub struct Source {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    /// videotestsrc pattern (`ball`, `pinwheel`, `smpte`, ...).
    pub pattern: &'static str,
}

impl Source {
    pub fn new(width: u32, height: u32, frames: u32) -> Self {
        Self {
            width,
            height,
            fps: 30,
            frames,
            pattern: "ball",
        }
    }

    fn launch(&self, tail: &str) -> Vec<String> {
        let head = format!(
            "videotestsrc num-buffers={} pattern={} ! video/x-raw,width={},height={},framerate={}/1 ! {tail}",
            self.frames, self.pattern, self.width, self.height, self.fps
        );
        head.split_whitespace().map(str::to_owned).collect()
    }
}

/// One encoded access unit and whether it is a keyframe (it carries an IDR slice).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub au: Bytes,
    pub keyframe: bool,
}

/// `Ok(())` when `gst-launch-1.0` has x264enc and h264parse (for [`crate::ci::require`]).
pub fn gst_x264() -> Result<(), String> {
    for element in ["x264enc", "h264parse"] {
        let found = Command::new("gst-inspect-1.0")
            .arg(element)
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            return Err(format!(
                "gst-inspect-1.0 {element} fails: install gstreamer1.0-plugins-ugly/bad"
            ));
        }
    }
    Ok(())
}

/// `source` encoded at `bitrate_kbps` with a keyframe at least every `keyframe_interval`
/// frames; the files go to `dir`. Panics if gst-launch fails.
pub fn encode_h264(
    source: &Source,
    bitrate_kbps: u32,
    keyframe_interval: u32,
    dir: &Path,
) -> Vec<Encoded> {
    let tail = format!(
        "x264enc tune=zerolatency bframes=0 bitrate={bitrate_kbps} key-int-max={keyframe_interval} speed-preset=superfast \
         ! video/x-h264,profile=constrained-baseline ! h264parse config-interval=-1 \
         ! video/x-h264,stream-format=byte-stream,alignment=au ! multifilesink location={}/au-%05d.h264",
        dir.display()
    );
    run_gst(&source.launch(&tail));
    files(dir, "au-")
        .into_iter()
        .map(|path| {
            let au = Bytes::from(std::fs::read(&path).expect("read an access unit"));
            let units = nal_units(&au).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let keyframe = units.iter().any(|unit| nal_type(unit) == nal::IDR);
            Encoded { au, keyframe }
        })
        .collect()
}

/// `source` as JPEG files of `quality` (jpegenc, as the camera node encodes) in `dir`.
pub fn encode_jpeg(source: &Source, quality: u32, dir: &Path) -> Vec<Bytes> {
    let tail = format!(
        "jpegenc quality={quality} ! multifilesink location={}/frame-%05d.jpg",
        dir.display()
    );
    run_gst(&source.launch(&tail));
    files(dir, "frame-")
        .iter()
        .map(|path| Bytes::from(std::fs::read(path).expect("read a JPEG")))
        .collect()
}

fn run_gst(args: &[String]) {
    if let Some(dir) = args
        .last()
        .and_then(|a| a.strip_prefix("location="))
        .and_then(|l| Path::new(l).parent())
    {
        std::fs::create_dir_all(dir).expect("the encoder's directory");
    }
    let (status, _, err) = run_bounded(
        Command::new("gst-launch-1.0").arg("-q").args(args),
        4 * DEADLINE,
    );
    assert!(
        status.success(),
        "gst-launch-1.0 {} failed ({status}):\n{err}",
        args.join(" ")
    );
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the encoder's directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    paths.sort();
    paths
}

/// What `ffprobe` found in an H.264 stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// `num/den`, from the SPS's timing information (ffprobe says 25/1 without it).
    pub frame_rate: String,
    /// Frames ffprobe decoded (`-count_frames`; `None` when not counted, as for a live URL).
    pub frames: Option<u64>,
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

/// Decodes every frame of the raw H.264 file `path`.
pub fn ffprobe_h264(path: &Path) -> Probed {
    probe_h264(path.as_os_str(), true)
}

/// Reads the H.264 stream `input` (a file, or a live `http://` URL, which must not be
/// counted: it never ends) as `ffprobe -f h264` does, within [`DEADLINE`] twice over.
pub fn probe_h264(input: &std::ffi::OsStr, count_frames: bool) -> Probed {
    let mut command = Command::new("ffprobe");
    command.args(["-v", "error", "-f", "h264", "-select_streams", "v:0"]);
    if count_frames {
        command.arg("-count_frames");
    }
    command
        .args(["-show_streams", "-of", "default=noprint_wrappers=1"])
        .arg(input);
    let (status, out, errors) = run_bounded(&mut command, 2 * DEADLINE);
    assert!(status.success(), "ffprobe {input:?}: {status}\n{errors}");
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
        frame_rate: field("r_frame_rate"),
        frames: count_frames.then(|| number("nb_read_frames")),
        errors: errors.trim().to_owned(),
    }
}

//! One clip export as an MCAP stream: [`ClipExport::next_piece`] writes frames of the clip
//! buffer until a chunk (256 KiB, or one larger frame) is complete and hands those bytes over, so an export
//! holds one chunk and one frame, never the clip, however slowly its reader takes the pieces.
//! The video channel starts at the clip's first keyframe (earlier delta frames are left out).

use super::clip::{ClipBuffer, ClipError, Span};
use super::mcap_file::FrameMcap;
use super::sample::Sample;
use bytes::Bytes;
use mcap::write::NoSeek;
use std::io::Write;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The bytes the MCAP writer produced and the export has not handed over yet.
#[derive(Debug, Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Pending {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An export in progress, made by [`ClipBuffer::stream`].
pub struct ClipExport<C: Deref<Target = ClipBuffer>> {
    clips: C,
    span: Span,
    /// Number of the next frame to write.
    next: u64,
    /// `None` once the summary and footer are written.
    mcap: Option<FrameMcap<NoSeek<Pending>>>,
    pending: Pending,
    /// Whether a keyframe was written: access units before it are left out.
    video_started: bool,
}

impl<C: Deref<Target = ClipBuffer>> std::fmt::Debug for ClipExport<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipExport")
            .field("span", &self.span)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<C: Deref<Target = ClipBuffer>> ClipExport<C> {
    pub(super) fn new(clips: C, span: Span) -> Result<Self, ClipError> {
        let pending = Pending::default();
        let mcap = FrameMcap::streaming(NoSeek::new(pending.clone()))?;
        Ok(Self {
            clips,
            next: span.start,
            span,
            mcap: Some(mcap),
            pending,
            video_started: false,
        })
    }

    /// The next bytes of the file (a chunk and its index, or the summary at the end); `None`
    /// once everything was handed over. Each call copies at most one chunk and one frame.
    pub fn next_piece(&mut self) -> Result<Option<Bytes>, ClipError> {
        loop {
            let piece = self.pending.take();
            if !piece.is_empty() {
                return Ok(Some(Bytes::from(piece)));
            }
            let Some(mcap) = self.mcap.as_mut() else {
                return Ok(None);
            };
            match self.clips.frame_at(&self.span, self.next) {
                Some((index, sample)) => {
                    self.next = index + 1;
                    let span = &self.span;
                    match &sample {
                        Sample::Jpeg(frame) => mcap.write(&span.topic, &span.frame_id, frame)?,
                        Sample::Video(frame) => {
                            if frame.meta.is_keyframe() || self.video_started {
                                self.video_started = true;
                                mcap.write_video(&span.video_topic, &span.frame_id, frame)?;
                            }
                        }
                    }
                }
                None => {
                    if let Some(mcap) = self.mcap.take() {
                        mcap.finish()?;
                    }
                }
            }
        }
    }
}

impl ClipBuffer {
    /// The last `seconds` (at most the clip length) of camera id `camera` as one MCAP file in
    /// memory (tests and small tools; the gateway streams with [`ClipBuffer::stream`]).
    pub fn export(&self, camera: &str, seconds: Duration) -> Result<Vec<u8>, ClipError> {
        let mut export = ClipBuffer::stream(self, camera, seconds)?;
        let mut file = Vec::new();
        while let Some(piece) = export.next_piece()? {
            file.extend_from_slice(&piece);
        }
        Ok(file)
    }

    /// The last `seconds` (at most the clip length) of camera id `camera` as an MCAP stream:
    /// its frames are those held now, read one at a time as the export proceeds (a frame the
    /// buffer drops before the export reaches it is left out). `clips` is the buffer or an
    /// `Arc` of it (an export that outlives the request).
    pub fn stream<C: Deref<Target = ClipBuffer>>(
        clips: C,
        camera: &str,
        seconds: Duration,
    ) -> Result<ClipExport<C>, ClipError> {
        let span = clips.span(camera, seconds)?;
        ClipExport::new(clips, span)
    }
}

//! The file under an open segment: a complete MCAP after every flush, so that readers (Python
//! `mcap`'s `make_reader`, Foxglove) can open the segment while it is written.
//!
//! The MCAP writer's bytes are held in memory until it flushes, which it does only at a record
//! boundary (a finished chunk, or the end of the file). Each flush appends them behind what is
//! on disk, followed by a provisional end (Data End, a Footer without summary, the magic) that
//! the next flush writes over. The provisional end goes down first and the first bytes over the
//! old end last, so that a reader never sees a partially written record.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

/// Data End (CRC 0: not computed), Footer (no summary, CRC 0), magic: an MCAP's end without
/// a summary section, which readers take as "read the data section linearly".
const PROVISIONAL_END: [u8; 50] = provisional_end();

const fn provisional_end() -> [u8; 50] {
    let mut end = [0u8; 50];
    end[0] = 0x0F; // Data End: opcode, length 4, data_section_crc 0
    end[1] = 4;
    end[13] = 0x02; // Footer: opcode, length 20, summary_start 0, summary_offset_start 0, crc 0
    end[14] = 20;
    let magic = *b"\x89MCAP0\r\n";
    let mut i = 0;
    while i < magic.len() {
        end[42 + i] = magic[i];
        i += 1;
    }
    end
}

/// A segment file written in whole records (see the module doc).
#[derive(Debug)]
pub struct GrowingFile {
    file: File,
    /// Bytes on disk that the writer has flushed (the provisional end comes after them).
    committed: u64,
    /// Length of the provisional end now on disk after `committed` (0 once the real end is).
    end_len: u64,
    /// Written since the last flush; the writer may seek back within them (chunk headers).
    pending: Vec<u8>,
    cursor: usize,
}

impl GrowingFile {
    /// Takes an empty file.
    pub fn new(file: File) -> Self {
        Self {
            file,
            committed: 0,
            end_len: 0,
            pending: Vec::new(),
            cursor: 0,
        }
    }

    /// The file, once the writer is done with it.
    pub fn into_file(self) -> File {
        self.file
    }

    fn write_at(&mut self, at: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(at))?;
        self.file.write_all(bytes)
    }
}

/// Whether `bytes` end the way a finished MCAP does: a Footer record, then the magic.
fn ends_with_footer(bytes: &[u8]) -> bool {
    let Some(start) = bytes.len().checked_sub(37) else {
        return false;
    };
    bytes[start] == 0x02
        && bytes[start + 1..start + 9] == 20u64.to_le_bytes()
        && bytes.ends_with(mcap::MAGIC)
}

impl Write for GrowingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let overlap = (self.pending.len() - self.cursor).min(buf.len());
        self.pending[self.cursor..self.cursor + overlap].copy_from_slice(&buf[..overlap]);
        self.pending.extend_from_slice(&buf[overlap..]);
        self.cursor += buf.len();
        Ok(buf.len())
    }

    /// Puts what was written since the last flush on disk, followed by a provisional end
    /// unless it ends the file itself. Order: the new end, the new records, then the bytes
    /// over the old end (≤ 50), so the file reads as complete records at every moment.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.cursor = 0;
        let end: &[u8] = if ends_with_footer(&pending) {
            &[]
        } else {
            &PROVISIONAL_END
        };
        let at = self.committed;
        let old_len = at + self.end_len;
        let new_len = at + pending.len() as u64;
        let head = pending.len().min(self.end_len as usize);
        self.write_at(new_len, end)?;
        self.write_at(at + head as u64, &pending[head..])?;
        self.write_at(at, &pending[..head])?;
        let total = new_len + end.len() as u64;
        if total < old_len {
            self.file.set_len(total)?;
        }
        self.committed = new_len;
        self.end_len = end.len() as u64;
        Ok(())
    }
}

impl Seek for GrowingFile {
    /// Only within what was written since the last flush: the writer seeks back to fill in a
    /// chunk's header, never into what is on disk.
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let end = self.committed + self.pending.len() as u64;
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => end.checked_add_signed(delta),
            SeekFrom::Current(delta) => {
                (self.committed + self.cursor as u64).checked_add_signed(delta)
            }
        };
        match target {
            Some(at) if (self.committed..=end).contains(&at) => {
                self.cursor = (at - self.committed) as usize;
                Ok(at)
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a recording segment cannot seek into what it already flushed",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provisional_end_is_a_footer() {
        assert!(ends_with_footer(&PROVISIONAL_END));
        assert!(!ends_with_footer(&PROVISIONAL_END[..49]));
    }

    /// Each flush leaves the file as what was written plus the provisional end; seeking back
    /// within unflushed bytes overwrites them; the real end replaces the provisional one.
    #[test]
    fn every_flush_leaves_whole_records_and_an_end() {
        let path = std::env::temp_dir().join(format!("growing-{}.bin", std::process::id()));
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .expect("file");
        let mut growing = GrowingFile::new(file);
        growing.write_all(&[1; 80]).expect("write");
        growing.seek(SeekFrom::Start(10)).expect("seek back");
        growing.write_all(&[2; 5]).expect("overwrite");
        assert_eq!(growing.seek(SeekFrom::End(0)).expect("end"), 80);
        growing.flush().expect("flush");
        let mut expected = [[1u8; 10].as_slice(), &[2; 5], &[1; 65]].concat();
        assert_eq!(
            std::fs::read(&path).expect("read"),
            [&expected[..], &PROVISIONAL_END].concat()
        );
        assert!(
            growing.seek(SeekFrom::Start(79)).is_err(),
            "into flushed bytes"
        );

        let mut finish = vec![3u8; 30];
        finish.extend_from_slice(&PROVISIONAL_END[13..]);
        growing.write_all(&finish).expect("write the end");
        growing.flush().expect("flush the end");
        expected.extend_from_slice(&finish);
        assert_eq!(std::fs::read(&path).expect("read"), expected);
        let _ = std::fs::remove_file(path);
    }
}

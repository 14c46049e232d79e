//! HTTP/1.1 chunked transfer coding removed on the way to the multipart parser.

use super::{MultipartParser, ParseError, Part};

/// A response body as it comes off the socket: dechunked if needed, then split into parts.
#[derive(Debug)]
pub struct BodyDecoder {
    dechunker: Option<Dechunker>,
    parser: MultipartParser,
}

impl BodyDecoder {
    pub fn new(boundary: &str, chunked: bool) -> Self {
        Self::with_parser(MultipartParser::new(boundary), chunked)
    }

    /// Decodes with `parser` (e.g. [`MultipartParser::strict`]).
    pub fn with_parser(parser: MultipartParser, chunked: bool) -> Self {
        Self {
            dechunker: chunked.then(Dechunker::default),
            parser,
        }
    }

    pub fn feed(&mut self, data: &[u8], on_part: &mut impl FnMut(Part)) -> Result<(), ParseError> {
        match self.dechunker.as_mut() {
            Some(dechunker) => dechunker.feed(data, &mut |piece| self.parser.feed(piece, on_part)),
            None => self.parser.feed(data, on_part),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum ChunkState {
    Size,
    Data { remaining: usize },
    DataEnd,
}

/// Removes HTTP/1.1 chunked transfer coding, passing data pieces on without copying them.
#[derive(Debug)]
pub struct Dechunker {
    state: ChunkState,
    line: Vec<u8>,
}

impl Default for Dechunker {
    fn default() -> Self {
        Self {
            state: ChunkState::Size,
            line: Vec::with_capacity(16),
        }
    }
}

impl Dechunker {
    pub fn feed(
        &mut self,
        mut data: &[u8],
        on_data: &mut impl FnMut(&[u8]) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        while !data.is_empty() {
            match self.state {
                ChunkState::Size | ChunkState::DataEnd => {
                    let Some(nl) = memchr::memchr(b'\n', data) else {
                        self.line.extend_from_slice(data);
                        if self.line.len() > 1024 {
                            return Err(ParseError::BadChunk);
                        }
                        return Ok(());
                    };
                    self.line.extend_from_slice(&data[..nl]);
                    data = &data[nl + 1..];
                    if let ChunkState::DataEnd = self.state {
                        self.state = ChunkState::Size;
                    } else {
                        let text =
                            std::str::from_utf8(&self.line).map_err(|_| ParseError::BadChunk)?;
                        let hex = text.trim().split(';').next().unwrap_or("");
                        let size =
                            usize::from_str_radix(hex, 16).map_err(|_| ParseError::BadChunk)?;
                        self.state = ChunkState::Data { remaining: size };
                        if size == 0 {
                            self.state = ChunkState::DataEnd;
                        }
                    }
                    self.line.clear();
                }
                ChunkState::Data { remaining } => {
                    let take = remaining.min(data.len());
                    on_data(&data[..take])?;
                    data = &data[take..];
                    self.state = if take == remaining {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data {
                            remaining: remaining - take,
                        }
                    };
                }
            }
        }
        Ok(())
    }
}

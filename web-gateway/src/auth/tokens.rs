//! Bearer tokens for machines: `Authorization: Bearer TOKEN`, from `--token-file` and
//! `GATEWAY_TOKENS`.
//!
//! Only SHA3-256 digests are kept, and a presented token is compared with every digest in
//! constant time (`subtle`), so neither the response time nor a memory dump tells a token.

use super::digest;
use crate::config::MIN_TOKEN_LEN;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// The accepted tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error(
        "cannot read the token file {path}: {error} (one token per line; or drop --token-file)"
    )]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("token file {path}, line {line}: the token has {len} characters; use at least {MIN_TOKEN_LEN} printable characters without blanks (e.g. `head -c 24 /dev/urandom | base64`)")]
    Weak {
        path: PathBuf,
        line: usize,
        len: usize,
    },
    #[error("token file {path} has no token; add one per line or drop --token-file")]
    Empty { path: PathBuf },
}

impl Tokens {
    /// `listed` (already validated by the config) plus every token of `file`.
    pub fn load(listed: &[String], file: Option<&Path>) -> Result<Self, TokenFileError> {
        let mut tokens = Self::default();
        for token in listed {
            tokens.add(token);
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|error| TokenFileError::Read {
                path: path.to_owned(),
                error,
            })?;
            let before = tokens.len();
            for (index, line) in text.lines().enumerate() {
                let token = line.trim();
                if token.is_empty() || token.starts_with('#') {
                    continue;
                }
                let printable = token.chars().all(|c| c.is_ascii_graphic());
                if token.len() < MIN_TOKEN_LEN || !printable {
                    return Err(TokenFileError::Weak {
                        path: path.to_owned(),
                        line: index + 1,
                        len: token.len(),
                    });
                }
                tokens.add(token);
            }
            if tokens.len() == before {
                return Err(TokenFileError::Empty {
                    path: path.to_owned(),
                });
            }
        }
        Ok(tokens)
    }

    fn add(&mut self, token: &str) {
        self.digests.push(digest(&[token.as_bytes()]));
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The index of the token `presented` matches, looking at every token whatever matched.
    pub fn find(&self, presented: &str) -> Option<usize> {
        let wanted = digest(&[presented.as_bytes()]);
        let mut found = None;
        for (index, known) in self.digests.iter().enumerate() {
            if bool::from(known.ct_eq(&wanted)) {
                found = Some(index);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn file_and_listed_tokens() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "# for the fleet dashboard\n\nabcdefghijklmnop0123\n").expect("write");
        let listed = vec!["listed-token-0123456789".to_owned()];
        let tokens = Tokens::load(&listed, Some(file.path())).expect("valid");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens.find("listed-token-0123456789"), Some(0));
        assert_eq!(tokens.find("abcdefghijklmnop0123"), Some(1));
        assert_eq!(tokens.find("abcdefghijklmnop012"), None);
        assert_eq!(tokens.find(""), None);
    }

    #[test]
    fn weak_or_empty_files_are_refused() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "abcdefghijklmnop0123\nshort").expect("write");
        let error = Tokens::load(&[], Some(file.path())).expect_err("weak");
        assert!(error.to_string().contains("line 2"), "{error}");
        let empty = tempfile::NamedTempFile::new().expect("temp file");
        let error = Tokens::load(&[], Some(empty.path())).expect_err("empty");
        assert!(error.to_string().contains("no token"), "{error}");
    }
}

//! htpasswd files with bcrypt entries, as `htpasswd -nbB user pass` (Apache) and
//! `web-gateway passwd` write them: one `user:$2y$CC$<53 characters>` per line.
//!
//! Only bcrypt is accepted: the other htpasswd schemes (`{SHA}`, `$apr1$`, crypt) are fast
//! to brute-force, so a file using them is refused at start with the line to fix.

use std::path::{Path, PathBuf};

/// Lowest bcrypt cost accepted in a file (htpasswd -B uses 5 unless told; we write 12).
pub const MIN_COST: u32 = 4;
/// Entries under this cost are warned about at start: a guess costs them little.
pub const WEAK_COST: u32 = 10;

/// A user and their bcrypt hash.
#[derive(Debug, Clone)]
pub struct Entry {
    pub user: String,
    pub hash: String,
}

impl Entry {
    /// The bcrypt cost of the hash (checked by [`parse`]).
    pub fn cost(&self) -> u32 {
        cost(&self.hash).unwrap_or(MIN_COST)
    }
}

/// Why an htpasswd file cannot be used; each names the file, the line and the fix.
#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    #[error("cannot read the auth file {path}: {error} (create it with `web-gateway passwd {path} USER`)")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("auth file {path}, line {line}: {problem}; each line must be `user:$2y$...` as written by `web-gateway passwd FILE USER` or `htpasswd -B`")]
    Malformed {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("auth file {path}, line {line}: user {user:?} has a {scheme} hash, not bcrypt; set the password again with `web-gateway passwd {path} {user}` (or `htpasswd -B`)")]
    NotBcrypt {
        path: PathBuf,
        line: usize,
        user: String,
        scheme: &'static str,
    },
    #[error("auth file {path} has no user; add one with `web-gateway passwd {path} USER`")]
    Empty { path: PathBuf },
}

/// Reads and checks every line of `path`.
pub fn load(path: &Path) -> Result<Vec<Entry>, HtpasswdError> {
    let text = std::fs::read_to_string(path).map_err(|error| HtpasswdError::Read {
        path: path.to_owned(),
        error,
    })?;
    let entries = parse(&text, path)?;
    if entries.is_empty() {
        return Err(HtpasswdError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(entries)
}

/// Parses htpasswd `text` (`path` is for messages). Blank lines and `#` comments are skipped.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Entry>, HtpasswdError> {
    let mut entries: Vec<Entry> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let malformed = |problem: String| HtpasswdError::Malformed {
            path: path.to_owned(),
            line,
            problem,
        };
        let Some((user, hash)) = content.split_once(':') else {
            return Err(malformed("no `:` between user and hash".into()));
        };
        check_user(user).map_err(|problem| malformed(problem.into()))?;
        if let Some(scheme) = other_scheme(hash) {
            return Err(HtpasswdError::NotBcrypt {
                path: path.to_owned(),
                line,
                user: user.to_owned(),
                scheme,
            });
        }
        check_bcrypt(hash).map_err(malformed)?;
        if entries.iter().any(|entry| entry.user == user) {
            return Err(malformed(format!("user {user:?} appears twice")));
        }
        entries.push(Entry {
            user: user.to_owned(),
            hash: hash.to_owned(),
        });
    }
    Ok(entries)
}

/// A user name that fits the format and a Basic header: no `:`, no blanks or controls.
pub fn check_user(user: &str) -> Result<(), &'static str> {
    if user.is_empty() {
        Err("the user name is empty")
    } else if user
        .chars()
        .any(|c| c == ':' || c.is_whitespace() || c.is_control())
    {
        Err("the user name contains `:`, a blank or a control character")
    } else {
        Ok(())
    }
}

/// The name of a non-bcrypt htpasswd scheme `hash` uses, if it is one.
fn other_scheme(hash: &str) -> Option<&'static str> {
    if hash.starts_with("{SHA}") {
        Some("SHA-1 ({SHA})")
    } else if hash.starts_with("$apr1$") {
        Some("Apache MD5 ($apr1$)")
    } else if hash.starts_with("$1$") {
        Some("MD5-crypt ($1$)")
    } else if hash.starts_with("$5$") || hash.starts_with("$6$") {
        Some("SHA-crypt ($5$/$6$)")
    } else if hash.len() == 13 && !hash.starts_with('$') {
        Some("DES crypt")
    } else {
        None
    }
}

/// The cost field of a bcrypt `hash`, if it has a readable one.
fn cost(hash: &str) -> Option<u32> {
    let (_, rest) = split_bcrypt(hash).ok()?;
    rest.split_once('$')?.0.parse().ok()
}

/// The `$2?$` prefix and the rest of a bcrypt `hash`.
fn split_bcrypt(hash: &str) -> Result<(&str, &str), &'static str> {
    ["$2y$", "$2b$", "$2a$"]
        .iter()
        .find_map(|prefix| Some((*prefix, hash.strip_prefix(prefix)?)))
        .ok_or("the hash does not start with $2y$, $2b$ or $2a$ (bcrypt)")
}

/// `$2y$` / `$2b$` / `$2a$`, a two-digit cost, `$`, 22 characters of salt and 31 of hash.
fn check_bcrypt(hash: &str) -> Result<(), String> {
    let (_, rest) = split_bcrypt(hash)?;
    let (cost, digest) = rest.split_once('$').ok_or("no `$` after the bcrypt cost")?;
    let cost: u32 = cost
        .parse()
        .map_err(|_| format!("bcrypt cost {cost:?} is not a number"))?;
    if !(MIN_COST..=31).contains(&cost) {
        return Err(format!("bcrypt cost {cost} is outside {MIN_COST}..=31"));
    }
    let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
    if digest.len() != 53 || !digest.chars().all(alphabet) {
        return Err(format!(
            "the bcrypt salt+hash has {} characters, not 53 of [./A-Za-z0-9] (truncated line?)",
            digest.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Password "secret", hashed by Python's `bcrypt` module 5.0 (`hashpw(b"secret",
    /// gensalt(5))`) with its `$2b$` prefix renamed to the `$2y$` that Apache's `htpasswd -B`
    /// writes (same algorithm; the letter only records which implementation bug was fixed).
    pub(crate) const REFERENCE_LINE: &str =
        "gw:$2y$05$lnBe2Bw..jLoC8ihI4Os1.0sgMYFIigpejXRMf0pF8PRDVjwphRPy";

    #[test]
    fn reads_apache_lines_and_skips_comments() {
        let ops = format!("ops:$2b$12${}", "./Az09".repeat(9).split_at(53).0);
        let text = format!("# robot users\n\n{REFERENCE_LINE}\n{ops}\n");
        let entries = parse(&text, Path::new("f")).expect("valid");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].user, "gw");
        assert!(entries[0].hash.starts_with("$2y$05$"));
        assert_eq!((entries[0].cost(), entries[1].cost()), (5, 12));
    }

    #[test]
    fn names_the_line_and_the_fix() {
        let cases = [
            ("nocolon", "line 1", "no `:`"),
            ("a:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "line 1", "SHA-1"),
            ("a:$apr1$abc$def", "line 1", "Apache MD5"),
            ("a:$2y$05$short", "line 1", "not 53"),
            ("a:$2y$99$", "line 1", "outside"),
            (":$2y$05$x", "line 1", "empty"),
            ("\n\nb:plain", "line 3", "bcrypt"),
        ];
        for (text, line, needle) in cases {
            let error = parse(text, Path::new("/etc/gw.htpasswd"))
                .expect_err(text)
                .to_string();
            assert!(
                error.contains(line) && error.contains(needle),
                "{text}: {error}"
            );
            assert!(error.contains("/etc/gw.htpasswd"), "{error}");
        }
        let twice = format!("{REFERENCE_LINE}\n{REFERENCE_LINE}");
        let error = parse(&twice, Path::new("f")).expect_err("dup").to_string();
        assert!(error.contains("twice"), "{error}");
    }
}

//! `web-gateway passwd FILE USER`: writes an htpasswd entry (bcrypt, `$2y$`, as Apache's
//! `htpasswd -B` does) without needing apache2-utils on the robot.
//!
//! The password is read twice: from the terminal without echo, or as two lines on stdin
//! (scripts). `--generate` makes a random one and prints it once on stdout instead.
//! The file is replaced atomically and created with mode 0600.

use super::htpasswd;
use crate::config::passwd::Command;
use base64::Engine;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why no entry was written.
#[derive(Debug, thiserror::Error)]
pub enum PasswdError {
    #[error("user {user:?}: {problem}")]
    BadUser { user: String, problem: &'static str },
    #[error("cannot read the password: {0}")]
    Read(std::io::Error),
    #[error("the two passwords differ; nothing written")]
    Mismatch,
    #[error("the password is shorter than {MIN_PASSWORD_LEN} characters; nothing written")]
    TooShort,
    #[error("{0} (fix or remove the file first)")]
    Existing(htpasswd::HtpasswdError),
    #[error("cannot hash the password: {0}")]
    Hash(bcrypt::BcryptError),
    #[error("cannot write {path}: {error} (is the directory writable?)")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Runs the subcommand.
pub fn run(command: &Command) -> Result<(), PasswdError> {
    let Command::Passwd(args) = command;
    htpasswd::check_user(&args.user).map_err(|problem| PasswdError::BadUser {
        user: args.user.clone(),
        problem,
    })?;
    let password = if args.generate {
        generated()
    } else {
        read_twice(&args.user)?
    };
    let hash = bcrypt::hash_with_result(&password, args.cost)
        .map_err(PasswdError::Hash)?
        .format_for_version(bcrypt::Version::TwoY);
    let line = format!("{}:{hash}", args.user);
    let replaced = update(&args.file, &args.user, &line)?;
    let verb = if replaced { "updated" } else { "added" };
    eprintln!("{verb} user {:?} in {}", args.user, args.file.display());
    if args.generate {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{password}").map_err(PasswdError::Read)?;
    }
    Ok(())
}

/// 18 random bytes as 24 URL-safe characters (144 bits).
fn generated() -> String {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn read_twice(user: &str) -> Result<String, PasswdError> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let mut lines = stdin.lock().lines();
    let mut ask = |prompt: &str| -> Result<String, PasswdError> {
        if terminal {
            eprint!("{prompt}");
            echo(false);
        }
        let line = lines.next().transpose().map_err(PasswdError::Read);
        if terminal {
            echo(true);
            eprintln!();
        }
        let missing = || {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "no input: type the password twice on a terminal, pipe two lines into stdin, \
                 or pass --generate for a random one",
            )
        };
        line?.ok_or_else(|| PasswdError::Read(missing()))
    };
    let first = ask(&format!("New password for {user}: "))?;
    let second = ask("Again: ")?;
    if first != second {
        return Err(PasswdError::Mismatch);
    }
    if first.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswdError::TooShort);
    }
    Ok(first)
}

/// Turns terminal echo off or on with `stty` (on the inherited stdin): the one thing a
/// password prompt needs, without a terminal crate.
fn echo(on: bool) {
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status();
}

/// Writes `line` for `user` into `file`, replacing their old line; true if one was replaced.
fn update(file: &Path, user: &str, line: &str) -> Result<bool, PasswdError> {
    let old = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(PasswdError::Existing(htpasswd::HtpasswdError::Read {
                path: file.to_owned(),
                error,
            }))
        }
    };
    htpasswd::parse(&old, file).map_err(PasswdError::Existing)?;
    let mut replaced = false;
    let mut lines: Vec<&str> = old
        .lines()
        .map(|old_line| {
            if old_line.trim().split_once(':').map(|(name, _)| name) == Some(user) {
                replaced = true;
                line
            } else {
                old_line
            }
        })
        .collect();
    if !replaced {
        lines.push(line);
    }
    let text = lines.join("\n") + "\n";
    write_private(file, &text).map_err(|error| PasswdError::Write {
        path: file.to_owned(),
        error,
    })?;
    Ok(replaced)
}

/// Writes `text` to a 0600 temporary file beside `file`, then renames it over `file`.
fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut temporary = file.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&temporary, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_adds_then_replaces_and_keeps_others() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("htpasswd");
        let hash = |c: char| format!("$2y$05${}", c.to_string().repeat(53));
        assert!(!update(&file, "a", &format!("a:{}", hash('a'))).expect("add"));
        assert!(!update(&file, "b", &format!("b:{}", hash('b'))).expect("add"));
        assert!(update(&file, "a", &format!("a:{}", hash('c'))).expect("replace"));
        let text = std::fs::read_to_string(&file).expect("read");
        assert_eq!(text, format!("a:{}\nb:{}\n", hash('c'), hash('b')));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn generated_passwords_differ() {
        let (a, b) = (generated(), generated());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }
}

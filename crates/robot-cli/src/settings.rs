//! One configuration layer for both binaries: defaults < TOML file < environment < flags.
//!
//! A binary's settings are one struct that is both serde (the file) and `clap::Args` (flags):
//! each field's `#[arg]` declares its flag and its default once (`--help` shows it from there;
//! `Default` is computed from it by [`defaults`]). The environment name is derived from the key:
//! [`Invocation::ENV_PREFIX`] + key in capitals, `.` → `_` (`zenoh.listen` →
//! `GATEWAY_ZENOH_LISTEN`). Fields of a `[table]` carry the dotted key as their arg id
//! (`#[arg(id = "test.pattern", long = "pattern")]`), which is how a file value meets its flag.
//! Adding a setting is adding one field. Not here: what a value means (each binary's config).

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A binary's settings: the TOML file's top level and, flattened, its flags.
///
/// Structs (and nested tables) are `#[serde(default, deny_unknown_fields)]` with
/// `impl Default` = [`defaults`], so a file may omit any key and a typo is an error.
pub trait Settings: clap::Args + Serialize + DeserializeOwned {
    /// Checks every value, naming the first bad key and its fix.
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }

    /// Called on the values read from a file with the file's directory, so settings naming
    /// other files mean "next to this file" whatever the working directory.
    fn relative_to(&mut self, _dir: &Path) {}
}

/// A binary's command line: `--config FILE`, its own flags, and its flattened [`Settings`].
pub trait Invocation: clap::Parser {
    type Settings: Settings;
    /// Prefix of every environment name, e.g. `"GATEWAY_"`; `--config` reads `<PREFIX>CONFIG`.
    const ENV_PREFIX: &'static str;
    fn config_file(&self) -> Option<&Path>;
    fn settings_mut(&mut self) -> &mut Self::Settings;
}

/// A value that cannot be used: the key, the value and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{key} = {value} is invalid: {fix}")]
pub struct Invalid {
    pub key: &'static str,
    pub value: String,
    pub fix: String,
}

impl Invalid {
    pub fn new(key: &'static str, value: impl ToString, fix: impl Into<String>) -> Self {
        Self {
            key,
            value: value.to_string(),
            fix: fix.into(),
        }
    }
}

/// Settings that cannot be loaded; each message names the file, key or flag and the fix.
///
/// Causes are part of the message and not a `source()`, so `{:#}` prints them once.
#[derive(Debug, Error)]
pub enum SettingsError {
    #[error(
        "cannot read config file {path}: {error} (pass an existing TOML file or drop --config)"
    )]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{invalid} (set by {origin})")]
    Invalid { invalid: Invalid, origin: String },
    /// Bad flag or environment value, or `--help`/`--version` (see [`load`]).
    #[error("{0}")]
    Flags(clap::Error),
}

/// The environment variable of `key` for a binary whose names start with `prefix`.
pub fn env_name(prefix: &str, key: &str) -> String {
    format!("{prefix}{}", key.replace('.', "_").to_ascii_uppercase())
}

/// The defaults declared in `S`'s `#[arg]` attributes (environment ignored).
///
/// # Panics
/// When a setting has no default (a non-`Option` field without `default_value`): a bug in
/// the settings struct, caught by any test that loads it.
pub fn defaults<S: clap::Args>() -> S {
    let command = S::augment_args(Command::new("defaults")).mut_args(|arg| arg.env(None));
    let matches = command
        .try_get_matches_from(["defaults"])
        .unwrap_or_else(|error| panic!("every setting needs a default: {error}"));
    S::from_arg_matches(&matches).unwrap_or_else(|error| panic!("settings defaults: {error}"))
}

/// `I`'s command with environment names on `--config` and every setting.
pub fn command<I: Invocation>() -> Command {
    let settings = I::Settings::augment_args(Command::new("settings"));
    let keys: Vec<String> = settings
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    I::command().mut_args(|mut arg| {
        let id = arg.get_id().as_str().to_owned();
        if !(id == "config" || keys.contains(&id)) {
            return arg;
        }
        if let Some((_, last)) = id.rsplit_once('.') {
            // clap would show the dotted id as the value name (`--pattern <test.pattern>`).
            let names = arg.get_value_names().unwrap_or_default();
            if names.is_empty() || names.iter().any(|name| name == id.as_str()) {
                arg = arg.value_name(last.to_ascii_uppercase());
            }
        }
        if arg.get_env().is_none() {
            arg = arg.env(env_name(I::ENV_PREFIX, &id));
        }
        arg
    })
}

/// Parses the process's arguments and loads the settings; `--help`, `--version` and bad
/// flags print and exit as with `clap::Parser::parse`.
pub fn load<I: Invocation>() -> Result<I, SettingsError> {
    match try_load_from::<I, _, _>(std::env::args_os()) {
        Err(SettingsError::Flags(error)) => error.exit(),
        other => other,
    }
}

/// [`load`] from explicit arguments (the first is the program name), never exiting.
pub fn try_load_from<I, A, T>(args: A) -> Result<I, SettingsError>
where
    I: Invocation,
    A: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let command = command::<I>();
    let matches = command
        .clone()
        .try_get_matches_from(args)
        .map_err(SettingsError::Flags)?;
    let mut invocation = I::from_arg_matches(&matches).map_err(SettingsError::Flags)?;
    let layers = Layers {
        command: &command,
        matches: &matches,
        file: invocation.config_file().map(Path::to_owned),
    };
    *invocation.settings_mut() = layers.merge()?;
    Ok(invocation)
}

/// What one parse saw: flags and environment (in `matches`) and the file, if any.
struct Layers<'a> {
    command: &'a Command,
    matches: &'a ArgMatches,
    file: Option<PathBuf>,
}

impl Layers<'_> {
    fn merge<S: Settings>(&self) -> Result<S, SettingsError> {
        let from_args = S::from_arg_matches(self.matches).map_err(SettingsError::Flags)?;
        let (settings, file_keys) = match &self.file {
            None => (from_args, Vec::new()),
            Some(path) => self.over_file(from_args, path)?,
        };
        settings
            .validate()
            .map_err(|invalid| SettingsError::Invalid {
                origin: self.origin(invalid.key, &file_keys),
                invalid,
            })?;
        Ok(settings)
    }

    /// The file's values under the flags and environment that were given.
    fn over_file<S: Settings>(
        &self,
        from_args: S,
        path: &Path,
    ) -> Result<(S, Vec<String>), SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|error| SettingsError::Read {
            path: path.to_owned(),
            error,
        })?;
        let parse_error = |message: String| SettingsError::Parse {
            path: path.to_owned(),
            message,
        };
        let mut from_file: S = parse_toml(&text).map_err(parse_error)?;
        if let Some(dir) = path.parent() {
            from_file.relative_to(dir);
        }
        let raw: toml::Table = toml::from_str(&text).map_err(|e| parse_error(e.to_string()))?;
        let mut file_keys = Vec::new();
        leaf_keys(&raw, "", &mut file_keys);
        let internal = |what: &str| parse_error(format!("cannot merge with flags ({what})"));
        let mut merged = toml::Table::try_from(&from_args).map_err(|_| internal("flags"))?;
        let file_values = toml::Table::try_from(&from_file).map_err(|_| internal("file"))?;
        for key in file_keys.iter().filter(|key| !self.explicit(key)) {
            match lookup(&file_values, key) {
                Some(value) => insert(&mut merged, key, value.clone()),
                None => remove(&mut merged, key),
            }
        }
        let settings = merged.try_into().map_err(|_| internal("types"))?;
        Ok((settings, file_keys))
    }

    /// Whether `key` was set by a flag or an environment variable.
    fn explicit(&self, key: &str) -> bool {
        self.command.get_arguments().any(|arg| arg.get_id() == key)
            && matches!(
                self.matches.value_source(key),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
    }

    /// Where the value of `key` came from, for error messages.
    fn origin(&self, key: &str, file_keys: &[String]) -> String {
        let arg = self.command.get_arguments().find(|arg| arg.get_id() == key);
        let source = arg.and_then(|_| self.matches.value_source(key));
        match (arg, source) {
            (Some(arg), Some(ValueSource::CommandLine)) => match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => format!("the {key} argument"),
            },
            (Some(arg), Some(ValueSource::EnvVariable)) => {
                let name = arg
                    .get_env()
                    .map(|name| name.to_string_lossy().into_owned());
                format!("environment {}", name.unwrap_or_default())
            }
            _ => match &self.file {
                Some(path) if file_keys.iter().any(|k| k == key) => {
                    format!("`{key}` in {}", path.display())
                }
                _ => "the default".to_owned(),
            },
        }
    }
}

/// Parses TOML text; the error is one line with the line number and the offending key.
pub fn parse_toml<S: DeserializeOwned>(text: &str) -> Result<S, String> {
    toml::from_str(text).map_err(|error: toml::de::Error| {
        let message = error.message().trim().replace('\n', " ");
        let Some(span) = error.span() else {
            return message;
        };
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        match key_at(text, line) {
            Some(key) => format!("line {line}, key `{key}`: {message}"),
            None => format!("line {line}: {message}"),
        }
    })
}

/// The dotted key assigned on `line` (1-based), e.g. `argus.sensor_id`.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    })
}

/// Dotted keys of every non-table value in `table`.
fn leaf_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => leaf_keys(inner, &path, out),
            _ => out.push(path),
        }
    }
}

fn lookup<'t>(table: &'t toml::Table, key: &str) -> Option<&'t toml::Value> {
    let (head, rest) = key.split_once('.').unwrap_or((key, ""));
    let value = table.get(head)?;
    match (rest, value) {
        ("", value) => Some(value),
        (rest, toml::Value::Table(inner)) => lookup(inner, rest),
        _ => None,
    }
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let inner = table
                .entry(head)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(inner) = inner {
                insert(inner, rest, value);
            }
        }
    }
}

fn remove(table: &mut toml::Table, key: &str) {
    match key.split_once('.') {
        None => {
            table.remove(key);
        }
        Some((head, rest)) => {
            if let Some(toml::Value::Table(inner)) = table.get_mut(head) {
                remove(inner, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests;

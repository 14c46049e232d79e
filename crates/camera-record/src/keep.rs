//! How much recording to keep: an age (`90m`, `1h`, `2d`) or a byte size (`500MB`, `2GiB`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

/// The retention bound of a recording directory; older segments are deleted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Delete segments that started longer ago than this.
    Age(Duration),
    /// Delete the oldest segments while the directory holds more than this many bytes.
    Bytes(u64),
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid retention {0:?}: give an age (e.g. 30m, 1h, 2d) or a size (e.g. 500MB, 2GiB)")]
pub struct KeepError(String);

impl FromStr for Keep {
    type Err = KeepError;

    fn from_str(text: &str) -> Result<Self, KeepError> {
        let error = || KeepError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let number: u64 = number.parse().map_err(|_| error())?;
        let seconds = |factor: u64| number.checked_mul(factor).map(Duration::from_secs);
        let bytes = |factor: u64| number.checked_mul(factor);
        let keep = match unit.trim() {
            "s" => seconds(1).map(Keep::Age),
            "m" | "min" => seconds(60).map(Keep::Age),
            "h" => seconds(3600).map(Keep::Age),
            "d" => seconds(86_400).map(Keep::Age),
            "B" => bytes(1).map(Keep::Bytes),
            "kB" | "KB" => bytes(1_000).map(Keep::Bytes),
            "MB" => bytes(1_000_000).map(Keep::Bytes),
            "GB" => bytes(1_000_000_000).map(Keep::Bytes),
            "KiB" => bytes(1 << 10).map(Keep::Bytes),
            "MiB" => bytes(1 << 20).map(Keep::Bytes),
            "GiB" => bytes(1 << 30).map(Keep::Bytes),
            _ => None,
        };
        match keep {
            Some(Keep::Age(age)) if !age.is_zero() => Ok(Keep::Age(age)),
            Some(Keep::Bytes(size)) if size > 0 => Ok(Keep::Bytes(size)),
            _ => Err(error()),
        }
    }
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keep::Age(age) => write!(f, "{}s", age.as_secs()),
            Keep::Bytes(size) => write!(f, "{size}B"),
        }
    }
}

impl serde::Serialize for Keep {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Keep {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ages_and_sizes() {
        assert_eq!("1h".parse(), Ok(Keep::Age(Duration::from_secs(3600))));
        assert_eq!("90m".parse(), Ok(Keep::Age(Duration::from_secs(5400))));
        assert_eq!("500MB".parse(), Ok(Keep::Bytes(500_000_000)));
        assert_eq!("2GiB".parse(), Ok(Keep::Bytes(2 << 30)));
        assert_eq!(
            "3600s".parse::<Keep>().map(|k| k.to_string()),
            Ok("3600s".into())
        );
        for bad in ["", "h", "0h", "1x", "-1h", "1.5h", "99999999999999999999GB"] {
            assert!(bad.parse::<Keep>().is_err(), "{bad:?} accepted");
        }
    }
}

//! How much recording to keep: an age (`90m`, `1h`, `2d`) and a total size (`500MB`, `2GiB`,
//! or `10%` of the recording disk), both always in force; the part not given keeps its
//! default ([`DEFAULT`]), so no setting lets recording fill the disk.

use super::disk::Size;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

/// The default retention, and the part of a `--record-keep` value that leaves one out.
pub const DEFAULT: &str = "1h,10%";

/// The retention bounds of a recording directory; older segments are deleted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Delete segments that started longer ago than this.
    pub age: Duration,
    /// Delete the oldest segments while the directory holds more than this, all cameras
    /// together; each recording camera may use its fair part (size / recording cameras).
    pub size: Size,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "invalid retention {0:?}: give an age (e.g. 30m, 1h, 2d), a size (e.g. 500MB, 2GiB, 10% of the disk) \
     or both separated by a comma (e.g. 1h,10%); the one left out stays at its default ({DEFAULT})"
)]
pub struct KeepError(String);

/// `1h`, `90m`, `2d`, `30s`.
fn age(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    number
        .checked_mul(factor)
        .map(Duration::from_secs)
        .filter(|age| !age.is_zero())
}

/// The age and size given in `text`, each at most once.
fn parts(text: &str) -> Option<(Option<Duration>, Option<Size>)> {
    let (mut kept_age, mut kept_size) = (None, None);
    for part in text.split(',').map(str::trim) {
        if let Some(parsed) = age(part) {
            kept_age.replace(parsed).is_none().then_some(())?;
        } else {
            let parsed: Size = part.parse().ok().filter(|s: &Size| !s.is_zero())?;
            kept_size.replace(parsed).is_none().then_some(())?;
        }
    }
    Some((kept_age, kept_size))
}

impl FromStr for Keep {
    type Err = KeepError;

    fn from_str(text: &str) -> Result<Self, KeepError> {
        let (given_age, given_size) = parts(text).ok_or_else(|| KeepError(text.to_owned()))?;
        let (default_age, default_size) = parts(DEFAULT).unwrap_or_default();
        match (given_age.or(default_age), given_size.or(default_size)) {
            (Some(age), Some(size)) => Ok(Keep { age, size }),
            _ => Err(KeepError(text.to_owned())),
        }
    }
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.age.as_secs();
        let (number, unit) = [(86_400, "d"), (3600, "h"), (60, "m")]
            .into_iter()
            .find(|(unit, _)| secs.is_multiple_of(*unit))
            .map_or((secs, "s"), |(unit, name)| (secs / unit, name));
        write!(f, "{number}{unit},{}", self.size)
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

    fn keep(age_secs: u64, size: Size) -> Keep {
        Keep {
            age: Duration::from_secs(age_secs),
            size,
        }
    }

    #[test]
    fn parses_ages_and_sizes_keeping_the_default_of_the_other() {
        assert_eq!("1h,10%".parse(), Ok(keep(3600, Size::Percent(10))));
        assert_eq!("90m".parse(), Ok(keep(5400, Size::Percent(10))));
        assert_eq!("500MB".parse(), Ok(keep(3600, Size::Bytes(500_000_000))));
        assert_eq!(
            " 2GiB , 2d ".parse(),
            Ok(keep(172_800, Size::Bytes(2 << 30)))
        );
        assert_eq!(
            DEFAULT.parse::<Keep>().map(|k| k.to_string()),
            Ok(DEFAULT.into())
        );
        assert_eq!(
            "3600s,20MB".parse::<Keep>().map(|k| k.to_string()),
            Ok("1h,20000000B".into())
        );
        for bad in [
            "",
            "h",
            "0h",
            "1x",
            "-1h",
            "1.5h",
            "0B",
            "0%",
            "1h,2h",
            "1GB,2GB",
            "1h,",
            "101%",
            "99999999999999999999GB",
        ] {
            assert!(bad.parse::<Keep>().is_err(), "{bad:?} accepted");
        }
    }
}

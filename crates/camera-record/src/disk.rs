//! Sizes on the recording disk: a byte count (`500MB`, `2GiB`) or a share of the filesystem
//! holding the recording (`10%`), and that filesystem's size and free space (statvfs), which
//! the size budget and the free-space floor are measured against.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use thiserror::Error;

/// A size given in bytes or as a percentage of the recording filesystem's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Bytes(u64),
    /// 0..=100.
    Percent(u8),
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid size {0:?}: give bytes (e.g. 500MB, 2GiB) or a share of the disk (e.g. 10%)")]
pub struct SizeError(pub String);

impl Size {
    /// The size in bytes on a filesystem of `disk_bytes`.
    pub fn of(self, disk_bytes: u64) -> u64 {
        match self {
            Size::Bytes(bytes) => bytes,
            Size::Percent(percent) => {
                let bytes = u128::from(disk_bytes) * u128::from(percent) / 100;
                u64::try_from(bytes).unwrap_or(u64::MAX)
            }
        }
    }

    pub fn is_zero(self) -> bool {
        matches!(self, Size::Bytes(0) | Size::Percent(0))
    }
}

impl FromStr for Size {
    type Err = SizeError;

    fn from_str(text: &str) -> Result<Self, SizeError> {
        let error = || SizeError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let number: u64 = number.parse().map_err(|_| error())?;
        let bytes = |factor: u64| number.checked_mul(factor).map(Size::Bytes);
        let size = match unit.trim() {
            "%" => u8::try_from(number)
                .ok()
                .filter(|p| *p <= 100)
                .map(Size::Percent),
            "B" => bytes(1),
            "kB" | "KB" => bytes(1_000),
            "MB" => bytes(1_000_000),
            "GB" => bytes(1_000_000_000),
            "TB" => bytes(1_000_000_000_000),
            "KiB" => bytes(1 << 10),
            "MiB" => bytes(1 << 20),
            "GiB" => bytes(1 << 30),
            "TiB" => bytes(1 << 40),
            _ => None,
        };
        size.ok_or_else(error)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Size::Percent(percent) => write!(f, "{percent}%"),
            Size::Bytes(bytes) => {
                let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
                match units
                    .iter()
                    .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
                {
                    Some((unit, name)) => write!(f, "{}{name}", bytes / unit),
                    None => write!(f, "{bytes}B"),
                }
            }
        }
    }
}

impl serde::Serialize for Size {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Size and space available to this (unprivileged) process of a filesystem, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskSpace {
    pub total: u64,
    pub free: u64,
}

/// The filesystem holding `path`.
pub fn space(path: &Path) -> std::io::Result<DiskSpace> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(DiskSpace {
        total: stat.f_blocks.saturating_mul(stat.f_frsize),
        free: stat.f_bavail.saturating_mul(stat.f_frsize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bytes_and_shares() {
        assert_eq!("500MB".parse(), Ok(Size::Bytes(500_000_000)));
        assert_eq!("2GiB".parse(), Ok(Size::Bytes(2 << 30)));
        assert_eq!("10%".parse(), Ok(Size::Percent(10)));
        assert_eq!(Size::Percent(10).of(1000), 100);
        assert_eq!(Size::Bytes(7).of(1000), 7);
        assert_eq!(Size::Bytes(2 << 30).to_string(), "2GiB");
        assert_eq!(Size::Bytes(1500).to_string(), "1500B");
        for bad in [
            "",
            "%",
            "101%",
            "1.5%",
            "1x",
            "-1B",
            "99999999999999999999GB",
        ] {
            assert!(bad.parse::<Size>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn reads_the_disk_of_a_directory() {
        let space = space(&std::env::temp_dir()).expect("statvfs");
        assert!(space.total > 0 && space.free <= space.total, "{space:?}");
    }
}

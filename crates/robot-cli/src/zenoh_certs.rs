//! The TLS files a zenoh profile names, found in one machine's certificate folder.
//!
//! Profiles name plain `ca.pem`, `cert.pem`, `key.pem`; zenoh itself would look for them in the
//! working directory. Here they come from the folder `--zenoh-certs` names (what
//! `launch/make-certs.sh` makes for one machine), else `certs/` beside the profile, so one
//! profile serves every machine. A missing file is reported naming the key and the folder,
//! rather than surfacing later as a failed handshake.

use std::fmt;
use std::path::{Path, PathBuf};

/// The TLS settings that name files.
pub const TLS_FILE_KEYS: [&str; 5] = [
    "root_ca_certificate",
    "listen_certificate",
    "listen_private_key",
    "connect_certificate",
    "connect_private_key",
];

/// Where relative TLS paths are taken from: `certs` when given, else `certs/` beside the
/// profile file, else (embedded default, which names no TLS file) the working directory.
pub fn certs_dir(certs: Option<&Path>, profile: Option<&Path>) -> PathBuf {
    match (certs, profile.and_then(Path::parent)) {
        (Some(dir), _) => dir.to_owned(),
        (None, Some(folder)) => folder.join("certs"),
        (None, None) => PathBuf::from("certs"),
    }
}

/// A TLS file the config names that is not there, or cannot be read by this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFile {
    pub key: &'static str,
    pub path: PathBuf,
    /// "does not exist", "cannot be read (...)".
    pub problem: String,
}

/// Why `path` cannot serve as a TLS file, if it cannot: opened here so that a key readable
/// only by root shows as such, not as a handshake failure later.
fn problem(path: &Path) -> Option<String> {
    match std::fs::File::open(path) {
        Ok(_) if path.is_file() => None,
        Ok(_) => Some("is not a file".to_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Some("does not exist".to_owned())
        }
        Err(error) => Some(format!("cannot be read ({error})")),
    }
}

/// Rewrites every TLS file setting of `config` to its path under `dir` (absolute paths stay);
/// the first named file that does not exist is returned, and nothing after it is rewritten.
pub(crate) fn resolve(
    config: &mut zenoh::Config,
    dir: &Path,
) -> Result<Result<(), MissingFile>, String> {
    for key in TLS_FILE_KEYS {
        let json_key = format!("transport/link/tls/{key}");
        let value = config.get_json(&json_key).unwrap_or_default();
        let Ok(Some(path)) = serde_json::from_str::<Option<PathBuf>>(&value) else {
            continue;
        };
        let path = dir.join(path);
        if let Some(problem) = problem(&path) {
            return Ok(Err(MissingFile { key, path, problem }));
        }
        let json = serde_json::to_string(&path).map_err(|error| error.to_string())?;
        config
            .insert_json5(&json_key, &json)
            .map_err(|error| error.to_string())?;
    }
    Ok(Ok(()))
}

/// Removes every `tls/` endpoint from the listen and connect lists and clears the TLS file
/// settings; returns the endpoints removed.
pub(crate) fn drop_tls(config: &mut zenoh::Config) -> Result<Vec<String>, String> {
    let mut dropped = Vec::new();
    for key in ["listen/endpoints", "connect/endpoints"] {
        let json = config.get_json(key).map_err(|error| error.to_string())?;
        // A plain list; a per-mode object ({ router: [...] }) is left as it is.
        let Ok(endpoints) = serde_json::from_str::<Vec<String>>(&json) else {
            continue;
        };
        let (tls, kept): (Vec<String>, Vec<String>) = endpoints
            .into_iter()
            .partition(|endpoint| endpoint.starts_with("tls/"));
        dropped.extend(tls);
        let json = serde_json::to_string(&kept).map_err(|error| error.to_string())?;
        config
            .insert_json5(key, &json)
            .map_err(|error| error.to_string())?;
    }
    for key in TLS_FILE_KEYS {
        config
            .insert_json5(&format!("transport/link/tls/{key}"), "null")
            .map_err(|error| error.to_string())?;
    }
    Ok(dropped)
}

/// A router started without its certificates: what was turned off and how to turn it on.
/// Its `Display` is the one warning the router logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoCertificates {
    /// The folder looked in.
    pub dir: PathBuf,
    /// The first file missing there.
    pub missing: MissingFile,
    /// The `tls/` endpoints removed.
    pub dropped: Vec<String>,
    /// The endpoints still listened on.
    pub kept: Vec<String>,
}

impl fmt::Display for NoCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        write!(
            f,
            "no usable TLS certificates in {dir} ({} {}): the network listener {} is OFF, \
             only {} accepts connections. To turn it on, make this machine's certificates where \
             the CA is kept: `launch/make-certs.sh CA_DIR robot MACHINE ADDRESS...`, copy \
             CA_DIR/MACHINE/ (ca.pem, cert.pem, key.pem) here, and start with \
             `--zenoh-certs <that folder>` (or put the three files in {dir})",
            self.missing.path.display(),
            self.missing.problem,
            list(&self.dropped),
            list(&self.kept),
        )
    }
}

fn list(endpoints: &[String]) -> String {
    if endpoints.is_empty() {
        "(none)".to_owned()
    } else {
        endpoints.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certs_folder_is_the_flag_else_beside_the_profile() {
        let profile = Path::new("/etc/robot-camera/zenoh/robot.json5");
        assert_eq!(
            certs_dir(None, Some(profile)),
            Path::new("/etc/robot-camera/zenoh/certs")
        );
        assert_eq!(
            certs_dir(Some(Path::new("/srv/robot1")), Some(profile)),
            Path::new("/srv/robot1")
        );
    }

    #[test]
    fn dropping_tls_keeps_plain_endpoints() {
        let mut config = zenoh::Config::from_json5(
            r#"{ listen: { endpoints: ["tcp/127.0.0.1:7447", "tls/0.0.0.0:7448"] },
                 connect: { endpoints: ["tls/10.0.0.1:7448"] },
                 transport: { link: { tls: { root_ca_certificate: "ca.pem" } } } }"#,
        )
        .expect("config");
        let dropped = drop_tls(&mut config).expect("drop");
        assert_eq!(dropped, ["tls/0.0.0.0:7448", "tls/10.0.0.1:7448"]);
        assert_eq!(
            config.get_json("listen/endpoints").expect("key"),
            r#"["tcp/127.0.0.1:7447"]"#
        );
        assert_eq!(
            config
                .get_json("transport/link/tls/root_ca_certificate")
                .expect("key"),
            "null"
        );
    }
}

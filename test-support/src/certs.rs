//! Throwaway certificates for TLS tests, made in-process with rcgen: a CA, and certificates it
//! signs for the names a test chooses (or leaves out), written as PEM files in a test's folder.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};

/// A certificate authority whose PEM is `dir/<name>.pem`.
#[derive(Debug)]
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
    /// Where that PEM is written.
    pub path: PathBuf,
}

/// A certificate and its private key, as PEM files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    /// A new CA, written to `dir/<name>.pem`.
    pub fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        let pem = AsRef::<rcgen::Certificate>::as_ref(&issuer).pem();
        let path = write(dir, &format!("{name}.pem"), &pem);
        Self { issuer, pem, path }
    }

    /// A certificate with common name `common_name` valid for `names` (DNS names or IP
    /// addresses), signed by this CA: `dir/<stem>.pem` and `dir/<stem>.key`.
    pub fn issue(&self, dir: &Path, stem: &str, common_name: &str, names: &[&str]) -> Issued {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("certificate params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("signed certificate");
        Issued {
            cert: write(dir, &format!("{stem}.pem"), &cert.pem()),
            key: write(dir, &format!("{stem}.key"), &key.serialize_pem()),
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    path
}

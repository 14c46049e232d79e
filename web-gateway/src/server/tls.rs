//! HTTPS: a rustls server config (ring provider, TLS 1.2 and 1.3) from PEM files.
//!
//! ring rather than aws-lc: aws-lc needs cmake and clang and cross-builds badly to the Jetson's
//! aarch64 glibc 2.27; ring is what the rest of the tree (zenoh's TLS) already builds.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// A certificate or key that cannot be used for HTTPS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificate chain {path}: {message} (--tls-cert wants a PEM file with CERTIFICATE blocks, e.g. from launch/make-certs.sh)")]
    Certificate { path: String, message: String },
    #[error("cannot read TLS private key {path}: {message} (--tls-key wants a PEM PKCS#8, PKCS#1 or SEC1 private key)")]
    Key { path: String, message: String },
    #[error("TLS certificate {cert} and key {key} cannot serve HTTPS: {message} (is the key the certificate's?)")]
    Config {
        cert: String,
        key: String,
        message: String,
    },
}

/// Builds the TLS acceptor from a PEM certificate chain and its private key.
pub fn load_tls(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert_error = |message: String| TlsError::Certificate {
        path: cert.display().to_string(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| cert_error(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| cert_error(error.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("no CERTIFICATE block in the file".into()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.display().to_string(),
        message: error.to_string(),
    })?;
    let config_error = |error: rustls::Error| TlsError::Config {
        cert: cert.display().to_string(),
        key: key.display().to_string(),
        message: error.to_string(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(config_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .expect("write");
        path
    }

    fn load_error(cert: &Path, key: &Path) -> String {
        match load_tls(cert, key) {
            Ok(_) => panic!("{} and {} loaded", cert.display(), key.display()),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn errors_name_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let text = load_error(&missing, &missing);
        assert!(
            text.contains("missing.pem") && text.contains("--tls-cert"),
            "{text}"
        );

        let empty = file(dir.path(), "empty.pem", "not a pem file\n");
        let text = load_error(&empty, &empty);
        assert!(
            text.contains("empty.pem") && text.contains("no CERTIFICATE"),
            "{text}"
        );

        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("generate");
        let cert = file(dir.path(), "cert.pem", &generated.cert.pem());
        let text = load_error(&cert, &empty);
        assert!(
            text.contains("empty.pem") && text.contains("--tls-key"),
            "{text}"
        );

        let key = file(
            dir.path(),
            "key.pem",
            &generated.signing_key.serialize_pem(),
        );
        assert!(load_tls(&cert, &key).is_ok(), "a matching pair loads");
    }
}

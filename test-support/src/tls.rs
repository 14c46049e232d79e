//! TLS clients for the gateway's HTTPS and WSS tests.

use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::TlsConnector;

/// A client that trusts `root` only (the test's CA, or its self-signed certificate).
pub fn connector_trusting(root: CertificateDer<'static>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).expect("trust the test certificate");
    // An explicit provider: the process may have several compiled in (zenoh's, reqwest's).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

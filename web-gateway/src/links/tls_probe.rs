//! The TLS half of a probe: a rustls handshake set up as zenoh's TLS link sets up its own
//! (same CA, client certificate and key files, TLS 1.3 only with mTLS, the endpoint's host as
//! the server name, name check per `verify_name_on_connect`), so that what fails here is what
//! fails for zenoh, with the reason rustls gives instead of zenoh's retry loop's silence.

use super::failure::{Failure, Reason};
use super::targets::{Target, TlsSettings};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// Longest wait for the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// With TLS 1.3 the server checks our certificate after our side of the handshake is done;
/// a refusal arrives as an alert within a round trip. Nothing by then: accepted (zenoh's
/// listener then waits for us to speak first).
const VERDICT_WAIT: Duration = Duration::from_millis(1000);

/// Shakes hands over `stream` (connected to `addr`) and closes it.
pub async fn handshake(
    stream: TcpStream,
    addr: SocketAddr,
    target: &Target,
    settings: &TlsSettings,
) -> Result<(), Failure> {
    let host = target.host();
    let name = ServerName::try_from(host.to_owned()).map_err(|error| {
        Failure::new(
            Reason::TlsConfig,
            format!(
                "{host} cannot be a TLS server name ({error}); zenoh cannot connect to it either"
            ),
        )
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(settings)?));
    let mut tls =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, stream)).await {
            Err(_) => return Err(Failure::not_tls(addr)),
            Ok(Err(error)) => return Err(Failure::tls(host, addr, &error)),
            Ok(Ok(tls)) => tls,
        };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(VERDICT_WAIT, tls.read(&mut byte)).await {
        Err(_) | Ok(Ok(1..)) => Ok(()),
        Ok(Ok(0)) => Err(Failure::new(
            Reason::Closed,
            format!("{addr} closed the connection right after the TLS handshake (at its session limit, or our certificate refused without saying why)"),
        )),
        Ok(Err(error)) => Err(Failure::tls(host, addr, &error)),
    }
}

/// The rustls client zenoh's TLS link would build from `settings`. Files are read on every
/// probe, as zenoh reads them on every connect: replaced certificates are picked up.
fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, Failure> {
    let mut roots = rustls::RootCertStore {
        // zenoh trusts the Web PKI roots as well as its own CA.
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &settings.root_ca {
        for certificate in certificates(path, "root_ca_certificate")? {
            roots
                .add(certificate)
                .map_err(|error| config_failure("root_ca_certificate", &error))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if settings.mtls {
        &[&rustls::version::TLS13]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|error| config_failure("TLS versions", &error))?;
    let builder = if settings.verify_name {
        builder.with_root_certificates(roots)
    } else {
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| config_failure("root_ca_certificate", &error))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
    };
    if !settings.mtls {
        return Ok(builder.with_no_client_auth());
    }
    let (Some(cert), Some(key)) = (&settings.certificate, &settings.private_key) else {
        return Err(Failure::new(
            Reason::TlsConfig,
            "enable_mtls is on but connect_certificate or connect_private_key is not set (zenoh cannot connect either)",
        ));
    };
    let chain = certificates(cert, "connect_certificate")?;
    let key = {
        use rustls::pki_types::pem::PemObject;
        PrivateKeyDer::from_pem_file(key)
            .map_err(|error| config_failure("connect_private_key", &error))?
    };
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|error| config_failure("connect_certificate/connect_private_key", &error))
}

fn certificates(
    path: &std::path::Path,
    key: &str,
) -> Result<Vec<CertificateDer<'static>>, Failure> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_file_iter(path)
        .map_err(|error| config_failure(key, &error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| config_failure(key, &error))
}

/// Our own TLS files cannot be used; the key is named, not the path (`/healthz` is open).
fn config_failure(key: &str, error: &dyn std::fmt::Display) -> Failure {
    Failure::new(
        Reason::TlsConfig,
        format!("the gateway's transport/link/tls/{key} cannot be used: {error}"),
    )
}

/// `verify_name_on_connect: false`: the chain is checked, the name is not (as zenoh does).
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError as E;
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                E::NotValidForName | E::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

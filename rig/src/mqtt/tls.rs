//! TLS to an external broker (`mqtts://`): one rustls client configuration, shared by the monitor and the tap's
//! upstream connections, and handshake failures told in words a bench user can act on.

use super::error::{ConnectError, TlsError};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, CertificateError, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Which certificates a TLS connection to the broker trusts.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsTrust {
    /// The system's CA store (ca-certificates).
    System,
    /// Only the CA certificates in this PEM file (a lab's own CA).
    CaFile(PathBuf),
}

/// The rustls client configuration for a broker: ring as the crypto provider, the trusted roots, no client
/// certificate.
pub fn client_config(trust: &TlsTrust) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match trust {
        TlsTrust::System => system_roots()?,
        TlsTrust::CaFile(path) => ca_file_roots(path)?,
    };
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::NoProtocolVersion { error })?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(TlsError::NoSystemCa {
            first_error: found.errors.into_iter().next(),
        });
    }
    Ok(roots)
}

fn ca_file_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::CaFileUnreadable {
            path: path.into(),
            error,
        })?;
    if certs.is_empty() {
        return Err(TlsError::CaFileEmpty { path: path.into() });
    }
    let mut roots = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|error| TlsError::NotACa {
            path: path.into(),
            number: i + 1,
            error,
        })?;
    }
    Ok(roots)
}

/// Runs the TLS handshake with the broker over `tcp`, checking its certificate against `host`.
pub async fn connect(
    config: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, ConnectError> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| ConnectError::BadHostName { host: host.into() })?;
    TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| cause(&e, host))
}

/// Why a connection to the broker at `host` failed, from anywhere in the error's chain (rumqttc's or the
/// socket's, read through downcasts): the certificate, the name, a refusal, or the error itself when it is none
/// of those.
pub fn cause(err: &(dyn Error + 'static), host: &str) -> ConnectError {
    let mut next = Some(err);
    while let Some(e) = next {
        // io::Error hides what it wraps from `source()`: look inside it too.
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn Error + 'static));
        for candidate in [Some(e), inner].into_iter().flatten() {
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return tls_cause(tls, host);
            }
            if let Some(io) = candidate.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return ConnectError::Refused,
                    std::io::ErrorKind::UnexpectedEof => return ConnectError::ClosedInHandshake,
                    _ => {}
                }
            }
        }
        next = e.source();
    }
    ConnectError::Other(err.to_string())
}

fn tls_cause(err: &rustls::Error, host: &str) -> ConnectError {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                ConnectError::Untrusted
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                ConnectError::NameMismatch { host: host.into() }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                ConnectError::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                ConnectError::NotYetValid
            }
            other => ConnectError::CertificateRejected(other.clone()),
        },
        rustls::Error::AlertReceived(alert) => ConnectError::Alert(*alert),
        rustls::Error::InvalidMessage(_) => ConnectError::NotTls,
        other => ConnectError::Tls(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_certificate_causes() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        assert!(cause(&io, "h")
            .to_string()
            .starts_with("certificate not trusted"));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(cause(&name, "broker.lab")
            .to_string()
            .contains("not valid for \"broker.lab\""));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(cause(&refused, "h").to_string().contains("refused"));
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = client_config(&TlsTrust::CaFile(missing)).unwrap_err();
        assert!(format!("{err:#}").contains("nope.pem"), "{err:#}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&TlsTrust::CaFile(empty)).unwrap_err();
        assert!(
            format!("{err:#}").contains("holds no PEM certificate"),
            "{err:#}"
        );
    }
}

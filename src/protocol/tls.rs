//! TLS for the transport: the bundled web roots plus an optional CA bundle
//! (self-hosted Keygen CE), and TLS failures worded for action.

use std::sync::Arc;

use crate::config::Config;
use crate::error::{err, Error, ErrorKind, Result};

/// A CA bundle larger than this is refused (Mozilla's whole set is ~200 KiB).
const MAX_CA_BUNDLE: usize = 16 << 20;

pub(crate) fn tls_config(cfg: &Config) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &cfg.ca_bundle {
        // A regular file only: a FIFO or device here must not block.
        let pem = crate::fs::read_regular_file(path, MAX_CA_BUNDLE)
            .map_err(|e| Error::new(e.kind, format!("CA bundle: {}", e.message)))?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "cannot read CA bundle {}: it does not exist",
                        path.display()
                    ),
                )
            })?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("CA bundle {} is not valid PEM: {e}", path.display()),
                )
            })?;
            roots.add(cert).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "CA bundle {} has an unusable certificate: {e}",
                        path.display()
                    ),
                )
            })?;
            added += 1;
        }
        if added == 0 {
            return err(
                ErrorKind::InvalidArgument,
                format!("CA bundle {} holds no certificates", path.display()),
            );
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup failed: {e}")))?;
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// A TLS failure in words a user can act on, with rustls's own text after them.
pub(crate) fn tls_message(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let what = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "the server's certificate is not trusted: no CA this client trusts issued it (for a self-hosted server, set the CA bundle to the PEM file of the CA that did)",
            C::NotValidForName | C::NotValidForNameContext { .. } => "the server's certificate is not valid for this host name",
            C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired, or this machine's clock is wrong",
            C::NotValidYet | C::NotValidYetContext { .. } => "the server's certificate is not valid yet, or this machine's clock is wrong",
            C::Revoked => "the server's certificate has been revoked",
            _ => "the server's certificate was rejected",
        },
        _ => "the TLS handshake failed",
    };
    format!("TLS failed: {what} ({e})")
}

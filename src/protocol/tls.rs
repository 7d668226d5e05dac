//! TLS for the transport: the bundled web roots plus an optional CA bundle
//! (self-hosted Keygen CE), and TLS failures worded for action.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use once_cell::sync::{Lazy, OnceCell};

use crate::config::Config;
use crate::error::{err, Error, ErrorKind, Result};

/// A CA bundle larger than this is refused (Mozilla's whole set is ~200 KiB).
const MAX_CA_BUNDLE: usize = 16 << 20;

/// The bundled web roots, parsed once per process.
fn web_roots() -> &'static rustls::RootCertStore {
    static ROOTS: Lazy<rustls::RootCertStore> = Lazy::new(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots
    });
    &ROOTS
}

/// The TLS configuration of a client: `Some` when a CA bundle is configured
/// (read and checked now, so a bad bundle is reported when the client is
/// made), `None` for the process-wide default (`shared_default`), which is
/// built on the first connection that needs it.
pub(crate) fn custom_config(cfg: &Config) -> Result<Option<Arc<rustls::ClientConfig>>> {
    match &cfg.ca_bundle {
        Some(path) => Ok(Some(Arc::new(build(with_bundle(path)?)?))),
        None => Ok(None),
    }
}

/// The web roots' TLS configuration, built once per process and shared by
/// every client without a CA bundle.
pub(crate) fn shared_default() -> Result<Arc<rustls::ClientConfig>> {
    static DEFAULT: OnceCell<Arc<rustls::ClientConfig>> = OnceCell::new();
    DEFAULT
        .get_or_try_init(|| build(web_roots().clone()).map(Arc::new))
        .cloned()
}

fn with_bundle(path: &Path) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = web_roots().clone();
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
    Ok(roots)
}

fn build(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup failed: {e}")))?;
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// lic's TLS for ureq: rustls over the connection ureq opened, with the
/// configuration above. ureq's own (its `tls` feature) is not compiled in,
/// so no second configuration is built and thrown away.
pub(crate) struct Connector {
    config: OnceCell<Arc<rustls::ClientConfig>>,
}

impl Connector {
    /// A connector with `config`, or the shared default on first use.
    pub(crate) fn new(config: Option<Arc<rustls::ClientConfig>>) -> Connector {
        let cell = OnceCell::new();
        if let Some(c) = config {
            let _ = cell.set(c);
        }
        Connector { config: cell }
    }
}

/// A TLS handshake failed: the request was certainly not sent (ureq's own
/// connector called this a connection failure too).
#[derive(Debug)]
pub(crate) struct HandshakeFailed(io::Error);

impl std::fmt::Display for HandshakeFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS handshake failed: {}", self.0)
    }
}

impl std::error::Error for HandshakeFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn handshake_failed(e: io::Error) -> ureq::Error {
    io::Error::new(e.kind(), HandshakeFailed(e)).into()
}

impl ureq::TlsConnector for Connector {
    fn connect(
        &self,
        dns_name: &str,
        mut io: Box<dyn ureq::ReadWrite>,
    ) -> std::result::Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        let config = self
            .config
            .get_or_try_init(shared_default)
            .map_err(|e| io::Error::other(e.message))?
            .clone();
        // rustls takes IPv6 literals without their brackets.
        let name = dns_name.trim_start_matches('[').trim_end_matches(']');
        let sni = rustls::pki_types::ServerName::try_from(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
            .to_owned();
        let mut conn = rustls::ClientConnection::new(config, sni)
            .map_err(|e| handshake_failed(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        conn.complete_io(&mut io).map_err(handshake_failed)?;
        Ok(Box::new(TlsStream(rustls::StreamOwned::new(conn, io))))
    }
}

struct TlsStream(rustls::StreamOwned<rustls::ClientConnection, Box<dyn ureq::ReadWrite>>);

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsStream")
    }
}

impl ureq::ReadWrite for TlsStream {
    fn socket(&self) -> Option<&std::net::TcpStream> {
        self.0.get_ref().socket()
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
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

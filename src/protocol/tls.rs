//! TLS for the transport: the bundled web roots plus an optional CA bundle
//! (self-hosted Keygen CE), and TLS failures worded for action.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use once_cell::sync::{Lazy, OnceCell};
use ureq::unversioned::transport::time::{Duration as UDuration, Instant as UInstant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, Transport, TransportAdapter,
};

use super::socket::{self, HeldBuffers, WireError};

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

/// lic's TLS for ureq: rustls, with the configuration above, over the
/// transport the connectors before it made (a TCP connection, or a CONNECT
/// proxy's tunnel). ureq's own rustls connector builds its configuration
/// from ureq's `TlsConfig` (its own roots and protocol versions) and cannot
/// take this one, so it is not compiled in, nor any configuration of its own.
#[derive(Debug)]
pub(crate) struct TlsConnector {
    config: OnceCell<Arc<rustls::ClientConfig>>,
}

impl TlsConnector {
    /// A connector with `config`, or the shared default on first use.
    pub(crate) fn new(config: Option<Arc<rustls::ClientConfig>>) -> TlsConnector {
        let cell = OnceCell::new();
        if let Some(c) = config {
            let _ = cell.set(c);
        }
        TlsConnector { config: cell }
    }
}

/// What a TLS failure on `io` was: rustls refusing the server, the
/// transport's own failure (a timeout stays a timeout), or a handshake cut
/// short.
fn handshake_error(e: io::Error) -> ureq::Error {
    if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
        let inner = e.into_inner().expect("checked above");
        let tls = inner.downcast::<rustls::Error>().expect("checked above");
        return WireError::Tls(*tls).into_ureq();
    }
    if e.get_ref().is_some_and(|i| i.is::<ureq::Error>()) {
        return ureq::Error::from(e);
    }
    WireError::Handshake(e).into_ureq()
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let config = self
            .config
            .get_or_try_init(shared_default)
            .map_err(|e| WireError::Setup(e.message).into_ureq())?
            .clone();
        let host = details.uri.host().unwrap_or_default();
        // rustls takes IPv6 literals without their brackets.
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let sni = rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| {
            WireError::Handshake(io::Error::new(io::ErrorKind::InvalidInput, e)).into_ureq()
        })?;
        let mut conn = rustls::ClientConnection::new(config, sni)
            .map_err(|e| WireError::Tls(e).into_ureq())?;
        let mut io = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        // What is left of the connect's time after the TCP connect.
        let mut left = details.timeout;
        if let (UInstant::Exact(then), UDuration::Exact(after)) = (details.now, left.after) {
            left.after = UDuration::Exact(after.saturating_sub(then.elapsed()));
        }
        socket::limit(&left)?;
        io.set_timeout(left);
        conn.complete_io(&mut io).map_err(handshake_error)?;
        Ok(Some(Either::B(TlsTransport {
            conn,
            io,
            buffers: HeldBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
        })))
    }
}

/// A TLS connection. Its plaintext output is held like a TCP connection's
/// (see `HeldBuffers`), so a request goes out as one TLS record, which the
/// transport below holds in turn until the response is awaited.
pub(crate) struct TlsTransport {
    conn: rustls::ClientConnection,
    io: TransportAdapter,
    buffers: HeldBuffers,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport")
            .field("over", &self.io.inner())
            .finish()
    }
}

impl TlsTransport {
    fn send_held(&mut self, timeout: NextTimeout) -> std::result::Result<(), ureq::Error> {
        if self.buffers.held().is_empty() {
            return Ok(());
        }
        self.io.set_timeout(timeout);
        let mut stream = rustls::Stream::new(&mut self.conn, &mut self.io);
        stream
            .write_all(self.buffers.held())
            .and_then(|()| stream.flush())
            .map_err(tls_io_error)?;
        self.buffers.sent();
        Ok(())
    }
}

/// An I/O failure of an established TLS connection, as ureq's error.
fn tls_io_error(e: io::Error) -> ureq::Error {
    if e.get_ref().is_some_and(|i| i.is::<ureq::Error>()) {
        ureq::Error::from(e)
    } else {
        ureq::Error::Io(e)
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        if self.buffers.hold(amount) {
            self.send_held(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        if !self.buffers.held().is_empty() {
            self.send_held(timeout)?;
            if self.buffers.has_input() {
                return Ok(true);
            }
        }
        self.io.set_timeout(timeout);
        let mut stream = rustls::Stream::new(&mut self.conn, &mut self.io);
        let n = stream
            .read(self.buffers.input_append_buf())
            .map_err(tls_io_error)?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        self.io.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
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

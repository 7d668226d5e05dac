//! HTTPS for the devserver: the rustls server configuration built from PEM, the host name that
//! `base_url()` names (one the certificate is valid for), and the admin client's configuration,
//! which trusts exactly the certificate this server presents.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

/// The certificate chain (leaf first) and its private key, both PEM, for serving HTTPS.
#[derive(Clone)]
pub struct TlsOptions {
    pub cert_chain_pem: Vec<u8>,
    pub private_key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsOptions {
    // Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field(
                "cert_chain_pem",
                &String::from_utf8_lossy(&self.cert_chain_pem),
            )
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

/// What the server needs once TLS is set up.
pub(crate) struct Tls {
    pub server: Arc<ServerConfig>,
    /// The host name (or IP literal) the certificate is valid for, as `base_url()` names it.
    pub host: String,
    /// The admin client's configuration, pinned to this server's leaf certificate.
    pub admin: Arc<ClientConfig>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

pub(crate) fn setup(opts: &TlsOptions, bind_host: &str) -> io::Result<Tls> {
    let chain = CertificateDer::pem_slice_iter(&opts.cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("TLS certificate chain is not valid PEM: {e}")))?;
    let Some(leaf) = chain.first().cloned() else {
        return Err(invalid("TLS certificate chain holds no certificate".into()));
    };
    let key = PrivateKeyDer::from_pem_slice(&opts.private_key_pem)
        .map_err(|e| invalid(format!("TLS private key is not valid PEM: {e}")))?;
    let mut server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("TLS certificate or key is unusable: {e}")))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let host = host_name(&leaf, bind_host)?;
    let admin = admin_config(leaf)?;
    Ok(Tls {
        server: Arc::new(server),
        host,
        admin,
    })
}

/// The name clients should use: `localhost` when serving on loopback (or on every interface) and
/// the certificate is valid for it, else the bound host, else a loopback IP it names.
fn host_name(leaf: &CertificateDer<'_>, bind_host: &str) -> io::Result<String> {
    let parsed = ParsedCertificate::try_from(leaf)
        .map_err(|e| invalid(format!("TLS certificate is unusable: {e}")))?;
    let bind_ip = bind_host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let local = bind_host.eq_ignore_ascii_case("localhost")
        || bind_ip.is_some_and(|ip| ip.is_loopback() || ip.is_unspecified());
    let mut candidates = Vec::new();
    if local {
        candidates.push("localhost".to_string());
    }
    if !bind_ip.is_some_and(|ip| ip.is_unspecified()) {
        candidates.push(bind_host.to_string());
    }
    if local {
        candidates.extend(["127.0.0.1".to_string(), "::1".to_string()]);
    }
    for name in &candidates {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        let Ok(server_name) = ServerName::try_from(bare) else {
            continue;
        };
        if rustls::client::verify_server_name(&parsed, &server_name).is_ok() {
            return Ok(match server_name {
                ServerName::IpAddress(_) if bare.contains(':') => format!("[{bare}]"),
                _ => bare.to_string(),
            });
        }
    }
    Err(invalid(format!(
        "TLS certificate is valid for none of {}",
        candidates.join(", ")
    )))
}

fn admin_config(leaf: CertificateDer<'static>) -> io::Result<Arc<ClientConfig>> {
    let provider = provider();
    let verifier = Pinned {
        leaf,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Trusts exactly one certificate: the admin client talks to its own server, whose leaf it
/// knows, whatever CA (if any) issued it. Handshake signatures are still checked, so only the
/// holder of the server's private key passes.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

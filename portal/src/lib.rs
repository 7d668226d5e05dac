//! lic-portal: the activation portal for air-gapped machines.
//!
//! A machine without internet shows a QR code (lic's activation request:
//! license key, fingerprint, host name, platform, app name). A person scans
//! it with a phone, uploads a picture of it or pastes its text here; the
//! portal validates the key for that fingerprint, activates the machine when
//! the license has none for it, and hands back a machine file (`.lic`) to
//! carry to the machine, where lic verifies and validates it offline.
//!
//! It is built on lic's own core: the same `lic::Client` does the validate,
//! activate and check-out, acting for the request's machine with the
//! license key from the request. It needs no admin token, keeps no state
//! besides its request log, and never writes a license key to it.
//!
//! ```no_run
//! let portal = lic_portal::Portal::start(lic_portal::Options {
//!     api_url: "https://api.keygen.sh".into(),
//!     account_id: "your-account-id".into(),
//!     public_key: "your-account-ed25519-public-key-hex".into(),
//!     ..lic_portal::Options::default()
//! })
//! .unwrap();
//! println!("open {}", portal.url());
//! ```

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub mod flow;
pub mod log;
mod tls;
pub mod web;

pub use flow::{Kind, Outcome, Settings};
pub use log::RequestLog;

/// Where the request log goes.
#[derive(Clone, Debug, Default)]
pub enum LogTo {
    #[default]
    Stderr,
    /// Appended to this file.
    File(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Options {
    /// The Keygen API: `https://api.keygen.sh`, a Keygen CE URL, or lic-devserver's.
    pub api_url: String,
    pub account_id: String,
    /// The account's Ed25519 public key, 64 hex characters: every answer and
    /// every machine file the portal hands out is verified with it.
    pub public_key: String,
    /// Only licenses of this product (Keygen's product scope).
    pub product_id: Option<String>,
    /// TTL of the machine files, in seconds; `None` asks for files that never
    /// expire. Default: Keygen's own (one month, 2629746 s).
    pub checkout_ttl: Option<i64>,
    /// Per call to the licensing server.
    pub timeout: Duration,
    /// Extra PEM CA certificates for a self-hosted Keygen with a private CA.
    pub ca_bundle: Option<PathBuf>,
    pub bind: String,
    /// 0 picks a free port (see [`Portal::url`]).
    pub port: u16,
    /// Serve HTTPS with this PEM certificate chain and private key.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub log: LogTo,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            api_url: lic::config::DEFAULT_BASE_URL.to_string(),
            account_id: String::new(),
            public_key: String::new(),
            product_id: None,
            checkout_ttl: Some(lic::config::DEFAULT_CHECKOUT_TTL),
            timeout: lic::config::DEFAULT_TIMEOUT,
            ca_bundle: None,
            bind: "127.0.0.1".into(),
            port: 0,
            tls: None,
            log: LogTo::Stderr,
        }
    }
}

/// A running portal. Dropping it stops it (in-flight activations get a few
/// seconds to finish).
pub struct Portal {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    log: Arc<RequestLog>,
}

fn invalid(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message.into())
}

impl Portal {
    /// Checks the options, binds the port and starts serving. A bad option
    /// (account, key, URL, certificate) is an error here, not per request.
    pub fn start(opts: Options) -> std::io::Result<Portal> {
        if opts.account_id.is_empty() {
            return Err(invalid("the account id is not set (--account-id)"));
        }
        let public_key = lic::crypto::PublicKey::parse(&opts.public_key).map_err(|e| {
            invalid(format!(
                "the public key (--public-key) must be one of the account's public keys as Keygen shows them: {e}"
            ))
        })?;
        if let Some(ttl) = opts.checkout_ttl {
            // Keygen's bounds for a check-out TTL.
            if !(3600..=31_556_952).contains(&ttl) {
                return Err(invalid(
                    "the check-out TTL must be between 3600 s (1 hour) and 31556952 s (1 year)",
                ));
            }
        }
        let log = Arc::new(match &opts.log {
            LogTo::Stderr => RequestLog::stderr(),
            LogTo::File(p) => RequestLog::file(p)?,
        });
        let lic_log: lic::config::LogSink = {
            let log = log.clone();
            Arc::new(move |level, message| {
                let level = match level {
                    lic::config::LogLevel::Error => "error",
                    lic::config::LogLevel::Warn => "warn",
                    lic::config::LogLevel::Info => "info",
                    lic::config::LogLevel::Debug => "debug",
                };
                log.lic(level, message)
            })
        };
        let settings = Settings {
            api_url: opts.api_url.clone(),
            account_id: opts.account_id.clone(),
            public_key,
            product_id: opts.product_id.clone(),
            checkout_ttl: opts.checkout_ttl,
            timeout: opts.timeout,
            ca_bundle: opts.ca_bundle.clone(),
            lic_log: Some(lic_log),
        };
        settings.check().map_err(|e| invalid(e.message))?;
        let tls = match &opts.tls {
            Some((cert, key)) => Some(TlsAcceptor::from(
                tls::server_config(cert, key).map_err(invalid)?,
            )),
            None => None,
        };

        let listener = StdListener::bind((opts.bind.as_str(), opts.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lic-portal")
            .enable_all()
            .build()?;
        let app = web::router(web::AppState {
            settings: Arc::new(settings),
            log: log.clone(),
        });
        let (stop, stopped) = watch::channel(false);
        let is_tls = tls.is_some();
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        runtime.spawn(accept_loop(listener, app, tls, stopped));
        log.portal(&format!(
            "listening on {}://{addr} for account {}",
            if is_tls { "https" } else { "http" },
            opts.account_id
        ));
        Ok(Portal {
            runtime: Some(runtime),
            addr,
            tls: is_tls,
            stop,
            log,
        })
    }

    /// `http://127.0.0.1:PORT/` (or https), the address to open. When bound
    /// to all interfaces it names loopback.
    pub fn url(&self) -> String {
        let host = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => "127.0.0.1".to_string(),
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) if a.ip().is_unspecified() => "[::1]".to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}/", self.addr.port())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until SIGINT or SIGTERM (for the binary).
    pub fn wait_for_signal(&self) {
        if let Some(rt) = &self.runtime {
            rt.block_on(async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    match signal(SignalKind::terminate()) {
                        Ok(mut term) => {
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {}
                                _ = term.recv() => {}
                            }
                        }
                        Err(_) => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = tokio::signal::ctrl_c().await;
                }
            });
        }
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        self.log.portal("stopped");
    }
}

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait, do not spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(stream, app).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        serve(stream, app).await;
                    }
                }
            }
        });
    }
}

async fn serve<IO>(io: IO, app: axum::Router)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
        .await;
}

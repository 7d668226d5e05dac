//! The HTTP transport: one keep-alive agent per client, an overall deadline
//! per call, retries where they are safe, signature verification before
//! anything in a response is used, and one mapping from Keygen error
//! documents to `ErrorKind`.

use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "online")]
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(feature = "online")]
use once_cell::sync::OnceCell;
use serde_json::Value;

use super::deadline::Deadline;
use super::errors::{error_suffix, map_error_document};
#[cfg(feature = "online")]
use super::resolve::DeadlineResolver;
use super::signature::{verify_response, RequestInfo};
#[cfg(feature = "online")]
use super::socket::{is_timeout, TcpConnector, WireError};
#[cfg(feature = "online")]
use super::tls::{custom_config, tls_message, TlsConnector};
#[cfg(feature = "online")]
use super::url::proxy_for;
use super::url::BaseUrl;
use crate::config::{Config, LogLevel, Logger};
use crate::crypto::{random_bytes, KeySet, SigAlg};
use crate::error::{Error, ErrorKind, Result};
use crate::model::SignedMaterial;
use crate::time::{now_ms, parse_http_date, Millis};

/// Responses larger than this are refused (a machine file with its license
/// and entitlements is a few tens of KiB).
pub const MAX_BODY: u64 = 4 << 20;
const MAX_ATTEMPTS: u32 = 4;

pub enum Auth<'a> {
    None,
    License(&'a str),
    Bearer(&'a str),
}

pub struct Call<'a> {
    pub method: &'static str,
    /// Resource path below the account, without a leading slash.
    pub path: String,
    pub query: Option<String>,
    pub body: Option<Value>,
    pub auth: Auth<'a>,
    /// The request may be sent again after it may have reached the server
    /// (reads, validations, activation which is idempotent by fingerprint).
    pub retry_safe: bool,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The exact body bytes (already checked to be JSON for 2xx answers
    /// only when read; see `json` and `parse`).
    pub body: Vec<u8>,
    /// The signed material, when a public key is configured (always verified then).
    pub signed: Option<SignedMaterial>,
    /// The response `Date`, trusted only when `signed` is set.
    pub date_ms: Option<Millis>,
}

impl Reply {
    /// The body as a JSON document (`Null` for an empty body).
    pub fn json(&self) -> Result<Value> {
        self.parse()
    }

    /// The body deserialized into `T` (for the hot path: no DOM is built).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            Error::new(
                ErrorKind::BadResponse,
                format!("response is not the JSON expected: {e}"),
            )
        })
    }
}

/// A raw answer, before anything in it is checked.
struct Exchanged {
    status: u16,
    date: Option<String>,
    digest: Option<String>,
    signature: Option<String>,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

/// What every network call answers in a build without the `online`
/// feature (an offline-only lic for air-gapped apps).
pub fn offline_only() -> Error {
    Error::new(
        ErrorKind::Network,
        "this build of lic has no network support (built without the `online` feature): it validates only from offline evidence (a machine or license file)",
    )
}

// Without `online`, what requests are made from is never read.
#[cfg_attr(not(feature = "online"), allow(dead_code))]
pub struct Transport {
    wire: Wire,
    base: BaseUrl,
    account: String,
    api_version: String,
    user_agent: String,
    keys: KeySet,
    /// `Keygen-Accept-Signature`, sent when the keys lack Keygen's default
    /// Ed25519: the response signature lic can verify with what it has.
    accept_signature: Option<String>,
    timeout: Duration,
    max_age_ms: i64,
    log: Logger,
    /// The signed host form that verified last (see `RequestInfo::port_first`).
    port_first: AtomicBool,
}

/// The connection side of a wire client: what its agent is built from,
/// checked when the client is made, and the keep-alive agent itself, built
/// by the first request (a client that stays offline never builds one, nor
/// any TLS configuration).
#[cfg(feature = "online")]
pub(crate) struct Wire {
    agent: OnceCell<ureq::Agent>,
    idle_per_host: usize,
    proxy: Option<ureq::Proxy>,
    /// The configured CA bundle's TLS configuration; `None` for the
    /// process-wide default, built on the first TLS connection.
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// A response as ureq 3 gives it.
#[cfg(feature = "online")]
pub(crate) type HttpResponse = ureq::http::Response<ureq::Body>;

#[cfg(feature = "online")]
impl Wire {
    /// Checks what a config says about the connection to `base` (the proxy
    /// URL, the CA bundle, read now even for http:// so a bad bundle is
    /// reported at once), doing no TLS work unless a CA bundle is set.
    pub(crate) fn new(cfg: &Config, base: &BaseUrl, idle_per_host: usize) -> Result<Wire> {
        Ok(Wire {
            agent: OnceCell::new(),
            idle_per_host,
            tls: custom_config(cfg)?,
            proxy: proxy_for(cfg, base)?,
        })
    }

    /// The agent, built on first use: lic's resolver, and lic's connectors
    /// (an HTTP proxy's CONNECT tunnel, TCP, TLS); no redirects, no
    /// User-Agent or Accept-Encoding of ureq's own, and HTTP error statuses
    /// as answers.
    fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            use ureq::unversioned::transport::{ConnectProxyConnector, Connector};
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent("")
                .accept_encoding("")
                .max_idle_connections(self.idle_per_host)
                .max_idle_connections_per_host(self.idle_per_host)
                .proxy(self.proxy.clone())
                .build();
            let connector =
                ().chain(ConnectProxyConnector::default())
                    .chain(TcpConnector)
                    .chain(TlsConnector::new(self.tls.clone()));
            ureq::Agent::with_parts(config, connector, DeadlineResolver)
        })
    }

    /// Sends `request` and reads the response head, all before `deadline`
    /// (the body is read within it too).
    pub(crate) fn run<S: ureq::AsSendBody>(
        &self,
        request: ureq::http::Request<S>,
        deadline: Instant,
    ) -> std::result::Result<HttpResponse, ureq::Error> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let agent = self.agent();
        let request = agent
            .configure_request(request)
            .timeout_global(Some(remaining))
            .build();
        agent.run(request)
    }
}

/// The body of `response`, at most `limit` bytes, within the request's deadline.
#[cfg(feature = "online")]
pub(crate) fn read_body(
    response: HttpResponse,
    limit: u64,
) -> std::result::Result<Vec<u8>, ureq::Error> {
    use std::io::Read;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(ureq::Error::from)?;
    Ok(bytes)
}

/// What a failure while reading an answer is: a timeout, or else the network.
#[cfg(feature = "online")]
pub(crate) fn read_error_kind(e: &ureq::Error) -> ErrorKind {
    if timed_out(e) {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    }
}

/// Whether a ureq error is a deadline that passed.
#[cfg(feature = "online")]
pub(crate) fn timed_out(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => is_timeout(io),
        _ => false,
    }
}

/// lic's own classification of a connection failure, when ureq carries one.
#[cfg(feature = "online")]
pub(crate) fn wire_error(e: &ureq::Error) -> Option<&WireError> {
    match e {
        ureq::Error::Other(o) => o.downcast_ref::<WireError>(),
        _ => None,
    }
}

/// Built without the `online` feature: no connection is ever made, so
/// neither the proxy nor the CA bundle matter.
#[cfg(not(feature = "online"))]
pub(crate) struct Wire;

#[cfg(not(feature = "online"))]
impl Wire {
    pub(crate) fn new(_cfg: &Config, _base: &BaseUrl, _idle_per_host: usize) -> Result<Wire> {
        Ok(Wire)
    }
}

impl Transport {
    pub fn new(cfg: &Config, account: &str) -> Result<Transport> {
        let base = BaseUrl::parse(&cfg.base_url, cfg.allow_insecure_http)?;
        let wire = Wire::new(cfg, &base, 16)?;
        let mut user_agent = format!(
            "lic/{} keygen/{}",
            env!("CARGO_PKG_VERSION"),
            cfg.api_version
        );
        if let Some(s) = &cfg.user_agent_suffix {
            user_agent.push(' ');
            user_agent.push_str(s);
        }
        Ok(Transport {
            wire,
            base,
            account: account.to_string(),
            api_version: cfg.api_version.clone(),
            user_agent,
            keys: cfg.public_keys.clone(),
            accept_signature: accept_signature(&cfg.public_keys),
            timeout: cfg.timeout,
            max_age_ms: cfg.max_response_age.as_millis() as i64,
            log: Logger::new(cfg),
            port_first: AtomicBool::new(false),
        })
    }

    pub fn verifies(&self) -> bool {
        !self.keys.is_empty()
    }

    pub fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        self.log.log(level, message)
    }

    pub fn logger(&self) -> &Logger {
        &self.log
    }

    /// The request target (path and query) for a resource path.
    pub fn target(&self, path: &str, query: Option<&str>) -> String {
        let mut t = self.base.prefix.clone();
        if self.base.account_in_path {
            t.push_str(&format!("/v1/accounts/{}/{path}", self.account));
        } else {
            t.push_str(&format!("/v1/{path}"));
        }
        if let Some(q) = query {
            t.push('?');
            t.push_str(q);
        }
        t
    }

    /// Sends a call within one overall deadline (the configured timeout),
    /// retrying where it is safe. `Ok` only for a verified 2xx answer.
    pub fn send(&self, call: &Call<'_>) -> Result<Reply> {
        self.send_until(call, None)
    }

    /// As `send`, ending by `deadline` (a public call's one deadline).
    pub fn send_by(&self, call: &Call<'_>, deadline: &Deadline) -> Result<Reply> {
        self.send_until(call, Some(deadline.at()))
    }

    /// As `send`, with the deadline brought forward to `limit` when that is
    /// sooner than the configured timeout.
    pub fn send_until(&self, call: &Call<'_>, limit: Option<Instant>) -> Result<Reply> {
        let mut deadline = Instant::now() + self.timeout;
        if let Some(limit) = limit {
            deadline = deadline.min(limit);
        }
        let target = self.target(&call.path, call.query.as_deref());
        let url = format!("{}{}", self.base.origin(), target);
        let body = call.body.as_ref().map(|b| b.to_string());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let outcome = self.attempt(call, &url, &target, body.as_deref(), deadline);
            self.log(LogLevel::Debug, || {
                let what = match &outcome {
                    Ok(r) => r.status.to_string(),
                    Err(e) => format!("{:?}: {}", e.error.kind, e.error),
                };
                format!(
                    "{} {} -> {} ({} ms, attempt {attempt})",
                    call.method,
                    target,
                    what,
                    started.elapsed().as_millis()
                )
            });
            let failure = match outcome {
                Ok(reply) => return Ok(reply),
                Err(f) => f,
            };
            let wait = match failure.retry {
                Retry::No => None,
                Retry::After(d) => Some(d),
                Retry::Backoff if failure.before_send || call.retry_safe => Some(backoff(attempt)),
                Retry::Backoff => None,
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            match wait {
                Some(d) if attempt < MAX_ATTEMPTS && d < remaining => {
                    self.log(LogLevel::Info, || {
                        format!(
                            "retrying {} {} in {} ms: {}",
                            call.method,
                            target,
                            d.as_millis(),
                            failure.error
                        )
                    });
                    std::thread::sleep(d);
                }
                _ => return Err(failure.error),
            }
        }
    }

    fn attempt(
        &self,
        call: &Call<'_>,
        url: &str,
        target: &str,
        body: Option<&str>,
        deadline: Instant,
    ) -> std::result::Result<Reply, Failure> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::final_(Error::new(
                ErrorKind::Timeout,
                format!("no answer within {} ms", self.timeout.as_millis()),
            )));
        }
        let Exchanged {
            status,
            date,
            digest,
            signature,
            retry_after,
            body: bytes,
        } = self.exchange(call, url, body, deadline)?;
        if bytes.len() as u64 > MAX_BODY {
            return Err(Failure::final_(Error::new(
                ErrorKind::BadResponse,
                format!("response body is larger than {MAX_BODY} bytes"),
            )));
        }

        // Unsigned by Keygen too (middleware answers): never evidence, so no
        // signature is required, and nothing in them is trusted.
        if status == 429 {
            let mut e = Error::new(
                ErrorKind::RateLimited,
                "rate limited by the server (429)".to_string(),
            );
            e.retry_after = retry_after;
            let retry = match retry_after {
                Some(s) => Retry::After(Duration::from_secs(s)),
                None => Retry::Backoff,
            };
            return Err(Failure {
                error: e,
                retry,
                before_send: true,
            });
        }
        if status >= 500 {
            let e = Error::new(
                ErrorKind::ServerError,
                format!("server error {status}{}", error_suffix(&bytes)),
            );
            return Err(if matches!(status, 502..=504) {
                Failure::backoff(e)
            } else {
                Failure::final_(e)
            });
        }
        if (300..400).contains(&status) {
            return Err(Failure::final_(Error::new(ErrorKind::BadResponse, format!("server answered {status} (a redirect); lic does not follow redirects: check the API URL"))));
        }

        let mut signed = None;
        let mut date_ms = date.as_deref().and_then(parse_http_date);
        if !self.keys.is_empty() {
            let authority = self.base.authority();
            let req_info = RequestInfo {
                method: call.method,
                target,
                host: &authority,
                host_without_port: self.base.port.map(|_| self.base.host.as_str()),
                port_first: self.port_first.load(Ordering::Relaxed),
                account_id: &self.account,
            };
            let (material, signed_date, with_port) = verify_response(
                &self.keys,
                &req_info,
                &bytes,
                date.as_deref(),
                digest.as_deref(),
                signature.as_deref(),
            )
            .map_err(Failure::final_)?;
            self.port_first.store(with_port, Ordering::Relaxed);
            let skew = (signed_date - now_ms()).abs();
            if skew > self.max_age_ms {
                return Err(Failure::final_(Error::new(
                    ErrorKind::ResponseMismatch,
                    format!(
                        "response Date is {} s away from this machine's clock (allowed {} s): a replayed response, or the system clock is wrong",
                        skew / 1000,
                        self.max_age_ms / 1000
                    ),
                )));
            }
            date_ms = Some(signed_date);
            signed = Some(material);
        }

        let reply = Reply {
            status,
            body: bytes,
            signed,
            date_ms,
        };
        if !(200..300).contains(&status) {
            let json = reply.json().map_err(Failure::final_)?;
            return Err(Failure::final_(map_error_document(status, &json)));
        }
        Ok(reply)
    }

    /// The request on the wire and the raw answer: status, the headers lic
    /// reads, and the body (at most `MAX_BODY + 1` bytes).
    #[cfg(feature = "online")]
    fn exchange(
        &self,
        call: &Call<'_>,
        url: &str,
        body: Option<&str>,
        deadline: Instant,
    ) -> std::result::Result<Exchanged, Failure> {
        let mut req = ureq::http::Request::builder()
            .method(call.method)
            .uri(url)
            .header("Accept", "application/vnd.api+json")
            .header("Keygen-Version", &self.api_version)
            .header("User-Agent", &self.user_agent);
        if let Some(accept) = &self.accept_signature {
            req = req.header("Keygen-Accept-Signature", accept);
        }
        match call.auth {
            Auth::None => {}
            Auth::License(k) => req = req.header("Authorization", license_authorization(k)),
            Auth::Bearer(t) => req = req.header("Authorization", format!("Bearer {t}")),
        }
        let bad_request = |e: ureq::http::Error| {
            Failure::final_(Error::new(
                ErrorKind::InvalidArgument,
                format!("bad request: {e}"),
            ))
        };
        let result = match body {
            Some(b) => {
                let req = req
                    .header("Content-Type", "application/vnd.api+json")
                    .body(b.as_bytes())
                    .map_err(bad_request)?;
                self.wire.run(req, deadline)
            }
            None => self.wire.run(req.body(()).map_err(bad_request)?, deadline),
        };
        let resp = result.map_err(|e| self.transport_failure(e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (date, digest, signature) =
            (header("Date"), header("Digest"), header("Keygen-Signature"));
        let retry_after = header("Retry-After").and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = read_body(resp, MAX_BODY + 1).map_err(|e| {
            let kind = read_error_kind(&e);
            Failure::backoff(Error::new(
                kind,
                format!("connection failed while reading the {status} response: {e}"),
            ))
        })?;
        Ok(Exchanged {
            status,
            date,
            digest,
            signature,
            retry_after,
            body: bytes,
        })
    }

    /// Built without the `online` feature: nothing goes on the wire.
    #[cfg(not(feature = "online"))]
    fn exchange(
        &self,
        _call: &Call<'_>,
        _url: &str,
        _body: Option<&str>,
        _deadline: Instant,
    ) -> std::result::Result<Exchanged, Failure> {
        Err(Failure::final_(offline_only()))
    }

    #[cfg(feature = "online")]
    fn transport_failure(&self, e: ureq::Error) -> Failure {
        let timeout = || {
            Failure::final_(Error::new(
                ErrorKind::Timeout,
                format!("no answer within {} ms", self.timeout.as_millis()),
            ))
        };
        if timed_out(&e) {
            return timeout();
        }
        let origin = self.base.origin();
        // Worded for action whatever the platform's own text (Linux errno
        // 111, Winsock 10061, …), with the OS's own words after it.
        let unreachable = |io: &std::io::Error| {
            let what = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => format!(
                    "the connection to {origin} was refused, so no server is listening there: check the API URL and that the server is running"
                ),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::UnexpectedEof => format!(
                    "the connection to {origin} was cut by the other side or by a firewall: check the API URL, the proxy settings and the firewall"
                ),
                std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::HostUnreachable => format!(
                    "{origin} cannot be reached from this machine (no route): check the network connection and the API URL"
                ),
                _ => format!("cannot reach {origin}: check the API URL and the network"),
            };
            Failure {
                error: Error::new(ErrorKind::Network, format!("{what} ({io})")),
                retry: Retry::Backoff,
                before_send: true,
            }
        };
        let tls = |t: &rustls::Error| Failure::final_(Error::new(ErrorKind::Tls, tls_message(t)));
        if let Some(w) = wire_error(&e) {
            return match w {
                WireError::Resolve(io) => Failure {
                    error: Error::new(
                        ErrorKind::Network,
                        format!("cannot resolve {}: check the API URL, and this machine's network and DNS ({io})", self.base.host),
                    ),
                    retry: Retry::Backoff,
                    before_send: true,
                },
                WireError::Connect(io) => unreachable(io),
                WireError::Handshake(io) => match io.get_ref().and_then(|i| i.downcast_ref()) {
                    Some(t) => tls(t),
                    None => unreachable(io),
                },
                WireError::Tls(t) => tls(t),
                WireError::Setup(s) => Failure::final_(Error::new(ErrorKind::Network, s.clone())),
            };
        }
        match e {
            ureq::Error::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref()) {
                Some(t) => tls(t),
                None => Failure::backoff(Error::new(
                    ErrorKind::Network,
                    format!("connection failed: {io}"),
                )),
            },
            ureq::Error::HostNotFound => Failure {
                error: Error::new(
                    ErrorKind::Network,
                    format!(
                        "cannot resolve {}: check the API URL, and this machine's network and DNS",
                        self.base.host
                    ),
                ),
                retry: Retry::Backoff,
                before_send: true,
            },
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => Failure::final_(Error::new(
                ErrorKind::InvalidArgument,
                format!("bad request URL: {e}"),
            )),
            ureq::Error::ConnectProxyFailed(_) | ureq::Error::InvalidProxyUrl => {
                Failure::final_(Error::new(ErrorKind::Network, format!("proxy failed: {e}")))
            }
            ureq::Error::Protocol(_)
            | ureq::Error::LargeResponseHeader(..)
            | ureq::Error::BodyStalled => Failure::backoff(Error::new(
                ErrorKind::BadResponse,
                format!("malformed HTTP response: {e}"),
            )),
            _ => Failure::backoff(Error::new(
                ErrorKind::Network,
                format!("connection failed: {e}"),
            )),
        }
    }
}

/// The `Keygen-Accept-Signature` value for a key set: none while it has the
/// Ed25519 key (Keygen's default), else the algorithm of its RSA (PSS) or
/// ECDSA key. No `keyid`: Keygen answers 400 when it differs from the
/// account's UUID, and the configured account may be a slug.
pub fn accept_signature(keys: &KeySet) -> Option<String> {
    match keys.preferred()? {
        SigAlg::Ed25519 => None,
        alg => Some(format!("algorithm=\"{}\"", alg.name())),
    }
}

/// `License <key>`, or Keygen's equivalent Basic `license:<key>` for keys
/// that are not plain visible ASCII (header values must be).
pub fn license_authorization(key: &str) -> String {
    if key.bytes().all(|b| b.is_ascii_graphic()) {
        format!("License {key}")
    } else {
        format!(
            "Basic {}",
            crate::crypto::b64_std(format!("license:{key}").as_bytes())
        )
    }
}

enum Retry {
    No,
    Backoff,
    After(Duration),
}

struct Failure {
    error: Error,
    retry: Retry,
    /// The request certainly did not reach the server, so resending is safe
    /// whatever the method.
    before_send: bool,
}

impl Failure {
    fn final_(error: Error) -> Failure {
        Failure {
            error,
            retry: Retry::No,
            before_send: false,
        }
    }
    fn backoff(error: Error) -> Failure {
        Failure {
            error,
            retry: Retry::Backoff,
            before_send: false,
        }
    }
}

/// Exponential backoff from 100 ms with full jitter.
pub fn backoff(attempt: u32) -> Duration {
    let cap = 100u64 << attempt.min(6);
    let mut b = [0u8; 8];
    let r = if random_bytes(&mut b).is_ok() {
        u64::from_le_bytes(b)
    } else {
        cap / 2
    };
    Duration::from_millis(cap / 2 + r % (cap / 2 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET ping`, unauthenticated, not retried.
    #[cfg(feature = "online")]
    fn ping() -> Call<'static> {
        Call {
            method: "GET",
            path: "ping".into(),
            query: None,
            body: None,
            auth: Auth::None,
            retry_safe: false,
        }
    }

    #[test]
    fn accept_signature_asks_for_what_the_keys_verify() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/signing/vectors.json")).unwrap();
        let key =
            |k: &str| crate::crypto::PublicKey::parse(v["account"][k].as_str().unwrap()).unwrap();
        assert_eq!(accept_signature(&KeySet::new()), None);
        assert_eq!(
            accept_signature(&KeySet::of(key("ed25519"))),
            None,
            "Keygen's default"
        );
        let rsa = KeySet::of(key("rsa"));
        assert_eq!(
            accept_signature(&rsa).as_deref(),
            Some(r#"algorithm="rsa-pss-sha256""#)
        );
        let mut both = rsa.clone();
        both.add(key("ed25519"));
        assert_eq!(accept_signature(&both), None, "Ed25519 stays the default");
        assert_eq!(
            accept_signature(&KeySet::of(key("ecdsa"))).as_deref(),
            Some(r#"algorithm="ecdsa-p256""#)
        );
    }

    #[test]
    fn license_auth_header_is_always_ascii() {
        assert_eq!(license_authorization("ABC-123"), "License ABC-123");
        let h = license_authorization("clé ü");
        assert!(h.starts_with("Basic ") && h.is_ascii());
        assert_eq!(
            crate::crypto::b64_std_decode(&h[6..]).unwrap(),
            "license:clé ü".as_bytes()
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..10 {
            let d = backoff(attempt).as_millis() as u64;
            let cap = 100u64 << attempt.min(6);
            assert!(d >= cap / 2 && d <= cap, "{attempt}: {d}");
        }
    }

    #[test]
    #[cfg(feature = "online")]
    fn ca_bundle_is_checked_whatever_the_scheme() {
        let cfg = Config {
            base_url: "http://127.0.0.1:1".into(),
            ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..Config::default()
        };
        assert_eq!(
            Transport::new(&cfg, "acct").err().unwrap().kind,
            ErrorKind::Io
        );
    }

    #[test]
    fn targets_follow_keygens_url_rule() {
        let cloud = Transport::new(&Config::default(), "acct").unwrap();
        assert_eq!(cloud.target("me", None), "/v1/accounts/acct/me");
        let cfg = Config {
            base_url: "http://127.0.0.1:1".into(),
            ..Config::default()
        };
        let local = Transport::new(&cfg, "acct").unwrap();
        assert_eq!(
            local.target("machines", Some("page[size]=100")),
            "/v1/machines?page[size]=100"
        );
    }

    /// One HTTP/1.1 message head from `r`, as lines.
    #[cfg(feature = "online")]
    fn head(r: &mut impl std::io::BufRead) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let line = line.trim_end().to_string();
            if line.is_empty() {
                return lines;
            }
            lines.push(line);
        }
    }

    #[test]
    #[cfg(feature = "online")]
    fn requests_go_through_a_connect_proxy_with_only_lics_headers() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = format!("http://{}", listener.local_addr().unwrap());
        // The proxy answers CONNECT, then plays the server itself.
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut r = std::io::BufReader::new(s);
            let connect = head(&mut r);
            r.get_mut()
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let request = head(&mut r);
            let body = br#"{"errors":[{"title":"Not found","code":"NOT_FOUND"}]}"#;
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            r.get_mut().write_all(answer.as_bytes()).unwrap();
            r.get_mut().write_all(body).unwrap();
            (connect, request)
        });
        let cfg = Config {
            base_url: "http://127.0.0.1:9".into(),
            proxy: Some(proxy),
            timeout: Duration::from_secs(5),
            ..Config::default()
        };
        let t = Transport::new(&cfg, "acct").unwrap();
        let e = t.send(&ping()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        let (connect, request) = server.join().unwrap();
        assert_eq!(connect[0], "CONNECT 127.0.0.1:9 HTTP/1.1", "{connect:?}");
        assert_eq!(request[0], "GET /v1/ping HTTP/1.1", "{request:?}");
        let named = |name: &str| {
            request
                .iter()
                .filter(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            named("user-agent"),
            vec![format!(
                "user-agent: lic/{} keygen/{}",
                env!("CARGO_PKG_VERSION"),
                cfg.api_version
            )]
        );
        assert!(named("accept-encoding").is_empty(), "{request:?}");
        assert_eq!(named("accept"), vec!["accept: application/vnd.api+json"]);
    }

    #[test]
    #[cfg(feature = "online")]
    fn a_refused_connection_says_what_to_do() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let cfg = Config {
            base_url: format!("http://127.0.0.1:{port}"),
            timeout: Duration::from_secs(2),
            ..Config::default()
        };
        let t = Transport::new(&cfg, "acct").unwrap();
        let e = t.send(&ping()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(
            e.message.contains("was refused") && e.message.contains("check the API URL"),
            "{}",
            e.message
        );
    }
}

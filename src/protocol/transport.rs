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
use super::resolve::{resolve, with_deadline, ConnectFailed};
use super::signature::{verify_response, RequestInfo};
#[cfg(feature = "online")]
use super::tls::{custom_config, tls_message, Connector, HandshakeFailed};
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
    connect_timeout: Duration,
    idle_per_host: usize,
    proxy: Option<ureq::Proxy>,
    /// The configured CA bundle's TLS configuration; `None` for the
    /// process-wide default, built on the first TLS connection.
    tls: Option<Arc<rustls::ClientConfig>>,
}

#[cfg(feature = "online")]
impl Wire {
    /// Checks what a config says about the connection to `base` (the proxy
    /// URL, the CA bundle, read now even for http:// so a bad bundle is
    /// reported at once), doing no TLS work unless a CA bundle is set.
    pub(crate) fn new(cfg: &Config, base: &BaseUrl, idle_per_host: usize) -> Result<Wire> {
        Ok(Wire {
            agent: OnceCell::new(),
            connect_timeout: cfg.timeout,
            idle_per_host,
            tls: custom_config(cfg)?,
            proxy: proxy_for(cfg, base)?,
        })
    }

    /// The agent, built on first use.
    pub(crate) fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            let mut builder = ureq::AgentBuilder::new()
                .redirects(0)
                .timeout_connect(self.connect_timeout)
                .max_idle_connections_per_host(self.idle_per_host)
                .resolver(|netloc: &str| resolve(netloc))
                .tls_connector(Arc::new(Connector::new(self.tls.clone())))
                .user_agent("");
            if let Some(proxy) = &self.proxy {
                builder = builder.proxy(proxy.clone());
            }
            builder.build()
        })
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
        use std::io::Read;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut req = self
            .wire
            .agent()
            .request(call.method, url)
            .timeout(remaining)
            .set("Accept", "application/vnd.api+json")
            .set("Keygen-Version", &self.api_version)
            .set("User-Agent", &self.user_agent);
        if let Some(accept) = &self.accept_signature {
            req = req.set("Keygen-Accept-Signature", accept);
        }
        match call.auth {
            Auth::None => {}
            Auth::License(k) => req = req.set("Authorization", &license_authorization(k)),
            Auth::Bearer(t) => req = req.set("Authorization", &format!("Bearer {t}")),
        }
        #[allow(clippy::result_large_err)] // ureq's own error type, unwrapped at once
        let result = with_deadline(deadline, self.timeout, || match body {
            Some(b) => req
                .set("Content-Type", "application/vnd.api+json")
                .send_string(b),
            None => req.call(),
        });
        let resp = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(self.transport_failure(t)),
        };
        let status = resp.status();
        let header = |name: &str| resp.header(name).map(str::to_string);
        let (date, digest, signature) =
            (header("Date"), header("Digest"), header("Keygen-Signature"));
        let retry_after = header("Retry-After").and_then(|v| v.trim().parse::<u64>().ok());
        let mut bytes = Vec::new();
        if let Err(e) = resp
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut bytes)
        {
            let kind = if is_timeout(&e) {
                ErrorKind::Timeout
            } else {
                ErrorKind::Network
            };
            return Err(Failure::backoff(Error::new(
                kind,
                format!("connection failed while reading the {status} response: {e}"),
            )));
        }
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
    fn transport_failure(&self, t: ureq::Transport) -> Failure {
        use std::error::Error as _;
        let text = t.to_string();
        let mut io_kind = None;
        let mut io_text = None;
        // A connect tried by the resolver (late in a call) that failed.
        let mut probe = false;
        // A TLS handshake that failed (not on the certificate): before the request.
        let mut handshake = false;
        let mut source = t.source();
        while let Some(s) = source {
            if let Some(tls) = s.downcast_ref::<rustls::Error>() {
                return Failure::final_(Error::new(ErrorKind::Tls, tls_message(tls)));
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if is_timeout(io) {
                    return Failure::final_(Error::new(
                        ErrorKind::Timeout,
                        format!("no answer within {} ms", self.timeout.as_millis()),
                    ));
                }
                if let Some(inner) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return Failure::final_(Error::new(ErrorKind::Tls, tls_message(inner)));
                }
                probe |= io.get_ref().is_some_and(|i| i.is::<ConnectFailed>());
                handshake |= io.get_ref().is_some_and(|i| i.is::<HandshakeFailed>());
                if io_kind.is_none() {
                    io_kind = Some(io.kind());
                    io_text = Some(io.to_string());
                }
            }
            source = s.source();
        }
        let origin = self.base.origin();
        match t.kind() {
            ureq::ErrorKind::Dns if !probe => Failure {
                error: Error::new(
                    ErrorKind::Network,
                    format!("cannot resolve {}: check the API URL, and this machine's network and DNS ({text})", self.base.host),
                ),
                retry: Retry::Backoff,
                before_send: true,
            },
            ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Io
                if t.kind() != ureq::ErrorKind::Io || handshake =>
            {
                // Worded for action whatever the platform's own text
                // (Linux errno 111, Winsock 10061, …).
                let what = match io_kind {
                    Some(std::io::ErrorKind::ConnectionRefused) => format!(
                        "the connection to {origin} was refused, so no server is listening there: check the API URL and that the server is running"
                    ),
                    Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => format!(
                        "the connection to {origin} was cut by the other side or by a firewall: check the API URL, the proxy settings and the firewall"
                    ),
                    Some(std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::HostUnreachable) => format!(
                        "{origin} cannot be reached from this machine (no route): check the network connection and the API URL"
                    ),
                    _ => format!("cannot reach {origin}: check the API URL and the network"),
                };
                // The OS's own words, without ureq's restatement of the URL.
                let why = io_text.unwrap_or(text);
                Failure {
                    error: Error::new(ErrorKind::Network, format!("{what} ({why})")),
                    retry: Retry::Backoff,
                    before_send: true,
                }
            }
            ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
                Failure::final_(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("bad request URL: {text}"),
                ))
            }
            ureq::ErrorKind::ProxyConnect
            | ureq::ErrorKind::ProxyUnauthorized
            | ureq::ErrorKind::InvalidProxyUrl => Failure::final_(Error::new(
                ErrorKind::Network,
                format!("proxy failed: {text}"),
            )),
            ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => {
                Failure::backoff(Error::new(
                    ErrorKind::BadResponse,
                    format!("malformed HTTP response: {text}"),
                ))
            }
            _ => Failure::backoff(Error::new(
                ErrorKind::Network,
                format!("connection failed: {text}"),
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

#[cfg(feature = "online")]
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
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
        let e = t
            .send(&Call {
                method: "GET",
                path: "ping".into(),
                query: None,
                body: None,
                auth: Auth::None,
                retry_safe: false,
            })
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(
            e.message.contains("was refused") && e.message.contains("check the API URL"),
            "{}",
            e.message
        );
    }
}

//! The HTTP client of a relay: one keep-alive agent, the claim and release with their
//! statuses and bodies (Relay 1.0 to 1.3: `expires_*` are optional, a 202 may be empty), the
//! signature checked before anything in an answer is used, and the lease's end on this
//! machine's clock from `expires_at` and the relay's clock.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::signature;
use crate::config::{Config, LogLevel, Logger};
use crate::crypto::b64_std_decode;
use crate::error::{err, Error, ErrorKind, Result};
use crate::protocol::{backoff, pct, BaseUrl, Wire};
#[cfg(feature = "online")]
use crate::protocol::{read_body, read_error_kind, timed_out, wire_error, WireError, MAX_BODY};
#[cfg(feature = "online")]
use crate::time::now_ms;
use crate::time::Millis;

/// The TTL assumed when a relay does not say (Relay before 1.2): its minimum, 30 s, so that
/// renewals at half of it keep any lease alive.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
const MAX_ATTEMPTS: u32 = 3;

/// A lease as a claim's answer describes it.
#[derive(Clone, Debug)]
pub struct Lease {
    /// The relay's TTL (`expires_in`), when it says.
    pub ttl: Option<Duration>,
    /// When the lease ends unless renewed, on this machine's clock: `expires_at` minus the
    /// relay's clock (`Relay-Clock`, or the signed time) added to the moment the answer
    /// arrived, so a relay whose clock is off still gives the right end. `None` when the relay
    /// says nothing (Relay before 1.2).
    pub expires: Option<Millis>,
    /// The same end on the monotonic clock, for the renewal schedule.
    pub expires_at: Option<Instant>,
    /// When the answer arrived.
    pub received: Instant,
    /// The relay's clock minus this machine's, in seconds, when the relay sent its clock.
    pub skew_seconds: Option<i64>,
}

/// A successful claim.
pub enum Claim {
    /// 201: a new lease, with the license file (its text) and the key that decrypts it.
    Created {
        license_file: String,
        license_key: String,
        lease: Lease,
    },
    /// 202: this node's lease was extended. No file comes with it.
    Extended(Lease),
}

#[derive(Deserialize)]
struct CreatedBody {
    license_file: String,
    license_key: String,
    expires_at: Option<i64>,
    expires_in: Option<i64>,
}

#[derive(Deserialize, Default)]
struct ExtendedBody {
    expires_at: Option<i64>,
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    /// The relay's clock: the signed `t` with a secret, else `Relay-Clock`.
    clock: Option<i64>,
    signature: Option<String>,
    received: Instant,
    received_ms: Millis,
}

// Without `online`, what requests are made from is never read.
#[cfg_attr(not(feature = "online"), allow(dead_code))]
pub struct RelayClient {
    wire: Wire,
    base: BaseUrl,
    pool: Option<String>,
    secret: Option<Vec<u8>>,
    timeout: Duration,
    max_age_s: i64,
    user_agent: String,
    log: Logger,
}

impl RelayClient {
    /// The relay client of a config, `None` without a relay URL. Plain `http://` is accepted
    /// for any host here: Relay serves no TLS, and what matters (the license file) is signed
    /// by Keygen; `https://` works too (a relay behind a TLS proxy).
    pub fn new(cfg: &Config) -> Result<Option<RelayClient>> {
        let Some(url) = &cfg.relay_url else {
            return Ok(None);
        };
        let base = BaseUrl::parse(url, true).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                e.message.replace("API URL", "relay URL"),
            )
        })?;
        let wire = Wire::new(cfg, &base, 4)?;
        Ok(Some(RelayClient {
            wire,
            base,
            pool: cfg.relay_pool.clone(),
            secret: cfg.relay_secret.clone().map(String::into_bytes),
            timeout: cfg.timeout,
            max_age_s: cfg.max_response_age.as_secs() as i64,
            user_agent: format!("lic/{}", env!("CARGO_PKG_VERSION")),
            log: Logger::new(cfg),
        }))
    }

    /// The relay's URL, for messages.
    pub fn url(&self) -> String {
        format!("{}{}", self.base.origin(), self.base.prefix)
    }

    pub fn pool(&self) -> Option<&str> {
        self.pool.as_deref()
    }

    pub fn signed(&self) -> bool {
        self.secret.is_some()
    }

    /// "pool \"prod\"" or the default pool, for messages.
    pub fn pool_text(&self) -> String {
        match &self.pool {
            Some(p) => format!("pool {p:?}"),
            None => "the default pool (no pool configured)".to_string(),
        }
    }

    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        self.log.log(level, message)
    }

    /// `PUT /v1/nodes/{node}`: a new lease (201) or this node's lease extended (202).
    /// 410 is `NoLicenseAvailable` (the message names the relay and the pool); 409 is
    /// `ServerRejected` with code `RELAY_CONFLICT`; 400 (the pool) is `ServerRejected`.
    pub fn claim(&self, node: &str, limit: Instant) -> Result<Claim> {
        let a = self.exchange("PUT", node, limit)?;
        let status = a.status;
        let a = match self.check(a) {
            Ok(a) => a,
            Err(e) => {
                // A 201 not believed may still have leased this node a license on the relay:
                // give it back (best effort) rather than keep it from other machines.
                if status == 201 {
                    if let Err(r) = self.exchange("DELETE", node, limit) {
                        self.log(LogLevel::Info, || {
                            format!("could not give back the lease of an answer not believed: {r}")
                        });
                    }
                }
                return Err(e);
            }
        };
        match a.status {
            201 => {
                let b: CreatedBody = parse(&a.body, "claim")?;
                let bytes = b64_std_decode(&b.license_file).ok_or_else(|| {
                    Error::new(
                        ErrorKind::BadResponse,
                        "the relay's license_file is not base64",
                    )
                })?;
                let license_file = String::from_utf8(bytes).map_err(|_| {
                    Error::new(ErrorKind::BadResponse, "the relay's license_file is not text")
                })?;
                if b.license_key.is_empty() {
                    return err(ErrorKind::BadResponse, "the relay's claim has no license_key");
                }
                let lease = self.lease(&a, b.expires_at, b.expires_in);
                Ok(Claim::Created {
                    license_file,
                    license_key: b.license_key,
                    lease,
                })
            }
            202 => {
                // Relay before 1.2 answers 202 with an empty body.
                let b: ExtendedBody = if a.body.iter().all(u8::is_ascii_whitespace) {
                    ExtendedBody::default()
                } else {
                    parse(&a.body, "extension")?
                };
                Ok(Claim::Extended(self.lease(&a, b.expires_at, b.expires_in)))
            }
            410 => err(
                ErrorKind::NoLicenseAvailable,
                format!(
                    "no license is free in {} of the relay at {}: every one is leased to another machine; one frees up when a machine releases its lease or stops renewing it",
                    self.pool_text(),
                    self.url()
                ),
            ),
            409 => Err(Error::new(
                ErrorKind::ServerRejected,
                format!(
                    "the relay at {} refused the claim (409 conflict): this machine already holds a lease that cannot be extended (the relay runs with --no-heartbeats), or holds one in another pool",
                    self.url()
                ),
            )
            .with_code(Some("RELAY_CONFLICT".into()))),
            400 => err(ErrorKind::ServerRejected, self.pool_refusal(&a)),
            status => err(ErrorKind::BadResponse, self.unexpected(status, "claim")),
        }
    }

    /// `DELETE /v1/nodes/{node}`: 204 released; 404 (nothing held: released already, or the
    /// lease expired) is success too.
    pub fn release(&self, node: &str, limit: Instant) -> Result<()> {
        let a = self.check(self.exchange("DELETE", node, limit)?)?;
        match a.status {
            204 => Ok(()),
            404 if serde_json::from_slice::<ErrorBody>(&a.body)
                .is_ok_and(|b| b.error.is_some()) =>
            {
                self.log(LogLevel::Info, || {
                    "the relay holds no lease for this machine (released already, or it expired)"
                        .to_string()
                });
                Ok(())
            }
            400 => err(ErrorKind::ServerRejected, self.pool_refusal(&a)),
            status => err(ErrorKind::BadResponse, self.unexpected(status, "release")),
        }
    }

    fn pool_refusal(&self, a: &Answer) -> String {
        let what = serde_json::from_slice::<ErrorBody>(&a.body)
            .ok()
            .and_then(|b| b.error)
            .unwrap_or_default();
        let why = match what.as_str() {
            "invalid pool header" => "it has no such pool",
            "unsupported pool header" => "it serves only its own pool (relay serve --pool)",
            _ => "bad request",
        };
        format!(
            "the relay at {} refused {}: {why} ({what:?})",
            self.url(),
            self.pool_text()
        )
    }

    fn unexpected(&self, status: u16, what: &str) -> String {
        format!(
            "the relay at {} answered the {what} with HTTP {status}: is it a Keygen Relay? Check the relay URL",
            self.url()
        )
    }

    /// The lease's end on this machine's clock: `expires_at - clock` (at most the TTL when
    /// the relay gives one) after the answer arrived, else the TTL after it.
    fn lease(&self, a: &Answer, expires_at: Option<i64>, expires_in: Option<i64>) -> Lease {
        let ttl = expires_in.filter(|s| *s > 0);
        let left = match (expires_at, a.clock) {
            (Some(at), Some(clock)) => Some(match ttl {
                Some(t) => (at - clock).clamp(0, t),
                None => (at - clock).max(0),
            }),
            _ => ttl,
        };
        let skew_seconds = a.clock.map(|c| c - a.received_ms.div_euclid(1000));
        if let Some(s) = skew_seconds.filter(|s| s.abs() > 60) {
            self.log(LogLevel::Warn, || {
                format!("the relay's clock is {s} s away from this machine's")
            });
        }
        Lease {
            ttl: ttl.map(|s| Duration::from_secs(s as u64)),
            expires: left.map(|s| a.received_ms.saturating_add(s.saturating_mul(1000))),
            expires_at: left.map(|s| a.received + Duration::from_secs(s as u64)),
            received: a.received,
            skew_seconds,
        }
    }

    /// One request within `limit` (and the timeout), retried while it certainly did not
    /// reach the relay. The answer is raw: see `check`.
    fn exchange(&self, method: &'static str, node: &str, limit: Instant) -> Result<Answer> {
        let deadline = limit.min(Instant::now() + self.timeout);
        let url = format!("{}/v1/nodes/{}", self.url(), pct(node));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let outcome = self.attempt(method, &url, deadline);
            self.log(LogLevel::Debug, || {
                let what = match &outcome {
                    Ok(a) => a.status.to_string(),
                    Err((e, _)) => format!("{:?}: {e}", e.kind),
                };
                format!(
                    "relay {method} /v1/nodes/… -> {what} ({} ms, attempt {attempt})",
                    started.elapsed().as_millis()
                )
            });
            let (e, before_send) = match outcome {
                Ok(a) => return Ok(a),
                Err(f) => f,
            };
            let wait = backoff(attempt);
            if !before_send
                || attempt >= MAX_ATTEMPTS
                || wait >= deadline.saturating_duration_since(Instant::now())
            {
                return Err(e);
            }
            std::thread::sleep(wait);
        }
    }

    /// 429 and 5xx are no answer; with a secret, every other answer must carry a valid
    /// `Relay-Signature` before its status means anything.
    fn check(&self, mut a: Answer) -> Result<Answer> {
        if a.status == 429 {
            return err(ErrorKind::RateLimited, "the relay answered 429");
        }
        if a.status >= 500 {
            return err(
                ErrorKind::ServerError,
                format!("the relay at {} answered {}", self.url(), a.status),
            );
        }
        if let Some(secret) = &self.secret {
            a.clock = Some(signature::verify(
                secret,
                a.signature.as_deref(),
                &a.body,
                a.received_ms.div_euclid(1000),
                self.max_age_s,
            )?);
        }
        Ok(a)
    }

    #[cfg(feature = "online")]
    fn attempt(
        &self,
        method: &'static str,
        url: &str,
        deadline: Instant,
    ) -> std::result::Result<Answer, (Error, bool)> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err((self.timed_out(), false));
        }
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept", "application/json")
            .header("User-Agent", &self.user_agent);
        if let Some(p) = &self.pool {
            req = req.header("Relay-Pool", p);
        }
        let req = req.body(()).map_err(|e| {
            (
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("bad relay request: {e}"),
                ),
                false,
            )
        })?;
        let resp = self
            .wire
            .run(req, deadline)
            .map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok());
        let signature = header("Relay-Signature").map(str::to_string);
        let clock = header("Relay-Clock").and_then(|c| c.trim().parse::<i64>().ok());
        let body = read_body(resp, MAX_BODY + 1).map_err(|e| {
            let kind = read_error_kind(&e);
            (
                Error::new(
                    kind,
                    format!(
                        "the connection to the relay failed while reading its {status} answer: {e}"
                    ),
                ),
                false,
            )
        })?;
        if body.len() as u64 > MAX_BODY {
            return Err((
                Error::new(ErrorKind::BadResponse, "the relay's answer is too large"),
                false,
            ));
        }
        Ok(Answer {
            status,
            body,
            clock,
            signature,
            received: Instant::now(),
            received_ms: now_ms(),
        })
    }

    /// Built without the `online` feature: nothing goes on the wire.
    #[cfg(not(feature = "online"))]
    fn attempt(
        &self,
        _method: &'static str,
        _url: &str,
        _deadline: Instant,
    ) -> std::result::Result<Answer, (Error, bool)> {
        Err((crate::protocol::offline_only(), false))
    }

    #[cfg(feature = "online")]
    fn timed_out(&self) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the relay at {} did not answer within {} ms",
                self.url(),
                self.timeout.as_millis()
            ),
        )
    }

    /// A transport failure and whether it certainly happened before the request was sent.
    #[cfg(feature = "online")]
    fn transport_error(&self, e: ureq::Error) -> (Error, bool) {
        if timed_out(&e) {
            return (self.timed_out(), false);
        }
        let url = self.url();
        let unreachable = |why: &dyn std::fmt::Display| {
            (
                Error::new(
                    ErrorKind::Network,
                    format!("cannot reach the relay at {url}: check the relay URL and that Relay is running ({why})"),
                ),
                true,
            )
        };
        match wire_error(&e) {
            Some(WireError::Resolve(io)) => (
                Error::new(
                    ErrorKind::Network,
                    format!(
                        "cannot resolve the relay's host {}: check the relay URL ({io})",
                        self.base.host
                    ),
                ),
                true,
            ),
            Some(w @ (WireError::Connect(_) | WireError::Handshake(_) | WireError::Tls(_))) => {
                unreachable(w)
            }
            _ if matches!(e, ureq::Error::HostNotFound | ureq::Error::ConnectionFailed) => {
                unreachable(&e)
            }
            _ => (
                Error::new(
                    ErrorKind::Network,
                    format!("the connection to the relay at {url} failed: {e}"),
                ),
                false,
            ),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::BadResponse,
            format!("the relay's {what} answer is not the JSON expected: {e}"),
        )
    })
}

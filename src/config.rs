//! Client configuration. A `Config` is plain data; building a `Client` checks
//! it once and copies it, so a client never changes after it is built.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::crypto::KeySet;
use crate::error::{err, ErrorKind, Result};
use crate::events::EventSink;

pub const DEFAULT_BASE_URL: &str = "https://api.keygen.sh";
pub const DEFAULT_API_VERSION: &str = "1.7";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keygen's own default check-out TTL: one ActiveSupport month.
pub const DEFAULT_CHECKOUT_TTL: i64 = 2_629_746;
/// Keygen's lower bound for a check-out TTL (400 CHECKOUT_TTL_INVALID below it).
pub const MIN_CHECKOUT_TTL: i64 = 3_600;
/// The longest span any duration setting may have, in seconds: 100 years of
/// 365.2425 days. Keygen sets no upper bound on a check-out TTL, but a file
/// whose expiry is not a four-digit-year date cannot be read back, and spans
/// this long keep every sum of times in range (milliseconds in an i64 wrap
/// after 292 million years; the clock checks add and subtract these spans).
pub const MAX_SECONDS: i64 = 3_155_695_200;
/// The longest call deadline: what the C API's `uint32_t` milliseconds hold.
pub const MAX_TIMEOUT: Duration = Duration::from_millis(u32::MAX as u64);

/// Log levels, lowest number most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

pub type LogSink = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Where a client's log lines go: the configured sink, up to its level, or
/// nowhere. A panicking sink never takes the caller down with it.
#[derive(Clone, Default)]
pub struct Logger(Option<(LogSink, LogLevel)>);

impl Logger {
    pub fn new(cfg: &Config) -> Logger {
        Logger(cfg.log.clone())
    }

    /// Builds the message only when it will be delivered.
    pub fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        if let Some((sink, max)) = &self.0 {
            if level <= *max {
                let text = message();
                let _ =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(level, &text)));
            }
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub account_id: Option<String>,
    pub product_id: Option<String>,
    pub base_url: String,
    pub license_key: Option<String>,
    pub license_token: Option<String>,
    /// The account's public keys (any of Ed25519, RSA, ECDSA P-256). With
    /// none, answers are unverified and there is no offline fallback.
    pub public_keys: KeySet,
    pub api_version: String,
    pub timeout: Duration,
    pub cache_dir: Option<PathBuf>,
    /// Keep nothing on disk: no cached machine file and no trusted-time mark
    /// (`cache_dir` is ignored). For a service acting for other machines,
    /// such as lic-portal; an app on its own machine wants the cache.
    pub no_cache: bool,
    pub fingerprint: Option<String>,
    pub app_id: String,
    pub user_agent_suffix: Option<String>,
    /// Allow `http://` to a host that is not loopback.
    pub allow_insecure_http: bool,
    /// Responses whose `Date` is further than this from the local clock are
    /// rejected as replays.
    pub max_response_age: Duration,
    /// How far the system clock may be behind the trusted high-water mark.
    pub clock_tolerance: Duration,
    /// Refuse offline answers from a file issued longer ago than this.
    pub max_offline_age: Option<Duration>,
    /// TTL asked for when checking out the cached machine file; `None` asks
    /// for a file that never expires.
    pub checkout_ttl: Option<i64>,
    /// Extra PEM CA certificates trusted for TLS (self-hosted Keygen CE).
    pub ca_bundle: Option<PathBuf>,
    /// Explicit proxy URL; `None` reads `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`.
    pub proxy: Option<String>,
    pub log: Option<(LogSink, LogLevel)>,
    /// Receives the client's events instead of its poll queue.
    pub events: Option<EventSink>,
    /// The app's hardware components, in order: `(name, Some(value))` sets
    /// or adds one, `(name, None)` keeps it from being sent.
    pub components: Vec<(String, Option<String>)>,
    /// How long offline answers stay valid after the last verified online
    /// validation; `None`: no limit beyond the files' own.
    pub offline_grace: Option<Duration>,
    /// A Keygen Relay on the LAN (`http://host:6349`): validation leases a
    /// license file from it instead of asking Keygen. Plain http is allowed
    /// for this URL whatever `allow_insecure_http` says (Relay has no TLS).
    pub relay_url: Option<String>,
    /// The relay pool to lease from (`Relay-Pool`); `None`: the relay's own
    /// pool, or its global pool.
    pub relay_pool: Option<String>,
    /// The relay's `--signing-secret`: with it, every relay answer must carry
    /// a valid `Relay-Signature`, or it is no answer.
    pub relay_secret: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            account_id: None,
            product_id: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            license_key: None,
            license_token: None,
            public_keys: KeySet::new(),
            api_version: DEFAULT_API_VERSION.to_string(),
            timeout: DEFAULT_TIMEOUT,
            cache_dir: None,
            no_cache: false,
            fingerprint: None,
            app_id: "lic".to_string(),
            user_agent_suffix: None,
            allow_insecure_http: false,
            max_response_age: Duration::from_secs(300),
            clock_tolerance: Duration::from_secs(600),
            max_offline_age: None,
            checkout_ttl: Some(DEFAULT_CHECKOUT_TTL),
            ca_bundle: None,
            proxy: None,
            log: None,
            events: None,
            components: Vec::new(),
            offline_grace: None,
            relay_url: None,
            relay_pool: None,
            relay_secret: None,
        }
    }
}

impl std::fmt::Debug for Config {
    // Never prints the license key or token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("account_id", &self.account_id)
            .field("product_id", &self.product_id)
            .field("base_url", &self.base_url)
            .field(
                "license_key",
                &self.license_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "license_token",
                &self.license_token.as_ref().map(|_| "<redacted>"),
            )
            .field("public_keys", &self.public_keys)
            .field("relay_url", &self.relay_url)
            .field("relay_pool", &self.relay_pool)
            .field(
                "relay_secret",
                &self.relay_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Checks a span setting given in seconds: `min..=MAX_SECONDS`, else
/// `InvalidArgument` with a message giving the range.
pub fn check_seconds(name: &str, value: i64, min: i64) -> Result<Duration> {
    if !(min..=MAX_SECONDS).contains(&value) {
        return err(
            ErrorKind::InvalidArgument,
            format!(
                "{name} must be between {min} and {MAX_SECONDS} seconds (100 years); {value} is out of range"
            ),
        );
    }
    Ok(Duration::from_secs(value as u64))
}

/// Checks a span setting that the core holds as a `Duration`: non-zero
/// and at most `MAX_SECONDS`.
fn check_span(name: &str, value: Duration) -> Result<()> {
    if value.is_zero() || value > Duration::from_secs(MAX_SECONDS as u64) {
        return err(
            ErrorKind::InvalidArgument,
            format!(
                "{name} must be greater than 0 and at most {MAX_SECONDS} seconds (100 years); {} s is out of range",
                value.as_secs_f64()
            ),
        );
    }
    Ok(())
}

impl Config {
    /// Checks every numeric setting against its range, with a message that
    /// gives the range (`Client::new` calls it, so Rust callers get the same
    /// refusals as the C setters).
    pub fn check_limits(&self) -> Result<()> {
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "timeout must be between 1 and {} ms; {} ms is out of range",
                    MAX_TIMEOUT.as_millis(),
                    self.timeout.as_millis()
                ),
            );
        }
        check_span("max_response_age", self.max_response_age)?;
        check_span("clock_tolerance", self.clock_tolerance)?;
        if let Some(age) = self.max_offline_age {
            check_span("max_offline_age", age)?;
        }
        if let Some(grace) = self.offline_grace {
            check_span("offline_grace", grace)?;
        }
        if let Some(ttl) = self.checkout_ttl {
            if !(MIN_CHECKOUT_TTL..=MAX_SECONDS).contains(&ttl) {
                return err(ErrorKind::InvalidArgument, checkout_ttl_range(ttl));
            }
        }
        Ok(())
    }
}

/// The refusal of a check-out TTL outside Keygen's and lic's bounds.
pub fn checkout_ttl_range(ttl: i64) -> String {
    format!(
        "checkout TTL must be between {MIN_CHECKOUT_TTL} (Keygen's minimum, 1 hour) and {MAX_SECONDS} seconds (100 years), or 0 for a file that never expires; {ttl} is out of range"
    )
}

/// Checks a string setting: non-empty, no control characters, bounded.
pub fn check_text(name: &str, value: &str, max: usize) -> Result<String> {
    if value.is_empty() {
        return err(
            ErrorKind::InvalidArgument,
            format!("{name} must not be empty"),
        );
    }
    if value.len() > max {
        return err(
            ErrorKind::InvalidArgument,
            format!("{name} is longer than {max} bytes"),
        );
    }
    if value.chars().any(char::is_control) {
        return err(
            ErrorKind::InvalidArgument,
            format!("{name} must not contain control characters"),
        );
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_with_the_range_in_the_message() {
        assert!(Config::default().check_limits().is_ok());
        let max = Duration::from_secs(MAX_SECONDS as u64);
        let edge = Config {
            max_response_age: max,
            clock_tolerance: max,
            max_offline_age: Some(max),
            offline_grace: Some(max),
            checkout_ttl: Some(MAX_SECONDS),
            timeout: MAX_TIMEOUT,
            ..Config::default()
        };
        assert!(edge.check_limits().is_ok());
        let over = max + Duration::from_secs(1);
        let cases: [(&str, Config); 8] = [
            (
                "offline_grace",
                Config {
                    offline_grace: Some(over),
                    ..Config::default()
                },
            ),
            (
                "max_response_age",
                Config {
                    max_response_age: over,
                    ..Config::default()
                },
            ),
            (
                "clock_tolerance",
                Config {
                    clock_tolerance: Duration::ZERO,
                    ..Config::default()
                },
            ),
            (
                "max_offline_age",
                Config {
                    max_offline_age: Some(over),
                    ..Config::default()
                },
            ),
            (
                "checkout TTL",
                Config {
                    checkout_ttl: Some(i64::MAX),
                    ..Config::default()
                },
            ),
            (
                "checkout TTL",
                Config {
                    checkout_ttl: Some(3599),
                    ..Config::default()
                },
            ),
            (
                "timeout",
                Config {
                    timeout: Duration::ZERO,
                    ..Config::default()
                },
            ),
            (
                "timeout",
                Config {
                    timeout: Duration::MAX,
                    ..Config::default()
                },
            ),
        ];
        for (name, cfg) in cases {
            let e = cfg.check_limits().unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "{name}");
            assert!(
                e.message.contains(name) && e.message.contains("out of range"),
                "{}",
                e.message
            );
        }
        assert_eq!(check_seconds("s", 1, 1).unwrap(), Duration::from_secs(1));
        assert!(check_seconds("s", 0, 1).is_err());
        assert!(check_seconds("s", MAX_SECONDS + 1, 1).is_err());
        assert!(check_seconds("s", i64::MIN, 1).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config {
            license_key: Some("SECRET-KEY".into()),
            license_token: Some("activ-x".into()),
            relay_secret: Some("hunter2".into()),
            ..Config::default()
        };
        let s = format!("{c:?}");
        assert!(!s.contains("SECRET-KEY") && !s.contains("activ-x") && !s.contains("hunter2"));
    }
}

//! Client configuration. A `Config` is plain data; building a `Client` checks
//! it once and copies it, so a client never changes after it is built.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::crypto::PublicKey;
use crate::error::{err, ErrorKind, Result};
use crate::events::EventSink;

pub const DEFAULT_BASE_URL: &str = "https://api.keygen.sh";
pub const DEFAULT_API_VERSION: &str = "1.7";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keygen's own default check-out TTL: one ActiveSupport month.
pub const DEFAULT_CHECKOUT_TTL: i64 = 2_629_746;

/// Log levels, lowest number most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

pub type LogSink = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

#[derive(Clone)]
pub struct Config {
    pub account_id: Option<String>,
    pub product_id: Option<String>,
    pub base_url: String,
    pub license_key: Option<String>,
    pub license_token: Option<String>,
    pub public_key: Option<PublicKey>,
    pub api_version: String,
    pub timeout: Duration,
    pub cache_dir: Option<PathBuf>,
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
}

impl Default for Config {
    fn default() -> Config {
        Config {
            account_id: None,
            product_id: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            license_key: None,
            license_token: None,
            public_key: None,
            api_version: DEFAULT_API_VERSION.to_string(),
            timeout: DEFAULT_TIMEOUT,
            cache_dir: None,
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
            .field("public_key", &self.public_key.as_ref().map(|k| k.to_hex()))
            .finish_non_exhaustive()
    }
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

/// A parsed API base URL: scheme, host, port and any path prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    pub https: bool,
    pub host: String,
    pub port: Option<u16>,
    pub prefix: String,
    /// Keygen Cloud's own host gets `/v1/accounts/{account}/…`; custom
    /// domains and self-hosted servers get `/v1/…` (keygen-go's rule).
    pub account_in_path: bool,
}

impl BaseUrl {
    pub fn parse(url: &str, allow_insecure_http: bool) -> Result<BaseUrl> {
        let url = url.trim().trim_end_matches('/');
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if url.contains("://") {
            return err(
                ErrorKind::InvalidArgument,
                format!("API URL {url:?} must use https:// (or http:// on loopback)"),
            );
        } else {
            (true, url) // a bare host gets https://, as keygen-go does
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, String::new()),
        };
        if authority.is_empty() || authority.contains('@') || prefix.contains(['?', '#']) {
            return err(
                ErrorKind::InvalidArgument,
                format!("API URL {url:?} is not a plain scheme://host[:port][/path] URL"),
            );
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| {
            crate::error::Error::new(
                ErrorKind::InvalidArgument,
                format!("API URL {url:?} has an invalid port"),
            )
        })?;
        if !https && !allow_insecure_http && !is_loopback(&host) {
            return err(
                ErrorKind::InsecureUrl,
                format!("refusing plain http:// to {host}: responses could be forged in transit; use https, or opt in with allow_insecure_http"),
            );
        }
        let account_in_path =
            https && host.eq_ignore_ascii_case("api.keygen.sh") && prefix.is_empty();
        Ok(BaseUrl {
            https,
            host,
            port,
            prefix,
            account_in_path,
        })
    }

    /// `host[:port]` as sent in the Host header.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority()
        )
    }
}

fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (h, tail) = rest.split_once(']')?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if tail.is_empty() => None,
            None => return None,
        };
        return Some((format!("[{h}]"), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), Some(p.parse().ok()?))),
        None => Some((authority.to_string(), None)),
    }
}

pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_cloud_uses_account_path() {
        let b = BaseUrl::parse("https://api.keygen.sh", false).unwrap();
        assert!(b.account_in_path);
        assert_eq!(b.authority(), "api.keygen.sh");
        let b = BaseUrl::parse("api.keygen.sh/", false).unwrap();
        assert!(b.https && b.account_in_path);
    }

    #[test]
    fn custom_domains_do_not() {
        let b = BaseUrl::parse("https://licensing.example.com:8443", false).unwrap();
        assert!(!b.account_in_path);
        assert_eq!(b.port, Some(8443));
        assert_eq!(b.origin(), "https://licensing.example.com:8443");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(BaseUrl::parse("http://127.0.0.1:9000", false).is_ok());
        assert!(BaseUrl::parse("http://[::1]:9000", false).is_ok());
        assert!(BaseUrl::parse("http://localhost", false).is_ok());
        assert_eq!(
            BaseUrl::parse("http://keygen.example.com", false)
                .unwrap_err()
                .kind,
            ErrorKind::InsecureUrl
        );
        assert!(BaseUrl::parse("http://keygen.example.com", true).is_ok());
    }

    #[test]
    fn rejects_odd_urls() {
        for u in [
            "ftp://x",
            "https://",
            "https://user@host",
            "https://h:99999",
            "https://h/x?y",
        ] {
            assert!(BaseUrl::parse(u, false).is_err(), "{u}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config {
            license_key: Some("SECRET-KEY".into()),
            license_token: Some("activ-x".into()),
            ..Config::default()
        };
        let s = format!("{c:?}");
        assert!(!s.contains("SECRET-KEY") && !s.contains("activ-x"));
    }
}

//! The API base URL and where requests to it may go: Keygen Cloud's
//! account-in-path rule, plain http only to loopback, and the proxy settings.

#[cfg(feature = "online")]
use crate::config::Config;
use crate::error::{err, Error, ErrorKind, Result};

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
            Error::new(
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

/// The explicit proxy, else `HTTPS_PROXY`/`https_proxy`/`ALL_PROXY` (or the
/// HTTP ones for http URLs) unless `NO_PROXY` matches. Loopback is never proxied.
#[cfg(feature = "online")]
pub(crate) fn proxy_for(cfg: &Config, base: &BaseUrl) -> Result<Option<ureq::Proxy>> {
    let from_env = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let url = match &cfg.proxy {
        Some(p) => Some(p.clone()),
        None if is_loopback(&base.host) => None,
        None => {
            let no_proxy = from_env(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
            if no_proxy_matches(&no_proxy, &base.host) {
                None
            } else if base.https {
                from_env(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
            } else {
                from_env(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
            }
        }
    };
    url.map(|u| {
        ureq::Proxy::new(&u).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("proxy URL is invalid: {e}"),
            )
        })
    })
    .transpose()
}

pub fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .any(|p| {
            if p == "*" {
                return true;
            }
            let p = p.trim_start_matches('*').trim_start_matches('.');
            let p = p.split(':').next().unwrap_or(p);
            host == p || host.ends_with(&format!(".{p}"))
        })
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
    fn no_proxy_rules() {
        assert!(no_proxy_matches("example.com", "api.example.com"));
        assert!(no_proxy_matches(".example.com", "example.com"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(no_proxy_matches("foo, api.keygen.sh:443", "api.keygen.sh"));
        assert!(!no_proxy_matches("example.com", "badexample.com"));
        assert!(!no_proxy_matches("", "api.keygen.sh"));
    }
}

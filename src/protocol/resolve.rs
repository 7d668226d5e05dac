//! Name resolution inside the call's deadline. The system resolver blocks
//! for as long as it likes (a DNS server that never answers holds it for
//! tens of seconds), so a host name is resolved on a helper thread that the
//! call abandons when its deadline passes; the thread finishes on its own.
//! IP literals (loopback, the devserver, most tests) need no thread.
//!
//! ureq 3 hands the resolver and the connector what is left of the call
//! (`NextTimeout`), so the connect that follows is bounded by the same
//! deadline (src/protocol/socket.rs).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use ureq::{Error, Timeout};

use super::socket::{limit, WireError};

/// lic's resolver for ureq: `lookup` within the call's deadline.
#[derive(Debug, Default)]
pub(crate) struct DeadlineResolver;

impl Resolver for DeadlineResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        let Some(host) = uri.host() else {
            return Err(Error::BadUri(format!("{uri} has no host")));
        };
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let netloc = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let deadline = limit(&timeout)?.map(|d| Instant::now() + d);
        let addrs = match lookup(&netloc, deadline) {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return Err(Error::Timeout(Timeout::Resolve))
            }
            Err(e) => return Err(WireError::Resolve(e).into_ureq()),
        };
        let mut out = self.empty();
        for a in addrs.into_iter().take(16) {
            out.push(a);
        }
        if out.is_empty() {
            return Err(WireError::Resolve(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{netloc} has no address"),
            ))
            .into_ureq());
        }
        Ok(out)
    }
}

/// Resolves `host:port` before `deadline`, or fails with `TimedOut`.
fn lookup(netloc: &str, deadline: Option<Instant>) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = netloc.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let Some(deadline) = deadline else {
        return netloc.to_socket_addrs().map(Iterator::collect);
    };
    let (tx, rx) = mpsc::channel();
    let owned = netloc.to_string();
    let spawned = std::thread::Builder::new()
        .name("lic-resolve".into())
        .spawn(move || {
            let _ = tx.send(owned.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
        });
    if spawned.is_err() {
        // No thread to be had: resolve here rather than not at all.
        return netloc.to_socket_addrs().map(Iterator::collect);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("resolving {netloc} took longer than the call's deadline"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn literals_need_no_lookup() {
        assert_eq!(
            lookup("127.0.0.1:9", None).unwrap(),
            vec!["127.0.0.1:9".parse().unwrap()]
        );
        assert_eq!(lookup("[::1]:9", Some(Instant::now())).unwrap().len(), 1);
    }

    #[test]
    fn a_passed_deadline_gives_up_at_once() {
        let started = Instant::now();
        let r = lookup("lic-never.invalid:443", Some(Instant::now()));
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn uris_resolve_with_their_default_ports() {
        let config = Config::default();
        let wait = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::Exact(Duration::from_secs(5)),
            reason: Timeout::Global,
            ..NextTimeout::default()
        };
        let resolve = |u: &str| {
            let addrs = DeadlineResolver
                .resolve(&u.parse().unwrap(), &config, wait)
                .unwrap();
            addrs.iter().copied().collect::<Vec<SocketAddr>>()
        };
        assert_eq!(
            resolve("http://127.0.0.1/x"),
            vec!["127.0.0.1:80".parse().unwrap()]
        );
        assert_eq!(
            resolve("https://[::1]/x"),
            vec!["[::1]:443".parse().unwrap()]
        );
        assert_eq!(
            resolve("http://[::1]:8080"),
            vec!["[::1]:8080".parse().unwrap()]
        );
    }
}

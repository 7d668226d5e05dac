//! Name resolution inside the call's deadline. The system resolver blocks
//! for as long as it likes (a DNS server that never answers holds it for
//! tens of seconds), so a host name is resolved on a helper thread that the
//! call abandons when its deadline passes; the thread finishes on its own.
//! IP literals (loopback, the devserver, most tests) need no thread.
//!
//! The resolver is also where a new connection's connect is kept inside the
//! deadline. ureq 2 bounds a connect by the agent's fixed connect timeout
//! (the configured timeout), not by what is left of the call, so a connect
//! that starts late in a call (a retry, a follow-up) to a server that does
//! not complete handshakes (a full listen backlog, a black hole) would
//! overrun the deadline by up to that timeout. ureq resolves right before it
//! connects and only for a new connection, so when less than the connect
//! timeout is left the resolver first tries the connection itself, bounded
//! by what is left, and hands ureq only an address that answered.

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

thread_local! {
    /// The deadline of the request this thread is sending and the agent's
    /// connect timeout (set by the transport around each attempt; ureq
    /// resolves and connects on the calling thread).
    static DEADLINE: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// Runs `f` with `deadline` as the limit for any resolution (and connect)
/// it does, for an agent whose own connect timeout is `connect_timeout`.
pub(crate) fn with_deadline<T>(
    deadline: Instant,
    connect_timeout: Duration,
    f: impl FnOnce() -> T,
) -> T {
    struct Reset(Option<(Instant, Duration)>);
    impl Drop for Reset {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let _reset = Reset(DEADLINE.with(|d| d.replace(Some((deadline, connect_timeout)))));
    f()
}

/// Resolves `host:port` before the current deadline, or fails with
/// `TimedOut`; when less than the connect timeout is left, also makes sure
/// an address accepts a connection before then (see the module docs).
pub(crate) fn resolve(netloc: &str) -> io::Result<Vec<SocketAddr>> {
    let addrs = lookup(netloc)?;
    match DEADLINE.with(Cell::get) {
        Some((deadline, connect_timeout)) if late(deadline, connect_timeout) => {
            reachable_before(addrs, deadline, netloc)
        }
        _ => Ok(addrs),
    }
}

/// Whether ureq's own connect bound would end more than a little (5% of
/// the connect timeout, at most 50 ms) after the deadline. A call's first
/// connect is never late: it starts with its whole budget.
fn late(deadline: Instant, connect_timeout: Duration) -> bool {
    let slack = (connect_timeout / 20).min(Duration::from_millis(50));
    deadline.saturating_duration_since(Instant::now()) + slack < connect_timeout
}

/// A connect the resolver tried itself failed: a connection failure
/// (refused, unreachable, …), whatever ureq calls the resolver's errors.
#[derive(Debug)]
pub(crate) struct ConnectFailed(io::Error);

impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConnectFailed {}

/// The first of `addrs` that accepts a TCP connection before `deadline`.
fn reachable_before(
    addrs: Vec<SocketAddr>,
    deadline: Instant,
    netloc: &str,
) -> io::Result<Vec<SocketAddr>> {
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Ok(vec![addr]),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() != io::ErrorKind::TimedOut => {
            io::Error::new(e.kind(), ConnectFailed(e))
        }
        _ => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connecting to {netloc} took longer than the call's deadline"),
        ),
    })
}

/// Resolves `host:port` before the current deadline, or fails with `TimedOut`.
fn lookup(netloc: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = netloc.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let Some((deadline, _)) = DEADLINE.with(Cell::get) else {
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

    #[test]
    fn literals_need_no_lookup() {
        assert_eq!(
            resolve("127.0.0.1:9").unwrap(),
            vec!["127.0.0.1:9".parse().unwrap()]
        );
        assert_eq!(resolve("[::1]:9").unwrap().len(), 1);
    }

    #[test]
    fn a_passed_deadline_gives_up_at_once() {
        let started = Instant::now();
        let r = with_deadline(Instant::now(), Duration::from_secs(5), || {
            resolve("lic-never.invalid:443")
        });
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn the_deadline_is_restored() {
        let outer = Instant::now() + Duration::from_secs(5);
        let limit = Duration::from_secs(5);
        with_deadline(outer, limit, || {
            with_deadline(Instant::now(), limit, || ());
            assert_eq!(DEADLINE.with(Cell::get), Some((outer, limit)));
        });
        assert_eq!(DEADLINE.with(Cell::get), None);
    }

    #[test]
    fn a_late_connection_is_tried_within_the_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let open = listener.local_addr().unwrap().to_string();
        let limit = Duration::from_secs(5);
        // The whole budget left (a call's first connect): handed over untried.
        let soon = Instant::now() + limit;
        assert_eq!(
            with_deadline(soon, limit, || resolve(&open)).unwrap().len(),
            1
        );
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "no connection was tried"
        );
        // Less than the connect timeout left: tried first, and it answers.
        let late = Instant::now() + Duration::from_secs(2);
        assert_eq!(
            with_deadline(late, limit, || resolve(&open)).unwrap(),
            vec![open.parse().unwrap()]
        );
        // A closed port is refused at once, not waited for.
        drop(listener);
        let e = with_deadline(late, limit, || resolve(&open)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    }
}

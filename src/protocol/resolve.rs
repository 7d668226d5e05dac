//! Name resolution inside the call's deadline. The system resolver blocks
//! for as long as it likes (a DNS server that never answers holds it for
//! tens of seconds), so a host name is resolved on a helper thread that the
//! call abandons when its deadline passes; the thread finishes on its own.
//! IP literals (loopback, the devserver, most tests) need no thread.

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

thread_local! {
    /// The deadline of the request this thread is sending (set by the
    /// transport around each attempt; ureq resolves on the calling thread).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with `deadline` as the limit for any resolution it does.
pub(crate) fn with_deadline<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Instant>);
    impl Drop for Reset {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let _reset = Reset(DEADLINE.with(|d| d.replace(Some(deadline))));
    f()
}

/// Resolves `host:port` before the current deadline, or fails with
/// `TimedOut`.
pub(crate) fn resolve(netloc: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = netloc.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let Some(deadline) = DEADLINE.with(Cell::get) else {
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
            resolve("127.0.0.1:9").unwrap(),
            vec!["127.0.0.1:9".parse().unwrap()]
        );
        assert_eq!(resolve("[::1]:9").unwrap().len(), 1);
    }

    #[test]
    fn a_passed_deadline_gives_up_at_once() {
        let started = Instant::now();
        let r = with_deadline(Instant::now(), || resolve("lic-never.invalid:443"));
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn the_deadline_is_restored() {
        let outer = Instant::now() + Duration::from_secs(5);
        with_deadline(outer, || {
            with_deadline(Instant::now(), || ());
            assert_eq!(DEADLINE.with(Cell::get), Some(outer));
        });
        assert_eq!(DEADLINE.with(Cell::get), None);
    }
}

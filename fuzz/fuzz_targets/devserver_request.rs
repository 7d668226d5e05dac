//! lic-devserver's request handling, end to end: the input is the raw
//! bytes of one HTTP/1.1 connection (request line, headers, body; possibly
//! several pipelined requests, possibly garbage), sent to an in-process
//! devserver (hyper underneath, then lic-devserver's routing, auth, JSON
//! params and every endpoint, admin ones included: the admin token is the
//! fixed one below). Only the public embedding API is used.
//!
//! The oracles: no panic anywhere in the server (libfuzzer-sys aborts on a
//! panic in any thread), the connection ends once the input is sent (no
//! hang), and the server still answers a normal request afterwards.
//!
//! SIGPIPE is ignored, as a Rust `main` would have it (see `server_addr`).
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use lic_devserver::{DevServer, Options};
use lic_fuzz::{FUZZ_ACCOUNT, FUZZ_ADMIN_TOKEN, FUZZ_SEED};

fn server_addr() -> &'static str {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(|| {
        // A Rust program's runtime ignores SIGPIPE before main; libFuzzer's
        // main is C, so here a write to a connection the peer has reset
        // (hyper answers with writev, which has no MSG_NOSIGNAL) would kill
        // the whole fuzzer with signal 13 instead of returning EPIPE. The
        // lic-devserver binary and every Rust test run with it ignored.
        // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        let server = DevServer::start(Options {
            account_id: Some(FUZZ_ACCOUNT.to_string()),
            admin_token: Some(FUZZ_ADMIN_TOKEN.to_string()),
            signing_key_seed: Some(FUZZ_SEED),
            bootstrap: true,
            ..Options::default()
        })
        .expect("the devserver starts");
        let addr = server.base_url().trim_start_matches("http://").to_string();
        // Lives as long as the fuzzing process.
        Box::leak(Box::new(server));
        addr
    })
}

/// A fresh connection to the devserver. The harness opens one connection per
/// input, thousands a second, and closes first (it half-closes to mark the
/// input's end), so its own ephemeral ports sit in TIME_WAIT: on a machine
/// without `tcp_tw_reuse` for loopback they run out. That is the client's
/// machine, not the server, failing, so the harness waits for a port (up to
/// 10 s) instead of reporting it as a crash. A refusal still fails: the
/// listener is gone.
fn connect() -> TcpStream {
    let start = std::time::Instant::now();
    loop {
        match TcpStream::connect(server_addr()) {
            Ok(s) => return s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::AddrInUse
                ) && start.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("the devserver does not accept a connection: {e}"),
        }
    }
}

/// Sends `bytes` on a fresh connection, half-closes it, and reads until the
/// server closes. Panics if the server neither answers nor closes.
fn exchange(bytes: &[u8]) -> Vec<u8> {
    let mut s = connect();
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(8))).unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > 64 << 20 {
                    panic!(
                        "the devserver sent more than 64 MiB for {} input bytes",
                        bytes.len()
                    );
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("the devserver neither answered nor closed within 8 s of the input's end")
            }
            Err(_) => break, // reset: a refusal is an answer too
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The dev extensions (/v1/dev/…, matched on the raw path) arm faults
    // that refuse or hang on purpose and move the clock: left out, or the
    // fuzzer would only find the faults it armed.
    if data.windows(5).any(|w| w == b"/dev/") {
        return;
    }
    let _ = exchange(data);
    static RUNS: AtomicU64 = AtomicU64::new(0);
    if RUNS.fetch_add(1, Ordering::Relaxed) % 64 == 0 {
        let answer = exchange(b"GET /v1/ping HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
        assert!(
            answer.starts_with(b"HTTP/1.1 "),
            "the devserver stopped answering: {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
    }
});

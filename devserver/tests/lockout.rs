//! D9: idle and slow clients never lock out an active one. 2,000 idle connections (500 of them
//! after one keep-alive request, 1,500 that never send a byte) and a slowloris client (one byte
//! of a request head every 100 ms, reconnecting whenever it is cut off) are held open while a
//! normal client validates a license 100 times, alternating fresh connections and one keep-alive
//! connection. Every validation must be answered, each in under 100 ms (once the server has
//! accepted its way through the burst of connects the kernel queued).
//!
//! Bounded: about 2,003 sockets to 127.0.0.1 only, every socket with a read timeout, the
//! slowloris stops with the test, and everything is closed when the test returns.

mod common;
use common::*;
use lic_devserver::raw;
use serde_json::json;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const IDLE_AFTER_A_REQUEST: usize = 500;
const IDLE_SILENT: usize = 1_500;
const VALIDATIONS: usize = 100;
const DEADLINE: Duration = Duration::from_millis(100);

/// 2,000 client sockets plus the server's own ends live in this one process.
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid `struct rlimit` for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    s.set_nodelay(true)?;
    Ok(s)
}

fn request(addr: &str, body: &str, close: bool) -> Vec<u8> {
    format!(
        "POST /v1/licenses/actions/validate-key HTTP/1.1\r\nHost: {addr}\r\nAccept: application/vnd.api+json\r\n\
         Content-Type: application/vnd.api+json\r\nContent-Length: {}\r\n{}\r\n{body}",
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes()
}

/// One validation on `stream`; the answer must be a signed 200 with a VALID verdict.
fn validate(env: &Env, stream: &mut TcpStream, req: &[u8]) -> Result<(), String> {
    stream.write_all(req).map_err(|e| format!("send: {e}"))?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let r = raw::read_response(&mut reader).map_err(|e| format!("read: {e}"))?;
    let json: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    let resp = Resp {
        status: r.status,
        headers: r.headers,
        raw: r.body,
        json,
    };
    verify_signature(
        &env.key,
        &resp,
        "POST",
        "/v1/licenses/actions/validate-key",
        env.host(),
    )?;
    match (resp.status, resp.json["meta"]["code"].as_str()) {
        (200, Some("VALID")) => Ok(()),
        (s, c) => Err(format!("{s} {c:?}")),
    }
}

#[test]
fn idle_and_slow_clients_do_not_lock_out_an_active_one() {
    raise_open_file_limit();
    let env = env();
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let body = json!({ "meta": { "key": lic.key } }).to_string();
    let keep_alive_req = request(&env.addr, &body, false);
    let close_req = request(&env.addr, &body, true);

    // Idle connections: first some that made one keep-alive request (whatever its answer: they
    // are load, not the subject), then many that never send anything.
    let mut idle = Vec::with_capacity(IDLE_AFTER_A_REQUEST + IDLE_SILENT);
    for _ in 0..IDLE_AFTER_A_REQUEST {
        if let Ok(mut s) = connect(&env.addr) {
            let _ = validate(&env, &mut s, &keep_alive_req);
            idle.push(s);
        }
    }
    for _ in 0..IDLE_SILENT {
        idle.push(connect(&env.addr).expect("the kernel accepts loopback connections"));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let slowloris = {
        let (addr, stop, head) = (env.addr.clone(), stop.clone(), keep_alive_req.clone());
        std::thread::spawn(move || {
            let mut cut_off = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = connect(&addr) else {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                for byte in head.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if s.write_all(&[*byte]).is_err() {
                        cut_off += 1;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            cut_off
        })
    };
    // The kernel queued the whole burst of connects; let the server accept its way through
    // them (closing idle ones for room) before the measured client joins the queue. Bounded.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(20) {
        let started = Instant::now();
        let answered = connect(&env.addr)
            .map_err(|e| e.to_string())
            .and_then(|mut s| validate(&env, &mut s, &close_req));
        if answered.is_ok() && started.elapsed() < DEADLINE {
            break;
        }
    }

    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut kept: Option<TcpStream> = None;
    for i in 0..VALIDATIONS {
        let started = Instant::now();
        let outcome = if i % 2 == 0 {
            connect(&env.addr)
                .map_err(|e| format!("connect: {e}"))
                .and_then(|mut s| validate(&env, &mut s, &close_req))
        } else {
            let stream = match kept.take() {
                Some(s) => Ok(s),
                None => connect(&env.addr).map_err(|e| format!("connect: {e}")),
            };
            stream.and_then(|mut s| {
                let r = validate(&env, &mut s, &keep_alive_req);
                if r.is_ok() {
                    kept = Some(s);
                }
                r
            })
        };
        let took = started.elapsed();
        slowest = slowest.max(took);
        match outcome {
            Ok(()) if took < DEADLINE => {}
            Ok(()) => failures.push(format!("#{i}: answered after {took:?}")),
            Err(e) => failures.push(format!("#{i}: {e} (after {took:?})")),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let cut_off = slowloris.join().unwrap_or(0);
    drop(idle);
    eprintln!(
        "{VALIDATIONS} validations, slowest {slowest:?}; the slowloris was cut off {cut_off} times"
    );
    assert!(
        failures.is_empty(),
        "{} of {VALIDATIONS} validations failed or were slow (slowest {slowest:?}): {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
}

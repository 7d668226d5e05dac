//! The limits with small values and a handler that knows nothing of Keygen: a trickled head is
//! cut at the header deadline, a slow body gets a 408, the cap closes the idlest connection
//! (a slow body included) and never a busy one, and a hung request neither blocks other
//! clients nor holds up shutdown.

use super::{pause, Handler, Limits, Outcome, Request, Response, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `/hang` waits 30 s; everything else is a 200 with the path as the body.
struct Echo;

impl Handler for Echo {
    async fn handle(&self, req: Request) -> Outcome {
        if req.path == "/hang" {
            pause(Duration::from_secs(30)).await;
        }
        Outcome::Reply(Response::new(200, "text/plain", req.path.into_bytes()))
    }
}

fn start(limits: Limits) -> (Server, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (
        Server::start(listener, None, Arc::new(Echo), limits).unwrap(),
        addr,
    )
}

fn small() -> Limits {
    Limits {
        max_connections: 3,
        header_read: Duration::from_millis(400),
        body: Duration::from_millis(400),
        ..Limits::default()
    }
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Sends a keep-alive GET and reads its answer (the status line and the body `path`).
fn get(s: &mut TcpStream, path: &str) -> std::io::Result<String> {
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(path.as_bytes()) {
        match s.read(&mut buf)? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => answer.extend_from_slice(&buf[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Whether the server has closed `s` (EOF or reset on read).
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
    }
}

#[test]
fn a_trickled_head_is_cut_at_the_header_deadline() {
    let (_server, addr) = start(small());
    let mut s = connect(&addr);
    let started = Instant::now();
    // One byte every 50 ms would keep a per-read timeout of 400 ms alive for ever.
    for b in b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: "
        .iter()
        .cycle()
    {
        if s.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "cut after {took:?}"
    );
}

#[test]
fn a_slow_body_gets_a_408() {
    let (_server, addr) = start(small());
    let mut s = connect(&addr);
    s.write_all(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn at_the_cap_the_idlest_connection_goes_first_and_a_busy_one_never() {
    let (_server, addr) = start(small());
    let mut silent = connect(&addr);
    std::thread::sleep(Duration::from_millis(20));
    let mut kept = connect(&addr);
    get(&mut kept, "/kept").unwrap();
    let mut hung = connect(&addr);
    write!(hung, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));

    // A fourth client: the silent one (idle longest) makes room.
    let mut fourth = connect(&addr);
    assert!(get(&mut fourth, "/fourth")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    assert!(closed(&mut silent), "the idlest connection is closed first");
    // A fifth: the keep-alive one idle since its answer goes next, not the busy one.
    let mut fifth = connect(&addr);
    assert!(get(&mut fifth, "/fifth")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    assert!(closed(&mut kept));
    assert!(
        !closed(&mut hung),
        "a connection being answered is never closed for room"
    );
}

#[test]
fn a_slow_body_does_not_hold_a_place_at_the_cap() {
    let (_server, addr) = start(Limits {
        max_connections: 2,
        body: Duration::from_secs(10),
        ..small()
    });
    let mut slow = connect(&addr);
    slow.write_all(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut kept = connect(&addr);
    get(&mut kept, "/kept").unwrap();
    let mut third = connect(&addr);
    assert!(get(&mut third, "/third")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    assert!(
        closed(&mut slow),
        "the oldest, still sending its body, made room"
    );
}

#[test]
fn at_the_cap_with_every_connection_busy_a_new_one_is_closed() {
    let (_server, addr) = start(Limits {
        max_connections: 1,
        ..small()
    });
    let mut hung = connect(&addr);
    write!(hung, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut other = connect(&addr);
    let _ = write!(other, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(closed(&mut other));
    assert!(!closed(&mut hung));
}

#[test]
fn a_hung_request_blocks_neither_other_clients_nor_shutdown() {
    let (server, addr) = start(Limits::default());
    let mut hung = connect(&addr);
    write!(hung, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut other = connect(&addr);
    let started = Instant::now();
    assert!(get(&mut other, "/other")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < Duration::from_millis(500));

    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        started.elapsed()
    );
    assert!(
        closed(&mut hung),
        "the hung connection is closed with the server"
    );
    assert!(TcpStream::connect(&addr).is_err(), "the listener is closed");
}

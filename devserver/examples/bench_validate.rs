//! validate-key throughput: 8 concurrent keep-alive clients on loopback for a few seconds.
//!
//! `cargo run --release -p lic-devserver --example bench_validate [-- SECONDS]`

use lic_devserver::{raw, DevServer, Options};
use serde_json::json;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let server = DevServer::start(Options::default()).expect("server starts");
    let admin = server.admin();
    let product = admin.create_product("Bench");
    let policy = admin.create_policy(
        &product,
        json!({ "strict": true, "floating": true, "maxMachines": 10 }),
    );
    let (license, key) = admin.create_license(&policy, json!({}));
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "bench-fp" },
        "relationships": { "license": { "data": { "type": "licenses", "id": license } } } } });
    assert_eq!(
        admin
            .request("POST", "/v1/machines", Some(&body))
            .unwrap()
            .0,
        201
    );

    let addr = server.base_url().trim_start_matches("http://").to_string();
    let payload =
        json!({ "meta": { "key": key, "nonce": 42, "scope": { "fingerprint": "bench-fp" } } })
            .to_string();
    let request = format!(
        "POST /v1/licenses/actions/validate-key HTTP/1.1\r\nHost: {addr}\r\nAccept: application/vnd.api+json\r\n\
         Content-Type: application/vnd.api+json\r\nKeygen-Version: 1.7\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    );
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (addr, request, done, stop) =
                (addr.clone(), request.clone(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&addr).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                while !stop.load(Ordering::Relaxed) {
                    stream.write_all(request.as_bytes()).expect("send");
                    let resp = raw::read_response(&mut reader).expect("response");
                    assert!(resp.status == 200 && resp.header("keygen-signature").is_some());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("client thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!(
        "{n} validations in {elapsed:.2} s with {CLIENTS} keep-alive clients: {:.0} validations/s",
        n as f64 / elapsed
    );
}

//! No input panics or stops the server: random bytes, broken request lines,
//! absurd headers, bodies that lie about their length, malformed JSON to every
//! kind of endpoint. Afterwards the server still answers correctly.
//! (Bounded: a fixed number of inputs on loopback.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lic_devserver::{DevServer, Options};

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    getrandom::getrandom(&mut v).unwrap();
    v
}

fn pick<'a>(items: &[&'a str]) -> &'a str {
    items[random(1)[0] as usize % items.len()]
}

fn inputs(n: usize) -> Vec<Vec<u8>> {
    let paths = [
        "/v1/licenses/actions/validate-key",
        "/v1/machines",
        "/v1/processes",
        "/v1/policies",
        "/v1/me",
        "/v1/dev/faults",
        "/v1/machines/x/actions/check-out",
        "/%ff%00",
        "/v1/accounts/../../etc",
    ];
    let bodies = [
        "{",
        "[]",
        "null",
        "{\"meta\":{\"key\":7}}",
        "{\"data\":{\"type\":\"machines\",\"attributes\":{\"fingerprint\":[]}}}",
        "{\"meta\":{\"key\":\"k\",\"nonce\":\"x\",\"scope\":{\"fingerprints\":[null]}}}",
        "\u{0}\u{1}",
    ];
    (0..n)
        .map(|i| match i % 5 {
            0 => random(random(1)[0] as usize * 4),
            1 => format!("{} {} HTTP/1.1\r\nHost: x\r\n\r\n", pick(&["GET", "POST", "DELETE", "BREW", ""]), pick(&paths)).into_bytes(),
            2 => {
                let body = pick(&bodies);
                format!(
                    "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.api+json\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n{body}",
                    pick(&paths),
                    pick(&["Bearer nope", "License ", "Basic !!!", "Token", "License \u{e9}t\u{e9}"]),
                    body.len()
                )
                .into_bytes()
            }
            3 => format!("POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{", pick(&["99999999999999999999", "-1", "10", "abc"])).into_bytes(),
            _ => {
                let mut r = b"GET /v1/me HTTP/1.1\r\n".to_vec();
                r.extend(random(300));
                r.extend_from_slice(b"\r\n\r\n");
                r
            }
        })
        .collect()
}

#[test]
fn garbage_never_stops_the_server() {
    let server = DevServer::start(Options::default()).unwrap();
    let addr = server.base_url().trim_start_matches("http://").to_string();
    for input in inputs(300) {
        let Ok(mut conn) = TcpStream::connect(&addr) else {
            panic!("server stopped accepting")
        };
        conn.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let _ = conn.write_all(&input);
        let _ = conn.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = conn.read_to_end(&mut sink);
        if sink.starts_with(b"HTTP/1.1 ") {
            let status: u16 = std::str::from_utf8(&sink[9..12])
                .unwrap_or("0")
                .parse()
                .unwrap_or(0);
            assert!(
                status < 500 || status == 501,
                "a garbage request made a server error: {}",
                String::from_utf8_lossy(&sink[..sink.len().min(300)])
            );
        }
    }
    // Still a working Keygen server.
    let admin = server.admin();
    let product = admin.create_product("after garbage");
    let policy = admin.create_policy(
        &product,
        serde_json::json!({"name": "p", "authenticationStrategy": "LICENSE"}),
    );
    let (_, key) = admin.create_license(&policy, serde_json::json!({}));
    let (status, body) = admin
        .request(
            "POST",
            "/v1/licenses/actions/validate-key",
            Some(&serde_json::json!({"meta": {"key": key}})),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["code"], "VALID");
}

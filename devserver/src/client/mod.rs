//! The clients: `Admin` (Keygen's admin API and the dev extensions, with the admin token) and
//! the raw one-request helpers that tests, examples and the benchmark drive the server with.
//! Blocking and small; heads are parsed by httparse. Not part of the server.

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use serde_json::{json, Value};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Admin {
    pub(crate) addr: String,
    pub(crate) token: String,
    /// For an HTTPS server: the `host:port` it is named by, and a configuration that trusts it.
    pub(crate) tls: Option<(String, Arc<ClientConfig>)>,
}

/// A raw HTTP exchange result.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the response.
pub fn send(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<RawResponse> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    exchange(stream, addr, method, path, headers, body)
}

/// Like [`send`], over TLS: connects to `addr`, and names the server `authority` (`host:port`)
/// in SNI, certificate verification (as `config` does it) and the Host header.
pub fn send_tls(
    addr: &str,
    authority: &str,
    config: Arc<ClientConfig>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<RawResponse> {
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    exchange(
        StreamOwned::new(conn, tcp),
        authority,
        method,
        path,
        headers,
        body,
    )
}

fn exchange(
    mut stream: impl Read + Write,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<RawResponse> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    stream.flush()?;
    read_response(&mut BufReader::new(stream))
}

/// Reads one response (head, then a Content-Length body) from a stream positioned at its start.
pub fn read_response(r: &mut impl BufRead) -> io::Result<RawResponse> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if r.read_until(b'\n', &mut head)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                if head.is_empty() {
                    "connection closed before a response"
                } else {
                    "connection closed in the response head"
                },
            ));
        }
    }
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(invalid("bad response head")),
    }
    let status = parsed.code.ok_or_else(|| invalid("bad status line"))?;
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).into_owned();
            (h.name.to_string(), value)
        })
        .collect();
    let mut resp = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let len: usize = resp
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    resp.body = vec![0; len];
    r.read_exact(&mut resp.body)?;
    Ok(resp)
}

impl Admin {
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> io::Result<(u16, Value)> {
        let auth = format!("Bearer {}", self.token);
        let ct = if path.starts_with("/v1/dev/") {
            "application/json"
        } else {
            "application/vnd.api+json"
        };
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", ct),
            ("Accept", ct),
        ];
        let payload = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let resp = match &self.tls {
            Some((authority, config)) => send_tls(
                &self.addr,
                authority,
                config.clone(),
                method,
                path,
                &headers,
                &payload,
            )?,
            None => send(&self.addr, method, path, &headers, &payload)?,
        };
        let value = if resp.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&resp.body).map_err(|e| invalid(&e.to_string()))?
        };
        Ok((resp.status, value))
    }

    fn expect(&self, method: &str, path: &str, body: Value, status: u16) -> Value {
        match self.request(method, path, (!body.is_null()).then_some(&body)) {
            Ok((s, v)) if s == status => v,
            Ok((s, v)) => panic!("{method} {path}: expected {status}, got {s}: {v}"),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    fn id(v: &Value) -> String {
        v["data"]["id"].as_str().unwrap_or_default().to_string()
    }

    pub fn create_product(&self, name: &str) -> String {
        let body = json!({ "data": { "type": "products", "attributes": { "name": name } } });
        Self::id(&self.expect("POST", "/v1/products", body, 201))
    }

    pub fn create_policy(&self, product_id: &str, attrs: Value) -> String {
        let body = json!({ "data": { "type": "policies", "attributes": attrs,
            "relationships": { "product": { "data": { "type": "products", "id": product_id } } } } });
        Self::id(&self.expect("POST", "/v1/policies", body, 201))
    }

    pub fn create_license(&self, policy_id: &str, attrs: Value) -> (String, String) {
        let body = json!({ "data": { "type": "licenses", "attributes": attrs,
            "relationships": { "policy": { "data": { "type": "policies", "id": policy_id } } } } });
        let v = self.expect("POST", "/v1/licenses", body, 201);
        (
            Self::id(&v),
            v["data"]["attributes"]["key"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    pub fn update_license(&self, license_id: &str, attrs: Value) {
        let body = json!({ "data": { "type": "licenses", "attributes": attrs } });
        self.expect("PATCH", &format!("/v1/licenses/{license_id}"), body, 200);
    }

    pub fn suspend_license(&self, id: &str) {
        self.expect(
            "POST",
            &format!("/v1/licenses/{id}/actions/suspend"),
            Value::Null,
            200,
        );
    }

    pub fn reinstate_license(&self, id: &str) {
        self.expect(
            "POST",
            &format!("/v1/licenses/{id}/actions/reinstate"),
            Value::Null,
            200,
        );
    }

    pub fn advance_clock(&self, seconds: i64) -> String {
        let v = self.expect(
            "POST",
            "/v1/dev/clock",
            json!({ "advance_seconds": seconds }),
            200,
        );
        v["now"].as_str().unwrap_or_default().to_string()
    }

    pub fn set_fault(&self, fault: Value) {
        self.expect("POST", "/v1/dev/faults", fault, 201);
    }

    pub fn clear_faults(&self) {
        self.expect("DELETE", "/v1/dev/faults", Value::Null, 200);
    }

    pub fn cull(&self) {
        self.expect("POST", "/v1/dev/cull", Value::Null, 200);
    }
}

/// validate-key throughput of a fresh in-process devserver: `clients` keep-alive connections on
/// loopback, each sending one signed validation of a floating license after another for
/// `duration`. Returns how many answered and the seconds taken (the benchmarks' load generator;
/// every answer is checked for status 200 and a `Keygen-Signature`).
pub fn validate_throughput(clients: usize, duration: Duration) -> (u64, f64) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let server = crate::DevServer::start(crate::Options::default()).expect("server starts");
    let admin = server.admin();
    let product = admin.create_product("Bench");
    let policy = admin.create_policy(
        &product,
        json!({ "strict": true, "floating": true, "maxMachines": 10 }),
    );
    let (license, key) = admin.create_license(&policy, json!({}));
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "bench-fp" },
        "relationships": { "license": { "data": { "type": "licenses", "id": license } } } } });
    let created = admin
        .request("POST", "/v1/machines", Some(&body))
        .unwrap()
        .0;
    assert_eq!(created, 201, "the benchmark's machine is created");

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
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, request, done, stop) =
                (addr.clone(), request.clone(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&addr).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                while !stop.load(Ordering::Relaxed) {
                    stream.write_all(request.as_bytes()).expect("send");
                    let resp = read_response(&mut reader).expect("response");
                    assert!(resp.status == 200 && resp.header("keygen-signature").is_some());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("client thread");
    }
    (
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

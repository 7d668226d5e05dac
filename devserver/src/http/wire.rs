//! What a handler sees of HTTP: a request with its whole body, a response with its exact bytes,
//! and the outcome (answer, reset, or cut mid-body). Built from and into hyper's types at the
//! edge of the server, so nothing above this room names hyper.

use hyper::header::{HeaderName, HeaderValue, CONNECTION};

/// Whether the client asked to keep the connection open (HTTP/1.1 unless it says `close`,
/// HTTP/1.0 only when it says `keep-alive`).
pub(super) fn wants_keep_alive(head: &hyper::http::request::Parts) -> bool {
    let mut tokens = head
        .headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|t| t.trim_ascii());
    let (mut close, mut keep) = (false, false);
    for t in &mut tokens {
        close |= t.eq_ignore_ascii_case(b"close");
        keep |= t.eq_ignore_ascii_case(b"keep-alive");
    }
    !close && (keep || head.version != hyper::Version::HTTP_10)
}

pub struct Request {
    pub method: String,
    /// The request target exactly as received (path and query).
    pub target: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A request from hyper's head and the collected body; a header value that is not UTF-8 is
    /// a malformed request.
    pub(super) fn new(head: hyper::http::request::Parts, body: Vec<u8>) -> Result<Request, String> {
        let mut headers = Vec::with_capacity(head.headers.len());
        for (name, value) in &head.headers {
            let value = std::str::from_utf8(value.as_bytes())
                .map_err(|_| "invalid header encoding".to_string())?;
            headers.push((name.as_str().to_string(), value.to_string()));
        }
        let uri = &head.uri;
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |pq| pq.as_str());
        Ok(Request {
            method: head.method.as_str().to_string(),
            target: target.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(parse_query).unwrap_or_default(),
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                crate::util::percent_decode(k, true),
                crate::util::percent_decode(v, true),
            )
        })
        .collect()
}

#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }

    /// hyper's response with this status, these headers (Content-Length is hyper's, from the
    /// body) and `body`, and `Connection: close` (hyper then closes the connection after it) or
    /// `Connection: keep-alive`.
    pub(super) fn into_hyper<B>(self, body: B, close: bool) -> hyper::Response<B> {
        let mut resp = hyper::Response::new(body);
        *resp.status_mut() = hyper::StatusCode::from_u16(self.status)
            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = resp.headers_mut();
        headers.reserve(self.headers.len() + 1);
        for (k, v) in self.headers {
            let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::try_from(v),
            ) else {
                continue;
            };
            headers.append(k, v);
        }
        let connection = if close { "close" } else { "keep-alive" };
        headers.insert(CONNECTION, HeaderValue::from_static(connection));
        resp
    }
}

/// What the server does with a request once the handler has seen it.
pub enum Outcome {
    Reply(Response),
    /// Reset the connection (TCP RST) without answering.
    Reset,
    /// Send the head and the first half of the body, then close the connection (no TLS
    /// close_notify either), so the client sees a truncated answer.
    CutMidBody(Response),
}

/// A Keygen-style error document for the answers the HTTP layer gives by itself.
pub fn simple(status: u16, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "title": reason(status), "detail": message }] });
    Response::new(
        status,
        "application/vnd.api+json; charset=utf-8",
        crate::util::json_bytes(&body),
    )
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

//! Faults: the queue of injected failures (`/v1/dev/faults`) and what each one does to an
//! answer: reset, hang, a canned 5xx/429 instead, a replayed, tampered, unsigned, stale or
//! wrongly signed answer, or one cut mid-body. The Keygen API decides when to consult them.

use crate::http::{reason, Outcome, Request, Response};
use crate::util::http_date;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Refuse,
    Offline,
    Hang,
    Status,
    RateLimit,
    Drop,
    Tamper,
    Unsigned,
    WrongKey,
    StaleDate,
    Replay,
}

const MODES: [(&str, Mode); 11] = [
    ("refuse", Mode::Refuse),
    ("offline", Mode::Offline),
    ("hang", Mode::Hang),
    ("status", Mode::Status),
    ("rate_limit", Mode::RateLimit),
    ("drop", Mode::Drop),
    ("tamper", Mode::Tamper),
    ("unsigned", Mode::Unsigned),
    ("wrong_key", Mode::WrongKey),
    ("stale_date", Mode::StaleDate),
    ("replay", Mode::Replay),
];

const MAX_SECONDS: i64 = 10 * 31_556_952;

#[derive(Clone, Debug)]
pub struct Fault {
    pub mode: Mode,
    /// Matching requests left; `None` = until cleared.
    pub remaining: Option<u64>,
    pub path: Option<String>,
    pub method: Option<String>,
    pub status: u16,
    pub delay_ms: u64,
    pub retry_after: u64,
    pub skew_seconds: i64,
}

impl Fault {
    pub fn parse(v: &Value) -> Result<Fault, String> {
        let obj = v.as_object().ok_or("expected a JSON object")?;
        const KEYS: [&str; 8] = [
            "mode",
            "count",
            "path",
            "method",
            "status",
            "delay_ms",
            "retry_after",
            "skew_seconds",
        ];
        if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("unknown key '{k}'"));
        }
        let name = obj
            .get("mode")
            .and_then(Value::as_str)
            .ok_or("mode is required")?;
        let mode = MODES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("unknown mode '{name}'"))?;
        let uint = |k: &str, default: u64| -> Result<u64, String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| format!("{k} must be a non-negative integer")),
            }
        };
        let string = |k: &str| -> Result<Option<String>, String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{k} must be a string")),
            }
        };
        let count = uint("count", if mode == Mode::Offline { 0 } else { 1 })?;
        let status = uint("status", 503)?;
        if !(100..=599).contains(&status) {
            return Err("status must be an HTTP status code".into());
        }
        let skew = match obj.get("skew_seconds") {
            None | Some(Value::Null) => 3600,
            Some(v) => v
                .as_i64()
                .filter(|s| s.abs() <= MAX_SECONDS)
                .ok_or("skew_seconds must be an integer of at most 10 years")?,
        };
        Ok(Fault {
            mode,
            remaining: (count > 0).then_some(count),
            path: string("path")?,
            method: string("method")?.map(|m| m.to_ascii_uppercase()),
            status: status as u16,
            delay_ms: uint("delay_ms", 2000)?.min(600_000),
            retry_after: uint("retry_after", 2)?.min(MAX_SECONDS as u64),
            skew_seconds: skew,
        })
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().map_or(true, |m| m == method)
            && self.path.as_deref().map_or(true, |p| path.contains(p))
    }

    pub fn to_json(&self) -> Value {
        let name = MODES
            .iter()
            .find(|(_, m)| *m == self.mode)
            .map_or("", |(n, _)| n);
        json!({
            "mode": name, "count": self.remaining.unwrap_or(0), "path": self.path, "method": self.method,
            "status": self.status, "delay_ms": self.delay_ms, "retry_after": self.retry_after,
            "skew_seconds": self.skew_seconds,
        })
    }
}

/// What a fault does before the request reaches the API.
pub enum Before {
    /// Nothing: answer (and sign, and alter) as usual.
    Answer,
    /// Reset the connection without answering.
    Reset,
    /// Wait this long, then answer.
    Hang(Duration),
    /// Send this instead of an answer.
    Instead(Response),
    /// Send the previous answer to the same method and path again, if there is one.
    Replay,
}

impl Fault {
    pub fn before(&self, now: i64) -> Before {
        match self.mode {
            Mode::Refuse | Mode::Offline => Before::Reset,
            Mode::Hang => Before::Hang(Duration::from_millis(self.delay_ms)),
            Mode::Status => Before::Instead(self.status_response(now)),
            Mode::RateLimit => Before::Instead(self.rate_limited(now)),
            Mode::Replay => Before::Replay,
            _ => Before::Answer,
        }
    }

    /// The `Date` the answer claims (and is signed with).
    pub fn claimed_date(&self, now: i64) -> i64 {
        match self.mode {
            Mode::StaleDate => now - self.skew_seconds * 1000,
            _ => now,
        }
    }

    /// Whether the answer is signed with a key that is not the account's.
    pub fn wrong_key(&self) -> bool {
        self.mode == Mode::WrongKey
    }

    /// What the fault does to the signed answer.
    pub fn after(&self, mut resp: Response) -> Outcome {
        match self.mode {
            Mode::Unsigned => resp
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("Keygen-Signature")),
            Mode::Tamper => tamper(&mut resp),
            Mode::Drop => return Outcome::CutMidBody(resp),
            _ => {}
        }
        Outcome::Reply(resp)
    }

    /// An unsigned 5xx (or other status) as Keygen's edge would send it.
    fn status_response(&self, now: i64) -> Response {
        let status = self.status;
        let (title, detail) = match status {
            500 => ("Internal server error", "Looks like something went wrong! Our engineers have been notified. If you continue to have problems, please contact support@keygen.sh."),
            502 => ("Bad gateway", "The server received an invalid response from an upstream server"),
            504 => ("Gateway timeout", "The server did not receive a timely response from an upstream server"),
            503 => ("Service unavailable", "Our services are currently unavailable. Please see https://status.keygen.sh for our uptime status and contact support@keygen.sh with any questions."),
            _ => (reason(status), "The request could not be completed"),
        };
        let body = json!({ "errors": [{ "title": title, "detail": detail }] });
        let mut resp = Response::new(
            status,
            "application/vnd.api+json; charset=utf-8",
            crate::util::json_bytes(&body),
        );
        resp.set_header("Date", http_date(now));
        resp
    }

    /// Keygen's throttle answer (Rack::Attack, so unsigned), with its rate-limit headers.
    fn rate_limited(&self, now: i64) -> Response {
        let retry = self.retry_after;
        let body = json!({ "errors": [{
            "title": "Too many requests",
            "detail": "Throttle limit has been reached for your IP address. Please see https://keygen.sh/docs/api/rate-limiting/ for more information.",
            "code": "TOO_MANY_REQUESTS",
        }] });
        let mut resp = Response::new(
            429,
            "application/vnd.api+json; charset=utf-8",
            crate::util::json_bytes(&body),
        );
        for (k, v) in [
            ("Date", http_date(now)),
            ("Retry-After", retry.to_string()),
            ("X-RateLimit-Window", "1m".into()),
            ("X-RateLimit-Count", "61".into()),
            ("X-RateLimit-Limit", "60".into()),
            ("X-RateLimit-Remaining", "0".into()),
            ("X-RateLimit-Reset", (now / 1000 + retry as i64).to_string()),
        ] {
            resp.set_header(k, v);
        }
        resp
    }
}

/// One flipped bit in the body, or (an empty body) a Digest of other bytes.
fn tamper(resp: &mut Response) {
    match resp.body.len() {
        0 => {
            if let Some(h) = resp.headers.iter_mut().find(|(k, _)| k == "Digest") {
                h.1 = crate::signing::digest(b"tampered");
            }
        }
        n => resp.body[n / 2] ^= 0x01,
    }
}

/// The queued faults, and the last unfaulted answer per method and path for `replay`.
#[derive(Default)]
pub struct Faults {
    queue: Vec<Fault>,
    answers: HashMap<String, Response>,
}

impl Faults {
    pub fn push(&mut self, f: Fault) {
        self.queue.push(f);
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }

    pub fn list(&self) -> Value {
        Value::Array(self.queue.iter().map(Fault::to_json).collect())
    }

    /// Keeps an unfaulted answer for a later `replay`.
    pub fn remember(&mut self, req: &Request, resp: &Response) {
        self.answers.insert(replay_key(req), resp.clone());
    }

    pub fn replayed(&self, req: &Request) -> Option<Response> {
        self.answers.get(&replay_key(req)).cloned()
    }

    /// Consumes one use of the first fault matching the request.
    pub fn take(&mut self, method: &str, path: &str) -> Option<Fault> {
        let i = self.queue.iter().position(|f| f.matches(method, path))?;
        let fault = self.queue[i].clone();
        match &mut self.queue[i].remaining {
            Some(1) => {
                self.queue.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}

fn replay_key(req: &Request) -> String {
    format!("{} {}", req.method, req.path)
}

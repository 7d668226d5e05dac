//! Queued fault injections for resilience tests (`/v1/dev/faults`).

use serde_json::{json, Value};

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

#[derive(Default)]
pub struct Faults {
    queue: Vec<Fault>,
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

//! The request log: the portal's only state. One JSON object per line for
//! each HTTP request (time, method, path without its query, status,
//! duration, and for an activation its outcome and the fingerprint's first
//! characters), plus lic's own warnings. It never holds a license key, a
//! request text, a query string, a machine file or an IP address.

use std::io::Write;
use std::path::Path;

use std::sync::Mutex;

use serde::Serialize;

/// What one request's handler adds to its log line (as a response extension).
#[derive(Clone, Debug, Default)]
pub struct Note {
    pub outcome: Option<&'static str>,
    /// The request's fingerprint, of which the log keeps the first 12 characters.
    pub fingerprint: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    method: &'a str,
    path: &'a str,
    status: u16,
    ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
}

#[derive(Serialize)]
struct LicLine<'a> {
    ts: String,
    lic: &'a str,
    message: &'a str,
}

pub struct RequestLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl RequestLog {
    pub fn stderr() -> RequestLog {
        RequestLog {
            out: Mutex::new(Box::new(std::io::stderr())),
        }
    }

    /// Appends to `path` (created when missing, mode 0600 on Unix).
    pub fn file(path: &Path) -> std::io::Result<RequestLog> {
        let mut o = std::fs::OpenOptions::new();
        o.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        Ok(RequestLog {
            out: Mutex::new(Box::new(o.open(path)?)),
        })
    }

    fn write(&self, line: &impl Serialize) {
        if let Ok(mut text) = serde_json::to_string(line) {
            text.push('\n');
            // A panic while logging loses a line, never the portal.
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// One HTTP request. `path` must be the path alone (no query string).
    pub fn request(&self, method: &str, path: &str, status: u16, ms: u64, note: &Note) {
        let fingerprint = note
            .fingerprint
            .as_deref()
            .map(|f| f.chars().take(12).collect::<String>());
        self.write(&Line {
            ts: now(),
            method,
            path,
            status,
            ms,
            outcome: note.outcome,
            fingerprint,
        });
    }

    /// A warning from lic while acting for a request (lic never logs keys;
    /// the caller has removed the request's key anyway).
    pub fn lic(&self, level: &str, message: &str) {
        self.write(&LicLine {
            ts: now(),
            lic: level,
            message,
        });
    }

    /// A line about the portal itself (start, stop).
    pub fn portal(&self, message: &str) {
        #[derive(Serialize)]
        struct P<'a> {
            ts: String,
            portal: &'a str,
        }
        self.write(&P {
            ts: now(),
            portal: message,
        });
    }
}

fn now() -> String {
    lic::time::format_rfc3339(lic::time::now_ms())
}

//! Development extensions under `/v1/dev/`: server clock, culling and fault injection. Admin
//! token only, plain JSON, never faulted.

use super::App;
use crate::faults::Fault;
use crate::http::{Request, Response};
use crate::util::rfc3339_ms;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// One advance may move the clock by at most a century (keeps all time arithmetic in range).
const MAX_ADVANCE: i64 = 100 * 31_556_952;

pub fn is_dev(path: &str) -> bool {
    path.starts_with("/v1/dev/")
}

fn respond(status: u16, body: Value) -> Response {
    Response::new(status, "application/json", crate::util::json_bytes(&body))
}

fn error(status: u16, message: &str) -> Response {
    respond(status, json!({ "error": message }))
}

pub fn handle(app: &App, req: &Request) -> Response {
    let token = req.header("authorization").and_then(|h| {
        let (scheme, value) = h.trim().split_once(' ')?;
        matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "token").then(|| value.trim())
    });
    if token != Some(app.identity.admin_token.as_str()) {
        let mut resp = error(401, "the admin token is required");
        resp.set_header("WWW-Authenticate", r#"Bearer realm="keygen""#.into());
        return resp;
    }
    let body = if req.body.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(&req.body)
    };
    let Ok(body) = body else {
        return error(400, "invalid JSON");
    };
    let now = || json!({ "now": rfc3339_ms(app.now()) });
    match (req.method.as_str(), req.path.trim_end_matches('/')) {
        ("GET", "/v1/dev/clock") => respond(200, now()),
        ("POST", "/v1/dev/clock") => match body.get("advance_seconds").and_then(Value::as_i64) {
            Some(s) if s.abs() <= MAX_ADVANCE => {
                app.clock_offset_ms.fetch_add(s * 1000, Ordering::Relaxed);
                app.dirty.store(true, Ordering::Relaxed);
                respond(200, now())
            }
            _ => error(
                400,
                "advance_seconds must be an integer of at most 100 years",
            ),
        },
        ("POST", "/v1/dev/cull") => {
            if app.store.lock().cull(app.now()) {
                app.dirty.store(true, Ordering::Relaxed);
            }
            respond(200, now())
        }
        ("GET", "/v1/dev/faults") => respond(200, json!({ "faults": app.faults.lock().list() })),
        ("POST", "/v1/dev/faults") => match Fault::parse(&body) {
            Ok(fault) => {
                let listed = fault.to_json();
                app.faults.lock().push(fault);
                respond(201, json!({ "fault": listed }))
            }
            Err(e) => error(400, &e),
        },
        ("DELETE", "/v1/dev/faults") => {
            app.faults.lock().clear();
            respond(200, json!({ "faults": [] }))
        }
        _ => error(404, "unknown dev endpoint"),
    }
}

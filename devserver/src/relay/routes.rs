//! The relay's `http::Handler`: gorilla/mux's routing as Relay registers it (`handler.go`
//! RegisterRoutes: health, claim, release; 405 for a known path with another method, 404
//! otherwise, both without the middlewares), the bodies exactly as Go's `json.Encoder` writes
//! them, the signing middleware (`middleware.go`: `Relay-Clock`, `Relay-Signature`), the
//! faults, and the dev extensions (`/v1/dev/`, admin token).

use super::leases::{BadPool, Claimed};
use super::Relay;
use crate::faults::{Before, Fault, Mode};
use crate::http::{self, Outcome, Request, Response};
use crate::util::{b64, hex, http_date, percent_decode, random_bytes};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// `ClaimLicenseResponse` (handler.go), in its field order.
#[derive(Serialize)]
struct ClaimBody {
    /// Go's `[]byte` in JSON: standard base64 with padding.
    license_file: String,
    license_key: String,
    expires_at: i64,
    expires_in: i64,
}

/// `ExtendLicenseResponse`.
#[derive(Serialize)]
struct ExtendBody {
    expires_at: i64,
    expires_in: i64,
}

const JSON: &str = "application/json";

impl http::Handler for Relay {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Outcome> + Send {
        self.answer(req)
    }
}

/// Go's `json.Encoder`: compact, fields in declaration order, `<`, `>`, `&`, U+2028 and
/// U+2029 escaped, and a newline.
fn go_json(v: &impl Serialize) -> Vec<u8> {
    let text = serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let mut out = text.into_bytes();
    out.push(b'\n');
    out
}

fn json_response(status: u16, body: &impl Serialize) -> Response {
    Response::new(status, JSON, go_json(body))
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// Go's `path.Clean` as gorilla/mux applies it (`cleanPath`): a trailing slash is kept.
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if p.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// What the router makes of a request (before the middlewares).
enum Route<'a> {
    Health,
    Claim(&'a str),
    Release(&'a str),
    /// A registered path with another method.
    MethodNotAllowed,
    NotFound,
}

fn route<'a>(method: &str, path: &'a str) -> Route<'a> {
    if path == "/v1/health" {
        return match method {
            "GET" => Route::Health,
            _ => Route::MethodNotAllowed,
        };
    }
    // `{fingerprint}` is `[^/]+`, matched against the decoded path.
    match path.strip_prefix("/v1/nodes/") {
        Some(fp) if !fp.is_empty() && !fp.contains('/') => match method {
            "PUT" => Route::Claim(fp),
            "DELETE" => Route::Release(fp),
            _ => Route::MethodNotAllowed,
        },
        _ => Route::NotFound,
    }
}

impl Relay {
    /// One request: dev extensions as they are; everything else through the first matching
    /// fault, the router, the handler and the signing middleware.
    pub(super) async fn answer(&self, req: Request) -> Outcome {
        if req.path.starts_with("/v1/dev/") {
            return Outcome::Reply(self.dev(&req));
        }
        let fault = self.faults.lock().take(&req.method, &req.path);
        if let Some(f) = &fault {
            match f.before(self.now_ms()) {
                Before::Answer => {}
                Before::Reset => return Outcome::Reset,
                Before::Hang(d) => http::pause(d).await,
                Before::Instead(resp) => return Outcome::Reply(resp),
                Before::Replay => {
                    if let Some(resp) = self.faults.lock().replayed(&req) {
                        return Outcome::Reply(resp);
                    }
                }
            }
        }
        // The middleware takes its time before the handler runs.
        let t = match &fault {
            Some(f) if f.mode == Mode::StaleDate => self.now_s() - f.skew_seconds,
            _ => self.now_s(),
        };
        let mut resp = self.routed(&req, t, fault.as_ref());
        resp.set_header("Date", http_date(self.now_ms()));
        match fault {
            None => {
                self.faults.lock().remember(&req, &resp);
                Outcome::Reply(resp)
            }
            Some(f) => match f.mode {
                Mode::Unsigned => {
                    resp.headers
                        .retain(|(k, _)| !k.eq_ignore_ascii_case("Relay-Signature"));
                    Outcome::Reply(resp)
                }
                Mode::Tamper => {
                    let n = resp.body.len();
                    if n > 0 {
                        resp.body[n / 2] ^= 0x01;
                    }
                    Outcome::Reply(resp)
                }
                Mode::Drop => Outcome::CutMidBody(resp),
                _ => Outcome::Reply(resp),
            },
        }
    }

    /// Router, handler and middlewares.
    fn routed(&self, req: &Request, t: i64, fault: Option<&Fault>) -> Response {
        // net/url decodes the path; mux matches and cleans the decoded form.
        let path = percent_decode(&req.path, false);
        let clean = clean_path(&path);
        if clean != path {
            let mut resp = Response {
                status: 301,
                headers: vec![],
                body: vec![],
            };
            resp.set_header("Location", clean);
            return resp;
        }
        let mut resp = match route(&req.method, &path) {
            Route::MethodNotAllowed => {
                return Response {
                    status: 405,
                    headers: vec![],
                    body: vec![],
                }
            }
            Route::NotFound => {
                let mut resp = Response::new(
                    404,
                    "text/plain; charset=utf-8",
                    b"404 page not found\n".to_vec(),
                );
                resp.set_header("X-Content-Type-Options", "nosniff".into());
                return resp;
            }
            Route::Health => Response {
                status: 200,
                headers: vec![],
                body: vec![],
            },
            Route::Claim(fp) => self.claim(req, fp),
            Route::Release(fp) => self.release(req, fp),
        };
        resp.set_header("Relay-Clock", t.to_string());
        if let Some(secret) = &self.secret {
            let wrong;
            let key = match fault {
                Some(f) if f.wrong_key() => {
                    wrong = hex(&random_bytes::<16>());
                    wrong.as_str()
                }
                _ => secret.as_str(),
            };
            resp.set_header("Relay-Signature", signature(key, t, &resp.body));
        }
        resp
    }

    /// The pool a request names: the header (an empty one counts as none), which must be the
    /// served pool when the server has one; else the served pool; else the global pool.
    fn pool_of(&self, req: &Request) -> Result<Option<String>, Response> {
        match req.header("relay-pool").filter(|p| !p.is_empty()) {
            Some(p) => match &self.pool {
                Some(served) if served != p => Err(error(400, "unsupported pool header")),
                _ => Ok(Some(p.to_string())),
            },
            None => Ok(self.pool.clone()),
        }
    }

    /// `ClaimLicense`: 201 with the file and key, 202 extended, 409, 410, 400.
    fn claim(&self, req: &Request, fingerprint: &str) -> Response {
        let pool = match self.pool_of(req) {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let random = u64::from_le_bytes(random_bytes::<8>());
        let claimed = self.tables.lock().claim(
            pool.as_deref(),
            fingerprint,
            self.strategy,
            self.heartbeats,
            self.now_s(),
            random,
        );
        if !matches!(
            claimed,
            Ok(Claimed::NoLicenses) | Ok(Claimed::Conflict) | Err(_)
        ) {
            self.changed();
        }
        // `expires_at` is worked out as the answer is written: now + TTL.
        let expires = || (self.now_s() + self.ttl_s(), self.ttl_s());
        match claimed {
            Err(BadPool) => error(400, "invalid pool header"),
            Ok(Claimed::Created { file, key }) => {
                let (at, ttl) = expires();
                json_response(
                    201,
                    &ClaimBody {
                        license_file: b64(&file),
                        license_key: key,
                        expires_at: at,
                        expires_in: ttl,
                    },
                )
            }
            Ok(Claimed::Extended) => {
                let (at, ttl) = expires();
                json_response(
                    202,
                    &ExtendBody {
                        expires_at: at,
                        expires_in: ttl,
                    },
                )
            }
            Ok(Claimed::Conflict) => error(409, "failed to claim license due to conflict"),
            Ok(Claimed::NoLicenses) => error(410, "no licenses available"),
        }
    }

    /// `ReleaseLicense`: 204, 404, 400.
    fn release(&self, req: &Request, fingerprint: &str) -> Response {
        let pool = match self.pool_of(req) {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        match self
            .tables
            .lock()
            .release(pool.as_deref(), fingerprint, self.now_s())
        {
            Err(BadPool) => error(400, "invalid pool header"),
            Ok(false) => error(404, "claim not found"),
            Ok(true) => {
                self.changed();
                Response::new(204, JSON, vec![])
            }
        }
    }

    /// `/v1/dev/`: the relay's clock, the reaper, faults, and `relay add`/`ls`/`del` over HTTP.
    /// Admin token only, plain JSON, never faulted, never signed.
    fn dev(&self, req: &Request) -> Response {
        let plain =
            |status: u16, body: Value| Response::new(status, JSON, crate::util::json_bytes(&body));
        let token = req.header("authorization").and_then(|h| {
            let (scheme, value) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
        });
        if token != Some(self.admin_token.as_str()) {
            return plain(401, json!({ "error": "the admin token is required" }));
        }
        let body = if req.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(v) => v,
                Err(_) => return plain(400, json!({ "error": "invalid JSON" })),
            }
        };
        let now = || json!({ "now": self.now_s() });
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            ("GET", "/v1/dev/clock") => plain(200, now()),
            ("POST", "/v1/dev/clock") => {
                match body.get("advance_seconds").and_then(Value::as_i64) {
                    Some(s) if s.abs() <= 100 * 31_556_952 => {
                        self.advance_clock(s);
                        plain(200, now())
                    }
                    _ => plain(
                        400,
                        json!({ "error": "advance_seconds must be an integer of at most 100 years" }),
                    ),
                }
            }
            ("POST", "/v1/dev/cull") => plain(200, json!({ "culled": self.cull() })),
            ("GET", "/v1/dev/faults") => plain(200, json!({ "faults": self.faults.lock().list() })),
            ("POST", "/v1/dev/faults") => match Fault::parse(&body) {
                Ok(f) => {
                    let listed = f.to_json();
                    self.faults.lock().push(f);
                    plain(201, json!({ "fault": listed }))
                }
                Err(e) => plain(400, json!({ "error": e })),
            },
            ("DELETE", "/v1/dev/faults") => {
                self.clear_faults();
                plain(200, json!({ "faults": [] }))
            }
            ("GET", "/v1/dev/licenses") => {
                let rows: Vec<Value> = self
                    .licenses()
                    .into_iter()
                    .map(|r| {
                        json!({ "id": r.id, "pool": r.pool, "node": r.node, "claims": r.claims,
                                "last_claimed_at": r.last_claimed_at,
                                "last_released_at": r.last_released_at,
                                "created_at": r.created_at })
                    })
                    .collect();
                plain(200, json!({ "licenses": rows }))
            }
            ("POST", "/v1/dev/licenses") => {
                let text = |k: &str| body.get(k).and_then(Value::as_str);
                let (Some(file), Some(key)) = (text("license_file"), text("license_key")) else {
                    return plain(
                        400,
                        json!({ "error": "license_file and license_key are required" }),
                    );
                };
                match self.add(file.as_bytes(), key, text("pool")) {
                    Ok(id) => plain(201, json!({ "id": id })),
                    Err(e) => plain(422, json!({ "error": e })),
                }
            }
            ("DELETE", p) if p.starts_with("/v1/dev/licenses/") => {
                let id = percent_decode(&p["/v1/dev/licenses/".len()..], false);
                match self.remove(&id) {
                    true => Response::new(204, JSON, vec![]),
                    false => plain(404, json!({ "error": format!("license {id} not found") })),
                }
            }
            _ => plain(404, json!({ "error": "unknown dev endpoint" })),
        }
    }
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (`middleware.go`, `signer.go`).
pub(super) fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_mux_does() {
        assert_eq!(clean_path("/v1/nodes/x"), "/v1/nodes/x");
        assert_eq!(clean_path("/v1//nodes/x"), "/v1/nodes/x");
        assert_eq!(clean_path("/v1/nodes/./x"), "/v1/nodes/x");
        assert_eq!(clean_path("/v1/nodes/../health"), "/v1/health");
        assert_eq!(clean_path("/v1/nodes/"), "/v1/nodes/");
    }

    #[test]
    fn bodies_are_what_go_writes() {
        assert_eq!(
            go_json(&json!({ "error": "no licenses available" })),
            b"{\"error\":\"no licenses available\"}\n"
        );
        assert_eq!(
            go_json(&json!({ "k": "a<b>&" })),
            b"{\"k\":\"a\\u003cb\\u003e\\u0026\"}\n"
        );
        let body = go_json(&ClaimBody {
            license_file: "Zg==".into(),
            license_key: "K".into(),
            expires_at: 2,
            expires_in: 1,
        });
        assert_eq!(
            body,
            b"{\"license_file\":\"Zg==\",\"license_key\":\"K\",\"expires_at\":2,\"expires_in\":1}\n"
        );
    }

    #[test]
    fn the_signature_is_an_hmac_of_time_and_body() {
        // Vectors computed with Python's hmac module over "<t>." + body.
        assert_eq!(
            signature(
                "hunter2",
                1764949490,
                b"{\"error\":\"no licenses available\"}\n"
            ),
            "t=1764949490,v1=1696bbdf31a464855fba5375abf7252019012ce34d2ab9e421a50f2c88186c79"
        );
        assert_eq!(
            signature("hunter2", 1764949490, b""),
            "t=1764949490,v1=83c288c276ae120962547049269cb09c8f984b9ae3d344242829fcb722f50256"
        );
    }
}

//! The Keygen API surface: request context, authentication, routing and response finishing.

mod admin;
pub use admin::bootstrap;
mod checkout;
pub mod dev;
mod licensing;
mod machines;

use crate::errors::{ApiError, ApiResult};
use crate::faults::{Fault, Faults, Mode};
use crate::http::{self, Outcome, Request, Response};
use crate::model::{License, Store};
use crate::util::{self, b64, http_date, sha256};
use crate::views::View;
use ed25519_dalek::{Signer, SigningKey};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Identity {
    pub account_id: String,
    pub admin_token: String,
    pub key: SigningKey,
}

/// Everything a request handler can reach. Locks are only held while computing a response,
/// never across socket I/O.
pub struct App {
    pub identity: Identity,
    pub store: Mutex<Store>,
    pub clock_offset_ms: AtomicI64,
    pub faults: Mutex<Faults>,
    replay: Mutex<HashMap<String, Response>>,
    pub dirty: AtomicBool,
    pub min_heartbeat: i64,
}

pub enum Body {
    Json(Value),
    Raw(Vec<u8>),
    Empty,
}

pub struct Reply {
    pub status: u16,
    pub body: Body,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn ok(v: Value) -> ApiResult<Reply> {
        Ok(Reply {
            status: 200,
            body: Body::Json(v),
            headers: vec![],
        })
    }
    pub fn created(v: Value, location: String) -> ApiResult<Reply> {
        Ok(Reply {
            status: 201,
            body: Body::Json(v),
            headers: vec![("Location".into(), location)],
        })
    }
    pub fn no_content() -> ApiResult<Reply> {
        Ok(Reply {
            status: 204,
            body: Body::Empty,
            headers: vec![],
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Bearer {
    Admin,
    License { id: String, token: Option<String> },
}

impl Bearer {
    pub fn is_admin(&self) -> bool {
        *self == Bearer::Admin
    }
    pub fn license_id(&self) -> Option<&str> {
        match self {
            Bearer::License { id, .. } => Some(id),
            Bearer::Admin => None,
        }
    }
    /// Whether the bearer may see this license (admins see all, a license only itself).
    pub fn sees(&self, license_id: &str) -> bool {
        self.license_id().map_or(true, |id| id == license_id)
    }
    pub fn admin_only(&self) -> ApiResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::denied())
        }
    }
}

pub struct Ctx<'a> {
    pub app: &'a App,
    pub req: &'a Request,
    pub body: Value,
    pub now: i64,
}

impl<'a> Ctx<'a> {
    pub fn view<'s>(&'s self, store: &'s Store) -> View<'s> {
        View {
            store,
            account: &self.app.identity.account_id,
            now: self.now,
        }
    }

    pub fn link(&self, path: &str) -> String {
        format!("/v1/accounts/{}/{}", self.app.identity.account_id, path)
    }

    /// The authenticated bearer, or Keygen's 401/403 for bad or missing credentials.
    pub fn bearer(&self, store: &Store) -> ApiResult<Bearer> {
        self.authenticate(store)?.ok_or_else(|| {
            ApiError::unauthorized("TOKEN_MISSING", None)
                .about("https://keygen.sh/docs/api/authentication/")
        })
    }

    pub fn authenticate(&self, store: &Store) -> ApiResult<Option<Bearer>> {
        let header = self
            .req
            .header("authorization")
            .map(str::trim)
            .filter(|h| !h.is_empty());
        let Some(header) = header else {
            let q = self.req.query("token").or_else(|| self.req.query("auth"));
            return match q.filter(|q| !q.is_empty()) {
                Some(q) => self.userpass(store, q, "Bearer"),
                None => Ok(None),
            };
        };
        let (scheme, cred) = header.split_once(' ').unwrap_or((header, ""));
        let cred = cred.trim();
        let challenge = |mut e: ApiError| {
            if e.challenge.is_some() {
                e.challenge = Some(scheme.to_string());
            }
            e
        };
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" | "token" => self.token_auth(store, cred),
            "license" => self.license_auth(store, cred),
            "basic" => {
                let decoded = util::b64_decode(cred).and_then(|b| String::from_utf8(b).ok());
                match decoded {
                    Some(d) if !d.is_empty() && d != ":" => self.userpass(store, &d, scheme),
                    _ => Err(ApiError::unauthorized("TOKEN_INVALID", None)),
                }
            }
            _ => Ok(None),
        }
        .map_err(challenge)
    }

    /// `license:<key>`, `token:<token>` or a bare token (Basic credentials and `?token=`).
    fn userpass(&self, store: &Store, s: &str, _scheme: &str) -> ApiResult<Option<Bearer>> {
        match s.split_once(':') {
            Some(("license", key)) => self.license_auth(store, key),
            Some(("token", token)) => self.token_auth(store, token),
            Some((user, _)) => self.token_auth(store, user),
            None => self.token_auth(store, s),
        }
    }

    fn token_auth(&self, store: &Store, token: &str) -> ApiResult<Option<Bearer>> {
        const TOKEN_DOCS: &str = "https://keygen.sh/docs/api/authentication/#token-authentication";
        if token.is_empty() {
            return Ok(None);
        }
        if util::is_uuid(token) {
            return Err(ApiError::unauthorized(
                "TOKEN_FORMAT_INVALID",
                Some("Token format is invalid (make sure that you're providing a token value, not a token's UUID identifier)"),
            ));
        }
        if token == self.app.identity.admin_token {
            return Ok(Some(Bearer::Admin));
        }
        let Some(t) = store.tokens.iter().find(|t| t.token == token) else {
            return Err(ApiError::unauthorized("TOKEN_INVALID", None).about(TOKEN_DOCS));
        };
        let expiry = crate::model::text(&t.attrs, "expiry").and_then(util::parse_time);
        if expiry.is_some_and(|e| e <= self.now) {
            return Err(ApiError::unauthorized(
                "TOKEN_EXPIRED",
                Some("Token is expired"),
            ));
        }
        let Some(license) = store.license(&t.license_id) else {
            return Err(ApiError::unauthorized("TOKEN_INVALID", None).about(TOKEN_DOCS));
        };
        if !store.policy_of(license).supports_token_auth() {
            return Err(ApiError::forbidden(
                "TOKEN_NOT_ALLOWED",
                "Token authentication is not allowed by policy",
            )
            .about(TOKEN_DOCS));
        }
        Ok(Some(Bearer::License {
            id: license.id.clone(),
            token: Some(t.id.clone()),
        }))
    }

    fn license_auth(&self, store: &Store, key: &str) -> ApiResult<Option<Bearer>> {
        const LICENSE_DOCS: &str =
            "https://keygen.sh/docs/api/authentication/#license-authentication";
        if key.is_empty() {
            return Ok(None);
        }
        let Some(license) = store.license_by_key(key) else {
            return Err(ApiError::unauthorized("LICENSE_INVALID", None).about(LICENSE_DOCS));
        };
        let policy = store.policy_of(license);
        if license.suspended {
            return Err(ApiError::forbidden(
                "LICENSE_SUSPENDED",
                "License is suspended",
            ));
        }
        if policy.revokes_on_expiry() && license.expired(self.now) {
            return Err(ApiError::forbidden("LICENSE_EXPIRED", "License is expired"));
        }
        if !policy.supports_license_auth() {
            return Err(ApiError::forbidden(
                "LICENSE_NOT_ALLOWED",
                "License key authentication is not allowed by policy",
            )
            .about(LICENSE_DOCS));
        }
        Ok(Some(Bearer::License {
            id: license.id.clone(),
            token: None,
        }))
    }

    /// A license by id or key that the bearer may see (others are 404, as Keygen scopes them).
    pub fn license<'s>(
        &self,
        store: &'s Store,
        bearer: &Bearer,
        id: &str,
    ) -> ApiResult<&'s License> {
        store
            .find_license(id)
            .filter(|l| bearer.sees(&l.id))
            .ok_or_else(|| ApiError::not_found("license", id))
    }

    /// A machine by id or fingerprint that the bearer may see (oldest wins on duplicates).
    pub fn machine<'s>(
        &self,
        store: &'s Store,
        bearer: &Bearer,
        id: &str,
    ) -> ApiResult<&'s crate::model::Machine> {
        let visible = |m: &&crate::model::Machine| bearer.sees(&m.license_id);
        let by_id = util::is_uuid(id)
            .then(|| store.machines.iter().filter(visible).find(|m| m.id == id))
            .flatten();
        by_id
            .or_else(|| {
                store
                    .machines
                    .iter()
                    .filter(visible)
                    .find(|m| m.fingerprint == id)
            })
            .ok_or_else(|| ApiError::not_found("machine", id))
    }

    pub fn touch(&self) {
        self.app.dirty.store(true, Ordering::Relaxed);
    }

    /// The list window requested with `limit` or `page[size]`/`page[number]` (Keygen's defaults
    /// and bounds), applied to newest-first items; adds pagination links when paging.
    pub fn paginate(&self, items: Vec<Value>, path: &str) -> ApiResult<Reply> {
        let int = |name: &str| -> ApiResult<Option<usize>> {
            match self.req.query(name) {
                None => Ok(None),
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if (1..=100).contains(&n) || (name == "page[number]" && n >= 1) => {
                        Ok(Some(n))
                    }
                    _ => Err(ApiError::bad_request(&format!(
                        "{} must be a number between 1 and {} (got {v})",
                        if name == "limit" {
                            "limit"
                        } else if name == "page[size]" {
                            "page size"
                        } else {
                            "page number"
                        },
                        if name == "page[number]" {
                            "infinity".to_string()
                        } else {
                            "100".to_string()
                        }
                    ))
                    .parameter(name)),
                },
            }
        };
        let (size, number) = (int("page[size]")?, int("page[number]")?);
        let limit = int("limit")?;
        let total = items.len();
        let mut items = items;
        items.reverse();
        if size.is_none() && number.is_none() {
            let items: Vec<Value> = items.into_iter().take(limit.unwrap_or(10)).collect();
            return Reply::ok(json!({ "data": items, "links": { "meta": { "count": total } } }));
        }
        let (size, number) = (size.unwrap_or(10), number.unwrap_or(1));
        let pages = total.div_ceil(size).max(1);
        let page: Vec<Value> = items
            .into_iter()
            .skip((number - 1) * size)
            .take(size)
            .collect();
        let link = |n: usize| format!("{}?page[number]={n}&page[size]={size}", self.link(path));
        Reply::ok(json!({
            "data": page,
            "links": {
                "self": link(number),
                "prev": (number > 1).then(|| link(number - 1)),
                "next": (number < pages).then(|| link(number + 1)),
                "first": link(1),
                "last": link(pages),
                "meta": { "pages": pages, "count": total },
            }
        }))
    }
}

impl http::Handler for App {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Outcome> + Send {
        self.answer(req)
    }
}

const SIGNED_HEADERS: &str = "(request-target) host date digest";

impl App {
    pub fn new(identity: Identity, store: Store, clock_offset_ms: i64, min_heartbeat: i64) -> App {
        App {
            identity,
            store: Mutex::new(store),
            clock_offset_ms: AtomicI64::new(clock_offset_ms),
            faults: Mutex::new(Faults::default()),
            replay: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
            min_heartbeat,
        }
    }

    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        real.saturating_add(self.clock_offset_ms.load(Ordering::Relaxed))
    }

    pub async fn answer(&self, req: Request) -> Outcome {
        let req = &req;
        if dev::is_dev(&req.path) {
            let mut resp = dev::handle(self, req);
            self.sign(&mut resp, req, self.now(), &self.identity.key);
            return Outcome::Reply(resp);
        }
        let fault = self.faults.lock().take(&req.method, &req.path);
        let replay_key = format!("{} {}", req.method, req.path);
        match fault.as_ref().map(|f| f.mode) {
            Some(Mode::Refuse | Mode::Offline) => return Outcome::Reset,
            Some(Mode::Hang) => {
                let ms = fault.as_ref().map_or(0, |f| f.delay_ms);
                http::pause(Duration::from_millis(ms)).await
            }
            Some(Mode::Status) => return Outcome::Reply(self.status_fault(fault.as_ref())),
            Some(Mode::RateLimit) => return Outcome::Reply(self.rate_limited(fault.as_ref())),
            Some(Mode::Replay) => {
                if let Some(r) = self.replay.lock().get(&replay_key) {
                    return Outcome::Reply(r.clone());
                }
            }
            _ => {}
        }
        let (mut resp, signed) = self.keygen(req);
        let now = self.now();
        if signed {
            match fault.as_ref() {
                Some(Fault {
                    mode: Mode::WrongKey,
                    ..
                }) => {
                    let key = SigningKey::from_bytes(&util::random_bytes::<32>());
                    self.sign(&mut resp, req, now, &key);
                }
                Some(
                    f @ Fault {
                        mode: Mode::StaleDate,
                        ..
                    },
                ) => self.sign(
                    &mut resp,
                    req,
                    now - f.skew_seconds * 1000,
                    &self.identity.key,
                ),
                _ => self.sign(&mut resp, req, now, &self.identity.key),
            }
        } else {
            resp.set_header("Date", http_date(now));
        }
        match fault.map(|f| f.mode) {
            None => {
                self.replay.lock().insert(replay_key, resp.clone());
            }
            Some(Mode::Unsigned) => resp
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("Keygen-Signature")),
            Some(Mode::Tamper) => tamper(&mut resp),
            Some(Mode::Drop) => return Outcome::CutMidBody(resp),
            _ => {}
        }
        Outcome::Reply(resp)
    }

    fn status_fault(&self, fault: Option<&Fault>) -> Response {
        let status = fault.map_or(503, |f| f.status);
        let (title, detail) = match status {
            500 => ("Internal server error", "Looks like something went wrong! Our engineers have been notified. If you continue to have problems, please contact support@keygen.sh."),
            502 => ("Bad gateway", "The server received an invalid response from an upstream server"),
            504 => ("Gateway timeout", "The server did not receive a timely response from an upstream server"),
            503 => ("Service unavailable", "Our services are currently unavailable. Please see https://status.keygen.sh for our uptime status and contact support@keygen.sh with any questions."),
            _ => (crate::http::reason(status), "The request could not be completed"),
        };
        let body = json!({ "errors": [{ "title": title, "detail": detail }] });
        let mut resp = Response::new(
            status,
            "application/vnd.api+json; charset=utf-8",
            body.to_string().into_bytes(),
        );
        resp.set_header("Date", http_date(self.now()));
        resp
    }

    fn rate_limited(&self, fault: Option<&Fault>) -> Response {
        let retry = fault.map_or(2, |f| f.retry_after);
        let now = self.now();
        let body = json!({ "errors": [{
            "title": "Too many requests",
            "detail": "Throttle limit has been reached for your IP address. Please see https://keygen.sh/docs/api/rate-limiting/ for more information.",
            "code": "TOO_MANY_REQUESTS",
        }] });
        let mut resp = Response::new(
            429,
            "application/vnd.api+json; charset=utf-8",
            body.to_string().into_bytes(),
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

    /// Adds `Date`, `Digest` and `Keygen-Signature` (and the Keygen-* copies) as §7.
    pub fn sign(&self, resp: &mut Response, req: &Request, date_ms: i64, key: &SigningKey) {
        let date = http_date(date_ms);
        let digest = format!("sha-256={}", b64(&sha256(&resp.body)));
        let host = req.header("host").unwrap_or("");
        let signing = format!(
            "(request-target): {} {}\nhost: {host}\ndate: {date}\ndigest: {digest}",
            req.method.to_ascii_lowercase(),
            req.target
        );
        let sig = b64(&key.sign(signing.as_bytes()).to_bytes());
        resp.set_header("Date", date.clone());
        resp.set_header("Keygen-Date", date);
        resp.set_header("Digest", digest.clone());
        resp.set_header("Keygen-Digest", digest);
        resp.set_header(
            "Keygen-Signature",
            format!(
                r#"keyid="{}", algorithm="ed25519", signature="{sig}", headers="{SIGNED_HEADERS}""#,
                self.identity.account_id
            ),
        );
    }

    /// Routes a Keygen request; returns the response and whether the account was resolved
    /// (only those responses are signed, as Keygen's).
    fn keygen(&self, req: &Request) -> (Response, bool) {
        let request_id = util::uuid_v4();
        let json_ct = json_content_type(req);
        let unsigned = |e: ApiError| {
            let body = json!({ "errors": e.errors }).to_string().into_bytes();
            (
                Response::new(e.status, "application/vnd.api+json; charset=utf-8", body),
                false,
            )
        };
        let Some(rest) = req.path.strip_prefix("/v1/") else {
            return unsigned(ApiError::no_route());
        };
        let mut segs: Vec<String> = rest
            .split('/')
            .map(|s| util::percent_decode(s, false))
            .collect();
        if segs.last().is_some_and(|s| s.is_empty()) {
            segs.pop();
        }
        match (
            req.method.as_str(),
            segs.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
        ) {
            ("GET", ["ping"]) => {
                return (
                    Response::new(
                        200,
                        json_ct,
                        json!({ "message": "Pong" }).to_string().into_bytes(),
                    ),
                    false,
                )
            }
            ("GET", ["health"]) => return (Response::new(204, json_ct, vec![]), false),
            _ => {}
        }
        if segs.first().map(String::as_str) == Some("accounts") {
            match segs.get(1) {
                Some(a) if *a == self.identity.account_id => {
                    segs.drain(..2);
                }
                Some(a) => {
                    let detail = format!("The requested account '{a}' was not found");
                    return unsigned(ApiError::new(404, "Not found", &detail).code("NOT_FOUND"));
                }
                None => return unsigned(ApiError::no_route()),
            }
        }
        if let Some(accept) = req.header("accept") {
            if !acceptable(accept) {
                return unsigned(
                    ApiError::bad_request(
                        "The content type of the request is not acceptable (check accept header)",
                    )
                    .code("MIME_TYPE_INVALID"),
                );
            }
        }
        let body = if req.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(_) => {
                    return unsigned(
                        ApiError::bad_request(
                            "The request could not be completed because it contains invalid JSON (check formatting/encoding)",
                        )
                        .code("JSON_INVALID"),
                    )
                }
            }
        };
        let version = match api_version(req) {
            Some(v) => v,
            None => {
                let e = ApiError::bad_request("unsupported API version requested")
                    .code("INVALID_API_VERSION")
                    .about("https://keygen.sh/docs/api/versioning/");
                return (self.render(Err(e), &request_id, json_ct, "1.8"), true);
            }
        };
        if let Err(e) = self
            .check_accept_signature(req)
            .and_then(|()| environment_unsupported(req))
        {
            return (self.render(Err(e), &request_id, json_ct, version), true);
        }
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let ctx = Ctx {
            app: self,
            req,
            body,
            now: self.now(),
        };
        match route(&ctx, &segs) {
            Some(result) => (self.render(result, &request_id, json_ct, version), true),
            None => unsigned(ApiError::no_route()),
        }
    }

    /// `Keygen-Accept-Signature: [keyid="<account>", ]algorithm="ed25519"`. Only Ed25519 keys
    /// exist here, so the RSA algorithms Keygen also offers are refused as unsupported.
    fn check_accept_signature(&self, req: &Request) -> ApiResult<()> {
        let Some(header) = req
            .header("keygen-accept-signature")
            .filter(|h| !h.trim().is_empty())
        else {
            return Ok(());
        };
        let malformed = || ApiError::bad_request("invalid accept-signature header (malformed)");
        let mut params = HashMap::new();
        for part in header.trim().trim_end_matches(';').split(',') {
            let (k, v) = part.trim().split_once('=').ok_or_else(malformed)?;
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(malformed)?;
            params.insert(k.to_ascii_lowercase(), v.to_string());
        }
        let algorithm = params.get("algorithm").ok_or_else(malformed)?;
        if params.keys().any(|k| k != "algorithm" && k != "keyid") {
            return Err(malformed());
        }
        if !algorithm.eq_ignore_ascii_case("ed25519") {
            return Err(ApiError::bad_request(
                "invalid accept-signature header (unsupported algorithm)",
            ));
        }
        if params
            .get("keyid")
            .is_some_and(|k| *k != self.identity.account_id)
        {
            return Err(ApiError::bad_request(
                "invalid accept-signature header (keyid not found)",
            ));
        }
        Ok(())
    }

    fn render(
        &self,
        result: ApiResult<Reply>,
        request_id: &str,
        json_ct: &str,
        version: &str,
    ) -> Response {
        let mut resp = match result {
            Ok(Reply {
                status,
                body,
                headers,
            }) => {
                let mut resp = match body {
                    Body::Json(v) => Response::new(status, json_ct, v.to_string().into_bytes()),
                    Body::Raw(bytes) => Response::new(status, "application/octet-stream", bytes),
                    Body::Empty => Response {
                        status,
                        headers: vec![],
                        body: vec![],
                    },
                };
                for (k, v) in headers {
                    resp.set_header(&k, v);
                }
                resp
            }
            Err(e) => {
                let mut resp = Response::new(
                    e.status,
                    json_ct,
                    e.body(request_id).to_string().into_bytes(),
                );
                if let Some(scheme) = &e.challenge {
                    resp.set_header("WWW-Authenticate", format!(r#"{scheme} realm="keygen""#));
                }
                resp
            }
        };
        for (k, v) in [
            ("Keygen-Account", self.identity.account_id.clone()),
            ("Keygen-Version", version.to_string()),
            ("Keygen-Edition", "CE".into()),
            ("Keygen-Mode", "singleplayer".into()),
            ("X-Request-Id", request_id.to_string()),
            ("Cache-Control", "no-transform, no-store, max-age=0".into()),
        ] {
            resp.set_header(k, v);
        }
        resp
    }
}

fn tamper(resp: &mut Response) {
    match resp.body.len() {
        0 => {
            if let Some(h) = resp.headers.iter_mut().find(|(k, _)| k == "Digest") {
                h.1 = format!("sha-256={}", b64(&sha256(b"tampered")));
            }
        }
        n => resp.body[n / 2] ^= 0x01,
    }
}

/// Environments are a Keygen EE feature; CE (which this server mirrors) refuses them.
fn environment_unsupported(req: &Request) -> ApiResult<()> {
    let unsupported = || ApiError::bad_request("is unsupported").code("ENVIRONMENT_NOT_SUPPORTED");
    if req
        .header("keygen-environment")
        .is_some_and(|h| !h.trim().is_empty())
    {
        return Err(unsupported().source("header", "Keygen-Environment"));
    }
    if req.query("environment").is_some_and(|q| !q.is_empty()) {
        return Err(unsupported().parameter("environment"));
    }
    Ok(())
}

fn json_content_type(req: &Request) -> &'static str {
    let accept = req.header("accept").unwrap_or("");
    if accept.contains("application/json") && !accept.contains("application/vnd.api+json") {
        "application/json; charset=utf-8"
    } else {
        "application/vnd.api+json; charset=utf-8"
    }
}

fn acceptable(accept: &str) -> bool {
    const OK: [&str; 7] = [
        "application/vnd.api+json",
        "application/json",
        "application/vnd.keygen+json",
        "application/octet-stream",
        "*/*",
        "*",
        "application/*",
    ];
    accept.trim().is_empty()
        || accept.split(',').any(|t| {
            OK.contains(
                &t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
                    .as_str(),
            )
        })
}

/// `Keygen-Version`: 1.7 or 1.8 (a leading `v` is stripped; absent means 1.8).
fn api_version(req: &Request) -> Option<&'static str> {
    match req
        .header("keygen-version")
        .map(|v| v.trim().trim_start_matches('v'))
    {
        None | Some("1.8") => Some("1.8"),
        Some("1.7") => Some("1.7"),
        Some(_) => None,
    }
}

fn route(ctx: &Ctx, segs: &[&str]) -> Option<ApiResult<Reply>> {
    let m = ctx.req.method.as_str();
    let r = match (m, segs) {
        ("GET", ["me"]) => licensing::me(ctx),
        ("POST", ["licenses", "actions", "validate-key"]) => licensing::validate_key(ctx),
        ("GET", ["licenses", id, "actions", "validate"]) => licensing::validate(ctx, id, false),
        ("POST", ["licenses", id, "actions", "validate"]) => licensing::validate(ctx, id, true),
        ("GET" | "POST", ["licenses", id, "actions", "check-out"]) => checkout::license(ctx, id),
        ("POST", ["licenses", id, "actions", action]) => licensing::action(ctx, id, action)?,
        ("GET", ["licenses"]) => admin::list_licenses(ctx),
        ("POST", ["licenses"]) => admin::create_license(ctx),
        ("GET", ["licenses", id]) => admin::show_license(ctx, id),
        ("PATCH" | "PUT", ["licenses", id]) => admin::update_license(ctx, id),
        ("DELETE", ["licenses", id]) => admin::delete_license(ctx, id),
        ("GET", ["licenses", id, "machines"]) => machines::list_for_license(ctx, id),
        ("GET", ["licenses", id, "entitlements"]) => admin::license_entitlements(ctx, id),
        ("POST" | "DELETE", ["licenses", id, "entitlements"]) => {
            admin::attach_license_entitlements(ctx, id)
        }
        ("POST", ["licenses", id, "tokens"]) => admin::create_token(ctx, id),
        ("GET", ["licenses", id, "tokens"]) => admin::list_tokens(ctx, id),
        ("GET", ["products"]) => admin::list_products(ctx),
        ("POST", ["products"]) => admin::create_product(ctx),
        ("GET", ["products", id]) => admin::show_product(ctx, id),
        ("PATCH" | "PUT", ["products", id]) => admin::update_product(ctx, id),
        ("DELETE", ["products", id]) => admin::delete_product(ctx, id),
        ("GET", ["policies"]) => admin::list_policies(ctx),
        ("POST", ["policies"]) => admin::create_policy(ctx),
        ("GET", ["policies", id]) => admin::show_policy(ctx, id),
        ("PATCH" | "PUT", ["policies", id]) => admin::update_policy(ctx, id),
        ("DELETE", ["policies", id]) => admin::delete_policy(ctx, id),
        ("GET", ["policies", id, "entitlements"]) => admin::policy_entitlements(ctx, id),
        ("POST" | "DELETE", ["policies", id, "entitlements"]) => {
            admin::attach_policy_entitlements(ctx, id)
        }
        ("GET", ["entitlements"]) => admin::list_entitlements(ctx),
        ("POST", ["entitlements"]) => admin::create_entitlement(ctx),
        ("GET", ["entitlements", id]) => admin::show_entitlement(ctx, id),
        ("PATCH" | "PUT", ["entitlements", id]) => admin::update_entitlement(ctx, id),
        ("DELETE", ["entitlements", id]) => admin::delete_entitlement(ctx, id),
        ("GET", ["machines"]) => machines::list(ctx),
        ("POST", ["machines"]) => machines::activate(ctx),
        ("GET", ["machines", id]) => machines::show(ctx, id),
        ("PATCH" | "PUT", ["machines", id]) => machines::update(ctx, id),
        ("DELETE", ["machines", id]) => machines::deactivate(ctx, id),
        ("POST", ["machines", id, "actions", "ping" | "ping-heartbeat"]) => machines::ping(ctx, id),
        ("POST", ["machines", id, "actions", "reset" | "reset-heartbeat"]) => {
            machines::reset(ctx, id)
        }
        ("GET" | "POST", ["machines", id, "actions", "check-out"]) => checkout::machine(ctx, id),
        ("GET", ["machines", id, "processes"]) => machines::processes_of_machine(ctx, id),
        ("GET", ["machines", id, "components"]) => machines::components_of_machine(ctx, id),
        ("GET", ["processes"]) => machines::list_processes(ctx),
        ("POST", ["processes"]) => machines::spawn(ctx),
        ("GET", ["processes", id]) => machines::show_process(ctx, id),
        ("DELETE", ["processes", id]) => machines::kill(ctx, id),
        ("POST", ["processes", id, "actions", "ping"]) => machines::ping_process(ctx, id),
        _ => return None,
    };
    Some(r)
}

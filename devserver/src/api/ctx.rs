//! What a route sees: the request context (parsed body, the server's clock, links), who the
//! bearer is (Keygen's authentication schemes and their errors), scoped lookups, pagination,
//! and the reply it returns.

use super::errors::{ApiError, ApiResult};
use super::views::View;
use super::App;
use crate::http::Request;
use crate::store::{License, Machine, Store};
use crate::util;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

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
    /// 200 with `{"data": data}` (moved in: `json!` would copy it).
    pub fn data(data: Value) -> ApiResult<Reply> {
        Reply::ok(document(data))
    }
    /// 201 with `{"data": data}` and its Location.
    pub fn created(data: Value, location: String) -> ApiResult<Reply> {
        Ok(Reply {
            status: 201,
            body: Body::Json(document(data)),
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

/// `{"data": data}`.
pub fn document(data: Value) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("data".into(), data);
    Value::Object(doc)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Bearer {
    Admin,
    License {
        id: String,
        token: Option<String>,
    },
    /// A product token's bearer, with the licenses of its product (when it authenticated).
    Product {
        id: String,
        licenses: Vec<String>,
    },
}

impl Bearer {
    pub fn is_admin(&self) -> bool {
        *self == Bearer::Admin
    }
    /// Whether the bearer may see this license (admins see all, a license only itself, a
    /// product the licenses of its policies).
    pub fn sees(&self, license_id: &str) -> bool {
        match self {
            Bearer::Admin => true,
            Bearer::License { id, .. } => id == license_id,
            Bearer::Product { licenses, .. } => licenses.iter().any(|l| l == license_id),
        }
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
    /// The API version the request asked for (`Keygen-Version`), "1.0" to "1.8".
    pub version: &'static str,
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
        let expiry = crate::store::text(&t.attrs, "expiry").and_then(util::parse_time);
        if expiry.is_some_and(|e| e <= self.now) {
            return Err(ApiError::unauthorized(
                "TOKEN_EXPIRED",
                Some("Token is expired"),
            ));
        }
        if let Some(product) = &t.product_id {
            let licenses = store
                .licenses
                .iter()
                .filter(|l| &store.policy_of(l).product_id == product)
                .map(|l| l.id.clone())
                .collect();
            return Ok(Some(Bearer::Product {
                id: product.clone(),
                licenses,
            }));
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
    ) -> ApiResult<&'s Machine> {
        let visible = |m: &&Machine| bearer.sees(&m.license_id);
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
    /// and bounds), applied to newest-first items; adds pagination links when paging. Only the
    /// items in the window are rendered.
    pub fn paginate<T>(
        &self,
        items: Vec<T>,
        render: impl Fn(T) -> Value,
        path: &str,
    ) -> ApiResult<Reply> {
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
            let items: Vec<Value> = items
                .into_iter()
                .take(limit.unwrap_or(10))
                .map(render)
                .collect();
            return Reply::ok(json!({ "data": items, "links": { "meta": { "count": total } } }));
        }
        let (size, number) = (size.unwrap_or(10), number.unwrap_or(1));
        let pages = total.div_ceil(size).max(1);
        let page: Vec<Value> = items
            .into_iter()
            .skip((number - 1) * size)
            .take(size)
            .map(render)
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

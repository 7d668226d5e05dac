//! Keygen's error documents: `{"meta": {"id": …}, "errors": [{title, detail, code, source, links}]}`.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub errors: Vec<Map<String, Value>>,
    /// Scheme for `WWW-Authenticate` on 401s.
    pub challenge: Option<String>,
}

const BEARER_DENIED: &str =
    "You do not have permission to complete the request (ensure the token bearer is allowed to access this resource)";

impl ApiError {
    pub fn new(status: u16, title: &str, detail: &str) -> Self {
        let mut e = Map::new();
        e.insert("title".into(), title.into());
        e.insert("detail".into(), detail.into());
        ApiError {
            status,
            errors: vec![e],
            challenge: None,
        }
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        if let Some(e) = self.errors.last_mut() {
            e.insert(key.into(), value);
        }
        self
    }

    pub fn code(self, code: &str) -> Self {
        self.set("code", code.into())
    }

    /// `source.pointer`, `source.parameter` or `source.header`.
    pub fn source(self, kind: &str, value: &str) -> Self {
        self.set("source", json!({ kind: value }))
    }

    pub fn pointer(self, pointer: &str) -> Self {
        self.source("pointer", pointer)
    }

    pub fn parameter(self, parameter: &str) -> Self {
        self.source("parameter", parameter)
    }

    pub fn about(self, url: &str) -> Self {
        self.set("links", json!({ "about": url }))
    }

    pub fn bad_request(detail: &str) -> Self {
        Self::new(400, "Bad request", detail)
    }

    pub fn unauthorized(code: &str, detail: Option<&str>) -> Self {
        let mut e = Self::new(
            401,
            "Unauthorized",
            detail.unwrap_or("You must be authenticated to complete the request"),
        )
        .code(code);
        e.challenge = Some("Bearer".into());
        e
    }

    pub fn forbidden(code: &str, detail: &str) -> Self {
        Self::new(403, "Access denied", detail).code(code)
    }

    /// An authorization denial for an authenticated bearer (no code, as Keygen's action policies).
    pub fn denied() -> Self {
        Self::new(403, "Access denied", BEARER_DENIED)
    }

    pub fn not_found(model: &str, id: &str) -> Self {
        Self::new(
            404,
            "Not found",
            &format!("The requested {model} '{id}' was not found"),
        )
        .code("NOT_FOUND")
    }

    pub fn no_route() -> Self {
        Self::new(
            404,
            "Not found",
            "The requested endpoint was not found (check your HTTP method, Accept header, and URL path)",
        )
        .code("NOT_FOUND")
    }

    /// Ad-hoc 422s ("Unprocessable entity").
    pub fn unprocessable(detail: &str) -> Self {
        Self::new(422, "Unprocessable entity", detail)
    }

    /// Model validation errors ("Unprocessable resource"), with Keygen's derived code.
    pub fn invalid(detail: &str, code: &str, pointer: &str) -> Self {
        Self::new(422, "Unprocessable resource", detail)
            .code(code)
            .pointer(pointer)
    }

    pub fn body(&self, request_id: &str) -> Value {
        json!({ "meta": { "id": request_id }, "errors": self.errors })
    }
}

/// `maxMachines` -> `MAX_MACHINES`, as Keygen derives error codes from attribute names.
pub fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `fooBar` -> `foo_bar` (ActiveSupport's `underscore` for a word), lower-cased.
pub fn snake(name: &str) -> String {
    upper_snake(name).to_ascii_lowercase()
}

pub type ApiResult<T> = Result<T, ApiError>;

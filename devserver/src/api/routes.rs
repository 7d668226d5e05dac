//! The Keygen request pipeline, in Keygen's order: account in the path, Accept, JSON body,
//! Keygen-Version, Keygen-Accept-Signature, environment; then the route table, one line per
//! endpoint, dispatching to the per-resource modules; then rendering with Keygen's headers.

use super::errors::{ApiError, ApiResult};
use super::version::{self, Endpoint};
use super::{admin, checkout, licensing, machines, App, Body, Ctx, Reply};
use crate::http::{Request, Response};
use crate::{signing, util};
use serde_json::{json, Value};

impl App {
    /// Routes a Keygen request; returns the response and whether the account was resolved
    /// (only those responses are signed, as Keygen's).
    pub(super) fn keygen(&self, req: &Request) -> (Response, bool) {
        let request_id = util::uuid_v4();
        let json_ct = json_content_type(req);
        let unsigned = |e: ApiError| {
            let body = util::json_bytes(&json!({ "errors": e.errors }));
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
        if req.method == "GET" && segs.len() == 1 && segs[0] == "health" {
            return (Response::new(204, json_ct, vec![]), false);
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
        // The version is checked in an around_action outside the one that resolves the
        // account and adds Keygen's headers (`application_controller.rb`): this 400 has neither
        // the Keygen-* headers nor a signature.
        let version = match version::requested(req) {
            Some(v) => v,
            None => {
                let e = ApiError::bad_request("unsupported API version requested")
                    .code("INVALID_API_VERSION")
                    .about("https://keygen.sh/docs/api/versioning/");
                let body = util::json_bytes(&e.body(&request_id));
                return (Response::new(400, json_ct, body), false);
            }
        };
        // health_controller.rb#general_ping, also under /v1/accounts/{account}/: `render
        // status: 200`, no body, no account resolved (so unsigned).
        if req.method == "GET" && segs.len() == 1 && segs[0] == "ping" {
            return (
                Response {
                    status: 200,
                    headers: vec![],
                    body: vec![],
                },
                false,
            );
        }
        if let Err(e) = self
            .accept_signature(req)
            .and_then(|()| environment_unsupported(req))
        {
            return (
                self.render(Err(e), &request_id, json_ct, version, Endpoint::Other),
                true,
            );
        }
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let endpoint = version::endpoint(&req.method, &segs);
        let ctx = Ctx {
            app: self,
            req,
            body,
            now: self.now(),
            version,
        };
        match route(&ctx, &segs) {
            Some(result) => (
                self.render(result, &request_id, json_ct, version, endpoint),
                true,
            ),
            None => unsigned(ApiError::no_route()),
        }
    }

    /// `Keygen-Accept-Signature` must name an algorithm this account signs with (§7).
    fn accept_signature(&self, req: &Request) -> ApiResult<()> {
        signing::accept(req.header("keygen-accept-signature"), &self.identity.signer)
            .and_then(|a| a.check())
            .map_err(|e| ApiError::bad_request(e.detail()))
    }

    fn render(
        &self,
        result: ApiResult<Reply>,
        request_id: &str,
        json_ct: &str,
        version: &str,
        endpoint: Endpoint,
    ) -> Response {
        let mut resp = match result {
            Ok(Reply {
                status,
                body,
                headers,
            }) => {
                let mut resp = match body {
                    Body::Json(mut v) => {
                        let account = &self.identity.account_id;
                        version::migrate_response(&mut v, version, endpoint, status, account);
                        Response::new(status, json_ct, util::json_bytes(&v))
                    }
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
                let mut resp =
                    Response::new(e.status, json_ct, util::json_bytes(&e.body(request_id)));
                if let Some(scheme) = &e.challenge {
                    resp.set_header("WWW-Authenticate", format!(r#"{scheme} realm="keygen""#));
                }
                resp
            }
        };
        for (k, v) in [
            (
                version::header_name(version, "Keygen-Account"),
                self.identity.account_id.clone(),
            ),
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
        ("POST", ["products", id, "tokens"]) => admin::create_product_token(ctx, id),
        ("GET", ["products", id, "tokens"]) => admin::list_product_tokens(ctx, id),
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
        ("GET", ["components"]) => machines::list_components(ctx),
        ("POST", ["components"]) => machines::create_component(ctx),
        ("GET", ["components", id]) => machines::show_component(ctx, id),
        ("PATCH" | "PUT", ["components", id]) => machines::update_component(ctx, id),
        ("DELETE", ["components", id]) => machines::delete_component(ctx, id),
        ("GET", ["processes"]) => machines::list_processes(ctx),
        ("POST", ["processes"]) => machines::spawn(ctx),
        ("GET", ["processes", id]) => machines::show_process(ctx, id),
        ("DELETE", ["processes", id]) => machines::kill(ctx, id),
        ("POST", ["processes", id, "actions", "ping"]) => machines::ping_process(ctx, id),
        _ => return None,
    };
    Some(r)
}

//! License and machine check-out (§5): signed, optionally encrypted offline files.

use super::{Body, Ctx, Reply};
use crate::api::errors::{ApiError, ApiResult};
use crate::api::params::{check, f, F, T};
use crate::api::views::{opt_ts, ts, View};
use crate::util::{add_calendar_duration, b64, random_bytes, sha256, uuid_v4};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use serde_json::{json, Value};

const DEFAULT_TTL: i64 = 2_629_746;

const OPTIONS: &[F] = &[f(
    "meta",
    T::Obj(&[
        f("encrypt", T::Bool).null(),
        f("algorithm", T::Text).null(),
        f("ttl", T::Int).null(),
        f("include", T::Arr(&T::Str)).null(),
    ]),
)];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    License,
    Machine,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::License => "license",
            Kind::Machine => "machine",
        }
    }
    fn allowed_includes(self) -> &'static [&'static str] {
        match self {
            Kind::License => &[
                "entitlements",
                "environment",
                "product",
                "policy",
                "group",
                "owner",
                "users",
            ],
            Kind::Machine => &[
                "license",
                "license.entitlements",
                "license.product",
                "license.policy",
                "license.owner",
                "license.users",
                "components",
                "environment",
                "group",
                "owner",
            ],
        }
    }
}

struct Options {
    encrypted: bool,
    ttl: Option<i64>,
    includes: Vec<String>,
}

/// One option from `meta` (POST; wins) or the query string. `Some(Null)` is an explicit null.
fn option(ctx: &Ctx, name: &str) -> Option<Value> {
    if let Some(v) = ctx.body.get("meta").and_then(|m| m.get(name)) {
        return Some(v.clone());
    }
    ctx.req.query(name).map(|q| {
        if q.is_empty() {
            Value::Null
        } else {
            Value::String(q.to_string())
        }
    })
}

fn parse_options(ctx: &Ctx, kind: Kind) -> ApiResult<Options> {
    if ctx.req.method == "POST" && !ctx.body.is_null() {
        check(&ctx.body, OPTIONS, "")?;
    }
    let encrypt = match option(ctx, "encrypt") {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => matches!(
            s.to_ascii_lowercase().as_str(),
            "1" | "true" | "t" | "yes" | "y" | "on"
        ),
        _ => false,
    };
    let algorithm_invalid = |detail: &str| {
        ApiError::bad_request(detail)
            .code("CHECKOUT_ALGORITHM_INVALID")
            .parameter("algorithm")
    };
    let encrypted = match option(ctx, "algorithm") {
        Some(Value::String(alg)) if !alg.is_empty() => {
            let (enc, sig) = alg.split_once('+').unwrap_or((alg.as_str(), ""));
            let encrypted = match enc {
                "aes-256-gcm" => true,
                "base64" => false,
                _ => return Err(algorithm_invalid("invalid encoding algorithm")),
            };
            // Only Ed25519 keys exist here, so only the Ed25519 signing algorithm is offered.
            if sig != "ed25519" {
                return Err(algorithm_invalid("invalid signing algorithm"));
            }
            encrypted
        }
        _ => encrypt,
    };
    let ttl_invalid = || {
        ApiError::bad_request("must be greater than or equal to 3600 (1 hour)")
            .code("CHECKOUT_TTL_INVALID")
            .parameter("ttl")
    };
    let ttl = match option(ctx, "ttl") {
        None => Some(DEFAULT_TTL),
        Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(ttl_invalid)?),
        Some(Value::String(s)) => Some(s.trim().parse::<i64>().map_err(|_| {
            ApiError::bad_request("type mismatch (received string expected integer)")
                .parameter("ttl")
        })?),
        Some(_) => return Err(ttl_invalid()),
    };
    if ttl.is_some_and(|t| t < 3600) {
        return Err(ttl_invalid());
    }
    let includes: Vec<String> = match option(ctx, "include") {
        Some(Value::String(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    };
    let includes: Vec<String> = includes
        .into_iter()
        .map(|i| match i.as_str() {
            "user" => "owner".to_string(),
            "license.user" => "license.owner".to_string(),
            _ => i,
        })
        .collect();
    if includes
        .iter()
        .any(|i| !kind.allowed_includes().contains(&i.as_str()))
    {
        return Err(ApiError::bad_request("invalid includes")
            .code("CHECKOUT_INCLUDE_INVALID")
            .parameter("include"));
    }
    Ok(Options {
        encrypted,
        ttl,
        includes,
    })
}

fn license_related(view: &View, license: &crate::store::License, what: &str) -> Vec<Value> {
    let store = view.store;
    let policy = store.policy_of(license);
    match what {
        "entitlements" => store
            .license_entitlement_ids(license)
            .iter()
            .filter_map(|id| store.entitlement(id))
            .map(|e| view.entitlement(e))
            .collect(),
        "product" => store
            .product(&policy.product_id)
            .map(|p| view.product(p))
            .into_iter()
            .collect(),
        "policy" => vec![view.policy(policy)],
        "license" => vec![view.license(license)],
        _ => vec![],
    }
}

/// Builds the certificate for `data` (already rendered) and returns (certificate, algorithm,
/// issued, expiry).
fn certificate(
    ctx: &Ctx,
    kind: Kind,
    data: Value,
    included: Vec<Value>,
    opts: &Options,
    secret: &str,
) -> (String, &'static str, i64, Option<i64>) {
    let issued = ctx.now;
    let expiry = opts.ttl.map(|t| add_calendar_duration(issued, t));
    let mut dataset = json!({ "data": data });
    if !opts.includes.is_empty() {
        dataset["included"] = Value::Array(included);
    }
    dataset["meta"] = json!({ "issued": ts(issued), "expiry": opt_ts(expiry), "ttl": opts.ttl });
    let plaintext = dataset.to_string();
    let (enc, alg) = if opts.encrypted {
        let key = sha256(secret.as_bytes());
        let iv = random_bytes::<12>();
        let cipher =
            Aes256Gcm::new_from_slice(&key).expect("SHA-256 output is a valid AES-256 key");
        let sealed = cipher
            .encrypt(Nonce::from_slice(&iv), plaintext.as_bytes())
            .expect("AES-GCM encryption of a small buffer");
        let (ct, tag) = sealed.split_at(sealed.len() - 16);
        (
            format!("{}.{}.{}", b64(ct), b64(&iv), b64(tag)),
            "aes-256-gcm+ed25519",
        )
    } else {
        (b64(plaintext.as_bytes()), "base64+ed25519")
    };
    let sig = ctx
        .app
        .identity
        .signer
        .sign(format!("{}/{enc}", kind.prefix()).as_bytes());
    let quoted = |s: &str| Value::String(s.to_string()).to_string();
    let doc = format!(
        r#"{{"enc":{},"sig":{},"alg":{}}}"#,
        quoted(&enc),
        quoted(&b64(&sig)),
        quoted(alg)
    );
    let body = b64(doc.as_bytes());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(60)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let label = kind.prefix().to_ascii_uppercase();
    let cert = format!(
        "-----BEGIN {label} FILE-----\n{}\n-----END {label} FILE-----\n",
        lines.join("\n")
    );
    (cert, alg, issued, expiry)
}

fn reply(
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    cert: (String, &'static str, i64, Option<i64>),
    opts: &Options,
    rels: Value,
) -> ApiResult<Reply> {
    let (certificate, alg, issued, expiry) = cert;
    if ctx.req.method == "GET" {
        let disposition = format!(r#"attachment; filename="{id}.lic""#);
        return Ok(Reply {
            status: 200,
            body: Body::Raw(certificate.into_bytes()),
            headers: vec![("Content-Disposition".into(), disposition)],
        });
    }
    let ty = match kind {
        Kind::License => "license-files",
        Kind::Machine => "machine-files",
    };
    Reply::ok(json!({ "data": {
        "id": uuid_v4(),
        "type": ty,
        "attributes": {
            "certificate": certificate, "algorithm": alg, "includes": opts.includes,
            "ttl": opts.ttl, "expiry": opt_ts(expiry), "issued": ts(issued),
        },
        "relationships": rels,
    } }))
}

pub fn license(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let license_id = ctx.license(&store, &bearer, id)?.id.clone();
    let opts = parse_options(ctx, Kind::License)?;
    if let Some(l) = store.license_mut(&license_id) {
        l.last_check_out = Some(ctx.now);
    }
    ctx.touch();
    let license = ctx.license(&store, &bearer, &license_id)?;
    let view = ctx.view(&store);
    let included = opts
        .includes
        .iter()
        .flat_map(|i| license_related(&view, license, i))
        .collect();
    let cert = certificate(
        ctx,
        Kind::License,
        view.license(license),
        included,
        &opts,
        &license.key,
    );
    let rels = json!({
        "account": { "data": { "type": "accounts", "id": ctx.app.identity.account_id } },
        "license": { "data": { "type": "licenses", "id": license.id }, "links": { "related": ctx.link(&format!("licenses/{}", license.id)) } },
    });
    reply(ctx, Kind::License, &license.id, cert, &opts, rels)
}

pub fn machine(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let machine_id = ctx.machine(&store, &bearer, id)?.id.clone();
    let opts = parse_options(ctx, Kind::Machine)?;
    if let Some(m) = store.machine_mut(&machine_id) {
        m.last_check_out = Some(ctx.now);
    }
    ctx.touch();
    let m = ctx.machine(&store, &bearer, &machine_id)?;
    let license = store
        .license(&m.license_id)
        .ok_or_else(|| ApiError::not_found("license", &m.license_id))?;
    let view = ctx.view(&store);
    let included = opts
        .includes
        .iter()
        .flat_map(|i| match i.as_str() {
            "components" => m.components.iter().map(|c| view.component(m, c)).collect(),
            other => license_related(
                &view,
                license,
                other.strip_prefix("license.").unwrap_or(other),
            ),
        })
        .collect();
    let secret = format!("{}{}", license.key, m.fingerprint);
    let cert = certificate(
        ctx,
        Kind::Machine,
        view.machine(m, None),
        included,
        &opts,
        &secret,
    );
    let rels = json!({
        "account": { "data": { "type": "accounts", "id": ctx.app.identity.account_id } },
        "license": { "data": { "type": "licenses", "id": license.id }, "links": { "related": ctx.link(&format!("licenses/{}", license.id)) } },
        "machine": { "data": { "type": "machines", "id": m.id }, "links": { "related": ctx.link(&format!("machines/{}", m.id)) } },
    });
    reply(ctx, Kind::Machine, &m.id, cert, &opts, rels)
}

//! License and machine check-out (§5): signed, optionally encrypted offline files.

use super::{Body, Ctx, Reply};
use crate::api::errors::{ApiError, ApiResult};
use crate::api::params::{check, f, F, T};
use crate::api::views::{opt_ts, ts, View};
use crate::signing::keys::Scheme;
use crate::signing::Algorithm;
use crate::util::{add_calendar_duration, b64, random_bytes, sha256, uuid_v4};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use serde_json::{json, Value};

const DEFAULT_TTL: i64 = 2_629_746;

/// The checkouts controllers' `typed_params` for `meta` (`ttl` is coerced, see [`ttl`]).
const OPTIONS: &[F] = &[f(
    "meta",
    T::Obj(&[
        f("encrypt", T::Bool),
        f("algorithm", T::Text).null(),
        f("ttl", T::Any).null(),
        f("include", T::Arr(&T::Any)),
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
    signing: Algorithm,
    ttl: Option<i64>,
    includes: Vec<String>,
}

/// typed_params' integer coercion (`v.blank? ? nil : v.to_i`) as Ruby does it: `Some(None)` for
/// a blank value, `None` when the value cannot be coerced (a boolean `true`, a non-empty array
/// or object).
fn coerce_int(v: &Value) -> Option<Option<i64>> {
    match v {
        Value::Null | Value::Bool(false) => Some(None),
        Value::Number(n) => Some(Some(
            n.as_i64()
                .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
                .unwrap_or(i64::MAX),
        )),
        Value::String(s) if s.trim().is_empty() => Some(None),
        Value::String(s) => Some(Some(ruby_to_i(s))),
        Value::Array(a) if a.is_empty() => Some(None),
        Value::Object(o) if o.is_empty() => Some(None),
        _ => None,
    }
}

/// Ruby's `String#to_i`: leading whitespace, a sign, then digits (with single underscores
/// between them) up to the first other character; 0 when there are none.
fn ruby_to_i(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    let mut prev_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => {
                n = n.saturating_mul(10).saturating_add((b - b'0') as i64);
                prev_digit = true;
            }
            b'_' if prev_digit => prev_digit = false,
            _ => break,
        }
    }
    if neg {
        -n
    } else {
        n
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Array(_) => "array",
        Value::Object(_) => "hash",
        Value::String(_) => "string",
        Value::Number(_) => "integer",
        Value::Null => "nil",
    }
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

/// The options of `*_checkout_service.rb` and its controller, in Keygen's order of checks:
/// `include` (the subclass, before `super`), `ttl`, then `algorithm` (or `encrypt` and the
/// license's scheme).
fn parse_options(ctx: &Ctx, kind: Kind, scheme: Option<&str>) -> ApiResult<Options> {
    if ctx.req.method == "POST" && !ctx.body.is_null() {
        check(&ctx.body, OPTIONS, "")?;
    }
    // The query's array coercion splits on commas and keeps what is between them.
    let includes: Vec<Value> = match option(ctx, "include") {
        Some(Value::String(s)) if s.is_empty() => vec![],
        Some(Value::String(s)) => s.split(',').map(|i| Value::String(i.into())).collect(),
        Some(Value::Array(a)) => a,
        _ => vec![],
    };
    let (old, new) = match kind {
        Kind::License => ("user", "owner"),
        Kind::Machine => ("license.user", "license.owner"),
    };
    let mut includes: Vec<Value> = includes;
    if let Some(i) = includes.iter().position(|v| v.as_str() == Some(old)) {
        includes.remove(i);
        includes.push(Value::String(new.into()));
    }
    let includes: Option<Vec<String>> = includes
        .iter()
        .map(|v| {
            v.as_str()
                .filter(|i| kind.allowed_includes().contains(i))
                .map(str::to_owned)
        })
        .collect();
    let includes = includes.ok_or_else(|| {
        ApiError::bad_request("invalid includes")
            .code("CHECKOUT_INCLUDE_INVALID")
            .parameter("include")
    })?;
    let ttl_invalid = || {
        ApiError::bad_request("must be greater than or equal to 3600 (1 hour)")
            .code("CHECKOUT_TTL_INVALID")
            .parameter("ttl")
    };
    let ttl = match option(ctx, "ttl") {
        None => Some(DEFAULT_TTL),
        Some(v) => coerce_int(&v).ok_or_else(|| {
            ApiError::bad_request(&format!("failed to coerce {} to integer", json_type(&v)))
                .pointer("/meta/ttl")
        })?,
    };
    if ttl.is_some_and(|t| t < 3600) {
        return Err(ttl_invalid());
    }
    // The query's boolean coercion: only these strings are true.
    const TRUTHY: [&str; 9] = ["1", "true", "TRUE", "t", "T", "yes", "YES", "y", "Y"];
    let encrypt = match option(ctx, "encrypt") {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => TRUTHY.contains(&s.as_str()),
        _ => false,
    };
    let algorithm_invalid = |detail: &str| {
        ApiError::bad_request(detail)
            .code("CHECKOUT_ALGORITHM_INVALID")
            .parameter("algorithm")
    };
    // Without an algorithm, the signature follows the license's scheme (ed25519 without one).
    let default_signing = scheme
        .and_then(Scheme::from_name)
        .map_or(Algorithm::Ed25519, Scheme::file_signing);
    let (encrypted, signing) = match option(ctx, "algorithm") {
        Some(Value::String(alg)) if !alg.is_empty() => {
            let (enc, sig) = match alg.split_once('+') {
                Some((enc, sig)) => (enc, Some(sig)),
                None => (alg.as_str(), None),
            };
            let encrypted = match enc {
                "aes-256-gcm" => true,
                "base64" => false,
                _ => return Err(algorithm_invalid("invalid encoding algorithm")),
            };
            let signing = sig
                .and_then(|s| Algorithm::ALL.into_iter().find(|a| a.name() == s))
                .ok_or_else(|| algorithm_invalid("invalid signing algorithm"))?;
            (encrypted, signing)
        }
        _ => (encrypt, default_signing),
    };
    Ok(Options {
        encrypted,
        signing,
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

/// The `included` of a compound document: each resource once (by type and id), in the order
/// the include paths reach them.
fn push_unique(included: &mut Vec<Value>, items: Vec<Value>) {
    for item in items {
        let same = |v: &Value| v["type"] == item["type"] && v["id"] == item["id"];
        if !included.iter().any(same) {
            included.push(item);
        }
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
) -> (String, String, i64, Option<i64>) {
    let issued = ctx.now;
    let expiry = opts.ttl.map(|t| add_calendar_duration(issued, t));
    let mut dataset = json!({ "data": data });
    if !opts.includes.is_empty() {
        dataset["included"] = Value::Array(included);
    }
    dataset["meta"] = json!({ "issued": ts(issued), "expiry": opt_ts(expiry), "ttl": opts.ttl });
    // The renderer migrates the dataset to the requested version (`renderer.rb#migrate!`).
    super::version::migrate_dataset(&mut dataset, ctx.version, &ctx.app.identity.account_id);
    let plaintext = dataset.to_string();
    let enc = if opts.encrypted {
        let key = sha256(secret.as_bytes());
        let iv = random_bytes::<12>();
        let cipher =
            Aes256Gcm::new_from_slice(&key).expect("SHA-256 output is a valid AES-256 key");
        let sealed = cipher
            .encrypt(Nonce::from_slice(&iv), plaintext.as_bytes())
            .expect("AES-GCM encryption of a small buffer");
        let (ct, tag) = sealed.split_at(sealed.len() - 16);
        format!("{}.{}.{}", b64(ct), b64(&iv), b64(tag))
    } else {
        b64(plaintext.as_bytes())
    };
    let alg = format!(
        "{}+{}",
        if opts.encrypted {
            "aes-256-gcm"
        } else {
            "base64"
        },
        opts.signing.name()
    );
    let sig = ctx
        .app
        .identity
        .signer
        .sign_with(opts.signing, format!("{}/{enc}", kind.prefix()).as_bytes());
    let quoted = |s: &str| Value::String(s.to_string()).to_string();
    let doc = format!(
        r#"{{"enc":{},"sig":{},"alg":{}}}"#,
        quoted(&enc),
        quoted(&b64(&sig)),
        quoted(&alg)
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
    cert: (String, String, i64, Option<i64>),
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
    let scheme = store
        .policy_of(ctx.license(&store, &bearer, &license_id)?)
        .text("scheme");
    let opts = parse_options(ctx, Kind::License, scheme)?;
    if let Some(l) = store.license_mut(&license_id) {
        l.last_check_out = Some(ctx.now);
    }
    ctx.touch();
    let license = ctx.license(&store, &bearer, &license_id)?;
    let view = ctx.view(&store);
    let mut included = Vec::new();
    for i in &opts.includes {
        push_unique(&mut included, license_related(&view, license, i));
    }
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
    let scheme = {
        let m = ctx.machine(&store, &bearer, &machine_id)?;
        store
            .license(&m.license_id)
            .map(|l| store.policy_of(l))
            .and_then(|p| p.text("scheme"))
    };
    let opts = parse_options(ctx, Kind::Machine, scheme)?;
    if let Some(m) = store.machine_mut(&machine_id) {
        m.last_check_out = Some(ctx.now);
    }
    ctx.touch();
    let m = ctx.machine(&store, &bearer, &machine_id)?;
    let license = store
        .license(&m.license_id)
        .ok_or_else(|| ApiError::not_found("license", &m.license_id))?;
    let view = ctx.view(&store);
    // A `license.*` path includes the license itself as well (jsonapi-rb includes every
    // resource on the path): `features/api/v1/machines/actions/checkouts.feature`.
    let mut included = Vec::new();
    for i in &opts.includes {
        match i.as_str() {
            "components" => push_unique(
                &mut included,
                m.components.iter().map(|c| view.component(m, c)).collect(),
            ),
            "license" => push_unique(&mut included, vec![view.license(license)]),
            other => match other.strip_prefix("license.") {
                Some(rel) => {
                    push_unique(&mut included, vec![view.license(license)]);
                    push_unique(&mut included, license_related(&view, license, rel));
                }
                None => push_unique(&mut included, license_related(&view, license, other)),
            },
        }
    }
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

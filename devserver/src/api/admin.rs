//! The admin API: products, policies, licenses, entitlements and license tokens.

use super::machines::{check_type, rel_id};
use super::{Bearer, Ctx, Reply};
use crate::api::errors;
use crate::api::errors::{ApiError, ApiResult};
use crate::api::params::{check, f, validate_attrs, F, REL, T};
use crate::doc;
use crate::signing::keys::{crypt_key, Scheme, SCHEME_NAMES};
use crate::store::*;
use crate::util::{hex, is_uuid, parse_time, random_bytes, rfc3339_ms, uuid_v4};
use serde_json::{json, Map, Value};

macro_rules! product_attrs {
    ($name:expr) => {
        &[
            $name,
            f("code", T::Str).null(),
            f(
                "distributionStrategy",
                T::Enum(&["LICENSED", "OPEN", "CLOSED"], "distribution strategy"),
            )
            .null(),
            f("url", T::Text).null(),
            f("platforms", T::Arr(&T::Str)).null(),
            f("metadata", T::Hash).null(),
        ]
    };
}
const PRODUCT_ATTRS: &[F] = product_attrs!(f("name", T::Str));
const NEW_PRODUCT_ATTRS: &[F] = product_attrs!(f("name", T::Str).req());
const NEW_PRODUCT: &[F] = doc!(NEW_PRODUCT_ATTRS, true, &[], false);
const UPDATE_PRODUCT: &[F] = doc!(PRODUCT_ATTRS, false, &[], false);

macro_rules! policy_attrs {
    ($($extra:expr),*) => {
        &[
            f("name", T::Text).null(),
            f("duration", T::Min(86_400, " (1 day)")).null(),
            f("strict", T::Bool),
            f("floating", T::Bool),
            f("requireProductScope", T::Bool),
            f("requirePolicyScope", T::Bool),
            f("requireMachineScope", T::Bool),
            f("requireFingerprintScope", T::Bool),
            f("requireComponentsScope", T::Bool),
            f("requireUserScope", T::Bool),
            f("requireChecksumScope", T::Bool),
            f("requireVersionScope", T::Bool),
            f("requireCheckIn", T::Bool),
            f("checkInInterval", T::Enum(&["day", "week", "month", "year"], "check-in interval")).null(),
            f("checkInIntervalCount", T::Min(1, "")).null(),
            f("maxMachines", T::Min(1, "")).null(),
            f("maxProcesses", T::Min(1, "")).null(),
            f("maxUsers", T::Min(1, "")).null(),
            f("maxCores", T::Min(1, "")).null(),
            f("maxMemory", T::Min(1, "")).null(),
            f("maxDisk", T::Min(1, "")).null(),
            f("maxUses", T::Min(0, "")).null(),
            f("protected", T::Bool),
            f("requireHeartbeat", T::Bool),
            f("heartbeatDuration", T::Int).null(),
            f("heartbeatCullStrategy", T::Enum(&["DEACTIVATE_DEAD", "KEEP_DEAD"], "heartbeat cull strategy")),
            f(
                "heartbeatResurrectionStrategy",
                T::Enum(
                    &["NO_REVIVE", "ALWAYS_REVIVE", "15_MINUTE_REVIVE", "10_MINUTE_REVIVE", "5_MINUTE_REVIVE", "2_MINUTE_REVIVE", "1_MINUTE_REVIVE"],
                    "heartbeat resurrection strategy",
                ),
            ),
            f("heartbeatBasis", T::Enum(&["FROM_CREATION", "FROM_FIRST_PING"], "heartbeat basis")).null(),
            f("machineUniquenessStrategy", T::Enum(UNIQUENESS, "uniqueness strategy")),
            f("machineMatchingStrategy", T::Enum(MATCHING, "matching strategy")),
            f("componentUniquenessStrategy", T::Enum(&["UNIQUE_PER_ACCOUNT", "UNIQUE_PER_PRODUCT", "UNIQUE_PER_POLICY", "UNIQUE_PER_LICENSE", "UNIQUE_PER_MACHINE"], "uniqueness strategy")),
            f("componentMatchingStrategy", T::Enum(MATCHING, "matching strategy")),
            f("machineLeasingStrategy", T::Enum(&["PER_LICENSE", "PER_USER"], "machine leasing strategy")),
            f("processLeasingStrategy", T::Enum(&["PER_MACHINE", "PER_LICENSE", "PER_USER"], "process leasing strategy")),
            f(
                "overageStrategy",
                T::Enum(&["ALWAYS_ALLOW_OVERAGE", "ALLOW_1_25X_OVERAGE", "ALLOW_1_5X_OVERAGE", "ALLOW_2X_OVERAGE", "NO_OVERAGE"], "overage strategy"),
            ),
            f("transferStrategy", T::Enum(&["RESET_EXPIRY", "KEEP_EXPIRY"], "transfer strategy")),
            f("authenticationStrategy", T::Enum(&["TOKEN", "LICENSE", "MIXED", "NONE"], "authentication strategy")),
            f(
                "expirationStrategy",
                T::Enum(&["RESTRICT_ACCESS", "REVOKE_ACCESS", "MAINTAIN_ACCESS", "ALLOW_ACCESS"], "expiration strategy"),
            ),
            f(
                "expirationBasis",
                T::Enum(&["FROM_CREATION", "FROM_FIRST_VALIDATION", "FROM_FIRST_ACTIVATION", "FROM_FIRST_DOWNLOAD", "FROM_FIRST_USE"], "expiration basis"),
            ),
            f("renewalBasis", T::Enum(&["FROM_EXPIRY", "FROM_NOW", "FROM_NOW_IF_EXPIRED"], "renewal basis")),
            f("metadata", T::Hash).null(),
            $($extra),*
        ]
    };
}

const UNIQUENESS: &[&str] = &[
    "UNIQUE_PER_ACCOUNT",
    "UNIQUE_PER_PRODUCT",
    "UNIQUE_PER_POLICY",
    "UNIQUE_PER_LICENSE",
];
const MATCHING: &[&str] = &["MATCH_ANY", "MATCH_TWO", "MATCH_MOST", "MATCH_ALL"];
/// Every signing scheme (`Policy::CRYPTO_SCHEMES`) but LEGACY_ENCRYPT, which needs Keygen's
/// hashed legacy keys.
const NEW_POLICY_ATTRS: &[F] = policy_attrs!(
    f("scheme", T::Enum(&SCHEME_NAMES, "signing scheme")).null(),
    f("encrypted", T::Bool),
    f("usePool", T::Bool)
);
const POLICY_ATTRS: &[F] = policy_attrs!();
const NEW_POLICY: &[F] = doc!(
    NEW_POLICY_ATTRS,
    false,
    &[f("product", T::Obj(REL)).req()],
    true
);
const UPDATE_POLICY: &[F] = doc!(POLICY_ATTRS, false, &[], false);

macro_rules! license_attrs {
    ($($extra:expr),*) => {
        &[
            f("name", T::Text).null(),
            f("expiry", T::Str).null(),
            f("suspended", T::Bool),
            f("protected", T::Bool).null(),
            f("maxMachines", T::Min(1, "")).null(),
            f("maxProcesses", T::Min(1, "")).null(),
            f("maxUsers", T::Min(1, "")).null(),
            f("maxCores", T::Min(1, "")).null(),
            f("maxMemory", T::Min(1, "")).null(),
            f("maxDisk", T::Min(1, "")).null(),
            f("maxUses", T::Min(0, "")).null(),
            f("metadata", T::Hash).null(),
            $($extra),*
        ]
    };
}
const NEW_LICENSE_ATTRS: &[F] = license_attrs!(f("key", T::Str));
const LICENSE_ATTRS: &[F] = license_attrs!();
const NEW_LICENSE: &[F] = doc!(
    NEW_LICENSE_ATTRS,
    false,
    &[f("policy", T::Obj(REL)).req()],
    true
);
const UPDATE_LICENSE: &[F] = doc!(LICENSE_ATTRS, false, &[], false);

const ENTITLEMENT_ATTRS: &[F] = &[
    f("name", T::Str),
    f("code", T::Str),
    f("metadata", T::Hash).null(),
];
const NEW_ENTITLEMENT_ATTRS: &[F] = &[
    f("name", T::Str).req(),
    f("code", T::Str).req(),
    f("metadata", T::Hash).null(),
];
const NEW_ENTITLEMENT: &[F] = doc!(NEW_ENTITLEMENT_ATTRS, true, &[], false);
const UPDATE_ENTITLEMENT: &[F] = doc!(ENTITLEMENT_ATTRS, false, &[], false);

const TOKEN_ATTRS: &[F] = &[
    f("name", T::Text).null(),
    f("expiry", T::Str).null(),
    f("maxActivations", T::Min(0, "")).null(),
    f("maxDeactivations", T::Min(0, "")).null(),
];
const NEW_TOKEN: &[F] = doc!(TOKEN_ATTRS, false, &[], false);

const ATTACH: &[F] = &[f(
    "data",
    T::Arr(&T::Obj(&[f("type", T::Str).req(), f("id", T::Str).req()])),
)
.req()];

/// Checks a create/update document (400s, then 422s) and returns its attributes.
fn body_attrs(ctx: &Ctx, doc: &[F], attrs: &[F], plural: &str) -> ApiResult<Map<String, Value>> {
    doc_attrs(&ctx.body, doc, attrs, plural)
}

/// Opens the store for an admin-only request.
fn admin<'a>(ctx: &'a Ctx) -> ApiResult<parking_lot::MutexGuard<'a, Store>> {
    let store = ctx.app.store.lock();
    ctx.bearer(&store)?.admin_only()?;
    Ok(store)
}

fn parse_expiry(a: &Map<String, Value>, key: &str) -> ApiResult<Option<Option<i64>>> {
    match a.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => v
            .as_str()
            .and_then(parse_time)
            .map(|t| Some(Some(t)))
            .ok_or_else(|| {
                ApiError::bad_request("type mismatch (received string expected datetime)")
                    .pointer(&format!("/data/attributes/{key}"))
            }),
    }
}

fn drop_keys(mut a: Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    for k in keys {
        a.remove(*k);
    }
    a
}

// ---- products ---------------------------------------------------------------

pub fn list_products(ctx: &Ctx) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let view = ctx.view(&store);
    ctx.paginate(
        store.products.iter().collect(),
        |p| view.product(p),
        "products",
    )
}

pub fn create_product(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let a = body_attrs(ctx, NEW_PRODUCT, NEW_PRODUCT_ATTRS, "products")?;
    let mut attrs: Map<String, Value> =
        json!({ "name": null, "code": null, "distributionStrategy": "LICENSED", "url": null, "platforms": null, "metadata": {} })
            .as_object()
            .cloned()
            .unwrap_or_default();
    attrs.extend(a.into_iter().filter(|(_, v)| !v.is_null()));
    let id = ctx.body["data"]["id"]
        .as_str()
        .map_or_else(uuid_v4, str::to_owned);
    let product = Product {
        id: id.clone(),
        created: ctx.now,
        updated: ctx.now,
        attrs,
    };
    store.products.push(product);
    ctx.touch();
    let view = ctx.view(&store);
    let p = store
        .product(&id)
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    Reply::created(view.product(p), ctx.link(&format!("products/{id}")))
}

/// Where the record with this id is, or Keygen's 404 for `model`.
fn index_of<T>(items: &[T], id: &str, model: &str, id_of: fn(&T) -> &String) -> ApiResult<usize> {
    items
        .iter()
        .position(|r| id_of(r) == id)
        .ok_or_else(|| ApiError::not_found(model, id))
}

fn product_index(store: &Store, id: &str) -> ApiResult<usize> {
    index_of(&store.products, id, "product", |r| &r.id)
}

pub fn show_product(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let i = product_index(&store, id)?;
    Reply::data(ctx.view(&store).product(&store.products[i]))
}

pub fn update_product(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let i = product_index(&store, id)?;
    let a = body_attrs(ctx, UPDATE_PRODUCT, PRODUCT_ATTRS, "products")?;
    let p = &mut store.products[i];
    p.attrs.extend(a);
    p.updated = ctx.now;
    ctx.touch();
    Reply::data(ctx.view(&store).product(&store.products[i]))
}

pub fn delete_product(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let i = product_index(&store, id)?;
    let product = store.products.remove(i);
    let policies: Vec<String> = store
        .policies
        .iter()
        .filter(|p| p.product_id == product.id)
        .map(|p| p.id.clone())
        .collect();
    for p in policies {
        remove_policy(&mut store, &p);
    }
    ctx.touch();
    Reply::no_content()
}

// ---- policies ---------------------------------------------------------------

fn policy_index(store: &Store, id: &str) -> ApiResult<usize> {
    index_of(&store.policies, id, "policy", |r| &r.id)
}

/// Cross-attribute policy rules (Keygen's policy model validations).
fn validate_policy(ctx: &Ctx, attrs: &Map<String, Value>) -> ApiResult<()> {
    let text = |k: &str| attrs.get(k).and_then(Value::as_str);
    let floating = flag(attrs, "floating");
    if let Some(d) = int(attrs, "heartbeatDuration") {
        if d < ctx.app.min_heartbeat {
            let min = ctx.app.min_heartbeat;
            let detail = if min == 60 {
                "must be greater than or equal to 60 (1 minute)".to_string()
            } else {
                format!("must be greater than or equal to {min}")
            };
            return Err(ApiError::invalid(
                &detail,
                "HEARTBEAT_DURATION_INVALID",
                "/data/attributes/heartbeatDuration",
            ));
        }
    }
    if !floating && int(attrs, "maxMachines").is_some_and(|m| m != 1) {
        return Err(ApiError::invalid(
            "must be equal to 1 for non-floating policy",
            "MAX_MACHINES_INVALID",
            "/data/attributes/maxMachines",
        ));
    }
    if text("heartbeatResurrectionStrategy") == Some("ALWAYS_REVIVE")
        && text("heartbeatCullStrategy") != Some("KEEP_DEAD")
    {
        return Err(ApiError::invalid(
            "incompatible heartbeat cull strategy (must be KEEP_DEAD when resurrection strategy is ALWAYS_REVIVE)",
            "HEARTBEAT_CULL_STRATEGY_NOT_ALLOWED",
            "/data/attributes/heartbeatCullStrategy",
        ));
    }
    let divisor = match text("overageStrategy") {
        Some("ALLOW_1_25X_OVERAGE") => Some((4, "1.25x")),
        Some("ALLOW_1_5X_OVERAGE") => Some((2, "1.5x")),
        _ => None,
    };
    if let Some((div, name)) = divisor {
        let bad_limit = ["maxMachines", "maxProcesses", "maxCores", "maxUsers"]
            .iter()
            .any(|k| int(attrs, k).is_some_and(|v| v % div != 0));
        if !floating || bad_limit {
            return Err(ApiError::invalid(
                &format!("incompatible overage strategy (cannot use {name} overage for node-locked policy or limits not divisible by {div})"),
                "OVERAGE_STRATEGY_NOT_ALLOWED",
                "/data/attributes/overageStrategy",
            ));
        }
    }
    Ok(())
}

pub fn list_policies(ctx: &Ctx) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let view = ctx.view(&store);
    let product = ctx.req.query("product");
    let items = store
        .policies
        .iter()
        .filter(|p| product.map_or(true, |id| p.product_id == id))
        .collect();
    ctx.paginate(items, |p| view.policy(p), "policies")
}

/// A policy document with the attribute names of older API versions renamed to today's.
fn policy_body(ctx: &Ctx) -> Value {
    let mut body = ctx.body.clone();
    if let Some(a) = body
        .pointer_mut("/data/attributes")
        .and_then(Value::as_object_mut)
    {
        super::version::policy_request_aliases(ctx.version, a);
    }
    body
}

/// `body_attrs` over a given document.
fn doc_attrs(body: &Value, doc: &[F], attrs: &[F], plural: &str) -> ApiResult<Map<String, Value>> {
    check(body, doc, "")?;
    check_type(body, plural)?;
    let a = body["data"]["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    validate_attrs(&a, attrs, "/data/attributes")?;
    Ok(a)
}

pub fn create_policy(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let a = doc_attrs(&policy_body(ctx), NEW_POLICY, NEW_POLICY_ATTRS, "policies")?;
    let product_id = rel_id(&ctx.body, "product")?.to_string();
    if store.product(&product_id).is_none() {
        return Err(ApiError::invalid(
            "must exist",
            "PRODUCT_NOT_FOUND",
            "/data/relationships/product",
        ));
    }
    let mut attrs = policy_defaults();
    let given = |k: &str| a.get(k).is_some_and(|v| !v.is_null());
    let (overage_given, basis_given) = (given("overageStrategy"), given("heartbeatBasis"));
    attrs.extend(
        a.into_iter()
            .filter(|(k, v)| !v.is_null() || k == "heartbeatDuration" || k == "duration"),
    );
    // policy.rb `set_default_overage_strategy` and `set_default_heartbeat_basis`: stored
    // at creation, by the API version of the request.
    let legacy = |versions: &[&str]| versions.contains(&ctx.version);
    if !overage_given {
        let overage = if legacy(&["1.0", "1.1"]) {
            "ALWAYS_ALLOW_OVERAGE"
        } else {
            "NO_OVERAGE"
        };
        attrs.insert("overageStrategy".into(), overage.into());
    }
    if !basis_given {
        let basis = if !legacy(&["1.0", "1.1", "1.2"]) && flag(&attrs, "requireHeartbeat") {
            "FROM_CREATION"
        } else {
            "FROM_FIRST_PING"
        };
        attrs.insert("heartbeatBasis".into(), basis.into());
    }
    if !flag(&attrs, "floating") && int(&attrs, "maxMachines").is_none() {
        attrs.insert("maxMachines".into(), 1.into());
    }
    validate_policy(ctx, &attrs)?;
    let id = ctx.body["data"]["id"]
        .as_str()
        .filter(|id| is_uuid(id))
        .map_or_else(uuid_v4, str::to_owned);
    store.policies.push(Policy {
        id: id.clone(),
        product_id,
        created: ctx.now,
        updated: ctx.now,
        attrs,
        entitlements: vec![],
    });
    ctx.touch();
    let p = &store.policies[policy_index(&store, &id)?];
    Reply::created(
        ctx.view(&store).policy(p),
        ctx.link(&format!("policies/{id}")),
    )
}

pub fn show_policy(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let i = policy_index(&store, id)?;
    Reply::data(ctx.view(&store).policy(&store.policies[i]))
}

pub fn update_policy(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let i = policy_index(&store, id)?;
    let a = doc_attrs(&policy_body(ctx), UPDATE_POLICY, POLICY_ATTRS, "policies")?;
    let mut attrs = store.policies[i].attrs.clone();
    attrs.extend(a);
    validate_policy(ctx, &attrs)?;
    let p = &mut store.policies[i];
    p.attrs = attrs;
    p.updated = ctx.now;
    ctx.touch();
    Reply::data(ctx.view(&store).policy(&store.policies[i]))
}

fn remove_policy(store: &mut Store, id: &str) {
    store.policies.retain(|p| p.id != id);
    let licenses: Vec<String> = store
        .licenses
        .iter()
        .filter(|l| l.policy_id == id)
        .map(|l| l.id.clone())
        .collect();
    for l in licenses {
        remove_license(store, &l);
    }
}

pub fn delete_policy(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    policy_index(&store, id)?;
    remove_policy(&mut store, id);
    ctx.touch();
    Reply::no_content()
}

// ---- licenses ---------------------------------------------------------------

/// 16 random bytes as upper-case hex, last two characters replaced by `V3`, in groups of 6.
fn generate_key() -> String {
    let mut h = hex(&random_bytes::<16>()).to_ascii_uppercase();
    h.replace_range(30..32, "V3");
    let groups: Vec<&str> = (0..32).step_by(6).map(|i| &h[i..(i + 6).min(32)]).collect();
    groups.join("-")
}

/// Keygen's `TemplateFormatService`: each `{{name}}` (case-insensitive word) becomes the value
/// of that variable, or nothing for an unknown one or a missing value.
fn template(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        let after = &rest[at + 2..];
        let word_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if word_len > 0 && after[word_len..].starts_with("}}") {
            out.push_str(&rest[..at]);
            let name = errors::snake(&after[..word_len]);
            let value = vars.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v);
            out.push_str(value);
            rest = &after[word_len + 2..];
        } else {
            out.push_str(&rest[..at + 2]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A key for a license of a policy with a `scheme` (`license.rb#crypt_key`): the given key
/// (templated) or Keygen's default dataset for the scheme, signed or encrypted.
fn scheme_key(
    ctx: &Ctx,
    policy: &Policy,
    scheme: Scheme,
    id: &str,
    created: i64,
    expiry: Option<i64>,
    given: Option<&str>,
) -> ApiResult<String> {
    let expiry_s = expiry.map(rfc3339_ms);
    let created_s = rfc3339_ms(created);
    let duration = policy.int("duration");
    let account = &ctx.app.identity.account_id;
    let seed = match given {
        Some(t) => {
            let duration_s = duration.map(|d| d.to_string()).unwrap_or_default();
            template(
                t,
                &[
                    ("id", id),
                    ("expiry", expiry_s.as_deref().unwrap_or("")),
                    ("created", &created_s),
                    ("duration", &duration_s),
                    ("account", account),
                    ("product", &policy.product_id),
                    ("policy", &policy.id),
                    ("user", ""),
                    ("email", ""),
                ],
            )
        }
        None => default_seed(ctx, policy, scheme, id, created, expiry),
    };
    crypt_key(&ctx.app.identity.signer, scheme, &seed)
        .map_err(|e| ApiError::invalid(&e.detail(), e.code(), "/data/attributes/key"))
}

/// `license.rb#default_seed_key`, in Keygen's key order (Ruby `JSON.generate`).
fn default_seed(
    ctx: &Ctx,
    policy: &Policy,
    scheme: Scheme,
    id: &str,
    created: i64,
    expiry: Option<i64>,
) -> String {
    let s = |v: &str| Value::String(v.to_string()).to_string();
    let opt = |v: Option<String>| v.as_deref().map_or("null".to_string(), s);
    let num = |v: Option<i64>| v.map_or("null".to_string(), |d| d.to_string());
    let account = &ctx.app.identity.account_id;
    let duration = policy.int("duration");
    match scheme {
        Scheme::RsaEncrypt => format!(
            r#"{{"id":{},"created":{},"duration":{},"expiry":{}}}"#,
            s(id),
            s(&rfc3339_ms(created)),
            num(duration),
            opt(expiry.map(rfc3339_ms)),
        ),
        Scheme::RsaJwtRs256 => {
            let exp = expiry.map_or(String::new(), |e| {
                format!(r#","exp":{}"#, e.div_euclid(1000))
            });
            format!(
                r#"{{"jti":{},"iss":"https://keygen.sh","aud":{},"sub":{},"iat":{t},"nbf":{t}{exp}}}"#,
                s(&uuid_v4()),
                s(account),
                s(id),
                t = created.div_euclid(1000),
            )
        }
        _ => format!(
            r#"{{"account":{{"id":{}}},"product":{{"id":{}}},"policy":{{"id":{},"duration":{}}},"user":null,"license":{{"id":{},"created":{},"expiry":{}}}}}"#,
            s(account),
            s(&policy.product_id),
            s(&policy.id),
            num(duration),
            s(id),
            s(&rfc3339_ms(created)),
            opt(expiry.map(rfc3339_ms)),
        ),
    }
}

pub fn list_licenses(ctx: &Ctx) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let view = ctx.view(&store);
    let (policy, product) = (ctx.req.query("policy"), ctx.req.query("product"));
    let items = store
        .licenses
        .iter()
        .filter(|l| bearer.sees(&l.id))
        .filter(|l| policy.map_or(true, |p| l.policy_id == p))
        .filter(|l| product.map_or(true, |p| store.policy_of(l).product_id == p))
        .collect();
    ctx.paginate(items, |l| view.license(l), "licenses")
}

pub fn create_license(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let a = body_attrs(ctx, NEW_LICENSE, NEW_LICENSE_ATTRS, "licenses")?;
    let policy_id = rel_id(&ctx.body, "policy")?.to_string();
    let policy = store.policy(&policy_id).ok_or_else(|| {
        ApiError::invalid(
            "must exist",
            "POLICY_NOT_FOUND",
            "/data/relationships/policy",
        )
    })?;
    let id = ctx.body["data"]["id"]
        .as_str()
        .filter(|id| is_uuid(id))
        .map_or_else(uuid_v4, str::to_owned);
    let expiry = match parse_expiry(&a, "expiry")? {
        Some(e) => e,
        None if policy.is("expirationBasis", "FROM_CREATION") => {
            policy.int("duration").map(|d| ctx.now + d * 1000)
        }
        None => None,
    };
    let given = a.get("key").and_then(Value::as_str);
    let key = match policy.text("scheme").and_then(Scheme::from_name) {
        Some(scheme) => scheme_key(ctx, policy, scheme, &id, ctx.now, expiry, given)?,
        None => given.map_or_else(generate_key, str::to_owned),
    };
    if store.licenses.iter().any(|l| l.key == key) {
        return Err(ApiError::invalid(
            "has already been taken",
            "KEY_TAKEN",
            "/data/attributes/key",
        ));
    }
    if store.license(&id).is_some() {
        return Err(ApiError::invalid(
            "must not conflict with another license",
            "ID_CONFLICT",
            "/data/id",
        ));
    }
    let suspended = flag(&a, "suspended");
    let attrs = drop_keys(a, &["key", "expiry", "suspended"]);
    store.licenses.push(License {
        id: id.clone(),
        policy_id,
        key,
        created: ctx.now,
        updated: ctx.now,
        attrs,
        expiry,
        suspended,
        last_validated: None,
        last_check_out: None,
        last_check_in: None,
        entitlements: vec![],
    });
    ctx.touch();
    let l = ctx.license(&store, &Bearer::Admin, &id)?;
    Reply::created(
        ctx.view(&store).license(l),
        ctx.link(&format!("licenses/{id}")),
    )
}

pub fn show_license(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let l = ctx.license(&store, &bearer, id)?;
    Reply::data(ctx.view(&store).license(l))
}

pub fn update_license(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let license_id = ctx.license(&store, &Bearer::Admin, id)?.id.clone();
    let a = body_attrs(ctx, UPDATE_LICENSE, LICENSE_ATTRS, "licenses")?;
    let expiry = parse_expiry(&a, "expiry")?;
    let l = store
        .license_mut(&license_id)
        .ok_or_else(|| ApiError::not_found("license", id))?;
    if let Some(e) = expiry {
        l.expiry = e;
    }
    if let Some(s) = a.get("suspended").and_then(Value::as_bool) {
        l.suspended = s;
    }
    for (k, v) in drop_keys(a, &["expiry", "suspended"]) {
        if v.is_null() && k.starts_with("max") || (v.is_null() && k == "protected") {
            l.attrs.remove(&k);
        } else {
            l.attrs.insert(k, v);
        }
    }
    l.updated = ctx.now;
    ctx.touch();
    let l = ctx.license(&store, &Bearer::Admin, &license_id)?;
    Reply::data(ctx.view(&store).license(l))
}

fn remove_license(store: &mut Store, id: &str) {
    store.licenses.retain(|l| l.id != id);
    let machines: Vec<String> = store.machines_of(id).map(|m| m.id.clone()).collect();
    for m in machines {
        store.remove_machine(&m);
    }
    store.tokens.retain(|t| t.license_id != id);
}

pub fn delete_license(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let license_id = ctx.license(&store, &Bearer::Admin, id)?.id.clone();
    remove_license(&mut store, &license_id);
    ctx.touch();
    Reply::no_content()
}

// ---- entitlements -----------------------------------------------------------

fn entitlement_index(store: &Store, id: &str) -> ApiResult<usize> {
    index_of(&store.entitlements, id, "entitlement", |r| &r.id)
}

fn code_taken(store: &Store, code: Option<&str>, except: &str) -> ApiResult<()> {
    match code {
        Some(c)
            if store
                .entitlements
                .iter()
                .any(|e| e.id != except && text(&e.attrs, "code") == Some(c)) =>
        {
            Err(ApiError::invalid(
                "has already been taken",
                "CODE_TAKEN",
                "/data/attributes/code",
            ))
        }
        _ => Ok(()),
    }
}

pub fn list_entitlements(ctx: &Ctx) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let view = ctx.view(&store);
    let items = store.entitlements.iter().collect();
    ctx.paginate(items, |e| view.entitlement(e), "entitlements")
}

pub fn create_entitlement(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let mut a = body_attrs(ctx, NEW_ENTITLEMENT, NEW_ENTITLEMENT_ATTRS, "entitlements")?;
    code_taken(&store, a.get("code").and_then(Value::as_str), "")?;
    a.entry("metadata").or_insert_with(|| json!({}));
    let id = uuid_v4();
    store.entitlements.push(Entitlement {
        id: id.clone(),
        created: ctx.now,
        updated: ctx.now,
        attrs: a,
    });
    ctx.touch();
    let e = &store.entitlements[entitlement_index(&store, &id)?];
    Reply::created(
        ctx.view(&store).entitlement(e),
        ctx.link(&format!("entitlements/{id}")),
    )
}

pub fn show_entitlement(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let i = entitlement_index(&store, id)?;
    Reply::data(ctx.view(&store).entitlement(&store.entitlements[i]))
}

pub fn update_entitlement(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let i = entitlement_index(&store, id)?;
    let a = body_attrs(ctx, UPDATE_ENTITLEMENT, ENTITLEMENT_ATTRS, "entitlements")?;
    code_taken(&store, a.get("code").and_then(Value::as_str), id)?;
    let e = &mut store.entitlements[i];
    e.attrs.extend(a);
    e.updated = ctx.now;
    ctx.touch();
    Reply::data(ctx.view(&store).entitlement(&store.entitlements[i]))
}

pub fn delete_entitlement(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let i = entitlement_index(&store, id)?;
    let e = store.entitlements.remove(i);
    for p in &mut store.policies {
        p.entitlements.retain(|x| *x != e.id);
    }
    for l in &mut store.licenses {
        l.entitlements.retain(|x| *x != e.id);
    }
    ctx.touch();
    Reply::no_content()
}

/// The entitlement ids named in an attach/detach body.
fn attach_ids(ctx: &Ctx, store: &Store) -> ApiResult<Vec<String>> {
    check(&ctx.body, ATTACH, "")?;
    let items = ctx.body["data"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let id = item["id"].as_str().unwrap_or_default();
            store.entitlement(id).map(|e| e.id.clone()).ok_or_else(|| {
                ApiError::invalid(
                    "must exist",
                    "ENTITLEMENT_NOT_FOUND",
                    &format!("/data/{i}/id"),
                )
            })
        })
        .collect()
}

/// Attaches (POST) or detaches (DELETE) entitlements on a list of ids.
fn attach(ctx: &Ctx, list: &mut Vec<String>, ids: Vec<String>) -> ApiResult<()> {
    if ctx.req.method == "POST" {
        if let Some(i) = ids.iter().position(|id| list.contains(id)) {
            return Err(ApiError::invalid(
                "already exists",
                "ENTITLEMENT_TAKEN",
                &format!("/data/{i}/id"),
            ));
        }
        list.extend(ids);
    } else {
        list.retain(|id| !ids.contains(id));
    }
    Ok(())
}

fn entitlement_list(ctx: &Ctx, store: &Store, ids: &[String], path: &str) -> ApiResult<Reply> {
    let view = ctx.view(store);
    let items = ids.iter().filter_map(|id| store.entitlement(id)).collect();
    ctx.paginate(items, |e| view.entitlement(e), path)
}

pub fn policy_entitlements(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let p = &store.policies[policy_index(&store, id)?];
    entitlement_list(
        ctx,
        &store,
        &p.entitlements,
        &format!("policies/{id}/entitlements"),
    )
}

pub fn attach_policy_entitlements(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let i = policy_index(&store, id)?;
    let ids = attach_ids(ctx, &store)?;
    let mut list = store.policies[i].entitlements.clone();
    attach(ctx, &mut list, ids.clone())?;
    store.policies[i].entitlements = list;
    ctx.touch();
    attached(ctx, &store, &ids)
}

pub fn license_entitlements(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let l = ctx.license(&store, &bearer, id)?;
    entitlement_list(
        ctx,
        &store,
        &store.license_entitlement_ids(l),
        &format!("licenses/{}/entitlements", l.id),
    )
}

pub fn attach_license_entitlements(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let license_id = ctx.license(&store, &Bearer::Admin, id)?.id.clone();
    let ids = attach_ids(ctx, &store)?;
    let l = store
        .license_mut(&license_id)
        .ok_or_else(|| ApiError::not_found("license", id))?;
    let mut list = l.entitlements.clone();
    attach(ctx, &mut list, ids.clone())?;
    l.entitlements = list;
    ctx.touch();
    attached(ctx, &store, &ids)
}

fn attached(ctx: &Ctx, store: &Store, ids: &[String]) -> ApiResult<Reply> {
    if ctx.req.method == "DELETE" {
        return Reply::no_content();
    }
    let view = ctx.view(store);
    let attached = ids.iter().filter_map(|id| store.entitlement(id));
    Reply::data(attached.map(|e| view.entitlement(e)).collect())
}

// ---- tokens -----------------------------------------------------------------

pub fn create_token(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let license_id = ctx.license(&store, &Bearer::Admin, id)?.id.clone();
    let a = if ctx.body.is_null() {
        Map::new()
    } else {
        body_attrs(ctx, NEW_TOKEN, TOKEN_ATTRS, "tokens")?
    };
    parse_expiry(&a, "expiry")?;
    let token = Token {
        id: uuid_v4(),
        token: format!("activ-{}v3", hex(&random_bytes::<16>())),
        license_id,
        product_id: None,
        created: ctx.now,
        updated: ctx.now,
        attrs: a,
        activations: 0,
        deactivations: 0,
    };
    let view_token = token.clone();
    store.tokens.push(token);
    ctx.touch();
    Reply::created(
        ctx.view(&store).token(&view_token, true),
        ctx.link(&format!("tokens/{}", view_token.id)),
    )
}

const PRODUCT_TOKEN: &[F] = &[f(
    "data",
    T::Obj(&[
        f("type", T::Str).req(),
        f(
            "attributes",
            T::Obj(&[f("expiry", T::Str).null(), f("name", T::Text).null()]),
        ),
    ]),
)];

/// `POST /products/{id}/tokens` (`products/relationships/tokens_controller.rb#create`): a
/// product token, answered with 200 (not 201) and its value shown once.
pub fn create_product_token(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = admin(ctx)?;
    let product_id = store.products[product_index(&store, id)?].id.clone();
    if !ctx.body.is_null() {
        check(&ctx.body, PRODUCT_TOKEN, "")?;
        check_type(&ctx.body, "tokens")?;
    }
    let a = ctx.body["data"]["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    parse_expiry(&a, "expiry")?;
    let token = Token {
        id: uuid_v4(),
        token: format!("prod-{}v3", hex(&random_bytes::<32>())),
        license_id: String::new(),
        product_id: Some(product_id),
        created: ctx.now,
        updated: ctx.now,
        attrs: a,
        activations: 0,
        deactivations: 0,
    };
    let view_token = token.clone();
    store.tokens.push(token);
    ctx.touch();
    Reply::data(ctx.view(&store).token(&view_token, true))
}

pub fn list_product_tokens(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let product_id = store.products[product_index(&store, id)?].id.clone();
    let view = ctx.view(&store);
    let items = store
        .tokens
        .iter()
        .filter(|t| t.product_id.as_deref() == Some(product_id.as_str()))
        .collect();
    ctx.paginate(
        items,
        |t| view.token(t, false),
        &format!("products/{product_id}/tokens"),
    )
}

pub fn list_tokens(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = admin(ctx)?;
    let license_id = ctx.license(&store, &Bearer::Admin, id)?.id.clone();
    let view = ctx.view(&store);
    let items = store
        .tokens
        .iter()
        .filter(|t| t.product_id.is_none() && t.license_id == license_id)
        .collect();
    ctx.paginate(
        items,
        |t| view.token(t, false),
        &format!("licenses/{license_id}/tokens"),
    )
}

/// `--bootstrap`: a demo product, a node-locked strict policy with license-key auth, a license.
pub fn bootstrap(app: &super::App) -> crate::store::Bootstrap {
    let now = app.now();
    let mut store = app.store.lock();
    let product = Product {
        id: uuid_v4(),
        created: now,
        updated: now,
        attrs: json!({ "name": "Demo App", "code": "demo", "distributionStrategy": "LICENSED", "url": null, "platforms": null, "metadata": {} })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    let mut attrs = policy_defaults();
    for (k, v) in [
        ("name", json!("Demo Node-Locked")),
        ("strict", json!(true)),
        ("maxMachines", json!(1)),
        ("authenticationStrategy", json!("LICENSE")),
    ] {
        attrs.insert(k.into(), v);
    }
    let policy = Policy {
        id: uuid_v4(),
        product_id: product.id.clone(),
        created: now,
        updated: now,
        attrs,
        entitlements: vec![],
    };
    let license = License {
        id: uuid_v4(),
        policy_id: policy.id.clone(),
        key: generate_key(),
        created: now,
        updated: now,
        attrs: json!({ "name": "Demo License", "metadata": {} })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        expiry: None,
        suspended: false,
        last_validated: None,
        last_check_out: None,
        last_check_in: None,
        entitlements: vec![],
    };
    let b = crate::store::Bootstrap {
        product_id: product.id.clone(),
        policy_id: policy.id.clone(),
        license_id: license.id.clone(),
        license_key: license.key.clone(),
    };
    store.products.push(product);
    store.policies.push(policy);
    store.licenses.push(license);
    b
}

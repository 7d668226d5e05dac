//! `GET /me`, license validation (§2.4) and the license actions (suspend, reinstate, renew, check-in).

use super::{Bearer, Ctx, Reply};
use crate::api::errors::{ApiError, ApiResult};
use crate::api::params::{check, f, F, T};
use crate::api::views::ts;
use crate::store::{Heart, License, Machine, Policy, Store};
use serde_json::{json, Map, Value};

const SCOPE: &[F] = &[
    f("product", T::Str),
    f("policy", T::Str),
    f("user", T::Str).null(),
    f("machine", T::Str),
    f("fingerprint", T::Str),
    f("fingerprints", T::Arr(&T::Str)),
    f("components", T::Arr(&T::Str)),
    f("entitlements", T::Arr(&T::Str)),
    f("checksum", T::Str),
    f("version", T::Str),
];

const VALIDATE: &[F] = &[f(
    "meta",
    T::Obj(&[f("nonce", T::Int), f("scope", T::Obj(SCOPE))]),
)];

const VALIDATE_KEY: &[F] = &[f(
    "meta",
    T::Obj(&[
        f("key", T::Str).req(),
        f("nonce", T::Int),
        f("encrypted", T::Bool),
        f("legacyEncrypted", T::Bool),
        f("scope", T::Obj(SCOPE)),
    ]),
)
.req()];

pub fn me(ctx: &Ctx) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    match ctx.bearer(&store)? {
        Bearer::License { id, .. } => {
            let license = ctx.license(&store, &Bearer::Admin, &id)?;
            Reply::data(ctx.view(&store).license(license))
        }
        // profiles_controller.rb#me: a product token's bearer is its product.
        Bearer::Product { id, .. } => match store.product(&id) {
            Some(p) => Reply::data(ctx.view(&store).product(p)),
            None => Err(ApiError::not_found("product", &id)),
        },
        Bearer::Admin => {
            Err(
                ApiError::new(404, "Not found", "The requested resource was not found")
                    .code("NOT_FOUND"),
            )
        }
    }
}

pub fn validate_key(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.authenticate(&store)?;
    check(&ctx.body, VALIDATE_KEY, "")?;
    let meta = &ctx.body["meta"];
    let key = meta["key"].as_str().unwrap_or_default();
    let id = store.license_by_key(key).map(|l| l.id.clone());
    if let (Some(Bearer::License { id: own, .. }), Some(id)) = (&bearer, &id) {
        if own != id {
            return Err(ApiError::denied());
        }
    }
    respond(ctx, &mut store, id.as_deref(), Some(meta))
}

/// `GET` (quick: no scope checks, no echo) and `POST` validation by id or key.
pub fn validate(ctx: &Ctx, id: &str, scoped: bool) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let license_id = ctx.license(&store, &bearer, id)?.id.clone();
    if !scoped {
        return respond(ctx, &mut store, Some(&license_id), None);
    }
    if !ctx.body.is_null() {
        check(&ctx.body, VALIDATE, "")?;
    }
    let meta = ctx.body.get("meta").cloned().unwrap_or_else(|| json!({}));
    respond(ctx, &mut store, Some(&license_id), Some(&meta))
}

/// Runs the validation, touches the license and renders `{data, meta}`. `meta` is `None` for
/// quick validation.
fn respond(
    ctx: &Ctx,
    store: &mut Store,
    license_id: Option<&str>,
    meta: Option<&Value>,
) -> ApiResult<Reply> {
    let empty = Map::new();
    let scope = meta.map(|m| m.get("scope").and_then(Value::as_object).unwrap_or(&empty));
    let (valid, detail, code) = match license_id.and_then(|id| store.license(id)) {
        None => (false, "does not exist".to_string(), "NOT_FOUND"),
        Some(license) => validation(store, license, scope, ctx.now),
    };
    if let Some(license) = license_id.and_then(|id| store.license_mut(id)) {
        license.last_validated = Some(ctx.now);
        ctx.touch();
    }
    if let Some(license_id) = license_id {
        apply_first_use_expiry(store, license_id, "FROM_FIRST_VALIDATION", ctx.now);
    }
    let mut out = json!({ "ts": ts(ctx.now), "valid": valid, "detail": detail, "code": code });
    if let Some(meta) = meta {
        if let Some(nonce) = meta.get("nonce") {
            out["nonce"] = nonce.clone();
        }
        if let Some(scope) = meta.get("scope") {
            out["scope"] = scope.clone();
        }
    }
    let data = license_id
        .and_then(|id| store.license(id))
        .map(|l| ctx.view(store).license(l));
    let mut doc = super::ctx::document(data.unwrap_or(Value::Null));
    doc["meta"] = out;
    Reply::ok(doc)
}

/// Sets `expiry = now + duration` the first time an expiration basis event happens.
pub fn apply_first_use_expiry(store: &mut Store, license_id: &str, basis: &str, now: i64) {
    let Some(license) = store.license(license_id) else {
        return;
    };
    let policy = store.policy_of(license);
    if license.expiry.is_some() || !policy.is("expirationBasis", basis) {
        return;
    }
    let Some(duration) = policy.int("duration") else {
        return;
    };
    if let Some(license) = store.license_mut(license_id) {
        license.expiry = Some(now + duration * 1000);
    }
}

type Verdict = (bool, String, &'static str);

fn verdict(valid: bool, detail: &str, code: &'static str) -> Verdict {
    (valid, detail.to_string(), code)
}

/// Keygen's LicenseValidationService, in its exact order. `scope` is `None` for quick validation.
pub fn validation(
    store: &Store,
    license: &License,
    scope: Option<&Map<String, Value>>,
    now: i64,
) -> Verdict {
    let policy = store.policy_of(license);
    if license.suspended {
        return verdict(false, "is suspended", "SUSPENDED");
    }
    if license.expired(now) && policy.revokes_on_expiry() {
        return verdict(false, "is expired", "EXPIRED");
    }
    if license.check_in_overdue(policy, now) {
        return verdict(false, "is overdue for check in", "OVERDUE");
    }
    if let Some(scope) = scope {
        if let Some(v) = scope_checks(store, license, policy, scope, now) {
            return v;
        }
    }
    limit_checks(store, license, policy, scope, now)
}

fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    }
}

fn matching_threshold(strategy: Option<&str>, n: usize) -> (usize, &'static str) {
    match strategy {
        Some("MATCH_MOST") => (n.div_ceil(2), "enough"),
        Some("MATCH_TWO") => (2, "at least 2"),
        Some("MATCH_ALL") => (n, "all"),
        _ => (1, "any"),
    }
}

fn scope_checks(
    store: &Store,
    license: &License,
    policy: &Policy,
    scope: &Map<String, Value>,
    now: i64,
) -> Option<Verdict> {
    let required = |flag: &str| policy.flag(flag);
    let machines: Vec<&Machine> = store.machines_of(&license.id).collect();
    let floating = policy.floating();

    // The product and policy scopes: the license's id, required when the policy says so.
    for (key, actual, flag, mismatch, missing) in [
        (
            "product",
            &policy.product_id,
            "requireProductScope",
            "PRODUCT_SCOPE_MISMATCH",
            "PRODUCT_SCOPE_REQUIRED",
        ),
        (
            "policy",
            &policy.id,
            "requirePolicyScope",
            "POLICY_SCOPE_MISMATCH",
            "POLICY_SCOPE_REQUIRED",
        ),
    ] {
        match scope.get(key).and_then(Value::as_str) {
            Some(id) if id != actual => {
                return Some(verdict(
                    false,
                    &format!("{key} scope does not match"),
                    mismatch,
                ))
            }
            None if required(flag) => {
                return Some(verdict(false, &format!("{key} scope is required"), missing))
            }
            _ => {}
        }
    }
    // Licenses here have no owner or users: only a null user scope matches (the owner is null).
    match scope.get("user") {
        Some(Value::Null) => {}
        Some(_) => {
            return Some(verdict(
                false,
                "user scope does not match",
                "USER_SCOPE_MISMATCH",
            ))
        }
        None if required("requireUserScope") => {
            return Some(verdict(
                false,
                "user scope is required",
                "USER_SCOPE_REQUIRED",
            ))
        }
        None => {}
    }
    if let Some(e) = scope.get("entitlements") {
        let wanted = strs(Some(e));
        if wanted.is_empty() {
            return Some(verdict(
                false,
                "entitlements scope is empty",
                "ENTITLEMENTS_SCOPE_EMPTY",
            ));
        }
        let have = store.entitlement_codes(license);
        if !wanted.iter().all(|w| have.contains(w)) {
            return Some(verdict(
                false,
                "is missing one or more required entitlements",
                "ENTITLEMENTS_MISSING",
            ));
        }
    }
    let heart = |m: &Machine| m.heartbeat(policy, now);
    match scope.get("machine").and_then(Value::as_str) {
        Some(id) => {
            if machines.is_empty() {
                return Some(if floating {
                    verdict(
                        false,
                        "machine is not activated (has no associated machines)",
                        "NO_MACHINES",
                    )
                } else {
                    verdict(
                        false,
                        "machine is not activated (has no associated machine)",
                        "NO_MACHINE",
                    )
                });
            }
            let Some(m) = machines.iter().find(|m| m.id == id) else {
                return Some(verdict(
                    false,
                    "machine is not activated (does not match any associated machines)",
                    "MACHINE_SCOPE_MISMATCH",
                ));
            };
            match heart(m) {
                Heart::NotStarted if policy.flag("requireHeartbeat") => {
                    return Some(verdict(
                        false,
                        "machine heartbeat is required",
                        "HEARTBEAT_NOT_STARTED",
                    ))
                }
                Heart::Dead => {
                    return Some(verdict(
                        false,
                        "machine heartbeat is dead",
                        "HEARTBEAT_DEAD",
                    ))
                }
                _ => {}
            }
        }
        None if required("requireMachineScope") => {
            return Some(verdict(
                false,
                "machine scope is required",
                "MACHINE_SCOPE_REQUIRED",
            ))
        }
        None => {}
    }
    let fingerprints = if scope.contains_key("fingerprint") {
        Some(strs(scope.get("fingerprint")))
    } else if scope.contains_key("fingerprints") {
        Some(strs(scope.get("fingerprints")))
    } else {
        None
    };
    match fingerprints {
        Some(mut fps) => {
            let mut seen = Vec::new();
            fps.retain(|f| {
                if seen.contains(f) {
                    false
                } else {
                    seen.push(f.clone());
                    true
                }
            });
            if fps.is_empty() {
                return Some(verdict(
                    false,
                    "fingerprint scope is empty",
                    "FINGERPRINT_SCOPE_EMPTY",
                ));
            }
            if machines.is_empty() {
                return Some(if floating {
                    verdict(
                        false,
                        "fingerprint is not activated (has no associated machines)",
                        "NO_MACHINES",
                    )
                } else {
                    verdict(
                        false,
                        "fingerprint is not activated (has no associated machine)",
                        "NO_MACHINE",
                    )
                });
            }
            let dead = |fp: &String| {
                machines
                    .iter()
                    .any(|m| &m.fingerprint == fp && heart(m) == Heart::Dead)
            };
            if fps.iter().all(dead) {
                return Some(verdict(
                    false,
                    "machine heartbeat is dead",
                    "HEARTBEAT_DEAD",
                ));
            }
            let alive: Vec<&&Machine> = machines
                .iter()
                .filter(|m| fps.contains(&m.fingerprint) && heart(m) != Heart::Dead)
                .collect();
            if fps.len() > 1 {
                let (needed, how) =
                    matching_threshold(policy.text("machineMatchingStrategy"), fps.len());
                if alive.len() < needed {
                    let detail = format!("one or more fingerprint is not activated (does not match {how} associated machines)");
                    return Some((false, detail, "FINGERPRINT_SCOPE_MISMATCH"));
                }
            } else if alive.is_empty() {
                return Some(verdict(
                    false,
                    "fingerprint is not activated (does not match any associated machines)",
                    "FINGERPRINT_SCOPE_MISMATCH",
                ));
            }
            if policy.flag("requireHeartbeat")
                && alive.iter().any(|m| heart(m) == Heart::NotStarted)
            {
                return Some(verdict(
                    false,
                    "machine heartbeat is required",
                    "HEARTBEAT_NOT_STARTED",
                ));
            }
        }
        None if required("requireFingerprintScope") => {
            return Some(verdict(
                false,
                "fingerprint scope is required",
                "FINGERPRINT_SCOPE_REQUIRED",
            ))
        }
        None => {}
    }
    match scope.get("components") {
        Some(c) => {
            let Some(fp) = scope.get("fingerprint").and_then(Value::as_str) else {
                return Some(verdict(
                    false,
                    "fingerprint scope is required when using the components scope",
                    "FINGERPRINT_SCOPE_REQUIRED",
                ));
            };
            let wanted = strs(Some(c));
            if wanted.is_empty() {
                return Some(verdict(
                    false,
                    "components scope is empty",
                    "COMPONENTS_SCOPE_EMPTY",
                ));
            }
            let have: Vec<&str> = machines
                .iter()
                .filter(|m| m.fingerprint == fp)
                .flat_map(|m| m.components.iter().map(|c| c.fingerprint.as_str()))
                .collect();
            let matched = wanted.iter().filter(|w| have.contains(&w.as_str())).count();
            let (needed, how) =
                matching_threshold(policy.text("componentMatchingStrategy"), wanted.len());
            if matched < needed {
                let detail = format!("one or more component is not activated (does not match {how} associated components)");
                return Some((false, detail, "COMPONENTS_SCOPE_MISMATCH"));
            }
        }
        None if required("requireComponentsScope") => {
            return Some(verdict(
                false,
                "components scope is required",
                "COMPONENTS_SCOPE_REQUIRED",
            ))
        }
        None => {}
    }
    // There are no releases or artifacts here, so a checksum or version never matches.
    match scope.get("checksum") {
        Some(_) => {
            return Some(verdict(
                false,
                "checksum scope is not valid (does not match any accessible artifacts)",
                "CHECKSUM_SCOPE_MISMATCH",
            ))
        }
        None if required("requireChecksumScope") => {
            return Some(verdict(
                false,
                "checksum scope is required",
                "CHECKSUM_SCOPE_REQUIRED",
            ))
        }
        None => {}
    }
    match scope.get("version") {
        Some(_) => Some(verdict(
            false,
            "version scope is not valid (does not match any accessible releases)",
            "VERSION_SCOPE_MISMATCH",
        )),
        None if required("requireVersionScope") => Some(verdict(
            false,
            "version scope is required",
            "VERSION_SCOPE_REQUIRED",
        )),
        None => None,
    }
}

fn limit_checks(
    store: &Store,
    license: &License,
    policy: &Policy,
    scope: Option<&Map<String, Value>>,
    now: i64,
) -> Verdict {
    let expired = || verdict(policy.keeps_access_on_expiry(), "is expired", "EXPIRED");
    if !policy.flag("strict") {
        return if license.expired(now) {
            expired()
        } else {
            verdict(true, "is valid", "VALID")
        };
    }
    let machines: Vec<&Machine> = store.machines_of(&license.id).collect();
    let count = machines.len() as i64;
    if !policy.floating() {
        if count == 0 {
            return verdict(
                false,
                "must have exactly 1 associated machine",
                "NO_MACHINE",
            );
        }
        let limit = license.limit(policy, "maxMachines").unwrap_or(1);
        if count > 1 && count > limit {
            let valid = match policy.text("overageStrategy") {
                Some("ALWAYS_ALLOW_OVERAGE") => true,
                Some("ALLOW_2X_OVERAGE") => count <= limit * 2,
                _ => false,
            };
            return verdict(
                valid,
                "has too many associated machines",
                "TOO_MANY_MACHINES",
            );
        }
    } else {
        if count == 0 {
            return verdict(
                false,
                "must have at least 1 associated machine",
                "NO_MACHINES",
            );
        }
        if let Some(limit) = license.limit(policy, "maxMachines") {
            if count > 1 && count > limit {
                return verdict(
                    policy.within_overage(count, limit),
                    "has too many associated machines",
                    "TOO_MANY_MACHINES",
                );
            }
        }
    }
    let sums = [
        (
            "maxCores",
            "cores",
            "has too many associated machine cores",
            "TOO_MANY_CORES",
        ),
        (
            "maxMemory",
            "memory",
            "has too much associated machine memory",
            "TOO_MUCH_MEMORY",
        ),
        (
            "maxDisk",
            "disk",
            "has too much associated machine disk",
            "TOO_MUCH_DISK",
        ),
    ];
    for (limit_key, attr, detail, code) in sums {
        if let Some(limit) = license.limit(policy, limit_key) {
            let total = crate::store::total(machines.iter().copied(), attr);
            if total > limit {
                return verdict(policy.within_overage(total, limit), detail, code);
            }
        }
    }
    if let Some((count, limit)) = process_usage(store, license, policy, scope, now) {
        if count > limit {
            return verdict(
                policy.within_overage(count, limit),
                "has too many associated processes",
                "TOO_MANY_PROCESSES",
            );
        }
    }
    if license.expired(now) {
        return expired();
    }
    verdict(true, "is valid", "VALID")
}

/// (process count, limit) for the strict process rule, per the leasing strategy.
fn process_usage(
    store: &Store,
    license: &License,
    policy: &Policy,
    scope: Option<&Map<String, Value>>,
    now: i64,
) -> Option<(i64, i64)> {
    if policy.is("processLeasingStrategy", "PER_MACHINE")
        || policy.text("processLeasingStrategy").is_none()
    {
        let scope = scope?;
        let alive = |m: &&Machine| m.heartbeat(policy, now) != Heart::Dead;
        let mut machines = store.machines_of(&license.id).filter(alive);
        let machine = match (
            scope.get("machine").and_then(Value::as_str),
            scope.get("fingerprint").and_then(Value::as_str),
        ) {
            (Some(id), _) => machines.find(|m| m.id == id),
            (None, Some(fp)) => machines.find(|m| m.fingerprint == fp),
            _ => strs(scope.get("fingerprints"))
                .first()
                .and_then(|fp| machines.find(|m| &m.fingerprint == fp)),
        }?;
        let limit = machine.max_processes(license, policy)?;
        return Some((
            store.processes_of_machine(&machine.id).count() as i64,
            limit,
        ));
    }
    let limit = license.limit(policy, "maxProcesses")?;
    Some((
        store.processes_of_license(&license.id).count() as i64,
        limit,
    ))
}

/// `POST /licenses/{id}/actions/{suspend|reinstate|renew|check-in}`; `None` for unknown actions.
pub fn action(ctx: &Ctx, id: &str, action: &str) -> Option<ApiResult<Reply>> {
    matches!(action, "suspend" | "reinstate" | "renew" | "check-in")
        .then(|| license_action(ctx, id, action))
}

fn license_action(ctx: &Ctx, id: &str, action: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let license = ctx.license(&store, &bearer, id)?;
    let policy = store.policy_of(license);
    let license_id = license.id.clone();
    let state_error =
        |detail: &str, pointer: &str| Err(ApiError::unprocessable(detail).pointer(pointer));
    let (expiry, suspended, check_in) = match action {
        "suspend" | "reinstate" => {
            bearer.admin_only()?;
            let suspend = action == "suspend";
            if license.suspended == suspend {
                let detail = if suspend {
                    "is already suspended"
                } else {
                    "is not suspended"
                };
                return state_error(detail, "/data/attributes/suspended");
            }
            (license.expiry, suspend, license.last_check_in)
        }
        "renew" => {
            bearer.admin_only()?;
            let Some(duration) = policy.int("duration") else {
                // permits_controller.rb#renew: no source.
                return Err(ApiError::unprocessable(
                    "cannot be renewed because the policy does not have a duration",
                ));
            };
            let from = match (policy.text("renewalBasis"), license.expiry) {
                (Some("FROM_NOW"), _) | (_, None) => ctx.now,
                (Some("FROM_NOW_IF_EXPIRED"), Some(e)) if e <= ctx.now => ctx.now,
                (_, Some(e)) => e,
            };
            (
                Some(from + duration * 1000),
                license.suspended,
                license.last_check_in,
            )
        }
        _ => {
            if !policy.flag("requireCheckIn") {
                return Err(ApiError::unprocessable(
                    "cannot be checked in because the policy does not require it",
                ));
            }
            (license.expiry, license.suspended, Some(ctx.now))
        }
    };
    let license = store
        .license_mut(&license_id)
        .ok_or_else(|| ApiError::not_found("license", id))?;
    license.expiry = expiry;
    license.suspended = suspended;
    license.last_check_in = check_in;
    license.updated = ctx.now;
    ctx.touch();
    let license = store
        .license(&license_id)
        .ok_or_else(|| ApiError::not_found("license", id))?;
    Reply::data(ctx.view(&store).license(license))
}

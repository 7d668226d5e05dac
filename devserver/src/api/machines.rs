//! Machines (activation, deactivation, heartbeats) and processes (§3, §4).

use super::{Bearer, Ctx, Reply};
use crate::api::errors::{ApiError, ApiResult};
use crate::api::params::{check, f, validate_attrs, F, REL, T};
use crate::doc;
use crate::store::{
    can_resurrect, int, total, Component, Heart, License, Machine, Policy, Process, Store,
};
use crate::util::{is_uuid, uuid_v4};
use serde_json::{json, Map, Value};

const RESERVED: [&str; 2] = ["actions", "action"];

/// A component's attributes (`machines_controller.rb` and `machine_components_controller.rb`
/// typed params): the fingerprint and the name are required and not blank.
const COMPONENT_ATTRS: &[F] = &[
    f("fingerprint", T::Str).req(),
    f("name", T::Str).req(),
    f("metadata", T::Hash),
];
const COMPONENT: &[F] = &[
    f("type", T::Str).req(),
    f("attributes", T::Obj(COMPONENT_ATTRS)).req(),
];
/// No `id`: a component's id is not the client's to choose (400 unpermitted parameter).
const NEW_COMPONENT: &[F] = &[f(
    "data",
    T::Obj(&[
        f("type", T::Str).req(),
        f("attributes", T::Obj(COMPONENT_ATTRS)).req(),
        f("relationships", T::Obj(&[f("machine", T::Obj(REL)).req()])).req(),
    ]),
)
.req()];
const COMPONENT_UPDATE: &[F] = doc!(
    &[f("name", T::Str), f("metadata", T::Hash)],
    true,
    &[],
    false
);
const LICENSE_COMPONENT_UPDATE: &[F] = doc!(&[f("name", T::Str)], true, &[], false);

macro_rules! machine_attrs {
    ($($extra:expr),*) => {
        &[
            f("name", T::Text).null(),
            f("ip", T::Text).null(),
            f("hostname", T::Text).null(),
            f("platform", T::Text).null(),
            f("cores", T::Min(1, "")).null(),
            f("memory", T::Min(1, "")).null(),
            f("disk", T::Min(1, "")).null(),
            f("metadata", T::Hash).null(),
            $($extra),*
        ]
    };
}

const NEW_MACHINE_ATTRS: &[F] = machine_attrs!(f("fingerprint", T::Str).req());
const ADMIN_NEW_MACHINE_ATTRS: &[F] = machine_attrs!(
    f("fingerprint", T::Str).req(),
    f("maxProcesses", T::Min(0, "")).null()
);
const MACHINE_UPDATE_ATTRS: &[F] = machine_attrs!();
const ADMIN_MACHINE_UPDATE_ATTRS: &[F] = machine_attrs!(f("maxProcesses", T::Min(0, "")).null());

const MACHINE_RELS: &[F] = &[
    f("license", T::Obj(REL)).req(),
    f(
        "components",
        T::Obj(&[f("data", T::Arr(&T::Obj(COMPONENT))).req()]),
    ),
];
const NEW_MACHINE: &[F] = doc!(NEW_MACHINE_ATTRS, true, MACHINE_RELS, true);
const ADMIN_NEW_MACHINE: &[F] = doc!(ADMIN_NEW_MACHINE_ATTRS, true, MACHINE_RELS, true);
const MACHINE_UPDATE: &[F] = doc!(MACHINE_UPDATE_ATTRS, false, &[], false);
const ADMIN_MACHINE_UPDATE: &[F] = doc!(ADMIN_MACHINE_UPDATE_ATTRS, false, &[], false);

const NEW_PROCESS: &[F] = doc!(
    &[f("pid", T::Str).req(), f("metadata", T::Hash).null()],
    true,
    &[f("machine", T::Obj(REL)).req()],
    true
);

/// `data.type` must be the resource type, singular or plural.
pub fn check_type(body: &Value, plural: &str) -> ApiResult<()> {
    let ty = body["data"]["type"].as_str().unwrap_or_default();
    if ty == plural
        || Some(ty) == plural.strip_suffix('s').or(plural.strip_suffix("es"))
        || (plural == "processes" && ty == "process")
    {
        Ok(())
    } else {
        Err(ApiError::bad_request(&format!(
            "type mismatch (received {ty:?} expected {plural:?})"
        ))
        .pointer("/data/type"))
    }
}

/// The UUID of a to-one relationship in a request body (400 if it is not a UUID).
pub fn rel_id<'b>(body: &'b Value, name: &str) -> ApiResult<&'b str> {
    let id = body["data"]["relationships"][name]["data"]["id"]
        .as_str()
        .unwrap_or_default();
    if is_uuid(id) {
        Ok(id)
    } else {
        Err(
            ApiError::bad_request("type mismatch (received string expected UUID string)")
                .pointer(&format!("/data/relationships/{name}/data/id")),
        )
    }
}

fn must_exist(name: &str) -> ApiError {
    ApiError::invalid(
        "must exist",
        &format!("{}_NOT_FOUND", name.to_ascii_uppercase()),
        &format!("/data/relationships/{name}"),
    )
}

fn plain_attrs(attrs: &Map<String, Value>, skip: &[&str]) -> Map<String, Value> {
    attrs
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn activate(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let doc = if bearer.is_admin() {
        ADMIN_NEW_MACHINE
    } else {
        NEW_MACHINE
    };
    check(&ctx.body, doc, "")?;
    check_type(&ctx.body, "machines")?;
    let data = &ctx.body["data"];
    let attrs = data["attributes"].as_object().cloned().unwrap_or_default();
    let license_id = rel_id(&ctx.body, "license")?;
    let attr_schema = if bearer.is_admin() {
        ADMIN_NEW_MACHINE_ATTRS
    } else {
        NEW_MACHINE_ATTRS
    };
    validate_attrs(&attrs, attr_schema, "/data/attributes")?;
    let license = store
        .license(license_id)
        .ok_or_else(|| must_exist("license"))?;
    if !bearer.sees(&license.id) {
        return Err(ApiError::denied());
    }
    let token = token_of(&store, &bearer);
    if let Some((max, used)) =
        token.and_then(|t| Some((int(&t.attrs, "maxActivations")?, t.activations)))
    {
        if used + 1 > max {
            return Err(ApiError::invalid(
                &format!("exceeds maximum allowed ({max})"),
                "ACTIVATIONS_LIMIT_EXCEEDED",
                "/data/attributes/activations",
            ));
        }
    }
    let policy = store.policy_of(license);
    let fingerprint = attrs
        .get("fingerprint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let components = parse_components(data)?;
    let id = data.get("id").and_then(Value::as_str).map(str::to_owned);
    let new = NewMachine {
        id: id.as_deref(),
        fingerprint: &fingerprint,
        attrs: &attrs,
        components: &components,
    };
    let errors = activation_errors(&store, license, policy, &new);
    if !errors.is_empty() {
        let mut all = errors[0].clone();
        all.errors = errors.into_iter().flat_map(|e| e.errors).collect();
        return Err(all);
    }
    // machine.rb: `last_heartbeat_at ||= now if heartbeat_from_creation?` (basis FROM_CREATION;
    // a legacy null basis is FROM_FIRST_PING).
    let require_from_creation = policy.is("heartbeatBasis", "FROM_CREATION");
    let machine = Machine {
        id: id.unwrap_or_else(uuid_v4),
        license_id: license.id.clone(),
        fingerprint,
        created: ctx.now,
        updated: ctx.now,
        attrs: plain_attrs(&attrs, &["fingerprint"]),
        last_heartbeat: require_from_creation.then_some(ctx.now),
        last_check_out: None,
        components: components
            .iter()
            .map(|(fp, a)| Component {
                id: uuid_v4(),
                fingerprint: fp.clone(),
                created: ctx.now,
                updated: ctx.now,
                attrs: a.clone(),
            })
            .collect(),
    };
    let license_id = license.id.clone();
    if let Some(token_id) = token.map(|t| t.id.clone()) {
        if let Some(t) = store.tokens.iter_mut().find(|t| t.id == token_id) {
            t.activations += 1;
        }
    }
    let machine_id = machine.id.clone();
    store.machines.push(machine);
    super::licensing::apply_first_use_expiry(
        &mut store,
        &license_id,
        "FROM_FIRST_ACTIVATION",
        ctx.now,
    );
    ctx.touch();
    let m = store
        .machine(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", &machine_id))?;
    Reply::created(
        ctx.view(&store).machine(m, None),
        ctx.link(&format!("machines/{machine_id}")),
    )
}

fn token_of<'s>(store: &'s Store, bearer: &Bearer) -> Option<&'s crate::store::Token> {
    match bearer {
        Bearer::License {
            token: Some(id), ..
        } => store.tokens.iter().find(|t| &t.id == id),
        _ => None,
    }
}

type NewComponents = Vec<(String, Map<String, Value>)>;

fn parse_components(data: &Value) -> ApiResult<NewComponents> {
    let list = data["relationships"]["components"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.len() > 20 {
        return Err(ApiError::unprocessable("too many records"));
    }
    for (i, c) in list.iter().enumerate() {
        check_type(&json!({ "data": c }), "components")
            .map_err(|_| type_mismatch(&format!("/data/relationships/components/data/{i}/type")))?;
    }
    Ok(list
        .iter()
        .map(|c| {
            let a = c["attributes"].as_object().cloned().unwrap_or_default();
            let fp = a
                .get("fingerprint")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (fp, component_attrs(&a))
        })
        .collect())
}

fn type_mismatch(pointer: &str) -> ApiError {
    ApiError::bad_request("is invalid").pointer(pointer)
}

/// A new component's stored attributes: the name and its metadata (`{}` when none).
fn component_attrs(a: &Map<String, Value>) -> Map<String, Value> {
    let mut out = plain_attrs(a, &["fingerprint"]);
    out.entry("metadata").or_insert_with(|| json!({}));
    out
}

struct NewMachine<'a> {
    id: Option<&'a str>,
    fingerprint: &'a str,
    attrs: &'a Map<String, Value>,
    components: &'a NewComponents,
}

/// The machines a uniqueness strategy compares with (`UNIQUE_PER_*`), and the words Keygen
/// adds to "has already been taken" for it. `None` for no check (`UNIQUE_PER_MACHINE`, whose
/// `unique_per_machine?` in `machine_component.rb` asks the per-license predicate instead, so
/// a new machine's components are only checked against each other).
fn uniqueness_scope<'s>(
    store: &'s Store,
    license: &License,
    policy: &Policy,
    strategy: Option<&str>,
) -> Option<(Vec<&'s Machine>, &'static str)> {
    let policy_of = |m: &Machine| store.license(&m.license_id).map(|l| store.policy_of(l));
    type Keep<'a> = Box<dyn Fn(&Machine) -> bool + 'a>;
    let (keep, words): (Keep, &str) = match strategy? {
        "UNIQUE_PER_ACCOUNT" => (Box::new(|_| true), " for this account"),
        "UNIQUE_PER_PRODUCT" => (
            Box::new(|m| policy_of(m).is_some_and(|p| p.product_id == policy.product_id)),
            " for this product",
        ),
        "UNIQUE_PER_POLICY" => (
            Box::new(|m| policy_of(m).is_some_and(|p| p.id == policy.id)),
            " for this policy",
        ),
        "UNIQUE_PER_LICENSE" => (
            Box::new(|m| m.license_id == license.id),
            " for this license",
        ),
        _ => return None,
    };
    Some((store.machines.iter().filter(|m| keep(m)).collect(), words))
}

/// A component's own validations (`machine_component.rb`), as `(attribute, error)` in
/// declaration order: `fingerprint` (reserved, length), `name` (length), then the create
/// check (duplicated in the request, taken under the policy's component uniqueness strategy).
fn component_errors(
    store: &Store,
    license: &License,
    policy: &Policy,
    components: &NewComponents,
    i: usize,
    pointer: &str,
) -> Vec<(String, ApiError)> {
    let (fp, a) = &components[i];
    let mut out = Vec::new();
    let fp_pointer = format!("{pointer}/attributes/fingerprint");
    let fp_key = format!("{pointer}/fingerprint");
    let code = |kind: &str| {
        let prefix = if pointer.starts_with("/data/relationships/components") {
            "COMPONENTS_"
        } else {
            ""
        };
        format!("{prefix}{kind}")
    };
    if RESERVED.contains(&fp.as_str()) {
        out.push((
            fp_key.clone(),
            ApiError::invalid("is reserved", &code("FINGERPRINT_NOT_ALLOWED"), &fp_pointer),
        ));
    }
    if fp.chars().count() > 4096 {
        out.push((
            fp_key.clone(),
            ApiError::invalid(
                "is too long (maximum is 4096 characters)",
                &code("FINGERPRINT_TOO_LONG"),
                &fp_pointer,
            ),
        ));
    }
    if a.get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.chars().count() > 255)
    {
        out.push((
            format!("{pointer}/name"),
            ApiError::invalid(
                "is too long (maximum is 255 characters)",
                &code("NAME_TOO_LONG"),
                &format!("{pointer}/attributes/name"),
            ),
        ));
    }
    if components.iter().filter(|(other, _)| other == fp).count() > 1 {
        out.push((
            fp_key.clone(),
            ApiError::invalid("is duplicated", &code("FINGERPRINT_CONFLICT"), &fp_pointer),
        ));
    }
    let strategy = policy.text("componentUniquenessStrategy");
    if let Some((scope, words)) = uniqueness_scope(store, license, policy, strategy) {
        if scope
            .iter()
            .any(|m| m.components.iter().any(|c| &c.fingerprint == fp))
        {
            out.push((
                fp_key,
                ApiError::invalid(
                    &format!("has already been taken{words}"),
                    &code("FINGERPRINT_TAKEN"),
                    &fp_pointer,
                ),
            ));
        }
    }
    out
}

/// Rails' error list: grouped by attribute in the order each attribute first failed, then
/// de-duplicated by code and source (`lib/keygen/jsonapi/errors.rb`).
fn grouped(errors: Vec<(String, ApiError)>) -> Vec<ApiError> {
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in &errors {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let mut out: Vec<ApiError> = Vec::new();
    for k in keys {
        for (_, e) in errors.iter().filter(|(key, _)| *key == k) {
            let same = |o: &ApiError| {
                o.errors[0].get("code") == e.errors[0].get("code")
                    && o.errors[0].get("source") == e.errors[0].get("source")
            };
            if !out.iter().any(same) {
                out.push(e.clone());
            }
        }
    }
    out
}

/// Keygen's machine model validations (`machine.rb`), all errors in Rails' order: the nested
/// components (their autosave validation is declared with the association, before the
/// machine's own), `fingerprint`, `id`, then the record-level limits.
fn activation_errors(
    store: &Store,
    license: &License,
    policy: &Policy,
    new: &NewMachine,
) -> Vec<ApiError> {
    let mut errors: Vec<(String, ApiError)> = Vec::new();
    for i in 0..new.components.len() {
        let pointer = format!("/data/relationships/components/data/{i}");
        errors.extend(component_errors(
            store,
            license,
            policy,
            new.components,
            i,
            &pointer,
        ));
    }
    const FP: &str = "/data/attributes/fingerprint";
    let fp = || "fingerprint".to_string();
    // `validates :fingerprint, uniqueness: { scope: :license_id }`, exclusion, length.
    if store
        .machines_of(&license.id)
        .any(|m| m.fingerprint == new.fingerprint)
    {
        errors.push((
            fp(),
            ApiError::invalid("has already been taken", "FINGERPRINT_TAKEN", FP),
        ));
    }
    if RESERVED.contains(&new.fingerprint) {
        errors.push((
            fp(),
            ApiError::invalid("is reserved", "FINGERPRINT_NOT_ALLOWED", FP),
        ));
    }
    if new.fingerprint.chars().count() > 4096 {
        errors.push((
            fp(),
            ApiError::invalid(
                "is too long (maximum is 4096 characters)",
                "FINGERPRINT_TOO_LONG",
                FP,
            ),
        ));
    }
    if let Some(id) = new.id {
        if !is_uuid(id) {
            errors.push((
                "id".into(),
                ApiError::invalid("must be a valid UUID", "ID_INVALID", "/data/id"),
            ));
        } else if store.machine(id).is_some() {
            errors.push((
                "id".into(),
                ApiError::invalid(
                    "must not conflict with another machine",
                    "ID_CONFLICT",
                    "/data/id",
                ),
            ));
        }
    }
    if store.machine(new.fingerprint).is_some() {
        errors.push((
            fp(),
            ApiError::invalid(
                "must not conflict with another machine's identifier (UUID)",
                "FINGERPRINT_CONFLICT",
                FP,
            ),
        ));
    }
    errors.extend(
        limit_errors(store, license, policy, new)
            .into_iter()
            .map(|e| ("base".to_string(), e)),
    );
    // The strategy's own check (`unique_per_*?`), after the limits.
    let strategy = policy.text("machineUniquenessStrategy");
    if let Some((peers, words)) = uniqueness_scope(store, license, policy, strategy) {
        let words = if strategy == Some("UNIQUE_PER_LICENSE") {
            ""
        } else {
            words
        };
        if peers.iter().any(|m| m.fingerprint == new.fingerprint) {
            errors.push((
                fp(),
                ApiError::invalid(
                    &format!("has already been taken{words}"),
                    "FINGERPRINT_TAKEN",
                    FP,
                ),
            ));
        }
    }
    grouped(errors)
}

/// The machine, core, memory and disk limits under the policy's overage strategy.
fn limit_errors(
    store: &Store,
    license: &License,
    policy: &Policy,
    new: &NewMachine,
) -> Vec<ApiError> {
    let mut errors = Vec::new();
    if policy.overage_factor().is_none() {
        return errors;
    }
    let machines: Vec<&Machine> = store.machines_of(&license.id).collect();
    if let Some(limit) = license
        .limit(policy, "maxMachines")
        .or((!policy.floating()).then_some(1))
    {
        let next = machines.len() as i64 + 1;
        if !machines.is_empty() && next > limit && !policy.within_overage(next, limit) {
            errors.push(ApiError::invalid(
                &format!("machine count has exceeded maximum allowed for license ({limit})"),
                "MACHINE_LIMIT_EXCEEDED",
                "/data",
            ));
        }
    }
    let sums = [
        (
            "maxCores",
            "cores",
            "machine core count",
            "MACHINE_CORE_LIMIT_EXCEEDED",
        ),
        (
            "maxMemory",
            "memory",
            "machine memory",
            "MACHINE_MEMORY_LIMIT_EXCEEDED",
        ),
        (
            "maxDisk",
            "disk",
            "machine disk",
            "MACHINE_DISK_LIMIT_EXCEEDED",
        ),
    ];
    for (limit_key, attr, what, code) in sums {
        let Some(limit) = license.limit(policy, limit_key) else {
            continue;
        };
        let next =
            total(machines.iter().copied(), attr).saturating_add(int(new.attrs, attr).unwrap_or(0));
        if next > limit && !policy.within_overage(next, limit) {
            errors.push(ApiError::invalid(
                &format!("{what} has exceeded maximum allowed for license ({limit})"),
                code,
                "/data",
            ));
        }
    }
    errors
}

pub fn show(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let m = ctx.machine(&store, &bearer, id)?;
    Reply::data(ctx.view(&store).machine(m, None))
}

fn list_machines(
    ctx: &Ctx,
    store: &Store,
    keep: impl Fn(&Machine) -> bool,
    path: &str,
) -> ApiResult<Reply> {
    let view = ctx.view(store);
    let items = store.machines.iter().filter(|m| keep(m)).collect();
    ctx.paginate(items, |m| view.machine(m, None), path)
}

pub fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let license = ctx.req.query("license").map(|l| {
        store
            .find_license(l)
            .map(|l| l.id.clone())
            .unwrap_or_default()
    });
    let fingerprint = ctx.req.query("fingerprint");
    let keep = |m: &Machine| {
        bearer.sees(&m.license_id)
            && license.as_ref().map_or(true, |l| &m.license_id == l)
            && fingerprint.map_or(true, |fp| m.fingerprint == fp)
    };
    list_machines(ctx, &store, keep, "machines")
}

pub fn list_for_license(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let license = ctx.license(&store, &bearer, id)?;
    list_machines(
        ctx,
        &store,
        |m| m.license_id == license.id,
        &format!("licenses/{}/machines", license.id),
    )
}

pub fn update(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let machine_id = ctx.machine(&store, &bearer, id)?.id.clone();
    let (doc, attrs_schema) = if bearer.is_admin() {
        (ADMIN_MACHINE_UPDATE, ADMIN_MACHINE_UPDATE_ATTRS)
    } else {
        (MACHINE_UPDATE, MACHINE_UPDATE_ATTRS)
    };
    check(&ctx.body, doc, "")?;
    check_type(&ctx.body, "machines")?;
    let attrs = ctx.body["data"]["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    validate_attrs(&attrs, attrs_schema, "/data/attributes")?;
    let m = store
        .machine_mut(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", id))?;
    m.attrs.extend(attrs);
    m.updated = ctx.now;
    ctx.touch();
    let m = store
        .machine(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", id))?;
    Reply::data(ctx.view(&store).machine(m, None))
}

pub fn deactivate(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let machine_id = ctx.machine(&store, &bearer, id)?.id.clone();
    if let Some(t) = token_of(&store, &bearer) {
        if let Some(max) =
            int(&t.attrs, "maxDeactivations").filter(|max| t.deactivations + 1 > *max)
        {
            return Err(ApiError::invalid(
                &format!("exceeds maximum allowed ({max})"),
                "DEACTIVATIONS_LIMIT_EXCEEDED",
                "/data/attributes/deactivations",
            ));
        }
        let token_id = t.id.clone();
        if let Some(t) = store.tokens.iter_mut().find(|t| t.id == token_id) {
            t.deactivations += 1;
        }
    }
    store.remove_machine(&machine_id);
    ctx.touch();
    Reply::no_content()
}

/// The machine a new component or process names in `relationships.machine`, when it exists
/// and the bearer may see it, with its license and policy.
fn related_machine<'s>(
    ctx: &Ctx,
    store: &'s Store,
    bearer: &Bearer,
) -> ApiResult<(&'s Machine, &'s License, &'s Policy)> {
    let machine_id = rel_id(&ctx.body, "machine")?;
    let m = store
        .machine(machine_id)
        .ok_or_else(|| must_exist("machine"))?;
    if !bearer.sees(&m.license_id) {
        return Err(ApiError::denied());
    }
    let (license, policy) = policy_of_machine(store, m)?;
    Ok((m, license, policy))
}

fn policy_of_machine<'s>(store: &'s Store, m: &Machine) -> ApiResult<(&'s License, &'s Policy)> {
    let license = store
        .license(&m.license_id)
        .ok_or_else(|| ApiError::not_found("license", &m.license_id))?;
    Ok((license, store.policy_of(license)))
}

pub fn ping(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let m = ctx.machine(&store, &bearer, id)?;
    let (_, policy) = policy_of_machine(&store, m)?;
    let status = match m.heartbeat(policy, ctx.now) {
        Heart::Dead if can_resurrect(policy, m.death_time(policy), ctx.now) => Some("RESURRECTED"),
        Heart::Dead => {
            // heartbeats_controller.rb: `render_unprocessable_entity detail:, code:`, no source.
            return Err(ApiError::unprocessable("is dead").code("MACHINE_HEARTBEAT_DEAD"));
        }
        _ => None,
    };
    let machine_id = m.id.clone();
    let m = store
        .machine_mut(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", id))?;
    m.last_heartbeat = Some(ctx.now);
    m.updated = ctx.now;
    ctx.touch();
    let m = store
        .machine(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", id))?;
    Reply::data(ctx.view(&store).machine(m, status))
}

pub fn reset(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let machine_id = ctx.machine(&store, &bearer, id)?.id.clone();
    bearer.admin_only()?;
    let m = store
        .machine_mut(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", id))?;
    m.last_heartbeat = None;
    m.updated = ctx.now;
    ctx.touch();
    let m = store
        .machine(&machine_id)
        .ok_or_else(|| ApiError::not_found("machine", id))?;
    Reply::data(ctx.view(&store).machine(m, None))
}

// ---- components (`machine_components_controller.rb`) --------------------------------------

fn find_component<'s>(
    store: &'s Store,
    bearer: &Bearer,
    id: &str,
) -> ApiResult<(&'s Machine, &'s Component)> {
    store
        .machines
        .iter()
        .filter(|m| bearer.sees(&m.license_id))
        .find_map(|m| m.components.iter().find(|c| c.id == id).map(|c| (m, c)))
        .ok_or_else(|| ApiError::not_found("machine component", id))
}

pub fn list_components(ctx: &Ctx) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let view = ctx.view(&store);
    let (machine, license, product) = (
        ctx.req.query("machine"),
        ctx.req.query("license"),
        ctx.req.query("product"),
    );
    let items: Vec<(&Machine, &Component)> = store
        .machines
        .iter()
        .filter(|m| bearer.sees(&m.license_id))
        .filter(|m| machine.map_or(true, |id| m.id == id))
        .filter(|m| license.map_or(true, |id| m.license_id == id))
        .filter(|m| {
            product.map_or(true, |id| {
                store
                    .license(&m.license_id)
                    .is_some_and(|l| store.policy_of(l).product_id == id)
            })
        })
        .flat_map(|m| m.components.iter().map(move |c| (m, c)))
        .collect();
    let mut items = items;
    items.sort_by_key(|(_, c)| c.created);
    ctx.paginate(items, |(m, c)| view.component(m, c), "components")
}

pub fn show_component(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let (m, c) = find_component(&store, &bearer, id)?;
    Reply::data(ctx.view(&store).component(m, c))
}

/// `POST /components`: a component for an existing machine. Its fingerprint must be new for
/// the machine (`validates :fingerprint, uniqueness: { scope: :machine_id }`) and for the
/// policy's component uniqueness strategy.
pub fn create_component(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    check(&ctx.body, NEW_COMPONENT, "")?;
    check_type(&ctx.body, "components")?;
    let (m, license, policy) = related_machine(ctx, &store, &bearer)?;
    let a = ctx.body["data"]["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let fp = a
        .get("fingerprint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut errors = Vec::new();
    const FP: &str = "/data/attributes/fingerprint";
    if m.components.iter().any(|c| c.fingerprint == fp) {
        errors.push((
            "/data/fingerprint".to_string(),
            ApiError::invalid("has already been taken", "FINGERPRINT_TAKEN", FP),
        ));
    }
    let one = vec![(fp.clone(), component_attrs(&a))];
    errors.extend(component_errors(&store, license, policy, &one, 0, "/data"));
    let errors = grouped(errors);
    if let Some(first) = errors.first() {
        let mut all = first.clone();
        all.errors = errors.into_iter().flat_map(|e| e.errors).collect();
        return Err(all);
    }
    let component = Component {
        id: uuid_v4(),
        fingerprint: fp,
        created: ctx.now,
        updated: ctx.now,
        attrs: one[0].1.clone(),
    };
    let (machine_id, component_id) = (m.id.clone(), component.id.clone());
    if let Some(m) = store.machine_mut(&machine_id) {
        m.components.push(component);
    }
    ctx.touch();
    let (m, c) = find_component(&store, &Bearer::Admin, &component_id)?;
    Reply::created(
        ctx.view(&store).component(m, c),
        ctx.link(&format!("components/{component_id}")),
    )
}

/// `PATCH /components/{id}`: the name, and (not for a license) the metadata.
pub fn update_component(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let (m, c) = find_component(&store, &bearer, id)?;
    let (machine_id, component_id) = (m.id.clone(), c.id.clone());
    let schema = match bearer {
        Bearer::License { .. } => LICENSE_COMPONENT_UPDATE,
        _ => COMPONENT_UPDATE,
    };
    check(&ctx.body, schema, "")?;
    check_type(&ctx.body, "components")?;
    let a = ctx.body["data"]["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(c) = store
        .machine_mut(&machine_id)
        .and_then(|m| m.components.iter_mut().find(|c| c.id == component_id))
    {
        c.attrs.extend(a);
        c.updated = ctx.now;
    }
    ctx.touch();
    let (m, c) = find_component(&store, &Bearer::Admin, &component_id)?;
    Reply::data(ctx.view(&store).component(m, c))
}

pub fn delete_component(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let (m, c) = find_component(&store, &bearer, id)?;
    let (machine_id, component_id) = (m.id.clone(), c.id.clone());
    if let Some(m) = store.machine_mut(&machine_id) {
        m.components.retain(|c| c.id != component_id);
    }
    ctx.touch();
    Reply::no_content()
}

pub fn components_of_machine(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let m = ctx.machine(&store, &bearer, id)?;
    let view = ctx.view(&store);
    let items = m.components.iter().collect();
    let path = format!("machines/{}/components", m.id);
    ctx.paginate(items, |c| view.component(m, c), &path)
}

// ---- processes --------------------------------------------------------------

fn list_of_processes(
    ctx: &Ctx,
    store: &Store,
    keep: impl Fn(&Process) -> bool,
    path: &str,
) -> ApiResult<Reply> {
    let view = ctx.view(store);
    let items = store.processes.iter().filter(|p| keep(p)).collect();
    ctx.paginate(items, |p| view.process(p, None), path)
}

fn process_license<'s>(store: &'s Store, p: &Process) -> Option<&'s str> {
    store.machine(&p.machine_id).map(|m| m.license_id.as_str())
}

pub fn list_processes(ctx: &Ctx) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let machine = ctx.req.query("machine").map(|id| {
        ctx.machine(&store, &Bearer::Admin, id)
            .map(|m| m.id.clone())
            .unwrap_or_default()
    });
    let license = ctx.req.query("license").map(|l| {
        store
            .find_license(l)
            .map(|l| l.id.clone())
            .unwrap_or_default()
    });
    let keep = |p: &Process| {
        let owner = process_license(&store, p).unwrap_or_default();
        bearer.sees(owner)
            && machine.as_ref().map_or(true, |m| &p.machine_id == m)
            && license.as_ref().map_or(true, |l| owner == l)
    };
    list_of_processes(ctx, &store, keep, "processes")
}

pub fn processes_of_machine(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let m = ctx.machine(&store, &bearer, id)?;
    list_of_processes(
        ctx,
        &store,
        |p| p.machine_id == m.id,
        &format!("machines/{}/processes", m.id),
    )
}

fn find_process<'s>(store: &'s Store, bearer: &Bearer, id: &str) -> ApiResult<&'s Process> {
    store
        .processes
        .iter()
        .find(|p| p.id == id && process_license(store, p).is_some_and(|l| bearer.sees(l)))
        .ok_or_else(|| ApiError::not_found("process", id))
}

pub fn show_process(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let p = find_process(&store, &bearer, id)?;
    Reply::data(ctx.view(&store).process(p, None))
}

pub fn spawn(ctx: &Ctx) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    check(&ctx.body, NEW_PROCESS, "")?;
    check_type(&ctx.body, "processes")?;
    let (m, license, policy) = related_machine(ctx, &store, &bearer)?;
    let attrs = &ctx.body["data"]["attributes"];
    let pid = attrs["pid"].as_str().unwrap_or_default().to_string();
    const PID: &str = "/data/attributes/pid";
    if RESERVED.contains(&pid.as_str()) {
        return Err(ApiError::invalid("is reserved", "PID_NOT_ALLOWED", PID));
    }
    if store.processes_of_machine(&m.id).any(|p| p.pid == pid) {
        return Err(ApiError::invalid(
            "has already been taken",
            "PID_TAKEN",
            PID,
        ));
    }
    if policy.overage_factor().is_some() {
        let per_machine = matches!(
            policy.text("processLeasingStrategy"),
            Some("PER_MACHINE") | None
        );
        let (count, limit, what) = if per_machine {
            (
                store.processes_of_machine(&m.id).count(),
                m.max_processes(license, policy),
                "machine",
            )
        } else {
            let what = if policy.is("processLeasingStrategy", "PER_USER") {
                "user"
            } else {
                "license"
            };
            (
                store.processes_of_license(&license.id).count(),
                license.limit(policy, "maxProcesses"),
                what,
            )
        };
        if let Some(limit) = limit {
            let next = count as i64 + 1;
            if next > limit && !policy.within_overage(next, limit) {
                return Err(ApiError::invalid(
                    &format!("process count has exceeded maximum allowed for {what} ({limit})"),
                    "MACHINE_PROCESS_LIMIT_EXCEEDED",
                    "/data",
                ));
            }
        }
    }
    let process = Process {
        id: uuid_v4(),
        machine_id: m.id.clone(),
        pid,
        created: ctx.now,
        updated: ctx.now,
        last_heartbeat: ctx.now,
        metadata: attrs
            .get("metadata")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!({})),
    };
    let id = process.id.clone();
    store.processes.push(process);
    ctx.touch();
    let p = find_process(&store, &Bearer::Admin, &id)?;
    Reply::created(
        ctx.view(&store).process(p, None),
        ctx.link(&format!("processes/{id}")),
    )
}

pub fn ping_process(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let p = find_process(&store, &bearer, id)?;
    let m = store
        .machine(&p.machine_id)
        .ok_or_else(|| ApiError::not_found("process", id))?;
    let (_, policy) = policy_of_machine(&store, m)?;
    let status = if p.alive(policy, ctx.now) {
        None
    } else if can_resurrect(
        policy,
        p.last_heartbeat + policy.heartbeat_duration() * 1000,
        ctx.now,
    ) {
        Some("RESURRECTED")
    } else {
        return Err(ApiError::unprocessable("is dead").code("PROCESS_HEARTBEAT_DEAD"));
    };
    let pid = p.id.clone();
    if let Some(p) = store.processes.iter_mut().find(|p| p.id == pid) {
        p.last_heartbeat = ctx.now;
        p.updated = ctx.now;
    }
    ctx.touch();
    let p = find_process(&store, &Bearer::Admin, &pid)?;
    Reply::data(ctx.view(&store).process(p, status))
}

pub fn kill(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let mut store = ctx.app.store.lock();
    let bearer = ctx.bearer(&store)?;
    let pid = find_process(&store, &bearer, id)?.id.clone();
    store.processes.retain(|p| p.id != pid);
    ctx.touch();
    Reply::no_content()
}

//! Keygen-Version: which API version a request asks for (1.0 to 1.8), and the shapes older
//! versions get: keygen-api's request migrations (`config/initializers/request_migrations.rb`,
//! `app/migrations/`), applied between routing and rendering, and to the datasets of license
//! and machine files (`Keygen::JSONAPI::Renderer#migrate!`).
//!
//! A migration listed at version V applies when the requested version is V or older, newest
//! first (request_migrations' `Migrator`). Responses get a migration only on the endpoints its
//! `response if:` names; files get every migration's data transforms.

use crate::http::Request;
use serde_json::{Map, Value};

/// Keygen's supported versions (`RequestMigrations.supported_versions`).
pub const VERSIONS: [&str; 9] = [
    "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8",
];

/// `Keygen-Version` with a leading `v` removed (absent means the current 1.8); `None` for a
/// version Keygen does not have (`1.7.0` is not `1.7`).
pub fn requested(req: &Request) -> Option<&'static str> {
    let asked = req.header("keygen-version").map(|v| v.trim());
    let asked = asked
        .map(|v| v.strip_prefix('v').unwrap_or(v))
        .unwrap_or("1.8");
    VERSIONS.iter().copied().find(|v| *v == asked)
}

/// Whether `version` is at most `than` ("1.4" <= "1.5").
fn at_most(version: &str, than: &str) -> bool {
    let index = |v: &str| {
        VERSIONS
            .iter()
            .position(|x| *x == v)
            .unwrap_or(VERSIONS.len())
    };
    index(version) <= index(than)
}

/// The endpoints the response migrations name (by Keygen controller and action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `licenses/actions/validations`: quick, by id, by key.
    Validation,
    /// A single license: show, create, update and the license actions.
    License,
    Licenses,
    /// `machines#create`.
    MachineCreate,
    /// A single machine: show, update, ping, reset.
    Machine,
    Machines,
    Policy,
    Policies,
    Other,
}

/// Which endpoint a routed request is (method and path segments, account prefix removed).
pub fn endpoint(method: &str, segs: &[&str]) -> Endpoint {
    match (method, segs) {
        (_, ["licenses", "actions", "validate-key"])
        | (_, ["licenses", _, "actions", "validate"]) => Endpoint::Validation,
        ("GET", ["licenses"]) => Endpoint::Licenses,
        ("POST", ["licenses"]) | ("GET" | "PATCH" | "PUT", ["licenses", _]) => Endpoint::License,
        (
            "POST",
            ["licenses", _, "actions", "suspend" | "reinstate" | "renew" | "check-in" | "revoke"],
        ) => Endpoint::License,
        ("POST", ["machines"]) => Endpoint::MachineCreate,
        ("GET" | "PATCH" | "PUT", ["machines", _]) => Endpoint::Machine,
        (
            "POST",
            ["machines", _, "actions", "ping" | "ping-heartbeat" | "reset" | "reset-heartbeat"],
        ) => Endpoint::Machine,
        ("GET", ["machines"]) | ("GET", ["licenses", _, "machines"]) => Endpoint::Machines,
        ("POST", ["policies"]) | ("GET" | "PATCH" | "PUT", ["policies", _]) => Endpoint::Policy,
        ("GET", ["policies"]) => Endpoint::Policies,
        _ => Endpoint::Other,
    }
}

/// Where a transform looks: the primary `data` (one resource or a list) and/or `included`.
#[derive(Clone, Copy)]
struct Reach {
    single: bool,
    list: bool,
    included: bool,
}

const SINGLE: Reach = Reach {
    single: true,
    list: false,
    included: false,
};
const LIST: Reach = Reach {
    single: false,
    list: true,
    included: true,
};
const ALL: Reach = Reach {
    single: true,
    list: true,
    included: true,
};

/// Applies `f` to every resource of type `ty` the reach covers; `f` learns whether the
/// resource is in `included`.
fn each(doc: &mut Value, ty: &str, reach: Reach, mut f: impl FnMut(&mut Map<String, Value>, bool)) {
    let is = |r: &Value| r.get("type").and_then(Value::as_str) == Some(ty);
    match doc.get_mut("data") {
        Some(Value::Object(r))
            if reach.single && r.get("type").and_then(Value::as_str) == Some(ty) =>
        {
            f(r, false)
        }
        Some(Value::Array(list)) if reach.list => {
            for r in list.iter_mut().filter(|r| is(r)) {
                if let Value::Object(r) = r {
                    f(r, false);
                }
            }
        }
        _ => {}
    }
    if reach.included {
        if let Some(Value::Array(list)) = doc.get_mut("included") {
            for r in list.iter_mut().filter(|r| is(r)) {
                if let Value::Object(r) = r {
                    f(r, true);
                }
            }
        }
    }
}

fn attrs(r: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    r.get_mut("attributes").and_then(Value::as_object_mut)
}

fn rels(r: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    r.get_mut("relationships").and_then(Value::as_object_mut)
}

/// Renames a string attribute of policies.
fn rename_policy_attr(doc: &mut Value, reach: Reach, from: &str, to: &str) {
    each(doc, "policies", reach, |r, _| {
        if let Some(a) = attrs(r) {
            if a.get(from).is_some_and(Value::is_string) {
                let v = a.remove(from).unwrap_or(Value::Null);
                a.insert(to.into(), v);
            }
        }
    });
}

/// 1.5: a license's `owner` relationship becomes `user` (linking to `licenses/{id}/user`).
fn license_owner_to_user(doc: &mut Value, reach: Reach, account: &str) {
    each(doc, "licenses", reach, |r, _| {
        let id = r
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(rels) = rels(r) {
            if let Some(Value::Object(mut owner)) = rels.remove("owner") {
                let link = format!("/v1/accounts/{account}/licenses/{id}/user");
                owner.insert("links".into(), serde_json::json!({ "related": link }));
                rels.insert("user".into(), Value::Object(owner));
            }
        }
    });
}

/// 1.5: machines get a `user` relationship (the license owner; there are none here) in place
/// of `owner` (kept on included machines, as the migration does).
fn machine_user(doc: &mut Value, reach: Reach, account: &str) {
    each(doc, "machines", reach, |r, included| {
        let id = r
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(rels) = rels(r) {
            if rels.contains_key("license") {
                let link = format!("/v1/accounts/{account}/machines/{id}/user");
                rels.insert(
                    "user".into(),
                    serde_json::json!({ "data": null, "links": { "related": link } }),
                );
                if !included {
                    rels.remove("owner");
                }
            }
        }
    });
}

/// ActiveSupport's `underscore` for a key: `fooBar` -> `foo_bar`, `FooBAR` -> `foo_bar`.
fn underscore(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let mut out = String::with_capacity(key.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase()));
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

fn deep_underscore(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                deep_underscore(&mut v);
                map.insert(underscore(&k), v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(deep_underscore),
        _ => {}
    }
}

/// 1.4: keys of hashes nested in `metadata` are snake_case (top-level keys stay as stored).
fn metadata_snake_case(doc: &mut Value) {
    let mut fix = |r: &mut Value| {
        if let Some(Value::Object(meta)) = r.pointer_mut("/attributes/metadata") {
            for v in meta.values_mut() {
                match v {
                    Value::Object(_) => deep_underscore(v),
                    Value::Array(items) => items
                        .iter_mut()
                        .filter(|i| i.is_object())
                        .for_each(deep_underscore),
                    _ => {}
                }
            }
        }
    };
    match doc.get_mut("data") {
        Some(Value::Array(list)) => list.iter_mut().for_each(&mut fix),
        Some(r @ Value::Object(_)) => fix(r),
        _ => {}
    }
    if let Some(Value::Array(list)) = doc.get_mut("included") {
        list.iter_mut().for_each(&mut fix);
    }
}

/// 1.2: a new machine whose heartbeat started at creation shows NOT_STARTED and no heartbeat.
fn alive_to_not_started(doc: &mut Value) {
    each(doc, "machines", SINGLE, |r, _| {
        if let Some(a) = attrs(r) {
            if a.get("heartbeatStatus").and_then(Value::as_str) == Some("ALIVE") {
                a.insert("heartbeatStatus".into(), "NOT_STARTED".into());
                a.insert("lastHeartbeat".into(), Value::Null);
            }
        }
    });
}

/// 1.1: policies have `concurrent` (any overage strategy but NO_OVERAGE).
fn concurrent(doc: &mut Value, reach: Reach) {
    each(doc, "policies", reach, |r, _| {
        if let Some(a) = attrs(r) {
            if let Some(s) = a.get("overageStrategy").and_then(Value::as_str) {
                let c = s != "NO_OVERAGE";
                a.insert("concurrent".into(), c.into());
            }
        }
    });
}

/// 1.1: validation meta has `constant` for `code`, and `valid` only for VALID and EXPIRED.
fn validation_meta(doc: &mut Value) {
    let Some(Value::Object(meta)) = doc.get_mut("meta") else {
        return;
    };
    let code = meta.get("code").and_then(Value::as_str).map(str::to_owned);
    if meta.get("valid") == Some(&Value::Bool(true)) {
        if let Some(code) = &code {
            meta.insert(
                "valid".into(),
                (code == "VALID" || code == "EXPIRED").into(),
            );
        }
    }
    if let Some(code) = meta.remove("code") {
        meta.insert("constant".into(), code);
    }
}

/// The response migrations for `version` on `endpoint` (JSON body), newest first.
pub fn migrate_response(
    doc: &mut Value,
    version: &str,
    endpoint: Endpoint,
    status: u16,
    account: &str,
) {
    if version == "1.8" || status >= 400 {
        return;
    }
    use Endpoint::*;
    let policies = |e| match e {
        Policy => Some(SINGLE),
        Policies => Some(LIST),
        _ => None,
    };
    if at_most(version, "1.6") {
        if let Some(reach) = policies(endpoint) {
            rename_policy_attr(doc, reach, "processLeasingStrategy", "leasingStrategy");
        }
    }
    if at_most(version, "1.5") {
        match endpoint {
            License | Validation => license_owner_to_user(doc, SINGLE, account),
            Licenses => license_owner_to_user(doc, LIST, account),
            Machine | MachineCreate => machine_user(doc, SINGLE, account),
            Machines => machine_user(doc, LIST, account),
            _ => {}
        }
    }
    if at_most(version, "1.4") && status != 204 {
        metadata_snake_case(doc);
    }
    if at_most(version, "1.3") {
        if let Some(reach) = policies(endpoint) {
            rename_policy_attr(
                doc,
                reach,
                "machineUniquenessStrategy",
                "fingerprintUniquenessStrategy",
            );
            rename_policy_attr(
                doc,
                reach,
                "machineMatchingStrategy",
                "fingerprintMatchingStrategy",
            );
        }
    }
    if at_most(version, "1.2") && endpoint == MachineCreate {
        alive_to_not_started(doc);
    }
    if at_most(version, "1.1") {
        if endpoint == Validation {
            validation_meta(doc);
        }
        if let Some(reach) = policies(endpoint) {
            concurrent(doc, reach);
        }
    }
}

/// The dataset of a license or machine file, migrated to `version`: every migration's data
/// transforms, wherever its resources are.
pub fn migrate_dataset(doc: &mut Value, version: &str, account: &str) {
    if version == "1.8" {
        return;
    }
    if at_most(version, "1.6") {
        rename_policy_attr(doc, ALL, "processLeasingStrategy", "leasingStrategy");
    }
    if at_most(version, "1.5") {
        license_owner_to_user(doc, ALL, account);
        machine_user(doc, ALL, account);
    }
    if at_most(version, "1.4") {
        metadata_snake_case(doc);
    }
    if at_most(version, "1.3") {
        rename_policy_attr(
            doc,
            ALL,
            "machineUniquenessStrategy",
            "fingerprintUniquenessStrategy",
        );
        rename_policy_attr(
            doc,
            ALL,
            "machineMatchingStrategy",
            "fingerprintMatchingStrategy",
        );
    }
    if at_most(version, "1.2") {
        alive_to_not_started(doc);
    }
    if at_most(version, "1.1") {
        concurrent(doc, ALL);
    }
}

/// 1.3 and older: `Keygen-Account`, `Keygen-Bearer` and `Keygen-Token` are `…-Id`.
pub fn header_name(version: &str, name: &'static str) -> &'static str {
    if !at_most(version, "1.3") {
        return name;
    }
    match name {
        "Keygen-Account" => "Keygen-Account-Id",
        "Keygen-Bearer" => "Keygen-Bearer-Id",
        "Keygen-Token" => "Keygen-Token-Id",
        other => other,
    }
}

/// Policy attributes older versions send under their old names (`policies_controller.rb`'s
/// `as:` params): renamed to today's, or an unpermitted parameter for newer versions.
pub fn policy_request_aliases(version: &str, attrs: &mut Map<String, Value>) {
    let renames: [(&str, &str, &str); 3] = [
        (
            "fingerprintUniquenessStrategy",
            "machineUniquenessStrategy",
            "1.3",
        ),
        (
            "fingerprintMatchingStrategy",
            "machineMatchingStrategy",
            "1.3",
        ),
        ("leasingStrategy", "processLeasingStrategy", "1.6"),
    ];
    for (old, new, until) in renames {
        if at_most(version, until) {
            if let Some(v) = attrs.remove(old) {
                attrs.entry(new.to_string()).or_insert(v);
            }
        }
    }
    if at_most(version, "1.1") {
        if let Some(c) = attrs.remove("concurrent") {
            let overage = match c {
                Value::Bool(true) => "ALWAYS_ALLOW_OVERAGE".into(),
                Value::Bool(false) => "NO_OVERAGE".into(),
                other => other,
            };
            attrs
                .entry("overageStrategy".to_string())
                .or_insert(overage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscore_matches_active_support() {
        for (k, want) in [
            ("fooBar", "foo_bar"),
            ("HTMLParser", "html_parser"),
            ("already_snake", "already_snake"),
            ("a1B", "a1_b"),
            ("dash-ed", "dash_ed"),
        ] {
            assert_eq!(underscore(k), want);
        }
        assert!(at_most("1.2", "1.3") && at_most("1.3", "1.3") && !at_most("1.8", "1.7"));
    }
}

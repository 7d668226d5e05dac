//! Validation (§2.4), authentication (§1.4, §1.5) and wire-format behaviour.

mod common;
use common::*;
use serde_json::{json, Value};

#[track_caller]
fn expect(got: (bool, String, String), valid: bool, code: &str, detail: &str) {
    assert_eq!(
        (got.0, got.1.as_str(), got.2.as_str()),
        (valid, code, detail)
    );
}

#[test]
fn unconditional_checks_and_expiry_strategies() {
    let env = env();
    let lic = env.license(json!({}));
    expect(env.validate(&lic, json!({})), true, "VALID", "is valid");

    env.admin.suspend_license(&lic.id);
    expect(
        env.validate(&lic, json!({ "fingerprint": "x" })),
        false,
        "SUSPENDED",
        "is suspended",
    );
    env.admin.reinstate_license(&lic.id);

    let past = "2020-01-01T00:00:00.000Z";
    let cases = [
        ("REVOKE_ACCESS", false),
        ("RESTRICT_ACCESS", false),
        ("MAINTAIN_ACCESS", true),
        ("ALLOW_ACCESS", true),
    ];
    for (strategy, valid) in cases {
        let lic = env.license_with(
            json!({ "expirationStrategy": strategy }),
            json!({ "expiry": past }),
        );
        expect(
            env.validate(&lic, json!({})),
            valid,
            "EXPIRED",
            "is expired",
        );
    }
    // REVOKE fails before scopes; RESTRICT/MAINTAIN/ALLOW report expiry last, after scope checks.
    let revoke = env.license_with(
        json!({ "expirationStrategy": "REVOKE_ACCESS" }),
        json!({ "expiry": past }),
    );
    expect(
        env.validate(&revoke, json!({ "fingerprint": "nope" })),
        false,
        "EXPIRED",
        "is expired",
    );
    for strategy in ["RESTRICT_ACCESS", "MAINTAIN_ACCESS", "ALLOW_ACCESS"] {
        let lic = env.license_with(
            json!({ "strict": true, "expirationStrategy": strategy }),
            json!({ "expiry": past }),
        );
        env.activate(&lic, "fp-1");
        expect(
            env.validate(&lic, json!({ "fingerprint": "unknown" })),
            false,
            "FINGERPRINT_SCOPE_MISMATCH",
            "fingerprint is not activated (does not match any associated machines)",
        );
        let valid = strategy != "RESTRICT_ACCESS";
        expect(
            env.validate(&lic, json!({ "fingerprint": "fp-1" })),
            valid,
            "EXPIRED",
            "is expired",
        );
    }

    let lic = env.license(
        json!({ "requireCheckIn": true, "checkInInterval": "day", "checkInIntervalCount": 1 }),
    );
    expect(env.validate(&lic, json!({})), true, "VALID", "is valid");
    env.admin.advance_clock(2 * 86_400);
    expect(
        env.validate(&lic, json!({})),
        false,
        "OVERDUE",
        "is overdue for check in",
    );
    let r = env.call(
        "POST",
        &format!("/v1/licenses/{}/actions/check-in", lic.id),
        Auth::Admin,
        None,
    );
    assert_eq!(r.status, 200);
    expect(env.validate(&lic, json!({})), true, "VALID", "is valid");
}

#[test]
fn scope_codes() {
    let env = env();
    let flags = json!({
        "requireProductScope": true, "requirePolicyScope": true, "requireUserScope": true,
        "requireMachineScope": true, "requireFingerprintScope": true, "requireComponentsScope": true,
        "requireChecksumScope": true, "requireVersionScope": true,
    });
    let lic = env.license(flags);
    let (prod, pol) = (lic.product.clone(), lic.policy.clone());
    expect(
        env.validate(&lic, json!({})),
        false,
        "PRODUCT_SCOPE_REQUIRED",
        "product scope is required",
    );
    expect(
        env.validate(&lic, json!({ "product": pol })),
        false,
        "PRODUCT_SCOPE_MISMATCH",
        "product scope does not match",
    );
    let mut scope = json!({ "product": prod });
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "POLICY_SCOPE_REQUIRED",
        "policy scope is required",
    );
    scope["policy"] = prod.clone().into();
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "POLICY_SCOPE_MISMATCH",
        "policy scope does not match",
    );
    scope["policy"] = pol.clone().into();
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "USER_SCOPE_REQUIRED",
        "user scope is required",
    );
    scope["user"] = "someone@example.com".into();
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "USER_SCOPE_MISMATCH",
        "user scope does not match",
    );
    scope["user"] = Value::Null;
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "MACHINE_SCOPE_REQUIRED",
        "machine scope is required",
    );
    scope["machine"] = "00000000-0000-4000-8000-000000000000".into();
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "NO_MACHINE",
        "machine is not activated (has no associated machine)",
    );
    let m = env.activate_with(&lic, "fp-1", json!({}));
    let mid = m.id();
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "fp-1" }, "relationships": {
        "license": { "data": { "type": "licenses", "id": lic.id } },
        "components": { "data": [ { "type": "components", "attributes": { "fingerprint": "c1", "name": "cpu" } } ] } } } });
    assert_eq!(
        env.call("POST", "/v1/machines", Auth::Admin, Some(body))
            .code(),
        "FINGERPRINT_TAKEN"
    );
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "MACHINE_SCOPE_MISMATCH",
        "machine is not activated (does not match any associated machines)",
    );
    scope["machine"] = mid.clone().into();
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "FINGERPRINT_SCOPE_REQUIRED",
        "fingerprint scope is required",
    );
    scope["fingerprints"] = json!([]);
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "FINGERPRINT_SCOPE_EMPTY",
        "fingerprint scope is empty",
    );
    scope["fingerprints"] = json!(["fp-2"]);
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "FINGERPRINT_SCOPE_MISMATCH",
        "fingerprint is not activated (does not match any associated machines)",
    );
    scope.as_object_mut().unwrap().remove("fingerprints");
    scope["fingerprint"] = "fp-1".into();
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "COMPONENTS_SCOPE_REQUIRED",
        "components scope is required",
    );
    scope["components"] = json!([]);
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "COMPONENTS_SCOPE_EMPTY",
        "components scope is empty",
    );
    scope["components"] = json!(["c9"]);
    expect(
        env.validate(&lic, scope.clone()),
        false,
        "COMPONENTS_SCOPE_MISMATCH",
        "one or more component is not activated (does not match any associated components)",
    );
    scope.as_object_mut().unwrap().remove("components");
    let mut fresh = scope.clone();
    fresh.as_object_mut().unwrap().remove("fingerprint");
    fresh["fingerprints"] = json!(["fp-1"]);
    fresh["components"] = json!(["c1"]);
    expect(
        env.validate(&lic, fresh),
        false,
        "FINGERPRINT_SCOPE_REQUIRED",
        "fingerprint scope is required when using the components scope",
    );

    // Components activated inline satisfy the components scope.
    let lic2 = env.license(
        json!({ "requireComponentsScope": true, "componentMatchingStrategy": "MATCH_ALL" }),
    );
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "fp-c" }, "relationships": {
        "license": { "data": { "type": "licenses", "id": lic2.id } },
        "components": { "data": [
            { "type": "components", "attributes": { "fingerprint": "c1", "name": "cpu" } },
            { "type": "components", "attributes": { "fingerprint": "c2", "name": "disk" } } ] } } } });
    assert_eq!(
        env.call("POST", "/v1/machines", Auth::Admin, Some(body))
            .status,
        201
    );
    expect(
        env.validate(
            &lic2,
            json!({ "fingerprint": "fp-c", "components": ["c1", "c2"] }),
        ),
        true,
        "VALID",
        "is valid",
    );
    expect(
        env.validate(
            &lic2,
            json!({ "fingerprint": "fp-c", "components": ["c1", "c3"] }),
        ),
        false,
        "COMPONENTS_SCOPE_MISMATCH",
        "one or more component is not activated (does not match all associated components)",
    );

    let lic3 = env.license(json!({ "requireChecksumScope": true, "requireVersionScope": true }));
    expect(
        env.validate(&lic3, json!({})),
        false,
        "CHECKSUM_SCOPE_REQUIRED",
        "checksum scope is required",
    );
    expect(
        env.validate(&lic3, json!({ "checksum": "abc" })),
        false,
        "CHECKSUM_SCOPE_MISMATCH",
        "checksum scope is not valid (does not match any accessible artifacts)",
    );
    let lic4 = env.license(json!({ "requireVersionScope": true }));
    expect(
        env.validate(&lic4, json!({})),
        false,
        "VERSION_SCOPE_REQUIRED",
        "version scope is required",
    );
    expect(
        env.validate(&lic4, json!({ "version": "1.0.0" })),
        false,
        "VERSION_SCOPE_MISMATCH",
        "version scope is not valid (does not match any accessible releases)",
    );
}

#[test]
fn entitlements_scope() {
    let env = env();
    let lic = env.license(json!({}));
    let ent = |code: &str| {
        let body = json!({ "data": { "type": "entitlements", "attributes": { "name": code, "code": code } } });
        env.call("POST", "/v1/entitlements", Auth::Admin, Some(body))
            .id()
    };
    let (a, b) = (ent("FEATURE_A"), ent("FEATURE_B"));
    let attach = |path: String, id: &str| {
        let r = env.call(
            "POST",
            &path,
            Auth::Admin,
            Some(json!({ "data": [{ "type": "entitlements", "id": id }] })),
        );
        assert_eq!(r.status, 200, "{}", r.json);
    };
    attach(format!("/v1/policies/{}/entitlements", lic.policy), &a);
    attach(format!("/v1/licenses/{}/entitlements", lic.id), &b);
    expect(
        env.validate(&lic, json!({ "entitlements": [] })),
        false,
        "ENTITLEMENTS_SCOPE_EMPTY",
        "entitlements scope is empty",
    );
    expect(
        env.validate(&lic, json!({ "entitlements": ["FEATURE_A", "FEATURE_B"] })),
        true,
        "VALID",
        "is valid",
    );
    expect(
        env.validate(&lic, json!({ "entitlements": ["FEATURE_A", "FEATURE_C"] })),
        false,
        "ENTITLEMENTS_MISSING",
        "is missing one or more required entitlements",
    );
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}/entitlements", lic.id),
        Auth::Admin,
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    let r = env.call(
        "DELETE",
        &format!("/v1/licenses/{}/entitlements", lic.id),
        Auth::Admin,
        Some(json!({ "data": [{ "type": "entitlements", "id": b }] })),
    );
    assert_eq!(r.status, 204);
    expect(
        env.validate(&lic, json!({ "entitlements": ["FEATURE_B"] })),
        false,
        "ENTITLEMENTS_MISSING",
        "is missing one or more required entitlements",
    );
}

#[test]
fn fingerprint_matching_strategies() {
    let env = env();
    for (strategy, how, fps, ok) in [
        ("MATCH_ANY", "any", json!(["a", "x", "y"]), true),
        ("MATCH_TWO", "at least 2", json!(["a", "x", "y"]), false),
        ("MATCH_TWO", "at least 2", json!(["a", "b", "y"]), true),
        ("MATCH_MOST", "enough", json!(["a", "x", "y"]), false),
        ("MATCH_MOST", "enough", json!(["a", "b", "y"]), true),
        ("MATCH_ALL", "all", json!(["a", "b", "y"]), false),
        ("MATCH_ALL", "all", json!(["a", "b", "a"]), true),
    ] {
        let lic = env.license(
            json!({ "floating": true, "maxMachines": 5, "machineMatchingStrategy": strategy }),
        );
        env.activate(&lic, "a");
        env.activate(&lic, "b");
        let got = env.validate(&lic, json!({ "fingerprints": fps }));
        if ok {
            expect(got, true, "VALID", "is valid");
        } else {
            let detail = format!("one or more fingerprint is not activated (does not match {how} associated machines)");
            expect(got, false, "FINGERPRINT_SCOPE_MISMATCH", &detail);
        }
    }
    let floating = env.license(json!({ "floating": true }));
    expect(
        env.validate(&floating, json!({ "fingerprint": "a" })),
        false,
        "NO_MACHINES",
        "fingerprint is not activated (has no associated machines)",
    );
    expect(
        env.validate(
            &floating,
            json!({ "machine": "00000000-0000-4000-8000-000000000000" }),
        ),
        false,
        "NO_MACHINES",
        "machine is not activated (has no associated machines)",
    );
}

#[test]
fn strict_limits_and_overage() {
    let env = env();
    let nl = env.license(json!({ "strict": true }));
    expect(
        env.validate(&nl, json!({})),
        false,
        "NO_MACHINE",
        "must have exactly 1 associated machine",
    );
    let fl = env.license(json!({ "strict": true, "floating": true, "maxMachines": 4 }));
    expect(
        env.validate(&fl, json!({})),
        false,
        "NO_MACHINES",
        "must have at least 1 associated machine",
    );
    for fp in ["a", "b", "c"] {
        assert_eq!(env.activate(&fl, fp).status, 201);
    }
    expect(
        env.validate(&fl, json!({ "fingerprint": "a" })),
        true,
        "VALID",
        "is valid",
    );
    // Lowering a limit below usage is allowed and is how over-limit states arise.
    env.admin
        .update_license(&fl.id, json!({ "maxMachines": 2 }));
    expect(
        env.validate(&fl, json!({ "fingerprint": "a" })),
        false,
        "TOO_MANY_MACHINES",
        "has too many associated machines",
    );
    let over = env.license(json!({ "strict": true, "floating": true, "maxMachines": 2, "overageStrategy": "ALLOW_2X_OVERAGE" }));
    for fp in ["a", "b", "c", "d"] {
        assert_eq!(env.activate(&over, fp).status, 201, "{fp}");
    }
    // Overage-tolerated limits short-circuit with valid=true, even on an expired license.
    env.admin
        .update_license(&over.id, json!({ "expiry": "2020-01-01T00:00:00Z" }));
    expect(
        env.validate(&over, json!({})),
        true,
        "TOO_MANY_MACHINES",
        "has too many associated machines",
    );
    assert_eq!(env.activate(&over, "e").code(), "MACHINE_LIMIT_EXCEEDED");

    let res = env.license(json!({ "strict": true, "floating": true, "maxCores": 8, "maxMemory": 100, "maxDisk": 100 }));
    env.activate_with(&res, "a", json!({ "cores": 4, "memory": 50, "disk": 50 }));
    env.activate_with(&res, "b", json!({ "cores": 4, "memory": 50, "disk": 50 }));
    expect(env.validate(&res, json!({})), true, "VALID", "is valid");
    env.admin.update_license(&res.id, json!({ "maxCores": 6 }));
    expect(
        env.validate(&res, json!({})),
        false,
        "TOO_MANY_CORES",
        "has too many associated machine cores",
    );
    env.admin
        .update_license(&res.id, json!({ "maxCores": null, "maxMemory": 60 }));
    expect(
        env.validate(&res, json!({})),
        false,
        "TOO_MUCH_MEMORY",
        "has too much associated machine memory",
    );
    env.admin
        .update_license(&res.id, json!({ "maxMemory": null, "maxDisk": 60 }));
    expect(
        env.validate(&res, json!({})),
        false,
        "TOO_MUCH_DISK",
        "has too much associated machine disk",
    );

    let procs = env.license(json!({ "strict": true, "maxProcesses": 2 }));
    let m = env.activate(&procs, "a").id();
    for pid in ["1", "2"] {
        assert_eq!(env.spawn(&m, pid).status, 201);
    }
    expect(
        env.validate(&procs, json!({ "fingerprint": "a" })),
        true,
        "VALID",
        "is valid",
    );
    env.admin
        .update_license(&procs.id, json!({ "maxProcesses": 1 }));
    expect(
        env.validate(&procs, json!({ "fingerprint": "a" })),
        false,
        "TOO_MANY_PROCESSES",
        "has too many associated processes",
    );
    // PER_MACHINE counts only the machine named by the scope.
    expect(env.validate(&procs, json!({})), true, "VALID", "is valid");

    let nonstrict = env.license_with(json!({}), json!({ "expiry": "2020-01-01T00:00:00Z" }));
    expect(
        env.validate(&nonstrict, json!({})),
        false,
        "EXPIRED",
        "is expired",
    );
}

#[test]
fn validate_key_quick_validation_and_echo() {
    let env = env();
    let lic = env
        .license(json!({ "requireFingerprintScope": true, "authenticationStrategy": "LICENSE" }));
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "key": "nope" } })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json["data"], Value::Null);
    assert_eq!(
        (
            r.json["meta"]["code"].as_str(),
            r.json["meta"]["valid"].as_bool()
        ),
        (Some("NOT_FOUND"), Some(false))
    );
    assert_eq!(r.json["meta"]["detail"], "does not exist");

    let body = json!({ "meta": { "key": lic.key, "nonce": 1574265636, "scope": { "fingerprint": "fp" } } });
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(body),
    );
    assert_eq!(r.json["meta"]["nonce"], 1574265636);
    assert_eq!(r.json["meta"]["scope"], json!({ "fingerprint": "fp" }));
    assert_eq!(r.json["meta"]["code"], "NO_MACHINE");
    assert!(r.json["meta"]["ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.json["data"]["id"], lic.id.as_str());

    // Quick validation skips scope checks (and require flags) and echoes nothing.
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}/actions/validate", lic.key),
        Auth::License(&lic.key),
        None,
    );
    assert_eq!(r.json["meta"]["code"], "VALID");
    assert!(r.json["meta"].get("nonce").is_none() && r.json["meta"].get("scope").is_none());
    let r = env.call(
        "POST",
        &format!("/v1/licenses/{}/actions/validate", lic.id),
        Auth::License(&lic.key),
        None,
    );
    assert_eq!(r.json["meta"]["code"], "FINGERPRINT_SCOPE_REQUIRED");
    assert!(r.json["data"]["attributes"]["lastValidated"].is_string());

    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "key": lic.key, "nonce": "1" } })),
    );
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (
            400,
            "type mismatch (received string expected integer)",
            "/meta/nonce"
        )
    );
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "key": "" } })),
    );
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (400, "cannot be blank", "/meta/key")
    );
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "key": lic.key, "scope": { "environment": "x" } } })),
    );
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (400, "unpermitted parameter", "/meta/scope/environment")
    );
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "key": lic.key, "scope": { "fingerprints": ["a", null] } } })),
    );
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (400, "cannot be null", "/meta/scope/fingerprints/1")
    );
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "scope": {} } })),
    );
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (400, "is missing", "/meta/key")
    );
    let r = env.call(
        "POST",
        "/v1/licenses/00000000-0000-4000-8000-000000000000/actions/validate",
        Auth::Admin,
        None,
    );
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND"));
    assert_eq!(
        r.detail(),
        "The requested license '00000000-0000-4000-8000-000000000000' was not found"
    );
}

#[test]
fn authentication() {
    let env = env();
    let token_policy = env.license(json!({}));
    let license_policy = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let me = |auth| env.call("GET", "/v1/me", auth, None);

    let r = me(Auth::None);
    assert_eq!((r.status, r.code()), (401, "TOKEN_MISSING"));
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="keygen""#)
    );
    let r = me(Auth::License("nope"));
    assert_eq!((r.status, r.code()), (401, "LICENSE_INVALID"));
    let r = me(Auth::License(&token_policy.key));
    assert_eq!(
        (r.status, r.code(), r.detail()),
        (
            403,
            "LICENSE_NOT_ALLOWED",
            "License key authentication is not allowed by policy"
        )
    );
    let r = me(Auth::License(&license_policy.key));
    assert_eq!((r.status, r.id()), (200, license_policy.id.clone()));
    let basic = format!("license:{}", license_policy.key);
    let r = me(Auth::Basic(&basic));
    assert_eq!(r.status, 200);
    let r = me(Auth::Bearer("00000000-0000-4000-8000-000000000000"));
    assert_eq!((r.status, r.code()), (401, "TOKEN_FORMAT_INVALID"));
    let r = me(Auth::Bearer("activ-deadbeefv3"));
    assert_eq!((r.status, r.code()), (401, "TOKEN_INVALID"));

    // License tokens: allowed by TOKEN policies, refused by LICENSE policies.
    let token = |lic: &Lic| {
        let r = env.call(
            "POST",
            &format!("/v1/licenses/{}/tokens", lic.id),
            Auth::Admin,
            None,
        );
        assert_eq!(r.status, 201, "{}", r.json);
        r.attr("token").as_str().unwrap().to_string()
    };
    let t = token(&token_policy);
    assert!(t.starts_with("activ-") && t.ends_with("v3"));
    assert_eq!(me(Auth::Bearer(&t)).id(), token_policy.id);
    let t2 = token(&license_policy);
    let r = me(Auth::Bearer(&t2));
    assert_eq!((r.status, r.code()), (403, "TOKEN_NOT_ALLOWED"));

    env.admin.suspend_license(&license_policy.id);
    let path = format!("/v1/licenses/{}/actions/validate", license_policy.id);
    let r = env.call("POST", &path, Auth::License(&license_policy.key), None);
    assert_eq!(
        (r.status, r.code(), r.detail()),
        (403, "LICENSE_SUSPENDED", "License is suspended")
    );
    let r = env.call(
        "POST",
        "/v1/licenses/actions/validate-key",
        Auth::None,
        Some(json!({ "meta": { "key": license_policy.key } })),
    );
    assert_eq!(r.json["meta"]["code"], "SUSPENDED");
    env.admin.reinstate_license(&license_policy.id);

    let revoked = env.license_with(
        json!({ "authenticationStrategy": "MIXED", "expirationStrategy": "REVOKE_ACCESS" }),
        json!({ "expiry": "2020-01-01T00:00:00Z" }),
    );
    let r = me(Auth::License(&revoked.key));
    assert_eq!((r.status, r.code()), (403, "LICENSE_EXPIRED"));

    // A license sees only itself and its machines.
    let other = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    env.activate(&other, "other-fp");
    let k = Auth::License(&license_policy.key);
    assert_eq!(
        env.call("GET", &format!("/v1/licenses/{}", other.id), k, None)
            .status,
        404
    );
    assert_eq!(
        env.call("GET", "/v1/machines/other-fp", k, None).status,
        404
    );
    let r = env.call("GET", "/v1/licenses", k, None);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = env.call("GET", "/v1/policies", k, None);
    assert_eq!(r.status, 403);
    let body = json!({ "meta": { "key": other.key } });
    assert_eq!(
        env.call("POST", "/v1/licenses/actions/validate-key", k, Some(body))
            .status,
        403
    );
}

#[test]
fn wire_format() {
    use std::io::{BufReader, Write};
    let env = env();
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    env.activate(&lic, "fp_x-1");
    let acct = env.account();
    let prefixed = format!("/v1/accounts/{acct}/licenses/{}", lic.key);
    let r = env.call("GET", &prefixed, Auth::License(&lic.key), None);
    assert_eq!((r.status, r.id()), (200, lic.id.clone()));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/vnd.api+json"));
    let created = r.attr("created").as_str().unwrap();
    assert_eq!(created.len(), 24, "{created}");
    let r = env.call("GET", "/v1/machines/fp_x-1", Auth::License(&lic.key), None);
    assert_eq!(r.attr("fingerprint"), "fp_x-1");

    let r = env.send(
        "GET",
        "/v1/accounts/00000000-0000-4000-8000-000000000000/me",
        Auth::None,
        None,
        &[],
    );
    assert_eq!(r.status, 404);
    assert!(r.header("keygen-signature").is_none());
    let r = env.send("GET", "/v1/nowhere", Auth::Admin, None, &[]);
    assert_eq!(r.status, 404);

    let r = raw_body(&env, "POST", "/v1/machines", b"{not json");
    assert_eq!((r.status, r.code()), (400, "JSON_INVALID"));
    assert!(r.header("keygen-signature").is_none());

    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "z", "color": "red" },
        "relationships": { "license": { "data": { "type": "licenses", "id": lic.id } } } } });
    let r = env.call("POST", "/v1/machines", Auth::Admin, Some(body));
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (400, "unpermitted parameter", "/data/attributes/color")
    );
    assert_eq!(r.json["errors"][0]["title"], "Bad request");
    assert!(r.json["meta"]["id"].is_string());

    for (version, status) in [
        ("1.7", 200),
        ("v1.8", 200),
        ("1.5", 200),
        ("1.0", 200),
        ("1.9", 400),
        ("1.7.0", 400),
    ] {
        let r = env.send(
            "GET",
            "/v1/me",
            Auth::License(&lic.key),
            None,
            &[("Keygen-Version", version)],
        );
        assert_eq!(r.status, status, "{version}");
        if status == 400 {
            assert_eq!(r.code(), "INVALID_API_VERSION");
        } else {
            assert_eq!(
                r.header("keygen-version"),
                Some(version.trim_start_matches('v'))
            );
        }
    }
    let r = env.send("GET", "/v1/me", Auth::License(&lic.key), None, &[]);
    assert_eq!(r.header("keygen-version"), Some("1.8"));

    for (accept, status) in [
        (r#"algorithm="ed25519""#.to_string(), 200),
        (format!(r#"keyid="{acct}", algorithm="ed25519""#), 200),
        (
            r#"keyid="someone-else", algorithm="ed25519""#.to_string(),
            400,
        ),
        (r#"algorithm="rsa-pss-sha256""#.to_string(), 200),
        (r#"algorithm="hmac-sha256""#.to_string(), 400),
        ("ed25519".to_string(), 400),
    ] {
        let r = env.send(
            "GET",
            "/v1/me",
            Auth::License(&lic.key),
            None,
            &[("Keygen-Accept-Signature", &accept)],
        );
        assert_eq!(r.status, status, "{accept}");
    }

    let r = env.send(
        "GET",
        "/v1/me",
        Auth::License(&lic.key),
        None,
        &[("Keygen-Environment", "staging")],
    );
    assert_eq!(
        (
            r.status,
            r.code(),
            r.json["errors"][0]["source"]["header"].as_str()
        ),
        (400, "ENVIRONMENT_NOT_SUPPORTED", Some("Keygen-Environment"))
    );

    // Malformed requests get a 400 and never take the server down.
    use std::io::Read;
    for garbage in [
        &b"\x00\xff\xfe garbage\r\n\r\n"[..],
        b"GET /v1/me HTTP/9.9\r\n\r\n",
        b"POST /v1/machines HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let mut s = std::net::TcpStream::connect(&env.addr).unwrap();
        s.write_all(garbage).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    }
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "n", "cores": 9_999_999_999i64 },
        "relationships": { "license": { "data": { "type": "licenses", "id": lic.id } } } } });
    assert_eq!(
        env.call("POST", "/v1/machines", Auth::Admin, Some(body))
            .detail(),
        "integer is too large"
    );

    // Bodies over 1 MiB are refused from the Content-Length alone.
    let mut s = std::net::TcpStream::connect(&env.addr).unwrap();
    s.write_all(b"POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
        .unwrap();
    let r = lic_devserver::raw::read_response(&mut BufReader::new(s)).unwrap();
    assert_eq!(r.status, 413);
}

fn raw_body(env: &Env, method: &str, path: &str, body: &[u8]) -> Resp {
    let token = format!("Bearer {}", env.server.admin_token());
    let r = lic_devserver::raw::send(&env.addr, method, path, &[("Authorization", &token)], body)
        .unwrap();
    let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    Resp {
        status: r.status,
        headers: r.headers,
        raw: r.body,
        json,
    }
}

#[test]
fn pagination() {
    let env = env();
    for i in 0..25 {
        env.admin.create_product(&format!("p{i}"));
    }
    let count = |path: &str| {
        env.call("GET", path, Auth::Admin, None).json["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("/v1/products"), 10);
    assert_eq!(count("/v1/products?limit=25"), 25);
    let r = env.call(
        "GET",
        "/v1/products?page[size]=10&page[number]=3",
        Auth::Admin,
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 5);
    assert_eq!(r.json["links"]["meta"]["pages"], 3);
    assert!(r.json["links"]["next"].is_null() && r.json["links"]["prev"].is_string());
    // Newest first.
    let first = env.call("GET", "/v1/products?limit=1", Auth::Admin, None);
    assert_eq!(first.json["data"][0]["attributes"]["name"], "p24");
    let r = env.call(
        "GET",
        "/v1/products?page[size]=500&page[number]=1",
        Auth::Admin,
        None,
    );
    assert_eq!(r.status, 400);
}

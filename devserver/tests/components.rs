//! Machine components as keygen-api implements them (issue 15 §1): the component model
//! (`app/models/machine_component.rb`), its endpoints (`machine_components_controller.rb`,
//! `features/api/v1/components/*.feature`), components nested in machine creation
//! (`machines_controller.rb`, `features/api/v1/machines/create.feature`), the `components`
//! scope (`app/services/license_validation_service.rb`) and the policy strategies
//! (`app/models/policy.rb`).

mod common;
use common::*;
use serde_json::{json, Value};

fn machine_body(lic: &Lic, fp: &str, components: Value) -> Value {
    json!({ "data": { "type": "machines", "attributes": { "fingerprint": fp },
        "relationships": {
            "license": { "data": { "type": "licenses", "id": lic.id } },
            "components": { "data": components } } } })
}

fn component(fp: &str, name: &str) -> Value {
    json!({ "type": "components", "attributes": { "fingerprint": fp, "name": name } })
}

fn components(fps: &[&str]) -> Value {
    Value::Array(fps.iter().map(|fp| component(fp, "part")).collect())
}

fn create(env: &Env, lic: &Lic, fp: &str, parts: Value) -> Resp {
    env.call(
        "POST",
        "/v1/machines",
        Auth::Admin,
        Some(machine_body(lic, fp, parts)),
    )
}

/// (code, detail, pointer) of every error.
fn errors(r: &Resp) -> Vec<(String, String, String)> {
    r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| {
                e.pointer(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (s("/code"), s("/detail"), s("/source/pointer"))
        })
        .collect()
}

/// `machines_controller.rb` typed params: a nested component needs `type`, a non-blank
/// `fingerprint` and a non-blank `name` (400s before any model validation); at most 20
/// (`accepts_nested_attributes_for :components, limit: 20`: 422 "too many records").
#[test]
fn nested_components_need_a_fingerprint_and_a_name() {
    let env = env();
    let lic = env.license(json!({}));
    const P: &str = "/data/relationships/components/data/0";
    for (part, detail, pointer) in [
        (
            json!({ "type": "components", "attributes": { "fingerprint": "a" } }),
            "is missing",
            format!("{P}/attributes/name"),
        ),
        (
            json!({ "type": "components", "attributes": { "fingerprint": "a", "name": "" } }),
            "cannot be blank",
            format!("{P}/attributes/name"),
        ),
        (
            json!({ "type": "components", "attributes": { "name": "CPU" } }),
            "is missing",
            format!("{P}/attributes/fingerprint"),
        ),
        (
            json!({ "type": "components", "attributes": { "fingerprint": "", "name": "CPU" } }),
            "cannot be blank",
            format!("{P}/attributes/fingerprint"),
        ),
        (
            json!({ "attributes": { "fingerprint": "a", "name": "CPU" } }),
            "is missing",
            format!("{P}/type"),
        ),
        (
            json!({ "type": "components" }),
            "is missing",
            format!("{P}/attributes"),
        ),
    ] {
        let r = create(&env, &lic, "m", json!([part]));
        assert_eq!(
            (r.status, r.detail(), r.pointer()),
            (400, detail, pointer.as_str()),
            "{part}"
        );
    }
    let many: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = create(&env, &lic, "m", components(&many));
    assert_eq!((r.status, r.detail()), (422, "too many records"));
    assert!(r.json["errors"][0].get("code").is_none());

    // Created with the machine, listed with its name and metadata.
    let mut parts = components(&["mobo", "cpu"]);
    parts[0]["attributes"]["metadata"] = json!({ "make": "ASUS" });
    let r = create(&env, &lic, "m", parts);
    assert_eq!(r.status, 201, "{}", r.json);
    let m = r.id();
    let r = env.call(
        "GET",
        &format!("/v1/machines/{m}/components"),
        Auth::Admin,
        None,
    );
    let list = r.json["data"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let mobo = list
        .iter()
        .find(|c| c["attributes"]["fingerprint"] == "mobo")
        .unwrap();
    assert_eq!(mobo["attributes"]["name"], "part");
    assert_eq!(mobo["attributes"]["metadata"], json!({ "make": "ASUS" }));
    // machine_component_serializer.rb: account, product, license and machine relationships.
    for (rel, id) in [
        ("machine", &m),
        ("license", &lic.id),
        ("product", &lic.product),
    ] {
        assert_eq!(mobo["relationships"][rel]["data"]["id"], json!(id), "{rel}");
    }
    let cpu = list
        .iter()
        .find(|c| c["attributes"]["fingerprint"] == "cpu")
        .unwrap();
    assert_eq!(cpu["attributes"]["metadata"], json!({}));
}

/// `machine_component.rb`'s create validation: a fingerprint twice in one request is "is
/// duplicated" on each (COMPONENTS_FINGERPRINT_CONFLICT); a reserved word is refused; the
/// components' errors come before the machine's own (their autosave validation is declared
/// first in `machine.rb`), and the record-level limit last.
#[test]
fn duplicated_and_reserved_components() {
    let env = env();
    let lic = env.license(json!({}));
    create(&env, &lic, "taken", components(&["x"]));
    let r = create(&env, &lic, "taken", components(&["dup", "dup", "actions"]));
    assert_eq!(r.status, 422);
    const P: &str = "/data/relationships/components/data";
    let e =
        |code: &str, detail: &str, pointer: String| (code.to_string(), detail.to_string(), pointer);
    assert_eq!(
        errors(&r),
        vec![
            e(
                "COMPONENTS_FINGERPRINT_CONFLICT",
                "is duplicated",
                format!("{P}/0/attributes/fingerprint")
            ),
            e(
                "COMPONENTS_FINGERPRINT_CONFLICT",
                "is duplicated",
                format!("{P}/1/attributes/fingerprint")
            ),
            e(
                "COMPONENTS_FINGERPRINT_NOT_ALLOWED",
                "is reserved",
                format!("{P}/2/attributes/fingerprint")
            ),
            e(
                "FINGERPRINT_TAKEN",
                "has already been taken",
                "/data/attributes/fingerprint".into()
            ),
            e(
                "MACHINE_LIMIT_EXCEEDED",
                "machine count has exceeded maximum allowed for license (1)",
                "/data".into()
            ),
        ]
    );
}

/// `componentUniquenessStrategy` (`machine_component.rb`, the create feature's
/// "conflicting hardware components" scenarios): a fingerprint already on another machine
/// within the account, product, policy or license is COMPONENTS_FINGERPRINT_TAKEN "has
/// already been taken for this …"; UNIQUE_PER_MACHINE (the default) allows it elsewhere.
#[test]
fn component_uniqueness_strategies() {
    let env = env();
    for (strategy, same_license, same_policy, same_product, elsewhere) in [
        ("UNIQUE_PER_MACHINE", None, None, None, None),
        ("UNIQUE_PER_LICENSE", Some("license"), None, None, None),
        (
            "UNIQUE_PER_POLICY",
            Some("policy"),
            Some("policy"),
            None,
            None,
        ),
        (
            "UNIQUE_PER_PRODUCT",
            Some("product"),
            Some("product"),
            Some("product"),
            None,
        ),
        (
            "UNIQUE_PER_ACCOUNT",
            Some("account"),
            Some("account"),
            Some("account"),
            Some("account"),
        ),
    ] {
        let attrs =
            json!({ "floating": true, "maxMachines": 10, "componentUniquenessStrategy": strategy });
        let product = env.product();
        let policy = env.admin.create_policy(&product, attrs.clone());
        let lic = |policy: &str, product: &str| {
            let (id, key) = env.admin.create_license(policy, json!({}));
            Lic {
                id,
                key,
                policy: policy.into(),
                product: product.into(),
            }
        };
        let first = lic(&policy, &product);
        let part = format!("shared-{strategy}");
        assert_eq!(create(&env, &first, "m0", components(&[&part])).status, 201);
        let sibling_policy = env.admin.create_policy(&product, attrs.clone());
        let other_product = env.product();
        let far_policy = env.admin.create_policy(&other_product, attrs.clone());
        for (i, (target, want)) in [
            (lic(&policy, &product), same_policy),
            (first_clone(&first), same_license),
            (lic(&sibling_policy, &product), same_product),
            (lic(&far_policy, &other_product), elsewhere),
        ]
        .into_iter()
        .enumerate()
        {
            let r = create(&env, &target, &format!("m{}", i + 1), components(&[&part]));
            match want {
                None => assert_eq!(r.status, 201, "{strategy} #{i}: {}", r.json),
                Some(scope) => assert_eq!(
                    (r.status, r.code(), r.detail()),
                    (
                        422,
                        "COMPONENTS_FINGERPRINT_TAKEN",
                        format!("has already been taken for this {scope}").as_str()
                    ),
                    "{strategy} #{i}"
                ),
            }
        }
    }
}

fn first_clone(l: &Lic) -> Lic {
    Lic {
        id: l.id.clone(),
        key: l.key.clone(),
        policy: l.policy.clone(),
        product: l.product.clone(),
    }
}

/// `machine_components_controller.rb` and `features/api/v1/components/*.feature`: components
/// are created for an existing machine (its own fingerprints are FINGERPRINT_TAKEN "has
/// already been taken"; a missing machine is MACHINE_NOT_FOUND), listed with filters, shown,
/// renamed (a license may not change metadata) and deleted; a license reaches only its own.
#[test]
fn the_components_endpoints() {
    let env = env();
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let m = create(&env, &lic, "m", components(&["a"])).id();
    let body = |fp: &str, name: &str, machine: &str| {
        json!({ "data": { "type": "components",
        "attributes": { "fingerprint": fp, "name": name },
        "relationships": { "machine": { "data": { "type": "machines", "id": machine } } } } })
    };
    let r = env.call(
        "POST",
        "/v1/components",
        Auth::License(&lic.key),
        Some(body("b", "HDD", &m)),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        (r.attr("fingerprint"), r.attr("name")),
        (&json!("b"), &json!("HDD"))
    );
    let c = r.id();
    let r = env.call(
        "POST",
        "/v1/components",
        Auth::Admin,
        Some(body("a", "CPU", &m)),
    );
    assert_eq!(
        (r.status, r.code(), r.detail(), r.pointer()),
        (
            422,
            "FINGERPRINT_TAKEN",
            "has already been taken",
            "/data/attributes/fingerprint"
        )
    );
    let r = env.call(
        "POST",
        "/v1/components",
        Auth::Admin,
        Some(body("actions", "x", &m)),
    );
    assert_eq!((r.status, r.code()), (422, "FINGERPRINT_NOT_ALLOWED"));
    let r = env.call(
        "POST",
        "/v1/components",
        Auth::Admin,
        Some(body("z", "x", "16896379-73ae-4d92-a458-6e7841c9ad08")),
    );
    assert_eq!(
        (r.status, r.code(), r.pointer()),
        (422, "MACHINE_NOT_FOUND", "/data/relationships/machine")
    );
    let mut named = body("z", "x", &m);
    named["data"]["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let r = env.call("POST", "/v1/components", Auth::Admin, Some(named));
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (400, "is missing", "/data/attributes/name")
    );
    let mut with_id = body("z", "x", &m);
    with_id["data"]["id"] = json!("00000000-2521-4033-9f4f-3675387016f7");
    assert_eq!(
        env.call(
            "POST",
            "/v1/components",
            Auth::License(&lic.key),
            Some(with_id)
        )
        .status,
        400
    );

    let other = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let om = create(&env, &other, "o", components(&["q"])).id();
    let r = env.call(
        "POST",
        "/v1/components",
        Auth::License(&lic.key),
        Some(body("y", "x", &om)),
    );
    assert_eq!(r.status, 403, "another license's machine");
    let count = |q: &str, auth: Auth| {
        env.call("GET", &format!("/v1/components{q}"), auth, None)
            .json["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("", Auth::License(&lic.key)), 2);
    assert_eq!(count(&format!("?machine={om}"), Auth::Admin), 1);
    assert_eq!(count(&format!("?license={}", lic.id), Auth::Admin), 2);
    assert_eq!(
        count(&format!("?product={}", other.product), Auth::Admin),
        1
    );

    let r = env.call(
        "GET",
        &format!("/v1/components/{c}"),
        Auth::License(&lic.key),
        None,
    );
    assert_eq!(r.attr("name"), "HDD");
    assert_eq!(
        env.call(
            "GET",
            &format!("/v1/components/{c}"),
            Auth::License(&other.key),
            None
        )
        .status,
        404
    );
    let patch = |attrs: Value, auth: Auth| {
        env.call(
            "PATCH",
            &format!("/v1/components/{c}"),
            auth,
            Some(json!({ "data": { "type": "components", "attributes": attrs } })),
        )
    };
    assert_eq!(
        patch(json!({ "name": "SSD" }), Auth::License(&lic.key)).attr("name"),
        "SSD"
    );
    assert_eq!(
        patch(json!({ "metadata": { "k": 1 } }), Auth::License(&lic.key)).status,
        400
    );
    assert_eq!(
        patch(json!({ "fingerprint": "new" }), Auth::Admin).detail(),
        "unpermitted parameter"
    );
    assert_eq!(
        patch(json!({ "metadata": { "k": 1 } }), Auth::Admin).attr("metadata"),
        &json!({ "k": 1 })
    );
    assert_eq!(
        env.call(
            "DELETE",
            &format!("/v1/components/{c}"),
            Auth::License(&lic.key),
            None
        )
        .status,
        204
    );
    assert_eq!(count("", Auth::License(&lic.key)), 1);
}

/// `license_validation_service.rb`, the components scope: it needs the singular fingerprint
/// scope (FINGERPRINT_SCOPE_REQUIRED), an empty list is COMPONENTS_SCOPE_EMPTY, and the
/// machine's components must match as `componentMatchingStrategy` says (duplicates counted
/// once): ANY ≥ 1, TWO ≥ 2, MOST ≥ ceil(n/2), ALL = n, else COMPONENTS_SCOPE_MISMATCH;
/// `requireComponentsScope` makes its absence COMPONENTS_SCOPE_REQUIRED.
#[test]
fn the_components_scope_and_matching_strategies() {
    let env = env();
    let strategies = [
        ("MATCH_ANY", "any", [true, true, true, false]),
        ("MATCH_TWO", "at least 2", [true, true, false, false]),
        ("MATCH_MOST", "enough", [true, true, false, false]),
        ("MATCH_ALL", "all", [true, false, false, false]),
    ];
    // The machine has a, b, c, x: 4/4, then 2/4, 1/4, 0/4 matching.
    let asks: [&[&str]; 4] = [
        &["a", "b", "c", "x"],
        &["a", "b", "y", "z"],
        &["a", "y", "z", "w"],
        &["v", "y", "z", "w"],
    ];
    for (strategy, words, expect) in strategies {
        let lic = env.license(
            json!({ "componentMatchingStrategy": strategy, "requireComponentsScope": true }),
        );
        create(&env, &lic, "fp", components(&["a", "b", "c", "x"]));
        for (ask, valid) in asks.iter().zip(expect) {
            let got = env.validate(&lic, json!({ "fingerprint": "fp", "components": ask }));
            if valid {
                assert_eq!(
                    (got.0, got.1.as_str()),
                    (true, "VALID"),
                    "{strategy} {ask:?}"
                );
            } else {
                assert_eq!(
                    (got.0, got.1.as_str(), got.2.as_str()),
                    (false, "COMPONENTS_SCOPE_MISMATCH",
                     format!("one or more component is not activated (does not match {words} associated components)").as_str()),
                    "{strategy} {ask:?}"
                );
            }
        }
        let got = env.validate(&lic, json!({ "fingerprint": "fp" }));
        assert_eq!(
            (got.1.as_str(), got.2.as_str()),
            ("COMPONENTS_SCOPE_REQUIRED", "components scope is required")
        );
        let got = env.validate(&lic, json!({ "fingerprint": "fp", "components": [] }));
        assert_eq!(
            (got.1.as_str(), got.2.as_str()),
            ("COMPONENTS_SCOPE_EMPTY", "components scope is empty")
        );
        let got = env.validate(&lic, json!({ "fingerprints": ["fp"], "components": ["a"] }));
        assert_eq!(
            (got.1.as_str(), got.2.as_str()),
            (
                "FINGERPRINT_SCOPE_REQUIRED",
                "fingerprint scope is required when using the components scope"
            )
        );
    }
    // MATCH_ALL over a list with a duplicate: the list is de-duplicated first.
    let lic = env.license(json!({ "componentMatchingStrategy": "MATCH_ALL" }));
    create(&env, &lic, "fp", components(&["a", "b"]));
    let got = env.validate(
        &lic,
        json!({ "fingerprint": "fp", "components": ["a", "a", "b"] }),
    );
    assert_eq!(got.1, "VALID");
    // Without the policy flag, no components scope is fine.
    assert_eq!(
        env.validate(&lic, json!({ "fingerprint": "fp" })).1,
        "VALID"
    );
}

/// `machineMatchingStrategy` over several fingerprints (`license_validation_service.rb`):
/// MOST ≥ ceil(n/2), TWO ≥ 2, ALL = n, ANY ≥ 1 alive matching machines.
#[test]
fn machine_matching_strategies() {
    let env = env();
    for (strategy, words, expect) in [
        ("MATCH_ANY", "any", [true, true, true, false]),
        ("MATCH_TWO", "at least 2", [true, true, false, false]),
        ("MATCH_MOST", "enough", [true, true, false, false]),
        ("MATCH_ALL", "all", [true, false, false, false]),
    ] {
        let lic = env.license(
            json!({ "floating": true, "maxMachines": 5, "machineMatchingStrategy": strategy }),
        );
        for fp in ["a", "b", "c"] {
            create(&env, &lic, fp, json!([]));
        }
        let asks: [&[&str]; 4] = [
            &["a", "b", "c"],
            &["a", "b", "z", "y"],
            &["a", "z", "y"],
            &["x", "y"],
        ];
        for (ask, valid) in asks.iter().zip(expect) {
            let got = env.validate(&lic, json!({ "fingerprints": ask }));
            if valid {
                assert_eq!(got.1, "VALID", "{strategy} {ask:?}");
            } else {
                assert_eq!(
                    (got.1.as_str(), got.2.as_str()),
                    ("FINGERPRINT_SCOPE_MISMATCH",
                     format!("one or more fingerprint is not activated (does not match {words} associated machines)").as_str()),
                    "{strategy} {ask:?}"
                );
            }
        }
    }
}

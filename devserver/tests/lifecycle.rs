//! Machines (§3), processes (§4), heartbeats and culling on the dev clock, the admin API,
//! signed keys (§6), the state file and the binary.

mod common;
use common::*;
use lic_devserver::Options;
use serde_json::{json, Value};

#[test]
fn activation_limits_and_uniqueness() {
    let env = env();
    let nl = env.license(json!({ "strict": true }));
    let first = env.activate_with(
        &nl,
        "fp-1",
        json!({ "cores": 4, "hostname": "box", "platform": "linux/amd64" }),
    );
    assert_eq!(first.status, 201);
    assert!(first.header("location").unwrap().ends_with(&first.id()));
    assert_eq!(
        (first.attr("cores"), first.attr("heartbeatStatus")),
        (&json!(4), &json!("NOT_STARTED"))
    );
    let r = env.activate(&nl, "fp-2");
    assert_eq!(
        (r.status, r.code(), r.pointer()),
        (422, "MACHINE_LIMIT_EXCEEDED", "/data")
    );
    assert_eq!(
        r.detail(),
        "machine count has exceeded maximum allowed for license (1)"
    );
    let r = env.activate(&nl, "fp-1");
    assert_eq!(
        (r.code(), r.detail(), r.pointer()),
        (
            "FINGERPRINT_TAKEN",
            "has already been taken",
            "/data/attributes/fingerprint"
        )
    );
    // Every model error is returned, fingerprint errors first.
    assert_eq!(r.json["errors"][1]["code"], "MACHINE_LIMIT_EXCEEDED");
    let r = env.activate_with(&nl, "fp-3", json!({ "cores": 0 }));
    assert_eq!(
        (r.code(), r.detail()),
        ("CORES_INVALID", "must be greater than or equal to 1")
    );
    assert_eq!(
        env.activate(&nl, "actions").code(),
        "FINGERPRINT_NOT_ALLOWED"
    );

    let per_policy =
        env.license(json!({ "floating": true, "machineUniquenessStrategy": "UNIQUE_PER_POLICY" }));
    let (sibling, _) = env.admin.create_license(&per_policy.policy, json!({}));
    env.activate(&per_policy, "shared");
    let sibling = Lic {
        id: sibling,
        key: String::new(),
        policy: per_policy.policy.clone(),
        product: per_policy.product.clone(),
    };
    let r = env.activate(&sibling, "shared");
    assert_eq!(
        (r.code(), r.detail()),
        (
            "FINGERPRINT_TAKEN",
            "has already been taken for this policy"
        )
    );

    let cores = env.license(json!({ "floating": true, "maxCores": 4 }));
    let r = env.activate_with(&cores, "big", json!({ "cores": 8 }));
    assert_eq!(
        (r.code(), r.detail()),
        (
            "MACHINE_CORE_LIMIT_EXCEEDED",
            "machine core count has exceeded maximum allowed for license (4)"
        )
    );
    let always = env.license(json!({ "strict": true, "overageStrategy": "ALWAYS_ALLOW_OVERAGE" }));
    for fp in ["a", "b", "c"] {
        assert_eq!(env.activate(&always, fp).status, 201);
    }

    // License-key activation and deactivation of its own machines only.
    let own = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "mine" },
        "relationships": { "license": { "data": { "type": "licenses", "id": own.id } } } } });
    assert_eq!(
        env.call("POST", "/v1/machines", Auth::License(&own.key), Some(body))
            .status,
        201
    );
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "theirs" },
        "relationships": { "license": { "data": { "type": "licenses", "id": nl.id } } } } });
    assert_eq!(
        env.call("POST", "/v1/machines", Auth::License(&own.key), Some(body))
            .status,
        403
    );
    let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": "theirs" },
        "relationships": { "license": { "data": { "type": "licenses", "id": own.key } } } } });
    assert_eq!(
        env.call("POST", "/v1/machines", Auth::License(&own.key), Some(body))
            .status,
        400
    );
    assert_eq!(
        env.call("DELETE", "/v1/machines/fp-1", Auth::License(&own.key), None)
            .status,
        404
    );
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}/machines", own.id),
        Auth::License(&own.key),
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = env.call("DELETE", "/v1/machines/mine", Auth::License(&own.key), None);
    assert_eq!((r.status, r.raw.len()), (204, 0));
    assert_eq!(
        env.call("GET", "/v1/machines/mine", Auth::License(&own.key), None)
            .status,
        404
    );
}

#[test]
fn activation_token_limits() {
    let env = env();
    let lic = env.license(json!({ "floating": true }));
    let body = json!({ "data": { "type": "tokens", "attributes": { "maxActivations": 1, "maxDeactivations": 0 } } });
    let t = env.call(
        "POST",
        &format!("/v1/licenses/{}/tokens", lic.id),
        Auth::Admin,
        Some(body),
    );
    let token = t.attr("token").as_str().unwrap().to_string();
    let activate = |fp: &str| {
        let body = json!({ "data": { "type": "machines", "attributes": { "fingerprint": fp },
            "relationships": { "license": { "data": { "type": "licenses", "id": lic.id } } } } });
        env.call("POST", "/v1/machines", Auth::Bearer(&token), Some(body))
    };
    assert_eq!(activate("a").status, 201);
    let r = activate("b");
    assert_eq!(
        (r.code(), r.detail()),
        ("ACTIVATIONS_LIMIT_EXCEEDED", "exceeds maximum allowed (1)")
    );
    let r = env.call("DELETE", "/v1/machines/a", Auth::Bearer(&token), None);
    assert_eq!(r.code(), "DEACTIVATIONS_LIMIT_EXCEEDED");
}

#[test]
fn processes_per_machine_and_per_license() {
    let env = env();
    let per_machine = env.license(json!({ "floating": true, "maxProcesses": 2 }));
    let m1 = env.activate(&per_machine, "m1").id();
    let m2 = env.activate(&per_machine, "m2").id();
    for pid in ["1", "2"] {
        assert_eq!(env.spawn(&m1, pid).status, 201);
    }
    let r = env.spawn(&m1, "3");
    assert_eq!(
        (r.code(), r.detail(), r.pointer()),
        (
            "MACHINE_PROCESS_LIMIT_EXCEEDED",
            "process count has exceeded maximum allowed for machine (2)",
            "/data"
        )
    );
    assert_eq!(env.spawn(&m2, "1").status, 201);
    let r = env.spawn(&m2, "1");
    assert_eq!(
        (r.code(), r.detail()),
        ("PID_TAKEN", "has already been taken")
    );

    let per_license = env.license(
        json!({ "floating": true, "maxProcesses": 2, "processLeasingStrategy": "PER_LICENSE" }),
    );
    let a = env.activate(&per_license, "a").id();
    let b = env.activate(&per_license, "b").id();
    let p = env.spawn(&a, "1");
    assert_eq!(
        (p.attr("status"), p.attr("interval")),
        (&json!("ALIVE"), &json!(600))
    );
    assert_eq!(env.spawn(&b, "1").status, 201);
    let r = env.spawn(&b, "2");
    assert_eq!(
        r.detail(),
        "process count has exceeded maximum allowed for license (2)"
    );
    let r = env.call(
        "GET",
        &format!("/v1/machines/{a}/processes"),
        Auth::Admin,
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = env.call(
        "GET",
        &format!("/v1/processes?license={}", per_license.id),
        Auth::Admin,
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    let r = env.call(
        "DELETE",
        &format!("/v1/processes/{}", p.id()),
        Auth::Admin,
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(env.spawn(&b, "2").status, 201);
    // Deactivating a machine removes its processes.
    env.call("DELETE", &format!("/v1/machines/{b}"), Auth::Admin, None);
    let r = env.call("GET", "/v1/processes", Auth::Admin, None);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 3);
}

#[test]
fn machine_heartbeats_death_resurrection_and_culling() {
    let env = env();
    let policy = json!({ "strict": true, "requireHeartbeat": true, "heartbeatDuration": 120 });
    let lic = env.license(policy.clone());
    let m = env.activate(&lic, "hb");
    // FROM_CREATION basis: alive from the start.
    assert_eq!(m.attr("heartbeatStatus"), "ALIVE");
    let ping = |id: &str| {
        env.call(
            "POST",
            &format!("/v1/machines/{id}/actions/ping"),
            Auth::Admin,
            None,
        )
    };
    let r = ping("hb");
    assert_eq!(
        (r.status, r.attr("heartbeatStatus")),
        (200, &json!("ALIVE"))
    );
    assert!(r.attr("nextHeartbeat").is_string());
    env.admin.advance_clock(121);
    assert_eq!(
        env.call("GET", "/v1/machines/hb", Auth::Admin, None)
            .attr("heartbeatStatus"),
        "DEAD"
    );
    assert_eq!(
        env.validate(&lic, json!({ "fingerprint": "hb" })).1,
        "HEARTBEAT_DEAD"
    );
    assert_eq!(
        env.validate(&lic, json!({ "machine": m.id() })).1,
        "HEARTBEAT_DEAD"
    );
    let r = ping("hb");
    assert_eq!(
        (r.status, r.code(), r.detail()),
        (422, "MACHINE_HEARTBEAT_DEAD", "is dead")
    );
    env.admin.cull();
    assert_eq!(
        env.call("GET", "/v1/machines/hb", Auth::Admin, None).status,
        404
    );
    assert_eq!(env.validate(&lic, json!({})).1, "NO_MACHINE");

    // KEEP_DEAD keeps the machine (still counted), with a resurrection window.
    let keep = env.license(json!({ "floating": true, "requireHeartbeat": true, "heartbeatDuration": 60, "heartbeatCullStrategy": "KEEP_DEAD",
        "heartbeatResurrectionStrategy": "1_MINUTE_REVIVE" }));
    env.activate(&keep, "k1");
    env.activate(&keep, "k2");
    env.admin.advance_clock(90);
    env.admin.cull();
    let r = ping("k1");
    assert_eq!(
        (r.status, r.attr("heartbeatStatus")),
        (200, &json!("RESURRECTED"))
    );
    assert_eq!(
        env.call("GET", "/v1/machines/k1", Auth::Admin, None)
            .attr("heartbeatStatus"),
        "ALIVE"
    );
    env.admin.advance_clock(60);
    let r = ping("k2");
    assert_eq!(r.code(), "MACHINE_HEARTBEAT_DEAD");
    assert_eq!(
        env.call("GET", "/v1/machines/k2", Auth::Admin, None).status,
        200
    );

    // Pinging opts a machine into monitoring; reset is admin-only.
    let plain = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    env.activate(&plain, "p1");
    let r = env.call(
        "POST",
        "/v1/machines/p1/actions/ping",
        Auth::License(&plain.key),
        None,
    );
    assert_eq!(
        (r.attr("requireHeartbeat"), r.attr("heartbeatStatus")),
        (&json!(true), &json!("ALIVE"))
    );
    let r = env.call(
        "POST",
        "/v1/machines/p1/actions/reset",
        Auth::License(&plain.key),
        None,
    );
    assert_eq!(r.status, 403);
    let r = env.call(
        "POST",
        "/v1/machines/p1/actions/reset-heartbeat",
        Auth::Admin,
        None,
    );
    assert_eq!(
        (r.attr("heartbeatStatus"), r.attr("lastHeartbeat")),
        (&json!("NOT_STARTED"), &Value::Null)
    );

    // FROM_FIRST_PING with a required heartbeat: NOT_STARTED until pinged.
    let first_ping = env.license(json!({ "requireHeartbeat": true, "heartbeatBasis": "FROM_FIRST_PING", "heartbeatDuration": 60 }));
    env.activate(&first_ping, "fp");
    assert_eq!(
        env.validate(&first_ping, json!({ "fingerprint": "fp" })).1,
        "HEARTBEAT_NOT_STARTED"
    );
    ping("fp");
    assert_eq!(
        env.validate(&first_ping, json!({ "fingerprint": "fp" })).1,
        "VALID"
    );
}

#[test]
fn process_heartbeats() {
    let env = env();
    let lic = env.license(json!({ "heartbeatDuration": 60 }));
    let m = env.activate(&lic, "m").id();
    let p = env.spawn(&m, "42").id();
    let ping = || {
        env.call(
            "POST",
            &format!("/v1/processes/{p}/actions/ping"),
            Auth::Admin,
            None,
        )
    };
    assert_eq!(ping().attr("status"), "ALIVE");
    env.admin.advance_clock(61);
    let r = ping();
    assert_eq!((r.status, r.code()), (422, "PROCESS_HEARTBEAT_DEAD"));
    env.admin.cull();
    assert_eq!(
        env.call("GET", &format!("/v1/processes/{p}"), Auth::Admin, None)
            .status,
        404
    );
    // The machine was never pinged and its policy does not require heartbeats: not culled.
    assert_eq!(
        env.call("GET", "/v1/machines/m", Auth::Admin, None).status,
        200
    );
}

#[test]
fn admin_resources() {
    let env = env();
    let lic = env.license(json!({ "duration": 86_400, "floating": true, "maxMachines": 3 }));
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}", lic.id),
        Auth::Admin,
        None,
    );
    let expiry = r.attr("expiry").as_str().unwrap().to_string();
    assert_eq!(
        (r.attr("maxMachines"), r.attr("status")),
        (&json!(3), &json!("EXPIRING"))
    );
    let renew = env.call(
        "POST",
        &format!("/v1/licenses/{}/actions/renew", lic.id),
        Auth::Admin,
        None,
    );
    assert!(renew.attr("expiry").as_str().unwrap() > expiry.as_str());
    let r = env.call(
        "POST",
        &format!("/v1/licenses/{}/actions/reinstate", lic.id),
        Auth::Admin,
        None,
    );
    assert_eq!(
        (r.status, r.detail(), r.pointer()),
        (422, "is not suspended", "/data/attributes/suspended")
    );
    env.admin.suspend_license(&lic.id);
    let r = env.call(
        "POST",
        &format!("/v1/licenses/{}/actions/suspend", lic.id),
        Auth::Admin,
        None,
    );
    assert_eq!(r.detail(), "is already suspended");
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}", lic.id),
        Auth::Admin,
        None,
    );
    assert_eq!(r.attr("status"), "SUSPENDED");

    let (_, custom) = env.admin.create_license(
        &lic.policy,
        json!({ "key": "MY-CUSTOM-KEY", "maxMachines": 5, "metadata": { "seat": 1 } }),
    );
    assert_eq!(custom, "MY-CUSTOM-KEY");
    let r = env.call("GET", "/v1/licenses/MY-CUSTOM-KEY", Auth::Admin, None);
    assert_eq!(
        (r.attr("maxMachines"), &r.attr("metadata")["seat"]),
        (&json!(5), &json!(1))
    );
    let dup = json!({ "data": { "type": "licenses", "attributes": { "key": "MY-CUSTOM-KEY" },
        "relationships": { "policy": { "data": { "type": "policies", "id": lic.policy } } } } });
    assert_eq!(
        env.call("POST", "/v1/licenses", Auth::Admin, Some(dup))
            .code(),
        "KEY_TAKEN"
    );

    let r = env.call(
        "PATCH",
        &format!("/v1/policies/{}", lic.policy),
        Auth::Admin,
        Some(json!({ "data": { "type": "policies", "attributes": { "maxMachines": 1 } } })),
    );
    assert_eq!((r.status, r.attr("maxMachines")), (200, &json!(1)));
    let bad = |attrs: Value| {
        let body = json!({ "data": { "type": "policies", "attributes": attrs,
            "relationships": { "product": { "data": { "type": "products", "id": lic.product } } } } });
        env.call("POST", "/v1/policies", Auth::Admin, Some(body))
    };
    assert_eq!(
        bad(json!({ "maxMachines": 2 })).code(),
        "MAX_MACHINES_INVALID"
    );
    assert_eq!(
        bad(json!({ "expirationStrategy": "SOMETIMES" })).code(),
        "EXPIRATION_STRATEGY_NOT_ALLOWED"
    );
    assert_eq!(bad(json!({ "duration": 60 })).code(), "DURATION_INVALID");
    assert_eq!(
        bad(json!({ "heartbeatResurrectionStrategy": "ALWAYS_REVIVE" })).code(),
        "HEARTBEAT_CULL_STRATEGY_NOT_ALLOWED"
    );
    assert_eq!(
        bad(json!({ "strict": "yes" })).detail(),
        "type mismatch (received string expected boolean)"
    );
    let body = json!({ "data": { "type": "policies", "attributes": {} } });
    assert_eq!(
        env.call("POST", "/v1/policies", Auth::Admin, Some(body))
            .pointer(),
        "/data/relationships"
    );

    let r = env.call(
        "PATCH",
        &format!("/v1/products/{}", lic.product),
        Auth::Admin,
        Some(json!({ "data": { "type": "products", "attributes": { "name": "Renamed" } } })),
    );
    assert_eq!(r.attr("name"), "Renamed");
    assert_eq!(
        env.call(
            "DELETE",
            &format!("/v1/products/{}", lic.product),
            Auth::Admin,
            None
        )
        .status,
        204
    );
    assert_eq!(
        env.call(
            "GET",
            &format!("/v1/licenses/{}", lic.id),
            Auth::Admin,
            None
        )
        .status,
        404
    );
    assert_eq!(
        env.call(
            "GET",
            &format!("/v1/policies/{}", lic.policy),
            Auth::Admin,
            None
        )
        .status,
        404
    );

    // Keygen's minimum heartbeat duration applies unless lowered.
    let strict_env = env_with(Options::default());
    let product = strict_env.product();
    let body = json!({ "data": { "type": "policies", "attributes": { "heartbeatDuration": 30 },
        "relationships": { "product": { "data": { "type": "products", "id": product } } } } });
    let r = strict_env.call("POST", "/v1/policies", Auth::Admin, Some(body));
    assert_eq!(
        (r.code(), r.detail()),
        (
            "HEARTBEAT_DURATION_INVALID",
            "must be greater than or equal to 60 (1 minute)"
        )
    );
}

#[test]
fn ed25519_signed_keys() {
    use base64::engine::general_purpose::URL_SAFE;
    use base64::Engine;
    use ed25519_dalek::Signature;
    let env = env();
    let lic = env.license(json!({ "scheme": "ED25519_SIGN", "duration": 86_400 * 30 }));
    assert!(lic.key.starts_with("key/"), "{}", lic.key);
    let (signing, sig) = lic.key.rsplit_once('.').unwrap();
    let sig = Signature::from_slice(&URL_SAFE.decode(sig).unwrap()).unwrap();
    env.key
        .verify_strict(signing.as_bytes(), &sig)
        .expect("genuine key");
    let payload: Value = serde_json::from_slice(&URL_SAFE.decode(&signing[4..]).unwrap()).unwrap();
    assert_eq!(payload["license"]["id"], lic.id.as_str());
    assert_eq!(payload["policy"]["duration"], 86_400 * 30);
    assert_eq!(payload["account"]["id"], env.account().as_str());
    assert!(payload["license"]["expiry"].is_string());
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}", lic.id),
        Auth::Admin,
        None,
    );
    assert_eq!(r.attr("scheme"), "ED25519_SIGN");
    assert_eq!(env.validate(&lic, json!({})).1, "VALID");

    let (_, templated) = env.admin.create_license(
        &lic.policy,
        json!({ "key": "{\"id\":\"{{id}}\",\"tier\":\"pro\"}" }),
    );
    let (signing, _) = templated.rsplit_once('.').unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE.decode(&signing[4..]).unwrap()).unwrap();
    assert_eq!(payload["tier"], "pro");
}

#[test]
fn state_file_persists_and_rejects_corruption() {
    let dir = std::env::temp_dir().join(format!("lic-devserver-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    let _ = std::fs::remove_file(&path);
    let opts = || Options {
        state_file: Some(path.clone()),
        bootstrap: true,
        ..Options::default()
    };
    let (account, key, boot) = {
        let env = env_with(opts());
        let boot = env.server.bootstrap().unwrap();
        let lic = env.license(json!({}));
        env.activate(&lic, "persisted");
        env.admin.advance_clock(3600);
        (env.account(), env.server.public_key_hex(), boot)
    };
    let env = env_with(opts());
    assert_eq!((env.account(), env.server.public_key_hex()), (account, key));
    assert_eq!(env.server.bootstrap().unwrap(), boot);
    assert_eq!(
        env.call("GET", "/v1/machines/persisted", Auth::Admin, None)
            .status,
        200
    );
    let (status, clock) = env.admin.request("GET", "/v1/dev/clock", None).unwrap();
    assert_eq!(status, 200);
    let fresh = env_with(Options::default());
    let (_, unshifted) = fresh.admin.request("GET", "/v1/dev/clock", None).unwrap();
    assert!(
        clock["now"].as_str().unwrap() > unshifted["now"].as_str().unwrap(),
        "clock offset kept"
    );
    drop(env);

    std::fs::write(&path, b"{ truncated").unwrap();
    let err = lic_devserver::DevServer::start(opts())
        .err()
        .expect("corrupt state is an error");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("state file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_prints_json_line_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_lic-devserver"))
        .args([
            "--port",
            "0",
            "--bootstrap",
            "--min-heartbeat-duration",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    for k in [
        "base_url",
        "account_id",
        "public_key",
        "admin_token",
        "product_id",
        "policy_id",
        "license_id",
        "license_key",
    ] {
        assert!(info[k].is_string(), "{k} missing in {line}");
    }
    assert_eq!(info["public_key"].as_str().unwrap().len(), 64);
    let addr = info["base_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    let key = info["license_key"].as_str().unwrap();
    let body = json!({ "meta": { "key": key } }).to_string();
    let r = lic_devserver::raw::send(
        &addr,
        "POST",
        "/v1/licenses/actions/validate-key",
        &[],
        body.as_bytes(),
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["meta"]["code"], "NO_MACHINE");
    let auth = format!("License {key}");
    let r =
        lic_devserver::raw::send(&addr, "GET", "/v1/me", &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 200);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

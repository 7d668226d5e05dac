//! Keygen Relay mode over HTTP, each behaviour against its source: `/work/shared/relay-api.md`
//! (§ names below) and keygen-sh/keygen-relay 1.3.0-beta.1 (`internal/server/handler.go`,
//! `middleware.go`, `internal/licenses/manager.go`, `db/queries/*.sql`). License files are
//! checked out of a devserver as a vendor would, then added as `relay add` does. Signatures
//! are checked here with the `hmac` crate, independently of the server's code.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use lic_devserver::{
    checkout_license_file, raw, Admin, DevServer, Options, RawResponse, RelayOptions, RelayServer,
    Strategy,
};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::{Duration, Instant};

/// A devserver with a product and policy, and license files checked out of it.
struct Keygen {
    server: DevServer,
    admin: Admin,
    policy: String,
}

impl Keygen {
    fn new() -> Keygen {
        let server = DevServer::start(Options::default()).unwrap();
        let admin = server.admin();
        let product = admin.create_product("Relay tests");
        let policy = admin.create_policy(
            &product,
            json!({ "name": "seats", "authenticationStrategy": "LICENSE" }),
        );
        Keygen {
            server,
            admin,
            policy,
        }
    }

    /// A new license's (id, key, file).
    fn file(&self) -> (String, String, String) {
        let (id, _) = self.admin.create_license(&self.policy, json!({}));
        let (file, key) = checkout_license_file(&self.admin, &id).unwrap();
        (id, key, file)
    }

    fn relay(&self, opts: RelayOptions) -> RelayServer {
        RelayServer::start(RelayOptions {
            public_key_hex: Some(self.server.public_key_hex()),
            // The reaper thread stays out of the way; tests cull when they mean to.
            cull_interval: Duration::from_secs(3600),
            ..opts
        })
        .unwrap()
    }

    /// A relay with `n` licenses in the global pool; their (id, key, file).
    fn relay_with(
        &self,
        n: usize,
        opts: RelayOptions,
    ) -> (RelayServer, Vec<(String, String, String)>) {
        let relay = self.relay(opts);
        let files: Vec<_> = (0..n).map(|_| self.file()).collect();
        for (id, key, file) in &files {
            assert_eq!(
                relay.add_license(file, key, None).as_deref(),
                Ok(id.as_str())
            );
        }
        (relay, files)
    }
}

fn send(relay: &RelayServer, method: &str, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    raw::send(&relay.addr(), method, path, headers, b"").unwrap()
}

fn put(relay: &RelayServer, node: &str) -> RawResponse {
    send(relay, "PUT", &format!("/v1/nodes/{node}"), &[])
}

fn delete(relay: &RelayServer, node: &str) -> RawResponse {
    send(relay, "DELETE", &format!("/v1/nodes/{node}"), &[])
}

fn pooled(relay: &RelayServer, method: &str, node: &str, pool: &str) -> RawResponse {
    send(
        relay,
        method,
        &format!("/v1/nodes/{node}"),
        &[("Relay-Pool", pool)],
    )
}

fn body(r: &RawResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn text(r: &RawResponse) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

fn clock(r: &RawResponse) -> i64 {
    r.header("relay-clock").unwrap().parse().unwrap()
}

/// Whose license a 201 handed out.
fn key_of(r: &RawResponse) -> String {
    assert_eq!(r.status, 201, "{}", text(r));
    body(r)["license_key"].as_str().unwrap().to_string()
}

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// § Response signatures: `t=<unix>,v1=hex(HMAC-SHA256(S, t + "." + raw_body))`, `t` equal to
/// `Relay-Clock`.
fn assert_signed(r: &RawResponse, secret: &str) {
    let header = r.header("relay-signature").expect("Relay-Signature");
    let (t, v1) = header
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("malformed Relay-Signature {header}"));
    assert_eq!(t, r.header("relay-clock").unwrap());
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(&r.body);
    assert_eq!(v1, hmac_hex(secret, &message), "signature of {}", r.status);
}

#[test]
fn claim_answers_201_with_the_exact_file_and_key_then_202_extends() {
    // § PUT: 201 `{"license_file","license_key","expires_at","expires_in"}` in that order,
    // license_file the standard base64 of the exact bytes given to `relay add`; a re-PUT by
    // the holder is 202 `{"expires_at","expires_in"}` with no file or key. Bodies end in \n.
    let kg = Keygen::new();
    let (relay, files) = kg.relay_with(1, RelayOptions::default());
    let (_, key, file) = &files[0];
    let r = put(&relay, "node-a");
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let t = clock(&r);
    let b = body(&r);
    let expected = format!(
        "{{\"license_file\":\"{}\",\"license_key\":\"{key}\",\"expires_at\":{},\"expires_in\":60}}\n",
        STANDARD.encode(file.as_bytes()),
        b["expires_at"]
    );
    assert_eq!(text(&r), expected);
    let at = b["expires_at"].as_i64().unwrap();
    assert!(
        (t + 60..=t + 61).contains(&at),
        "expires_at {at}, clock {t}"
    );
    let again = put(&relay, "node-a");
    assert_eq!(again.status, 202);
    let at = body(&again)["expires_at"].as_i64().unwrap();
    assert_eq!(
        text(&again),
        format!("{{\"expires_at\":{at},\"expires_in\":60}}\n")
    );
    assert_eq!(relay.licenses()[0].node.as_deref(), Some("node-a"));
    assert_eq!(relay.licenses()[0].claims, 1, "an extension is not a claim");
}

#[test]
fn an_empty_pool_is_410_and_release_is_204_then_404() {
    // § Observed transcript: a, b claim; c gets 410 {"error":"no licenses available"}; DELETE a
    // is 204 with an empty body (still application/json); again 404 {"error":"claim not found"};
    // then c gets a's license.
    let kg = Keygen::new();
    let (relay, _) = kg.relay_with(2, RelayOptions::default());
    let a = key_of(&put(&relay, "node-a"));
    let b = key_of(&put(&relay, "node-b"));
    assert_ne!(a, b);
    let gone = put(&relay, "node-c");
    assert_eq!(gone.status, 410);
    assert_eq!(text(&gone), "{\"error\":\"no licenses available\"}\n");
    let released = delete(&relay, "node-a");
    assert_eq!(released.status, 204);
    assert!(released.body.is_empty());
    assert_eq!(released.header("content-type"), Some("application/json"));
    assert!(released.header("relay-clock").is_some());
    let again = delete(&relay, "node-a");
    assert_eq!(again.status, 404);
    assert_eq!(text(&again), "{\"error\":\"claim not found\"}\n");
    assert_eq!(key_of(&put(&relay, "node-c")), a);
}

#[test]
fn routing_is_gorilla_muxs() {
    // § Endpoints: health is 200 with an empty body and any other method (HEAD too) is 405;
    // a method the route lacks is 405 with no body; an unknown path is 404 "404 page not
    // found" as text; neither runs the middlewares (no Relay-Clock). `{fingerprint}` is
    // matched after decoding: a%20b works, a%2Fb is a 404.
    let kg = Keygen::new();
    let (relay, _) = kg.relay_with(1, RelayOptions::default());
    let health = send(&relay, "GET", "/v1/health", &[]);
    assert_eq!(health.status, 200);
    assert!(health.body.is_empty() && health.header("relay-clock").is_some());
    for (method, path) in [
        ("HEAD", "/v1/health"),
        ("POST", "/v1/health"),
        ("POST", "/v1/nodes/x"),
        ("GET", "/v1/nodes/x"),
    ] {
        let r = send(&relay, method, path, &[]);
        assert_eq!(r.status, 405, "{method} {path}");
        assert!(
            r.body.is_empty() && r.header("relay-clock").is_none(),
            "{method} {path}"
        );
    }
    for path in ["/v1/nope", "/v1/nodes/", "/v1/nodes/a%2Fb", "/v2/nodes/x"] {
        let r = send(&relay, "PUT", path, &[]);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(text(&r), "404 page not found\n");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert!(r.header("relay-clock").is_none());
    }
    assert_eq!(put(&relay, "a%20b").status, 201);
    assert_eq!(relay.licenses()[0].node.as_deref(), Some("a b"));
    assert_eq!(delete(&relay, "a%20b").status, 204);
    // gorilla/mux cleans the path and redirects (301 to the clean path).
    let r = send(&relay, "GET", "/v1//health", &[]);
    assert_eq!((r.status, r.header("location")), (301, Some("/v1/health")));
}

#[test]
fn the_reaper_frees_a_lease_a_ttl_after_the_last_claim() {
    // § Lease semantics: the reaper frees the licenses of nodes with last_heartbeat_at <=
    // now - ttl; each 202 moves last_heartbeat_at; after expiry a PUT from the same
    // fingerprint is a new claim (201) and a DELETE is 404. The relay's clock is moved with
    // the dev extension, so this takes no real time.
    let kg = Keygen::new();
    let (relay, _) = kg.relay_with(
        1,
        RelayOptions {
            ttl: Duration::from_secs(30),
            ..RelayOptions::default()
        },
    );
    key_of(&put(&relay, "node-a"));
    relay.advance_clock(29);
    assert_eq!(relay.cull(), 0);
    assert_eq!(put(&relay, "node-a").status, 202, "extended at 29 s");
    relay.advance_clock(29);
    assert_eq!(relay.cull(), 0, "29 s after the extension");
    assert_eq!(put(&relay, "node-b").status, 410);
    relay.advance_clock(1);
    assert_eq!(relay.cull(), 1, "30 s after the extension");
    assert_eq!(relay.licenses()[0].node, None);
    assert_eq!(delete(&relay, "node-a").status, 404);
    assert_eq!(
        put(&relay, "node-a").status,
        201,
        "a new claim after expiry"
    );
}

#[test]
fn the_reaper_thread_runs_every_cull_interval() {
    // § Lease semantics: a lease lives between ttl and ttl + cull-interval after the last PUT
    // (upstream: ttl 30 s, cull 1 s freed it at 31 s). Here ttl 2 s and cull 1 s, in real time;
    // the upper bound is generous for a loaded machine.
    let kg = Keygen::new();
    let relay = RelayServer::start(RelayOptions {
        public_key_hex: Some(kg.server.public_key_hex()),
        ttl: Duration::from_secs(2),
        min_ttl: Duration::from_secs(1),
        cull_interval: Duration::from_secs(1),
        ..RelayOptions::default()
    })
    .unwrap();
    let (_, key, file) = kg.file();
    relay.add_license(&file, &key, None).unwrap();
    let claimed = Instant::now();
    key_of(&put(&relay, "node-a"));
    while relay.licenses()[0].node.is_some() {
        assert!(claimed.elapsed() < Duration::from_secs(30), "never reaped");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        claimed.elapsed() >= Duration::from_secs(1),
        "reaped after {:?}, before the TTL (whole seconds)",
        claimed.elapsed()
    );
}

#[test]
fn a_ttl_below_30_seconds_is_refused() {
    // § Lease semantics: `relay serve --ttl 10s` prints
    // `error: time-to-live value must be at least 30s` and exits 1.
    let e = RelayServer::start(RelayOptions {
        ttl: Duration::from_secs(10),
        ..RelayOptions::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.to_string(), "time-to-live value must be at least 30s");
}

#[test]
fn without_heartbeats_leases_never_expire_and_a_reclaim_is_409() {
    // § Lease semantics, `--no-heartbeats`: no reaper runs, leases never expire, a re-PUT gets
    // 409 {"error":"failed to claim license due to conflict"}; only DELETE frees a license.
    let kg = Keygen::new();
    let (relay, _) = kg.relay_with(
        1,
        RelayOptions {
            no_heartbeats: true,
            ..RelayOptions::default()
        },
    );
    key_of(&put(&relay, "node-a"));
    let again = put(&relay, "node-a");
    assert_eq!(again.status, 409);
    assert_eq!(
        text(&again),
        "{\"error\":\"failed to claim license due to conflict\"}\n"
    );
    relay.advance_clock(10 * 86_400);
    assert_eq!(relay.cull(), 0);
    assert_eq!(put(&relay, "node-b").status, 410);
    assert_eq!(delete(&relay, "node-a").status, 204);
    assert_eq!(put(&relay, "node-b").status, 201);
}

#[test]
fn pools_are_chosen_by_header_and_the_global_pool_is_not_all_licenses() {
    // § Pools: without --pool, a request without the header uses only the global pool; a
    // header picks a named pool; an unknown one is 400 {"error":"invalid pool header"}; an
    // empty header counts as none. DELETE in the wrong pool is 404; an unknown node is 404
    // before the pool is checked, even when the pool is bogus.
    let kg = Keygen::new();
    let relay = kg.relay(RelayOptions::default());
    let (_, pkey, pfile) = kg.file();
    relay.add_license(&pfile, &pkey, Some("prod")).unwrap();
    assert_eq!(
        put(&relay, "node-a").status,
        410,
        "no license in the global pool"
    );
    let bad = pooled(&relay, "PUT", "node-a", "nonexistent");
    assert_eq!(bad.status, 400);
    assert_eq!(text(&bad), "{\"error\":\"invalid pool header\"}\n");
    assert_eq!(
        pooled(&relay, "PUT", "node-a", "").status,
        410,
        "an empty header is no header"
    );
    assert_eq!(key_of(&pooled(&relay, "PUT", "node-a", "prod")), pkey);
    assert_eq!(pooled(&relay, "PUT", "node-a", "prod").status, 202);
    assert_eq!(delete(&relay, "node-a").status, 404, "wrong pool");
    assert_eq!(pooled(&relay, "DELETE", "ghost", "bogus").status, 404);
    assert_eq!(pooled(&relay, "DELETE", "node-a", "bogus").status, 400);
    assert_eq!(pooled(&relay, "DELETE", "node-a", "prod").status, 204);
    assert_eq!(relay.licenses()[0].pool.as_deref(), Some("prod"));
}

#[test]
fn a_server_with_a_pool_serves_only_it() {
    // § Pools, `relay serve --pool P`: no header uses P, `Relay-Pool: P` is fine, any other
    // value is 400 {"error":"unsupported pool header"}.
    let kg = Keygen::new();
    let relay = kg.relay(RelayOptions {
        pool: Some("prod".into()),
        ..RelayOptions::default()
    });
    let (_, key, file) = kg.file();
    relay.add_license(&file, &key, Some("prod")).unwrap();
    let other = pooled(&relay, "PUT", "node-a", "dev");
    assert_eq!(other.status, 400);
    assert_eq!(text(&other), "{\"error\":\"unsupported pool header\"}\n");
    assert_eq!(key_of(&put(&relay, "node-a")), key);
    assert_eq!(pooled(&relay, "PUT", "node-a", "prod").status, 202);
    assert_eq!(pooled(&relay, "DELETE", "node-a", "dev").status, 400);
    assert_eq!(delete(&relay, "node-a").status, 204);
}

#[test]
fn a_node_holds_one_license_across_pools() {
    // § PUT: nodes are global; a node holding a license in another pool gets 409 if this pool
    // has a free license (the UNIQUE licenses.node_id), 410 if it has none.
    let kg = Keygen::new();
    let relay = kg.relay(RelayOptions::default());
    for pool in ["a", "b", "c"] {
        let (_, key, file) = kg.file();
        relay.add_license(&file, &key, Some(pool)).unwrap();
    }
    key_of(&pooled(&relay, "PUT", "node", "a"));
    key_of(&pooled(&relay, "PUT", "other", "c"));
    assert_eq!(pooled(&relay, "PUT", "node", "b").status, 409);
    assert_eq!(pooled(&relay, "PUT", "node", "c").status, 410);
}

#[test]
fn strategies_pick_the_oldest_the_newest_or_any() {
    // § Strategies: fifo takes created_at ASC, lifo DESC (whole seconds: upstream's lifo
    // test sleeps 1 s between adds; here the relay's clock moves), rand any free one.
    let kg = Keygen::new();
    let files: Vec<_> = (0..2).map(|_| kg.file()).collect();
    for (strategy, first) in [(Strategy::Fifo, 0), (Strategy::Lifo, 1)] {
        let relay = kg.relay(RelayOptions {
            strategy,
            ..RelayOptions::default()
        });
        for (_, key, file) in &files {
            relay.add_license(file, key, None).unwrap();
            relay.advance_clock(1);
        }
        assert_eq!(key_of(&put(&relay, "node")), files[first].1, "{strategy:?}");
    }
    let relay = kg.relay(RelayOptions {
        strategy: Strategy::Rand,
        ..RelayOptions::default()
    });
    for (_, key, file) in &files {
        relay.add_license(file, key, None).unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        seen.insert(key_of(&put(&relay, "node")));
        assert_eq!(delete(&relay, "node").status, 204);
    }
    assert_eq!(
        seen.len(),
        2,
        "rand picked only one of two licenses in 40 claims"
    );
}

#[test]
fn with_a_secret_every_routed_answer_is_signed() {
    // § Response signatures: every routed response (health, 204 and errors included) carries
    // Relay-Clock and, with --signing-secret, Relay-Signature over "t." + raw body (just "t."
    // for 204 and health); unrouted answers carry neither.
    let kg = Keygen::new();
    let (relay, _) = kg.relay_with(
        1,
        RelayOptions {
            signing_secret: Some("hunter2".into()),
            ..RelayOptions::default()
        },
    );
    let answers = [
        put(&relay, "a"),
        put(&relay, "a"),
        put(&relay, "b"),
        delete(&relay, "a"),
        delete(&relay, "a"),
        send(&relay, "GET", "/v1/health", &[]),
        pooled(&relay, "PUT", "a", "nonexistent"),
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 202, 410, 204, 404, 200, 400]);
    for r in &answers {
        assert_signed(r, "hunter2");
    }
    for r in [
        send(&relay, "POST", "/v1/nodes/a", &[]),
        send(&relay, "GET", "/nope", &[]),
    ] {
        assert!(r.header("relay-signature").is_none() && r.header("relay-clock").is_none());
    }
    // Without a secret: the clock, no signature.
    let (plain, _) = kg.relay_with(1, RelayOptions::default());
    let r = put(&plain, "a");
    assert!(r.header("relay-clock").is_some() && r.header("relay-signature").is_none());
}

#[test]
fn relay_add_checks_the_file_once_with_relays_messages() {
    // § What Relay is: `relay add` verifies the Ed25519 signature against --public-key, then
    // decrypts with the license key, then checks the file's own dates; keygen-go's
    // LicenseFileError prints as "license file is invalid". Keys and files are UNIQUE.
    let kg = Keygen::new();
    let relay = kg.relay(RelayOptions::default());
    let (id, key, file) = kg.file();
    let other = RelayServer::start(RelayOptions {
        public_key_hex: Some("11".repeat(32)),
        ..RelayOptions::default()
    })
    .unwrap();
    assert_eq!(
        other.add_license(&file, &key, None),
        Err("license verification failed: license file is invalid".into())
    );
    assert_eq!(
        relay.add_license(&file, "WRONG-KEY", None),
        Err("license decryption failed: license file is invalid".into())
    );
    // A signed but unencrypted file.
    let (status, doc) = kg
        .admin
        .request(
            "POST",
            &format!("/v1/licenses/{id}/actions/check-out"),
            Some(&json!({})),
        )
        .unwrap();
    assert_eq!(status, 200);
    let plain = doc["data"]["attributes"]["certificate"].as_str().unwrap();
    assert_eq!(
        relay.add_license(plain, &key, None),
        Err("license decryption failed: license file is not encrypted".into())
    );
    // A file whose TTL has passed (the relay's clock moved a year on; check-outs last a month).
    let later = kg.relay(RelayOptions::default());
    later.advance_clock(366 * 86_400);
    assert_eq!(
        later.add_license(&file, &key, None),
        Err("license decryption failed: license file is expired".into())
    );
    assert_eq!(relay.add_license(&file, &key, None), Ok(id));
    assert_eq!(
        relay.add_license(&file, &key, None),
        Err("license with the provided key already exists".into())
    );
}

#[test]
fn faults_apply_to_the_relay_too() {
    // The devserver's faults (`/v1/dev/faults`), on the relay's answers: reset, an unsigned
    // 5xx, an answer tampered with after signing, stripped of its signature, signed with
    // another secret, or with a stale time.
    let kg = Keygen::new();
    let (relay, _) = kg.relay_with(
        1,
        RelayOptions {
            signing_secret: Some("s3cret".into()),
            ..RelayOptions::default()
        },
    );
    relay.set_fault(json!({ "mode": "refuse" }));
    assert!(raw::send(&relay.addr(), "PUT", "/v1/nodes/a", &[], b"").is_err());
    relay.set_fault(json!({ "mode": "status", "status": 503 }));
    let r = put(&relay, "a");
    assert_eq!(r.status, 503);
    assert!(r.header("relay-signature").is_none());
    assert_eq!(
        relay.licenses()[0].node,
        None,
        "a faulted request never reaches the relay"
    );
    relay.set_fault(json!({ "mode": "tamper" }));
    let r = put(&relay, "a");
    assert_eq!(r.status, 201);
    let header = r.header("relay-signature").unwrap();
    let mut message = format!("{}.", clock(&r)).into_bytes();
    message.extend_from_slice(&r.body);
    assert!(
        !header.ends_with(&hmac_hex("s3cret", &message)),
        "tampered body still verifies"
    );
    relay.set_fault(json!({ "mode": "unsigned" }));
    let r = put(&relay, "a");
    assert_eq!(r.status, 202);
    assert!(r.header("relay-signature").is_none());
    relay.set_fault(json!({ "mode": "wrong_key" }));
    let r = put(&relay, "a");
    let mut message = format!("{}.", clock(&r)).into_bytes();
    message.extend_from_slice(&r.body);
    assert!(!r
        .header("relay-signature")
        .unwrap()
        .ends_with(&hmac_hex("s3cret", &message)));
    relay.set_fault(json!({ "mode": "stale_date", "skew_seconds": 600 }));
    let r = put(&relay, "a");
    assert_signed(&r, "s3cret");
    assert!(relay.now() - clock(&r) >= 599, "t is 10 minutes old");
    assert_signed(&put(&relay, "a"), "s3cret");
}

#[test]
fn leases_survive_a_restart_with_the_database() {
    // § Lease semantics: leases live in the database (--database); after a restart the
    // holder's PUT gets 202 (upstream's server_signing_secret.test.txt).
    let kg = Keygen::new();
    let dir = std::env::temp_dir().join(format!("relay-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("relay.json");
    let _ = std::fs::remove_file(&db);
    let opts = RelayOptions {
        database: Some(db.clone()),
        ..RelayOptions::default()
    };
    let relay = kg.relay(opts.clone());
    let (_, key, file) = kg.file();
    relay.add_license(&file, &key, None).unwrap();
    key_of(&put(&relay, "node-a"));
    drop(relay);
    let again = kg.relay(opts);
    assert_eq!(put(&again, "node-a").status, 202);
    assert_eq!(put(&again, "node-b").status, 410);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dev_extensions_need_the_admin_token() {
    let kg = Keygen::new();
    let (relay, files) = kg.relay_with(1, RelayOptions::default());
    let r = send(&relay, "GET", "/v1/dev/licenses", &[]);
    assert_eq!(r.status, 401);
    let auth = format!("Bearer {}", relay.admin_token());
    key_of(&put(&relay, "node-a"));
    let r = send(
        &relay,
        "GET",
        "/v1/dev/licenses",
        &[("Authorization", &auth)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(body(&r)["licenses"][0]["id"], files[0].0.as_str());
    assert_eq!(body(&r)["licenses"][0]["node"], "node-a");
    let r = raw::send(
        &relay.addr(),
        "POST",
        "/v1/dev/faults",
        &[("Authorization", &auth)],
        br#"{"mode":"status","status":500}"#,
    )
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(put(&relay, "node-a").status, 500);
}

#[test]
fn the_cli_starts_a_relay_with_license_files_from_its_own_devserver() {
    // `lic-devserver relay --bootstrap N`: a devserver beside the relay, N licenses checked
    // out of it and added; one JSON line on stdout. And Relay's TTL refusal, exit 1.
    let exe = env!("CARGO_BIN_EXE_lic-devserver");
    let out = std::process::Command::new(exe)
        .args(["relay", "--ttl", "10s", "--bootstrap", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("time-to-live value must be at least 30s")
    );
    let mut child = std::process::Command::new(exe)
        .args([
            "relay",
            "--bootstrap",
            "2",
            "--ttl",
            "30s",
            "--signing-secret",
            "k",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let addr = info["relay_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://");
    let r = raw::send(addr, "PUT", "/v1/nodes/n", &[], b"").unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r.status, 201);
    assert_eq!(info["licenses"].as_array().unwrap().len(), 2);
    assert_eq!(body(&r)["expires_in"], 30);
    assert!(info["keygen_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
}

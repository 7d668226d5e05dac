//! How long lic-portal takes to answer an activation, against an in-process
//! lic-devserver on loopback: a new machine (validate, activate, validate,
//! check out, verify the file offline) and an already activated one
//! (validate, machine lookup, check out, verify), each beside the same lic
//! calls made directly, without the portal and HTTP in between.
//!
//!     cargo run --release -p lic-portal --example bench_activate [N]
//!
//! Sequential requests (a person at a time), N licenses (default 200).

use std::time::{Duration, Instant};

use lic::activation::{ActivationRequest, RequestOptions};
use lic::client::{VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY};
use lic::machine::HostFacts;
use lic_devserver::{DevServer, Options as DevOptions};
use lic_portal::{LogTo, Options, Portal};
use serde_json::{json, Value};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} p50 {:>6.2} ms   p90 {:>6.2} ms   max {:>6.2} ms   (n={})",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(*times.last().unwrap()),
        times.len()
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let server = DevServer::start(DevOptions::default()).unwrap();
    let admin = server.admin();
    let product = admin.create_product("Bench");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "node-locked", "authenticationStrategy": "LICENSE",
                "strict": true, "floating": false, "maxMachines": 1 }),
    );
    let log = std::env::temp_dir().join(format!("lic-portal-bench-{}.log", std::process::id()));
    let portal = Portal::start(Options {
        api_url: server.base_url(),
        account_id: server.account_id(),
        public_key: server.public_key_hex(),
        log: LogTo::File(log.clone()),
        ..Options::default()
    })
    .unwrap();
    let url = format!("{}api/activate", portal.url());
    let agent = ureq::AgentBuilder::new().build();
    let public_key = lic::crypto::PublicKey::from_hex(&server.public_key_hex()).unwrap();
    let request = |key: &str, fingerprint: &str| -> String {
        let device = lic::Client::new(lic::Config {
            account_id: Some(server.account_id()),
            license_key: Some(key.into()),
            fingerprint: Some(fingerprint.into()),
            no_cache: true,
            ..lic::Config::default()
        })
        .unwrap();
        device
            .activation_request(&RequestOptions {
                portal_url: Some(portal.url()),
                app_name: Some("Bench".into()),
                ..RequestOptions::default()
            })
            .unwrap()
            .text()
            .to_string()
    };
    let post = |text: &str| -> (Duration, Value) {
        let start = Instant::now();
        let body: Value = agent
            .post(&url)
            .set("Content-Type", "application/json")
            .send_string(&json!({ "request": text }).to_string())
            .unwrap()
            .into_json()
            .unwrap();
        (start.elapsed(), body)
    };
    // The same work through lic directly (what the portal adds is the rest).
    let direct = |text: &str, new: bool| -> Duration {
        let start = Instant::now();
        let r = ActivationRequest::parse(text).unwrap();
        let client = lic::Client::new(lic::Config {
            account_id: Some(server.account_id()),
            base_url: server.base_url(),
            license_key: Some(r.license_key.clone()),
            public_keys: lic::crypto::KeySet::of(public_key.clone()),
            fingerprint: Some(r.fingerprint.clone()),
            no_cache: true,
            ..lic::Config::default()
        })
        .unwrap();
        client.validate(VALIDATE_ONLINE_ONLY).unwrap();
        if new {
            client
                .activate_as(&HostFacts {
                    hostname: r.hostname.clone(),
                    platform: r.platform.clone(),
                    cores: None,
                })
                .unwrap();
            client.validate(VALIDATE_ONLINE_ONLY).unwrap();
        }
        let file = client.checkout_machine_file().unwrap();
        client.load_file(&file).unwrap();
        client.validate(VALIDATE_OFFLINE_ONLY).unwrap();
        start.elapsed()
    };

    // Warm up both paths.
    for i in 0..5 {
        let (_, key) = admin.create_license(&policy, json!({}));
        let text = request(&key, &format!("warm-{i}"));
        post(&text);
        post(&text);
    }
    let (mut new_portal, mut again_portal, mut new_direct, mut again_direct) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let (_, key) = admin.create_license(&policy, json!({}));
        let text = request(&key, &format!("bench-portal-{i}"));
        let (t, body) = post(&text);
        assert_eq!(body["outcome"], "activated", "{body}");
        new_portal.push(t);
        let (t, body) = post(&text);
        assert_eq!(body["outcome"], "already_activated", "{body}");
        again_portal.push(t);

        let (_, key) = admin.create_license(&policy, json!({}));
        let text = request(&key, &format!("bench-direct-{i}"));
        new_direct.push(direct(&text, true));
        again_direct.push(direct(&text, false));
    }
    println!("lic-portal response time, sequential, devserver on loopback:");
    report("activated (new machine), through the portal", new_portal);
    report("activated (new machine), lic calls directly", new_direct);
    report("already activated, through the portal", again_portal);
    report("already activated, lic calls directly", again_direct);
    let _ = std::fs::remove_file(log);
}

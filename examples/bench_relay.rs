//! Measures the Keygen Relay path against an in-process lic-devserver and its relay mode, on
//! loopback: the latency of `validate` when it claims a new lease (PUT 201, then the license
//! file's Ed25519 verification and AES-GCM decryption, and the cached copy written) and when
//! it extends one (PUT 202), beside a bare PUT; and the renewals the heartbeat thread sends per
//! hour for a lease TTL, counted over real time.
//!
//!     cargo run --release --example bench_relay
//!
//! `LIC_BENCH_CLAIMS` (default 200), `LIC_BENCH_SECONDS` (default 30, per TTL) and
//! `LIC_BENCH_TTLS` (seconds, default `2,4,8`; Relay's own minimum is 30) change the samples.

use std::time::{Duration, Instant};

use lic::client::Client;
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic_devserver::{DevServer, Options, RelayOptions, RelayServer};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what:<48} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  (n = {})",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.9).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let claims = env("LIC_BENCH_CLAIMS", 200) as usize;
    let seconds = env("LIC_BENCH_SECONDS", 30);
    let keygen = DevServer::start(Options::default())?;
    let admin = keygen.admin();
    let product = admin.create_product("bench");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "seats", "authenticationStrategy": "LICENSE" }),
    );
    let dir = std::env::temp_dir().join(format!("lic-bench-relay-{}", std::process::id()));
    let config = |relay: &RelayServer, machine: &str| Config {
        account_id: Some(keygen.account_id()),
        public_keys: KeySet::of(PublicKey::from_hex(&keygen.public_key_hex()).unwrap()),
        relay_url: Some(relay.url()),
        fingerprint: Some(machine.to_string()),
        cache_dir: Some(dir.join(machine)),
        ..Config::default()
    };
    let relay = |opts: RelayOptions| -> Result<RelayServer, Box<dyn std::error::Error>> {
        let r = RelayServer::start(RelayOptions {
            public_key_hex: Some(keygen.public_key_hex()),
            ..opts
        })?;
        let (id, _) = admin.create_license(&policy, json!({}));
        r.add_from_devserver(&admin, &id, None)?;
        Ok(r)
    };

    println!("relay claim latency, release build, loopback ({claims} samples each):");
    let r = relay(RelayOptions::default())?;
    // A claim by a new machine: a new client each time (its first validate claims), then
    // released so that the one license is free again.
    let mut new_lease = Vec::with_capacity(claims);
    let mut extend = Vec::with_capacity(claims);
    let mut bare = Vec::with_capacity(claims);
    for i in 0..claims {
        let client = Client::new(config(&r, &format!("machine-{i}")))?;
        let t = Instant::now();
        let v = client.validate(0)?;
        new_lease.push(t.elapsed());
        assert_eq!(v.source, lic::model::Source::Relay);
        let t = Instant::now();
        client.validate(0)?;
        extend.push(t.elapsed());
        client.shutdown(); // releases
    }
    // The same without the cache directory: no cached copy written (and fsynced).
    let mut uncached = Vec::with_capacity(claims);
    for i in 0..claims {
        let client = Client::new(Config {
            no_cache: true,
            ..config(&r, &format!("uncached-{i}"))
        })?;
        let t = Instant::now();
        client.validate(0)?;
        uncached.push(t.elapsed());
        client.shutdown();
    }
    for i in 0..claims {
        let path = format!("/v1/nodes/bare-{i}");
        let t = Instant::now();
        let resp = lic_devserver::raw::send(&r.addr(), "PUT", &path, &[], b"")?;
        bare.push(t.elapsed());
        assert_eq!(resp.status, 201);
        lic_devserver::raw::send(&r.addr(), "DELETE", &path, &[], b"")?;
    }
    report("validate, new lease (201 + verify + decrypt)", new_lease);
    report("validate, new lease, no cache written", uncached);
    report("validate, lease extended (202)", extend);
    report("bare PUT 201 (new connection, no lic)", bare);

    println!("\nrenewals by the heartbeat thread ({seconds} s per TTL, reaper every second):");
    let ttls: Vec<u64> = std::env::var("LIC_BENCH_TTLS")
        .unwrap_or_else(|_| "2,4,8".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    for ttl in ttls {
        let r = relay(RelayOptions {
            ttl: Duration::from_secs(ttl),
            min_ttl: Duration::from_secs(1),
            cull_interval: Duration::from_secs(1),
            ..RelayOptions::default()
        })?;
        let client = Client::new(config(&r, &format!("renewing-{ttl}")))?;
        client.validate(0)?;
        let before = client.heartbeat_stats();
        let started = Instant::now();
        // Each LEASE_RENEWED's arrival (polled every 10 ms): the rate is taken between the
        // first and the last renewal, so the window's edges do not count.
        let (mut renewed, mut lost) = (Vec::new(), 0);
        while started.elapsed() < Duration::from_secs(seconds) {
            while let Some(e) = client.poll_event() {
                match e.kind {
                    lic::events::EventKind::LeaseRenewed => renewed.push(Instant::now()),
                    lic::events::EventKind::LeaseLost => lost += 1,
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let after = client.heartbeat_stats();
        let n = renewed.len();
        let span = match (renewed.first(), renewed.last()) {
            (Some(a), Some(b)) if n > 1 => (*b - *a).as_secs_f64(),
            _ => 0.0,
        };
        let per_hour = if span > 0.0 {
            (n - 1) as f64 * 3600.0 / span
        } else {
            0.0
        };
        println!(
            "TTL {ttl:>2} s: {n} renewals in {seconds} s, one every {:.2} s = {per_hour:.0}/hour (3600 / (TTL/2) = {:.0}); {} wake-ups; leases lost: {lost}",
            if n > 1 { span / (n - 1) as f64 } else { 0.0 },
            3600.0 / (ttl as f64 / 2.0),
            after.wakeups - before.wakeups
        );
        client.shutdown();
    }
    println!(
        "so at Relay's default TTL of 60 s: {:.0} renewals/hour; at its minimum, 30 s: {:.0}/hour",
        3600.0 / 30.0,
        3600.0 / 15.0
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

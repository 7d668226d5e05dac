//! Measures the heartbeat thread while idle: wake-ups per ping round and CPU
//! time with 16 slots held for a minute, against an in-process
//! lic-devserver (heartbeatDuration 10 s, so a ping round every 5 s).
//!
//!     cargo run --release --example bench_heartbeat
//!
//! `LIC_BENCH_SECONDS` changes the measured time (default 60).

use std::time::{Duration, Instant};

use lic::client::Client;
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic_devserver::{DevServer, Options};
use serde_json::json;

const SLOTS: usize = 16;
const HEARTBEAT_DURATION: u64 = 10;

/// CPU time of this process's threads named `name`, from the scheduler's
/// per-thread nanosecond counter.
fn thread_cpu(name: &str) -> Duration {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let ns = std::fs::read_to_string(task.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        total += Duration::from_nanos(ns);
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::var("LIC_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let server = DevServer::start(Options {
        min_heartbeat_duration: Some(1),
        ..Options::default()
    })?;
    let admin = server.admin();
    let product = admin.create_product("bench");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "bench", "authenticationStrategy": "LICENSE", "floating": true,
                "maxMachines": 1, "maxProcesses": SLOTS, "heartbeatDuration": HEARTBEAT_DURATION }),
    );
    let (_, key) = admin.create_license(&policy, json!({}));
    let client = Client::new(Config {
        account_id: Some(server.account_id()),
        base_url: server.base_url(),
        license_key: Some(key),
        public_keys: KeySet::of(PublicKey::from_hex(&server.public_key_hex())?),
        fingerprint: Some("bench-machine".into()),
        cache_dir: Some(std::env::temp_dir().join("lic-bench-heartbeat")),
        ..Config::default()
    })?;
    client.activate()?;
    let slots = (0..SLOTS)
        .map(|_| client.acquire_process_slot(Some("bench")))
        .collect::<Result<Vec<_>, _>>()?;

    let before = client.heartbeat_stats();
    let cpu_before = thread_cpu("lic-heartbeat");
    let started = Instant::now();
    println!("holding {SLOTS} slots for {seconds} s (heartbeatDuration {HEARTBEAT_DURATION} s, ping every {} s)…", HEARTBEAT_DURATION / 2);
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = started.elapsed();
    let after = client.heartbeat_stats();
    let cpu = thread_cpu("lic-heartbeat").saturating_sub(cpu_before);

    let wakeups = after.wakeups - before.wakeups;
    let pings = after.pings - before.pings;
    let rounds = pings as f64 / SLOTS as f64;
    println!("elapsed:                    {:.1} s", elapsed.as_secs_f64());
    println!("pings sent:                 {pings} ({rounds:.1} rounds of {SLOTS})");
    println!("thread wake-ups:            {wakeups}");
    println!(
        "wake-ups per ping round:    {:.2}",
        wakeups as f64 / rounds.max(1.0)
    );
    println!(
        "wake-ups per slot ping:     {:.3}",
        wakeups as f64 / (pings.max(1)) as f64
    );
    println!(
        "heartbeat thread CPU:       {:.1} ms total, {:.3} ms per ping, {:.4} % of one core",
        cpu.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3 / pings.max(1) as f64,
        cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0
    );
    let held = slots.iter().filter(|s| s.is_held()).count();
    println!("slots still held:           {held}/{SLOTS}");
    for s in &slots {
        s.release()?;
    }
    Ok(())
}

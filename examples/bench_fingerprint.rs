//! Measures (1) what collecting this machine's hardware components costs
//! when a client first needs them (the OS machine id, DMI, /proc/cpuinfo,
//! the root disk's serial, the physical NICs, each hashed), and (2) the
//! background revalidation's CPU: the "lic-heartbeat" thread revalidates
//! every `LIC_BENCH_INTERVAL` seconds (default 1) for `LIC_BENCH_SECONDS`
//! (default 30) against an in-process lic-devserver, with a public key (so
//! every answer is signature-checked) — then the cost of one revalidation is
//! scaled to the default interval (one per hour).
//!
//!     cargo run --release --example bench_fingerprint

use std::time::{Duration, Instant};

use lic::client::{Client, DEFAULT_REVALIDATION_INTERVAL, VALIDATE_AUTO_ACTIVATE};
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic::machine::{components, environment};
use lic_devserver::{DevServer, Options};
use serde_json::json;

/// CPU time of this process's threads named `name` (the scheduler's
/// per-thread nanosecond counter).
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // (1) Component collection, as a client's first use does it.
    let runs = 300;
    let mut times = Vec::with_capacity(runs);
    let mut count = 0;
    for i in 0..runs {
        let started = Instant::now();
        let cs = components::collect(&format!("bench-{i}"), &[]);
        times.push(started.elapsed());
        count = cs.iter().filter(|c| c.sendable()).count();
    }
    times.sort();
    let mut env_times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let _ = environment::detect();
            started.elapsed()
        })
        .collect();
    env_times.sort();
    println!("component collection ({count} sendable here), {runs} runs:");
    println!(
        "  p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        times[runs - 1].as_secs_f64() * 1e6
    );
    println!(
        "environment detection: p50 {:.1} µs, p99 {:.1} µs",
        percentile(&env_times, 0.5).as_secs_f64() * 1e6,
        percentile(&env_times, 0.99).as_secs_f64() * 1e6
    );

    // (2) Background revalidation CPU.
    let seconds = env_u64("LIC_BENCH_SECONDS", 30);
    let interval = Duration::from_secs(env_u64("LIC_BENCH_INTERVAL", 1));
    let server = DevServer::start(Options::default())?;
    let admin = server.admin();
    let product = admin.create_product("bench");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "bench", "authenticationStrategy": "LICENSE", "strict": true,
                "floating": false, "maxMachines": 1 }),
    );
    let (_, key) = admin.create_license(&policy, json!({}));
    let cache = std::env::temp_dir().join(format!("lic-bench-fingerprint-{}", std::process::id()));
    let client = Client::new(Config {
        account_id: Some(server.account_id()),
        base_url: server.base_url(),
        license_key: Some(key),
        public_keys: KeySet::of(PublicKey::from_hex(&server.public_key_hex())?),
        fingerprint: Some("bench-machine".into()),
        cache_dir: Some(cache.clone()),
        offline_grace: Some(Duration::from_secs(7 * 86_400)),
        ..Config::default()
    })?;
    client.validate(VALIDATE_AUTO_ACTIVATE)?;
    client.start_revalidation(interval)?;
    let cpu_before = thread_cpu("lic-heartbeat");
    let started = Instant::now();
    println!(
        "revalidating every {} s for {seconds} s (measured, then scaled to the default {} s)…",
        interval.as_secs(),
        DEFAULT_REVALIDATION_INTERVAL.as_secs()
    );
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = started.elapsed();
    let cpu = thread_cpu("lic-heartbeat").saturating_sub(cpu_before);
    let stats = client.heartbeat_stats();
    let per_run = cpu / stats.revalidations.max(1) as u32;
    let per_hour_runs = 3600.0 / DEFAULT_REVALIDATION_INTERVAL.as_secs_f64();
    let per_hour = per_run.as_secs_f64() * per_hour_runs;
    println!(
        "revalidations:              {} in {:.1} s",
        stats.revalidations,
        elapsed.as_secs_f64()
    );
    println!("thread wake-ups:            {}", stats.wakeups);
    println!(
        "thread CPU:                 {:.1} ms total, {:.3} ms per revalidation",
        cpu.as_secs_f64() * 1e3,
        per_run.as_secs_f64() * 1e3
    );
    println!(
        "at the default interval:    {:.2} ms of CPU per hour ({:.6} % of one core), scaled from the run above",
        per_hour * 1e3,
        per_hour / 3600.0 * 100.0
    );
    // At an hourly interval each run also re-reads the entitlements (their
    // cache lasts 10 minutes): one more signed GET of about the same cost.
    println!(
        "  with the entitlements re-read each hourly run: ≈ {:.2} ms per hour",
        per_hour * 2.0 * 1e3
    );
    client.shutdown();
    let _ = std::fs::remove_dir_all(cache);
    Ok(())
}

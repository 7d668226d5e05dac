//! Process slots and heartbeats against lic-devserver with short heartbeat
//! durations (real time) and its dev clock: limits per machine and per
//! license, slots kept alive across intervals, outages shorter and longer
//! than the window, server-declared deaths, the machine monitor, events,
//! killed and gracefully exiting holder processes, and no leaks after free.

mod common;

use std::ffi::{c_char, CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::ptr::{null, null_mut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Env;
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_ONLINE_ONLY};
use lic::error::ErrorKind;
use lic::events::{Event, EventKind};
use lic::model::{Source, ValidationCode as Code};
use serde_json::{json, Value};

/// A floating policy (room for several machines) with process settings.
fn policy(env: &Env, attrs: Value) -> String {
    let mut a = json!({ "strict": true, "floating": true, "maxMachines": 10 });
    a.as_object_mut()
        .unwrap()
        .extend(attrs.as_object().unwrap().clone());
    env.policy(a)
}

fn activated(env: &Env, key: &str, fp: &str) -> Client {
    let c = env.client(key, fp);
    c.activate().expect("activate");
    c
}

/// Polls `cond` every 50 ms until it holds or `within` passes.
fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Collects a client's queued events.
struct Seen(Vec<Event>);

impl Seen {
    fn drain(&mut self, c: &Client) -> &[Event] {
        while let Some(e) = c.poll_event() {
            self.0.push(e);
        }
        &self.0
    }
    fn count(&mut self, c: &Client, kind: EventKind) -> usize {
        self.drain(c).iter().filter(|e| e.kind == kind).count()
    }
}

fn process_status(env: &Env, id: &str) -> Option<String> {
    let (status, v) = env
        .admin
        .request("GET", &format!("/v1/processes/{id}"), None)
        .unwrap();
    (status == 200).then(|| {
        v["data"]["attributes"]["status"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn process_count(env: &Env) -> usize {
    let (_, v) = env.admin.request("GET", "/v1/processes", None).unwrap();
    v["data"].as_array().map_or(0, Vec::len)
}

#[test]
fn per_machine_limit_acquire_release_acquire() {
    let env = Env::new();
    let p = policy(
        &env,
        json!({ "maxProcesses": 2, "processLeasingStrategy": "PER_MACHINE" }),
    );
    let (_, key) = env.license(&p);
    let a = activated(&env, &key, "fp-pm-a");
    let b = activated(&env, &key, "fp-pm-b");
    let s1 = a.acquire_process_slot(Some("render 1")).unwrap();
    let s2 = a.acquire_process_slot(None).unwrap();
    assert_ne!(s1.id(), s2.id());
    let e = a.acquire_process_slot(None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::ProcessLimitExceeded);
    assert!(e.message.contains("MACHINE_PROCESS_LIMIT_EXCEEDED"), "{e}");
    assert!(e.message.contains("(2)"), "limit in {e}");
    assert!(e.message.contains("2 processes are currently held"), "{e}");
    // Another machine has its own two.
    let _b1 = b.acquire_process_slot(None).unwrap();
    let _b2 = b.acquire_process_slot(None).unwrap();
    assert_eq!(a.validate(0).unwrap().process_slots, 2);

    s1.release().unwrap();
    s1.release().unwrap(); // idempotent
    assert_eq!(a.process_slots(), 1);
    let s3 = a.acquire_process_slot(None).unwrap();
    let (_, v) = env
        .admin
        .request("GET", &format!("/v1/processes/{}", s3.id()), None)
        .unwrap();
    let pid = v["data"]["attributes"]["pid"].as_str().unwrap();
    assert!(
        pid.starts_with(&format!("{}-", std::process::id())),
        "{pid}"
    );
    let (_, v) = env
        .admin
        .request("GET", &format!("/v1/processes/{}", s2.id()), None)
        .unwrap();
    assert_eq!(v["data"]["attributes"]["metadata"]["label"], Value::Null);
    drop(s3);
    drop(s2);
}

#[test]
fn per_license_limit_counts_every_machine() {
    let env = Env::new();
    let p = policy(
        &env,
        json!({ "maxProcesses": 2, "processLeasingStrategy": "PER_LICENSE" }),
    );
    let (_, key) = env.license(&p);
    let a = activated(&env, &key, "fp-pl-a");
    let b = activated(&env, &key, "fp-pl-b");
    let a1 = a.acquire_process_slot(None).unwrap();
    let _b1 = b.acquire_process_slot(None).unwrap();
    let e = b.acquire_process_slot(None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::ProcessLimitExceeded);
    assert!(e.message.contains("for license (2)"), "{e}");
    a1.release().unwrap();
    let _b2 = b.acquire_process_slot(None).unwrap();
    assert_eq!((a.process_slots(), b.process_slots()), (0, 2));
}

#[test]
fn acquiring_needs_an_activated_machine() {
    let env = Env::new();
    let (_, key) = env.license(&policy(&env, json!({ "maxProcesses": 2 })));
    let c = env.client(&key, "fp-not-activated");
    let e = c.acquire_process_slot(None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::MachineNotActivated);
}

#[test]
fn slots_stay_alive_across_heartbeat_intervals() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 4, "heartbeatDuration": 2 }));
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-alive");
    let slots: Vec<_> = (0..3)
        .map(|_| c.acquire_process_slot(None).unwrap())
        .collect();
    let mut seen = Seen(Vec::new());
    // Three intervals: without heartbeats every slot would be dead by now.
    std::thread::sleep(Duration::from_millis(6200));
    for s in &slots {
        assert_eq!(process_status(&env, &s.id()).as_deref(), Some("ALIVE"));
        assert!(s.is_held());
    }
    let sent = seen.count(&c, EventKind::HeartbeatSent);
    assert!(sent >= 3 * 4, "heartbeats sent: {sent}");
    let stats = c.heartbeat_stats();
    // One wake-up serves the three slots acquired together.
    assert!(stats.wakeups * 2 <= stats.pings, "{stats:?}");
    assert_eq!(seen.count(&c, EventKind::SlotLost), 0);
}

#[test]
fn an_outage_shorter_than_the_window_loses_nothing() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 1, "heartbeatDuration": 10 }));
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-short");
    let slot = c.acquire_process_slot(None).unwrap();
    let id = slot.id();
    std::thread::sleep(Duration::from_secs(2));
    env.admin
        .set_fault(json!({ "mode": "offline", "path": "/v1/processes" }));
    let mut seen = Seen(Vec::new());
    assert!(eventually(Duration::from_secs(6), || seen
        .count(&c, EventKind::HeartbeatFailed)
        > 0));
    std::thread::sleep(Duration::from_millis(500));
    env.admin.clear_faults();
    assert!(eventually(Duration::from_secs(3), || seen
        .count(&c, EventKind::HeartbeatSent)
        > 0));
    let failed: Vec<&Event> = seen
        .drain(&c)
        .iter()
        .filter(|e| e.kind == EventKind::HeartbeatFailed)
        .collect();
    assert!(failed[0].attempt == 1 && failed[0].slot_id.as_deref() == Some(id.as_str()));
    assert!(failed.iter().all(|e| e
        .time_left
        .is_some_and(|t| t > Duration::ZERO && t < Duration::from_secs(6))));
    assert_eq!(seen.count(&c, EventKind::SlotLost), 0);
    assert_eq!(slot.id(), id);
    assert_eq!(process_status(&env, &id).as_deref(), Some("ALIVE"));
}

#[test]
fn an_outage_longer_than_the_window_loses_the_slot_and_recovers_it() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 1, "heartbeatDuration": 2 }));
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-long");
    let slot = c.acquire_process_slot(None).unwrap();
    let old = slot.id();
    env.admin
        .set_fault(json!({ "mode": "offline", "path": "/v1/processes" }));
    let mut seen = Seen(Vec::new());
    assert!(eventually(Duration::from_secs(6), || seen
        .count(&c, EventKind::SlotLost)
        > 0));
    assert!(!slot.is_held());
    env.admin.clear_faults();
    assert!(eventually(Duration::from_secs(6), || seen
        .count(&c, EventKind::SlotRecovered)
        > 0));
    assert!(slot.is_held());
    let new = slot.id();
    assert_ne!(new, old);
    assert_eq!(process_status(&env, &new).as_deref(), Some("ALIVE"));
    // The dead process was deleted, so the one seat is ours again.
    assert_eq!(process_status(&env, &old), None);
    let recovered = seen
        .drain(&c)
        .iter()
        .find(|e| e.kind == EventKind::SlotRecovered)
        .unwrap()
        .clone();
    assert_eq!(recovered.slot_id.as_deref(), Some(new.as_str()));
}

#[test]
fn a_slot_the_server_declares_dead_is_replaced() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 1, "heartbeatDuration": 2 }));
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-dead");
    let slot = c.acquire_process_slot(None).unwrap();
    let old = slot.id();
    env.admin.advance_clock(10);
    let mut seen = Seen(Vec::new());
    assert!(eventually(Duration::from_secs(4), || seen
        .count(&c, EventKind::SlotRecovered)
        > 0));
    let lost = seen
        .drain(&c)
        .iter()
        .find(|e| e.kind == EventKind::SlotLost)
        .unwrap()
        .clone();
    assert!(
        lost.message.contains("PROCESS_HEARTBEAT_DEAD"),
        "{}",
        lost.message
    );
    assert_ne!(slot.id(), old);
    assert_eq!(process_count(&env), 1);
}

#[test]
fn a_slot_refused_for_good_is_reported_and_left_alone() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 1, "heartbeatDuration": 2 }));
    let (license, key) = env.license(&p);
    let c = activated(&env, &key, "fp-suspended");
    let slot = c.acquire_process_slot(None).unwrap();
    env.admin.suspend_license(&license);
    let mut seen = Seen(Vec::new());
    assert!(eventually(Duration::from_secs(4), || seen
        .count(&c, EventKind::SlotLost)
        > 0));
    let pings = c.heartbeat_stats().pings;
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        c.heartbeat_stats().pings,
        pings,
        "no retries after a refusal"
    );
    assert!(!slot.is_held());
    slot.release().unwrap();
}

#[test]
fn validation_reports_too_many_processes_and_the_slots_held() {
    let env = Env::new();
    let p = policy(&env, json!({ "maxProcesses": 3 }));
    let (license, key) = env.license(&p);
    let c = activated(&env, &key, "fp-tmp");
    let _s: Vec<_> = (0..2)
        .map(|_| c.acquire_process_slot(None).unwrap())
        .collect();
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.process_slots), (Code::Valid, 2));
    env.admin
        .update_license(&license, json!({ "maxProcesses": 1 }));
    let v = c.validate(0).unwrap();
    assert_eq!(v.code, Code::TooManyProcesses);
    assert!(!v.valid);
    assert_eq!(v.process_slots, 2);
}

#[test]
fn machine_heartbeat_monitor() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(
        &env,
        json!({ "requireHeartbeat": true, "heartbeatDuration": 2 }),
    );
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-machine");
    c.start_machine_heartbeat().unwrap();
    c.start_machine_heartbeat().unwrap(); // already started
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(c.validate(VALIDATE_ONLINE_ONLY).unwrap().code, Code::Valid);
    let mut seen = Seen(Vec::new());
    assert!(seen.count(&c, EventKind::HeartbeatSent) >= 3);

    env.admin.advance_clock(10);
    assert!(eventually(Duration::from_secs(3), || seen
        .count(&c, EventKind::MachineHeartbeatDead)
        > 0));
    let dead = seen
        .drain(&c)
        .iter()
        .find(|e| e.kind == EventKind::MachineHeartbeatDead)
        .unwrap()
        .clone();
    assert!(
        dead.message.contains("MACHINE_HEARTBEAT_DEAD"),
        "{}",
        dead.message
    );
    assert_eq!(
        c.validate(VALIDATE_ONLINE_ONLY).unwrap().code,
        Code::HeartbeatDead
    );
    assert_eq!(
        c.start_machine_heartbeat().unwrap_err().kind,
        ErrorKind::HeartbeatDead
    );
    c.stop_machine_heartbeat();
}

#[test]
fn stopping_the_machine_monitor_stops_its_pings() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(
        &env,
        json!({ "requireHeartbeat": true, "heartbeatDuration": 2 }),
    );
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-machine-stop");
    c.start_machine_heartbeat().unwrap();
    c.stop_machine_heartbeat();
    c.stop_machine_heartbeat();
    let pings = c.heartbeat_stats().pings;
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(c.heartbeat_stats().pings, pings);
    assert_eq!(
        c.validate(VALIDATE_ONLINE_ONLY).unwrap().code,
        Code::HeartbeatDead
    );
}

#[test]
fn validation_events_follow_the_verdict_and_the_source() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-events");
    let mut seen = Seen(Vec::new());
    assert_eq!(c.validate(0).unwrap().code, Code::NoMachine);
    assert!(seen.drain(&c).is_empty());
    c.activate().unwrap();
    assert_eq!(c.validate(0).unwrap().code, Code::Valid);
    env.admin
        .set_fault(json!({ "mode": "offline", "path": "validate-key" }));
    assert_eq!(c.validate(0).unwrap().source, Source::CachedFile);
    assert_eq!(c.validate(0).unwrap().source, Source::CachedFile);
    env.admin.clear_faults();
    assert_eq!(c.validate(0).unwrap().source, Source::Online);
    let kinds: Vec<EventKind> = seen.drain(&c).iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::LicenseStateChanged,
            EventKind::OfflineEntered,
            EventKind::OfflineLeft
        ]
    );
    assert_eq!(seen.0[0].message, "NO_MACHINE -> VALID");
}

#[test]
fn an_event_callback_replaces_the_queue() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 1, "heartbeatDuration": 2 }));
    let (_, key) = env.license(&p);
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let mut cfg = env.config(&key, "fp-callback");
    cfg.events = Some(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.kind)));
    let c = Client::new(cfg).unwrap();
    c.activate().unwrap();
    let _slot = c.acquire_process_slot(None).unwrap();
    assert!(eventually(Duration::from_secs(3), || got
        .lock()
        .unwrap()
        .contains(&EventKind::HeartbeatSent)));
    assert!(c.poll_event().is_none());
}

#[test]
fn a_freed_handle_keeps_its_slot_until_the_client_is_dropped() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 2, "heartbeatDuration": 2 }));
    let (_, key) = env.license(&p);
    let c = activated(&env, &key, "fp-orphan");
    let slot = c.acquire_process_slot(None).unwrap();
    let id = slot.id();
    let released = c.acquire_process_slot(None).unwrap();
    released.release().unwrap();
    drop(released);
    drop(slot);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(process_status(&env, &id).as_deref(), Some("ALIVE"));
    assert_eq!(c.process_slots(), 1);
    let started = Instant::now();
    drop(c);
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(process_count(&env), 0, "dropping the client released it");
}

#[test]
fn dropping_a_client_with_the_server_gone_is_bounded() {
    let env = Env::new();
    let (_, key) = env.license(&policy(&env, json!({ "maxProcesses": 2 })));
    let c = activated(&env, &key, "fp-gone");
    let _slot = c.acquire_process_slot(None).unwrap();
    env.admin
        .set_fault(json!({ "mode": "hang", "delay_ms": 5000, "path": "/v1/processes" }));
    let started = Instant::now();
    drop(c);
    assert!(started.elapsed() < Duration::from_millis(1500));
}

// ---- child processes ----------------------------------------------------

/// Runs one ignored test of this binary in a child process.
fn child(test: &str, env: &Env, key: &str, fp: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LIC_CHILD_URL", env.server.base_url())
        .env("LIC_CHILD_ACCOUNT", env.server.account_id())
        .env("LIC_CHILD_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_CHILD_KEY", key)
        .env("LIC_CHILD_FP", fp)
        .env("LIC_CHILD_CACHE", env.dir.path.join(fp))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn child_line(child: &mut Child, prefix: &str) -> String {
    let out = child.stdout.as_mut().unwrap();
    let mut reader = BufReader::new(out);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "child ended before {prefix}"
        );
        // The harness prints "test name ... " before the test's own output.
        if let Some((_, rest)) = line.trim().split_once(prefix) {
            return rest.to_string();
        }
    }
}

fn var(name: &str) -> CString {
    CString::new(std::env::var(name).unwrap()).unwrap()
}

/// A C-API client as a C program builds it, from the child's environment.
unsafe fn c_client() -> *mut lic::ffi::client::lic_client {
    use lic::ffi::config::*;
    use lic::ffi::status::lic_status::LIC_STATUS_OK;
    let mut cfg = null_mut();
    assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
    type Setter =
        unsafe extern "C" fn(*mut lic_config, *const c_char) -> lic::ffi::status::lic_status;
    let setters: [(Setter, &str); 6] = [
        (lic_config_set_account_id, "LIC_CHILD_ACCOUNT"),
        (lic_config_set_api_url, "LIC_CHILD_URL"),
        (lic_config_set_license_key, "LIC_CHILD_KEY"),
        (lic_config_set_public_key, "LIC_CHILD_PUBLIC_KEY"),
        (lic_config_set_fingerprint, "LIC_CHILD_FP"),
        (lic_config_set_cache_dir, "LIC_CHILD_CACHE"),
    ];
    for (set, name) in setters {
        assert_eq!(set(cfg, var(name).as_ptr()), LIC_STATUS_OK, "{name}");
    }
    let mut client = null_mut();
    assert_eq!(
        lic::ffi::client::lic_client_new(cfg, &mut client),
        LIC_STATUS_OK
    );
    lic_config_free(cfg);
    client
}

/// Holds a slot, prints its id, and on a line from stdin exits without
/// freeing anything (as a C program returning from main would).
#[test]
#[ignore = "helper run as a child process by holders_are_culled_when_killed_and_free_at_exit"]
fn slot_holder_child() {
    use lic::ffi::slots::*;
    unsafe {
        let client = c_client();
        let mut slot = null_mut();
        assert_eq!(
            lic_process_slot_acquire(client, c"holder".as_ptr(), &mut slot),
            lic::ffi::status::lic_status::LIC_STATUS_OK
        );
        let mut buf = [0 as c_char; 64];
        let mut n = 0;
        lic_process_slot_id(slot, buf.as_mut_ptr(), buf.len(), &mut n);
        println!("SLOT {}", CStr::from_ptr(buf.as_ptr()).to_str().unwrap());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    std::process::exit(0);
}

#[test]
fn holders_are_culled_when_killed_and_free_at_exit() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(&env, json!({ "maxProcesses": 1, "heartbeatDuration": 3 }));
    let (_, key) = env.license(&p);
    let fp = "fp-holder";
    let c = activated(&env, &key, fp);

    let mut killed = child("slot_holder_child", &env, &key, fp);
    let id = child_line(&mut killed, "SLOT ");
    assert_eq!(
        c.acquire_process_slot(None).err().unwrap().kind,
        ErrorKind::ProcessLimitExceeded
    );
    killed.kill().unwrap(); // SIGKILL: nothing runs in the child
    killed.wait().unwrap();
    assert_eq!(process_status(&env, &id).as_deref(), Some("ALIVE"));
    env.admin.advance_clock(4); // past the 3 s heartbeat window
    env.admin.cull();
    assert_eq!(process_status(&env, &id), None, "culled");
    let mine = c.acquire_process_slot(None).unwrap();
    mine.release().unwrap();

    let mut graceful = child("slot_holder_child", &env, &key, fp);
    let id = child_line(&mut graceful, "SLOT ");
    assert_eq!(process_status(&env, &id).as_deref(), Some("ALIVE"));
    let started = Instant::now();
    writeln!(graceful.stdin.as_mut().unwrap(), "exit").unwrap();
    assert!(graceful.wait().unwrap().success());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(process_status(&env, &id), None, "released at exit");
    c.acquire_process_slot(None).unwrap();
}

fn tasks() -> (usize, usize) {
    let count = |dir: &str| std::fs::read_dir(dir).map_or(0, |d| d.count());
    (count("/proc/self/task"), count("/proc/self/fd"))
}

fn heartbeat_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == "lic-heartbeat")
        })
        .count()
}

/// Counts threads and file descriptors around a client's life; alone in
/// its process so nothing else changes them.
#[test]
#[ignore = "helper run as a child process by no_thread_or_handle_leaks_after_free"]
fn leak_check_child() {
    let env = Env::with_min_heartbeat(1);
    let p = policy(
        &env,
        json!({ "maxProcesses": 4, "heartbeatDuration": 2, "requireHeartbeat": true }),
    );
    let (_, key) = env.license(&p);
    std::thread::sleep(Duration::from_millis(300));
    let before = tasks();
    let c = activated(&env, &key, "fp-leak");
    c.start_machine_heartbeat().unwrap();
    let slots: Vec<_> = (0..3)
        .map(|_| c.acquire_process_slot(None).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(heartbeat_threads(), 1, "one thread serves every heartbeat");
    slots[0].release().unwrap();
    drop(slots);
    drop(c);
    assert_eq!(heartbeat_threads(), 0);
    let settled = eventually(Duration::from_secs(3), || tasks() == before);
    assert!(settled, "threads and fds {:?} -> {:?}", before, tasks());
    assert_eq!(process_count(&env), 0);
    println!("LEAKS none");
}

#[test]
fn no_thread_or_handle_leaks_after_free() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "leak_check_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("LEAKS none"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn c_slot_calls_check_their_arguments() {
    use lic::ffi::events::*;
    use lic::ffi::slots::*;
    use lic::ffi::status::lic_status::*;
    unsafe {
        let mut slot = null_mut();
        assert_eq!(
            lic_process_slot_acquire(null(), null(), &mut slot),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            lic_process_slot_release(null_mut()),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(lic_process_slot_is_held(null()), 0);
        lic_process_slot_free(null_mut());
        assert_eq!(
            lic_client_poll_event(null(), null_mut()),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            lic_event_get_kind(null()),
            lic_event_kind::LIC_EVENT_KIND_NONE
        );
        assert_eq!(lic_event_attempt(null()), 0);
        assert_eq!(lic_event_time_left_ms(null()), -1);
        lic_event_free(null_mut());
        assert_eq!(
            lic_client_start_machine_heartbeat(null()),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            lic_client_stop_machine_heartbeat(null()),
            LIC_STATUS_NULL_ARGUMENT
        );
    }
}

#[test]
fn auto_activated_machines_can_take_slots() {
    let env = Env::new();
    let (_, key) = env.license(&policy(&env, json!({ "maxProcesses": 1 })));
    let c = env.client(&key, "fp-auto");
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    c.acquire_process_slot(None).unwrap().release().unwrap();
}

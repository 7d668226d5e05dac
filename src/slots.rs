//! Process slots (Keygen processes, §4) and the heartbeats that keep them and
//! the machine alive (§3.4).
//!
//! One background thread per client ("lic-heartbeat", started with the first
//! slot or machine monitor) serves every heartbeat. It sleeps on a condition
//! variable until the earliest deadline, pings at half the interval the
//! server reports, retries failures that got no answer with jittered backoff
//! inside the remaining window, and when a slot is lost (declared dead,
//! removed, or its window passed) it gets one back: the old process is
//! revived when the policy allows it, else replaced by a new one.
//!
//! The thread never holds the client: it owns a `Monitor` (its own transport
//! and credential, the slot table and the events), so dropping the last
//! `Client` stops it. On the way out it releases the slots still held; the
//! client's drop waits for that at most `SHUTDOWN_BUDGET`. A process that is
//! killed cannot release anything: the server culls its processes once their
//! heartbeat window passes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::{const_mutex, Condvar, Mutex};
use serde_json::{json, Value};

use crate::client::{pct, Client};
use crate::config::{check_text, LogLevel};
use crate::crypto::random_bytes;
use crate::error::{err, Error, ErrorKind, Result};
use crate::events::{Event, EventKind, Events};
use crate::http::{Auth, Call, Reply, Transport};

/// How long freeing a client (or exiting the process) waits for its slots
/// to be released.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(1);
/// Keygen's heartbeat duration when the policy sets none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
const MIN_RETRY: Duration = Duration::from_millis(100);
/// Beats due within this part of their interval are served by the same
/// wake-up (slots acquired together are pinged together).
const COALESCE_FRACTION: u32 = 10;
const MAX_COALESCE: Duration = Duration::from_secs(1);

/// A held process slot. Dropping it does no I/O: a slot that was not
/// released stays heartbeated until its client is dropped, which releases it.
pub struct ProcessSlot {
    monitor: Arc<Monitor>,
    key: u64,
}

/// Counters of the heartbeat thread, for measurements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatStats {
    /// Times the thread woke up (deadline reached or notified).
    pub wakeups: u64,
    /// Heartbeat requests sent (slots and machine).
    pub pings: u64,
}

pub(crate) struct Monitor {
    transport: Transport,
    credential: Credential,
    events: Arc<Events>,
    table: Mutex<Table>,
    wake: Condvar,
    wakeups: AtomicU64,
    pings: AtomicU64,
}

enum Credential {
    License(String),
    Bearer(String),
}

#[derive(Default)]
struct Table {
    next_key: u64,
    beats: Vec<Beat>,
    stopping: bool,
    thread: Option<(JoinHandle<()>, ThreadId)>,
    exited: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Slot {
        process_id: String,
        machine_id: String,
        label: Option<String>,
    },
    Machine {
        machine_id: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Alive,
    /// Not held; being recovered.
    Lost,
    /// Refused for good (license suspended, machine gone): not retried.
    Gone,
    Released,
}

struct Beat {
    key: u64,
    target: Target,
    state: State,
    interval: Duration,
    /// When the last successful heartbeat was sent: the server's window
    /// closes at `last_ok + interval`.
    last_ok: Instant,
    due: Instant,
    /// Consecutive failures.
    attempt: u32,
    /// The heartbeat thread is working on it.
    busy: bool,
    /// Its handle was dropped (slots) or its monitor stopped (machine).
    orphan: bool,
}

impl Beat {
    fn schedulable(&self) -> bool {
        !self.busy && matches!(self.state, State::Alive | State::Lost)
    }

    fn removable(&self) -> bool {
        self.orphan && !self.busy && matches!(self.state, State::Released | State::Gone)
    }

    fn is_machine_monitor(&self) -> bool {
        matches!(self.target, Target::Machine { .. }) && self.state == State::Alive && !self.orphan
    }

    fn slot_id(&self) -> Option<&str> {
        match &self.target {
            Target::Slot { process_id, .. } => Some(process_id),
            Target::Machine { .. } => None,
        }
    }
}

/// A snapshot of a beat, worked on without the lock.
struct Job {
    key: u64,
    target: Target,
    state: State,
    /// When the server's heartbeat window closes (for a held slot): a ping
    /// that has not been answered by then is a failure to report, not to
    /// wait out.
    window_end: Option<Instant>,
}

enum Outcome {
    /// Held: pinged, revived or replaced (`target` has the current process).
    Alive {
        target: Target,
        interval: Duration,
        sent_at: Instant,
    },
    /// No answer, or no room yet: try again later.
    Retry(Error),
    /// The server declared it dead or no longer has it.
    Dead(Error),
    /// Refused for good.
    Refused(Error),
}

/// Every monitor of a live client, for the at-exit release.
static LIVE: Mutex<Vec<Weak<Monitor>>> = const_mutex(Vec::new());

/// Releases the slots of every live client, waiting at most
/// `SHUTDOWN_BUDGET` in all. For a process exiting normally without freeing
/// its clients (the C layer registers it with `atexit`).
pub fn release_all_at_exit() {
    let deadline = Instant::now() + SHUTDOWN_BUDGET;
    let monitors: Vec<Arc<Monitor>> = match LIVE.try_lock_until(deadline) {
        Some(live) => live.iter().filter_map(Weak::upgrade).collect(),
        None => return,
    };
    for m in &monitors {
        m.stop(deadline);
    }
    for m in &monitors {
        m.wait_stopped(deadline);
    }
}

fn jittered(d: Duration) -> Duration {
    let mut b = [0u8; 4];
    let r = if random_bytes(&mut b).is_ok() {
        u32::from_le_bytes(b)
    } else {
        u32::MAX / 2
    };
    let half = d / 2;
    half + half.mul_f64(f64::from(r) / f64::from(u32::MAX))
}

/// Backoff for failure `attempt`: from 1/100 of the interval (at least
/// 100 ms), doubling, never beyond `cap`, with jitter.
fn backoff(interval: Duration, attempt: u32, cap: Duration) -> Duration {
    let base = (interval / 100).max(MIN_RETRY);
    let d = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    jittered(d.min(cap).max(MIN_RETRY))
}

fn classify(e: Error) -> Outcome {
    if e.is_no_answer() {
        Outcome::Retry(e)
    } else if matches!(e.kind, ErrorKind::HeartbeatDead | ErrorKind::NotFound) {
        Outcome::Dead(e)
    } else {
        Outcome::Refused(e)
    }
}

fn seconds(reply: &Reply, attribute: &str) -> Duration {
    reply
        .json()
        .ok()
        .as_ref()
        .and_then(|doc| doc.pointer(&format!("/data/attributes/{attribute}")))
        .and_then(Value::as_u64)
        .filter(|s| *s > 0)
        .map_or(DEFAULT_INTERVAL, Duration::from_secs)
}

impl Monitor {
    fn new(client: &Client) -> Result<Monitor> {
        let cfg = client.config();
        let credential = match (&cfg.license_token, &cfg.license_key) {
            (Some(t), _) => Credential::Bearer(t.clone()),
            (None, Some(k)) => Credential::License(k.clone()),
            (None, None) => return err(ErrorKind::ConfigIncomplete, "license key is not set"),
        };
        Ok(Monitor {
            transport: Transport::new(cfg, &client.inner.account)?,
            credential,
            events: client.inner.events.clone(),
            table: Mutex::new(Table::default()),
            wake: Condvar::new(),
            wakeups: AtomicU64::new(0),
            pings: AtomicU64::new(0),
        })
    }

    fn auth(&self) -> Auth<'_> {
        match &self.credential {
            Credential::License(k) => Auth::License(k),
            Credential::Bearer(t) => Auth::Bearer(t),
        }
    }

    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        self.transport.log(level, message)
    }

    fn call(&self, method: &'static str, path: String, body: Option<Value>) -> Result<Reply> {
        self.call_until(method, path, body, None)
    }

    /// As `call`, giving up at `limit` when that comes before the timeout.
    fn call_until(
        &self,
        method: &'static str,
        path: String,
        body: Option<Value>,
        limit: Option<Instant>,
    ) -> Result<Reply> {
        self.transport.send_until(
            &Call {
                method,
                path,
                query: None,
                // Pings and kills may be repeated; a spawn, the only call with a
                // body, may not (it could hold a second slot).
                retry_safe: body.is_none(),
                body,
                auth: self.auth(),
            },
            limit,
        )
    }

    fn spawn(&self, machine_id: &str, label: Option<&str>) -> Result<(String, Duration)> {
        let mut b = [0u8; 4];
        random_bytes(&mut b)?;
        // Keygen wants pids unique per machine: one process may hold several
        // slots, and a restarted container reuses its pid while its killed
        // predecessor's process is still alive on the server.
        let pid = format!("{}-{:08x}", std::process::id(), u32::from_le_bytes(b));
        let mut metadata = json!({ "pid": std::process::id() });
        if let Some(l) = label {
            metadata["label"] = json!(l);
        }
        let body = json!({ "data": {
            "type": "processes",
            "attributes": { "pid": pid, "metadata": metadata },
            "relationships": { "machine": { "data": { "type": "machines", "id": machine_id } } }
        }});
        let reply = self.call("POST", "processes".into(), Some(body))?;
        let id = reply
            .json()?
            .pointer("/data/id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new(ErrorKind::BadResponse, "spawn answer has no process id"))?
            .to_string();
        Ok((id, seconds(&reply, "interval")))
    }

    fn ping(&self, target: &Target, limit: Option<Instant>) -> Result<Duration> {
        self.pings.fetch_add(1, Ordering::Relaxed);
        match target {
            Target::Slot { process_id, .. } => {
                let path = format!("processes/{}/actions/ping", pct(process_id));
                Ok(seconds(
                    &self.call_until("POST", path, None, limit)?,
                    "interval",
                ))
            }
            Target::Machine { machine_id } => {
                let path = format!("machines/{}/actions/ping", pct(machine_id));
                Ok(seconds(
                    &self.call_until("POST", path, None, limit)?,
                    "heartbeatDuration",
                ))
            }
        }
    }

    /// Deletes a process; one that is already gone is success.
    fn kill(&self, process_id: &str) -> Result<()> {
        match self.call("DELETE", format!("processes/{}", pct(process_id)), None) {
            Err(e) if e.kind != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Adds a beat and starts the thread if it is not running. A second
    /// machine monitor is the running one.
    fn register(
        self: &Arc<Self>,
        target: Target,
        interval: Duration,
        sent_at: Instant,
    ) -> Result<u64> {
        let mut t = self.table.lock();
        if t.stopping {
            return err(ErrorKind::Internal, "the client is shutting down");
        }
        if matches!(target, Target::Machine { .. }) {
            if let Some(b) = t.beats.iter().find(|b| b.is_machine_monitor()) {
                return Ok(b.key);
            }
        }
        if t.thread.is_none() {
            let me = self.clone();
            let handle = std::thread::Builder::new()
                .name("lic-heartbeat".into())
                .spawn(move || me.run())
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Internal,
                        format!("cannot start the heartbeat thread: {e}"),
                    )
                })?;
            let id = handle.thread().id();
            t.thread = Some((handle, id));
        }
        let key = t.next_key;
        t.next_key += 1;
        t.beats.push(Beat {
            key,
            target,
            state: State::Alive,
            interval,
            last_ok: sent_at,
            due: sent_at + interval / 2,
            attempt: 0,
            busy: false,
            orphan: false,
        });
        self.wake.notify_all();
        Ok(key)
    }

    fn run(self: Arc<Self>) {
        while let Some(jobs) = self.next_jobs() {
            for job in jobs {
                let key = job.key;
                let unit = catch_unwind(AssertUnwindSafe(|| {
                    let outcome = self.work(&job);
                    self.finish(job, outcome);
                }));
                if unit.is_err() {
                    self.log(LogLevel::Error, || {
                        "a heartbeat panicked (a bug in lic); it is retried later".to_string()
                    });
                    self.unstick(key);
                }
            }
        }
        if catch_unwind(AssertUnwindSafe(|| self.release_held())).is_err() {
            self.log(LogLevel::Error, || {
                "releasing the slots at shutdown panicked (a bug in lic)".to_string()
            });
        }
        self.table.lock().exited = true;
        self.wake.notify_all();
    }

    /// Sleeps until a beat is due (or the monitor stops: `None`), then takes
    /// every beat due now or within its coalescing slack.
    fn next_jobs(&self) -> Option<Vec<Job>> {
        let mut t = self.table.lock();
        loop {
            if t.stopping {
                return None;
            }
            let now = Instant::now();
            match t
                .beats
                .iter()
                .filter(|b| b.schedulable())
                .map(|b| b.due)
                .min()
            {
                Some(due) if due <= now => {
                    let jobs = t
                        .beats
                        .iter_mut()
                        .filter(|b| {
                            let slack = (b.interval / COALESCE_FRACTION).min(MAX_COALESCE);
                            b.schedulable() && b.due <= now + slack
                        })
                        .map(|b| {
                            b.busy = true;
                            Job {
                                key: b.key,
                                target: b.target.clone(),
                                state: b.state,
                                window_end: (b.state == State::Alive)
                                    .then(|| b.last_ok + b.interval),
                            }
                        })
                        .collect();
                    return Some(jobs);
                }
                Some(due) => {
                    self.wake.wait_until(&mut t, due);
                }
                None => self.wake.wait(&mut t),
            }
            self.wakeups.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn work(&self, job: &Job) -> Outcome {
        let sent_at = Instant::now();
        // Leave at least a moment for the request even when the window is
        // about to close; past it, the client's whole timeout applies.
        let limit = job
            .window_end
            .filter(|end| *end > sent_at)
            .map(|end| end.max(sent_at + MIN_RETRY));
        let revived = match self.ping(&job.target, limit) {
            Ok(interval) => {
                return Outcome::Alive {
                    target: job.target.clone(),
                    interval,
                    sent_at,
                }
            }
            Err(e) => classify(e),
        };
        let (
            Outcome::Dead(_),
            State::Lost,
            Target::Slot {
                process_id,
                machine_id,
                label,
            },
        ) = (&revived, job.state, &job.target)
        else {
            return revived;
        };
        // A lost slot whose process cannot be revived: replace it.
        if let Err(e) = self.kill(process_id) {
            self.log(LogLevel::Info, || {
                format!("could not delete dead process {process_id}: {e}")
            });
        }
        let sent_at = Instant::now();
        match self.spawn(machine_id, label.as_deref()) {
            Ok((process_id, interval)) => Outcome::Alive {
                target: Target::Slot {
                    process_id,
                    machine_id: machine_id.clone(),
                    label: label.clone(),
                },
                interval,
                sent_at,
            },
            Err(e) if e.kind == ErrorKind::ProcessLimitExceeded => Outcome::Retry(e),
            Err(e) => match classify(e) {
                Outcome::Dead(e) => Outcome::Refused(e),
                other => other,
            },
        }
    }

    /// Applies an outcome to its beat, then (without the lock) emits the
    /// events and deletes a process nobody wants any more.
    fn finish(&self, job: Job, outcome: Outcome) {
        let mut events = Vec::new();
        let mut unwanted = None;
        {
            let mut t = self.table.lock();
            let now = Instant::now();
            let Some(i) = t.beats.iter().position(|b| b.key == job.key) else {
                return;
            };
            let stopping = t.stopping;
            let b = &mut t.beats[i];
            b.busy = false;
            if b.state == State::Released || stopping {
                // Released, or the client is going away (emit nothing: what
                // the app's callback uses may be gone), while we worked. A
                // process spawned meanwhile is ours to delete.
                if let Outcome::Alive { target, .. } = &outcome {
                    if *target != job.target {
                        unwanted = target_process(target);
                    }
                }
            } else {
                self.apply(b, outcome, now, &mut events);
            }
            if t.beats[i].removable() {
                t.beats.remove(i);
            }
        }
        for e in events {
            self.events.emit(e);
        }
        if let Some(id) = unwanted {
            if let Err(e) = self.kill(&id) {
                self.log(LogLevel::Warn, || {
                    format!("could not delete process {id} of a released slot: {e}")
                });
            }
        }
    }

    fn apply(&self, b: &mut Beat, outcome: Outcome, now: Instant, events: &mut Vec<Event>) {
        let machine = matches!(b.target, Target::Machine { .. });
        match outcome {
            Outcome::Alive {
                target,
                interval,
                sent_at,
            } => {
                let recovered = b.state == State::Lost;
                b.target = target;
                b.state = State::Alive;
                b.interval = interval;
                b.last_ok = sent_at;
                b.due = sent_at + interval / 2;
                b.attempt = 0;
                events.push(if recovered {
                    Event::new(
                        EventKind::SlotRecovered,
                        b.slot_id(),
                        "the slot is held again",
                    )
                } else {
                    Event::new(
                        EventKind::HeartbeatSent,
                        b.slot_id(),
                        self.describe(b, "heartbeat sent"),
                    )
                });
            }
            Outcome::Retry(e) => {
                b.attempt += 1;
                let window_end = b.last_ok + b.interval;
                let left = window_end.saturating_duration_since(now);
                if b.state == State::Alive && (machine || !left.is_zero()) {
                    let mut ev = Event::new(
                        EventKind::HeartbeatFailed,
                        b.slot_id(),
                        self.describe(b, &format!("heartbeat failed: {e}")),
                    );
                    ev.attempt = b.attempt;
                    ev.time_left = Some(left);
                    events.push(ev);
                    let cap = if left.is_zero() {
                        b.interval / 2
                    } else {
                        left / 2
                    };
                    b.due = now + backoff(b.interval, b.attempt, cap);
                } else {
                    if b.state == State::Alive {
                        b.state = State::Lost;
                        events.push(Event::new(
                            EventKind::SlotLost,
                            b.slot_id(),
                            format!(
                                "no heartbeat reached the server within its {} s window ({e}); recovering",
                                b.interval.as_secs()
                            ),
                        ));
                    } else {
                        self.log(LogLevel::Info, || {
                            format!("slot recovery attempt {} failed: {e}", b.attempt)
                        });
                    }
                    b.due = now + backoff(b.interval, b.attempt, b.interval / 2);
                }
            }
            Outcome::Dead(e) if !machine => {
                if b.state == State::Alive {
                    events.push(Event::new(
                        EventKind::SlotLost,
                        b.slot_id(),
                        format!("{e}; recovering"),
                    ));
                }
                b.state = State::Lost;
                b.attempt = 0;
                b.due = now;
            }
            Outcome::Dead(e) | Outcome::Refused(e) => {
                let message = self.describe(b, &format!("given up: {e}"));
                if machine {
                    events.push(Event::new(EventKind::MachineHeartbeatDead, None, message));
                } else if b.state == State::Alive {
                    events.push(Event::new(EventKind::SlotLost, b.slot_id(), message));
                } else {
                    self.log(LogLevel::Warn, || message);
                }
                b.state = State::Gone;
                // The machine beat has no handle to remove it.
                b.orphan |= machine;
            }
        }
    }

    fn describe(&self, b: &Beat, what: &str) -> String {
        match &b.target {
            Target::Slot { .. } => what.to_string(),
            Target::Machine { machine_id } => format!("machine {machine_id}: {what}"),
        }
    }

    /// After a panic in a unit of work: schedule the beat again.
    fn unstick(&self, key: u64) {
        let mut t = self.table.lock();
        if let Some(b) = t.beats.iter_mut().find(|b| b.key == key) {
            b.busy = false;
            b.due = Instant::now() + b.interval / 2;
        }
    }

    /// Releases every slot still held (on the heartbeat thread, at shutdown).
    fn release_held(&self) {
        let ids: Vec<String> = {
            let mut t = self.table.lock();
            t.beats
                .iter_mut()
                .filter(|b| matches!(b.state, State::Alive | State::Lost))
                .filter_map(|b| {
                    b.state = State::Released;
                    target_process(&b.target)
                })
                .collect()
        };
        for id in ids {
            match self.kill(&id) {
                Ok(()) => self.log(LogLevel::Info, || format!("released process slot {id}")),
                Err(e) => self.log(LogLevel::Warn, || {
                    format!("could not release process slot {id} (the server culls it when its heartbeat window passes): {e}")
                }),
            }
        }
    }

    /// Asks the thread to release the slots and stop.
    fn stop(&self, deadline: Instant) {
        if let Some(mut t) = self.table.try_lock_until(deadline) {
            t.stopping = true;
            self.wake.notify_all();
        }
    }

    /// Waits until the thread has stopped (joining it) or `deadline` passes
    /// (leaving it to finish on its own).
    fn wait_stopped(&self, deadline: Instant) {
        let Some(mut t) = self.table.try_lock_until(deadline) else {
            return;
        };
        let Some((_, id)) = &t.thread else { return };
        if *id == std::thread::current().id() {
            return; // called from an event callback on the heartbeat thread
        }
        while !t.exited {
            if self.wake.wait_until(&mut t, deadline).timed_out() {
                return;
            }
        }
        let handle = t.thread.take();
        drop(t);
        if let Some((h, _)) = handle {
            let _ = h.join();
        }
    }

    /// Stops the thread, releasing the slots, waiting at most `SHUTDOWN_BUDGET`.
    pub(crate) fn shutdown(&self) {
        let deadline = Instant::now() + SHUTDOWN_BUDGET;
        self.stop(deadline);
        self.wait_stopped(deadline);
    }

    fn held(&self) -> usize {
        self.table
            .lock()
            .beats
            .iter()
            .filter(|b| b.state == State::Alive && matches!(b.target, Target::Slot { .. }))
            .count()
    }
}

fn target_process(target: &Target) -> Option<String> {
    match target {
        Target::Slot { process_id, .. } => Some(process_id.clone()),
        Target::Machine { .. } => None,
    }
}

impl ProcessSlot {
    /// The id of the process holding the slot (it changes when a lost slot is
    /// recovered with a new process).
    pub fn id(&self) -> String {
        let t = self.monitor.table.lock();
        t.beats
            .iter()
            .find(|b| b.key == self.key)
            .and_then(|b| target_process(&b.target))
            .unwrap_or_default()
    }

    /// Whether the slot is held right now (not lost, released or refused).
    pub fn is_held(&self) -> bool {
        let t = self.monitor.table.lock();
        t.beats
            .iter()
            .any(|b| b.key == self.key && b.state == State::Alive)
    }

    /// Gives the slot back to the server (deletes its process). Releasing a
    /// released slot, or one the server no longer has, is success.
    pub fn release(&self) -> Result<()> {
        let (id, before) = {
            let mut t = self.monitor.table.lock();
            let Some(b) = t.beats.iter_mut().find(|b| b.key == self.key) else {
                return Ok(());
            };
            if matches!(b.state, State::Released | State::Gone) {
                return Ok(());
            }
            let before = b.state;
            b.state = State::Released;
            (target_process(&b.target).unwrap_or_default(), before)
        };
        match self.monitor.kill(&id) {
            Ok(()) => {
                self.monitor
                    .log(LogLevel::Info, || format!("released process slot {id}"));
                Ok(())
            }
            Err(e) => {
                // Still held: the heartbeat goes on and release may be retried.
                let mut t = self.monitor.table.lock();
                if let Some(b) = t.beats.iter_mut().find(|b| b.key == self.key) {
                    b.state = before;
                }
                Err(e)
            }
        }
    }
}

impl Drop for ProcessSlot {
    fn drop(&mut self) {
        let mut t = self.monitor.table.lock();
        if let Some(i) = t.beats.iter().position(|b| b.key == self.key) {
            t.beats[i].orphan = true;
            if t.beats[i].removable() {
                t.beats.remove(i);
            }
        }
    }
}

impl Client {
    fn monitor(&self) -> Result<Arc<Monitor>> {
        self.inner
            .monitor
            .get_or_try_init(|| {
                let m = Arc::new(Monitor::new(self)?);
                let mut live = LIVE.lock();
                live.retain(|w| w.strong_count() > 0);
                live.push(Arc::downgrade(&m));
                Ok(m)
            })
            .cloned()
    }

    /// Takes a process slot for this machine (which must be activated):
    /// spawns a Keygen process whose pid is this process's pid plus a random
    /// suffix, with `label` in its metadata, and keeps it alive from the
    /// heartbeat thread. A full license gives `ProcessLimitExceeded`.
    pub fn acquire_process_slot(&self, label: Option<&str>) -> Result<ProcessSlot> {
        let label = label.map(|l| check_text("label", l, 255)).transpose()?;
        let machine_id = self.this_machine_id()?;
        let monitor = self.monitor()?;
        let sent_at = Instant::now();
        let (process_id, interval) = match monitor.spawn(&machine_id, label.as_deref()) {
            Ok(p) => p,
            Err(e) if e.kind == ErrorKind::ProcessLimitExceeded => {
                return Err(self.with_process_count(e, &machine_id))
            }
            Err(e) => return Err(e),
        };
        let target = Target::Slot {
            process_id: process_id.clone(),
            machine_id,
            label,
        };
        match monitor.register(target, interval, sent_at) {
            Ok(key) => {
                self.log(LogLevel::Info, || {
                    format!(
                        "acquired process slot {process_id} (heartbeat every {} s)",
                        (interval / 2).as_secs_f32()
                    )
                });
                Ok(ProcessSlot { monitor, key })
            }
            Err(e) => {
                let _ = monitor.kill(&process_id);
                Err(e)
            }
        }
    }

    /// Adds how many processes the server lists for the limit's scope.
    fn with_process_count(&self, mut e: Error, machine_id: &str) -> Error {
        let path = if e.message.contains("for machine") {
            format!("machines/{}/processes", pct(machine_id))
        } else {
            "processes".to_string()
        };
        if let Ok(items) = self.list(&path) {
            e.message
                .push_str(&format!("; {} processes are currently held", items.len()));
        }
        e
    }

    /// Starts the machine heartbeat monitor (for policies that require
    /// heartbeats): pings this machine now, reporting a dead machine as
    /// `HeartbeatDead`, then from the heartbeat thread. Already started is
    /// success.
    pub fn start_machine_heartbeat(&self) -> Result<()> {
        let machine_id = self.this_machine_id()?;
        let monitor = self.monitor()?;
        if monitor
            .table
            .lock()
            .beats
            .iter()
            .any(Beat::is_machine_monitor)
        {
            return Ok(());
        }
        let target = Target::Machine { machine_id };
        let sent_at = Instant::now();
        let interval = monitor.ping(&target, None)?;
        monitor.register(target, interval, sent_at)?;
        Ok(())
    }

    /// Stops the machine heartbeat monitor; not running is success.
    pub fn stop_machine_heartbeat(&self) {
        let Some(monitor) = self.inner.monitor.get() else {
            return;
        };
        let mut t = monitor.table.lock();
        for b in t
            .beats
            .iter_mut()
            .filter(|b| matches!(b.target, Target::Machine { .. }))
        {
            b.state = State::Released;
            b.orphan = true;
        }
        t.beats.retain(|b| !b.removable());
    }

    /// How many process slots this client holds right now.
    pub fn process_slots(&self) -> usize {
        self.inner.monitor.get().map_or(0, |m| m.held())
    }

    pub fn heartbeat_stats(&self) -> HeartbeatStats {
        self.inner
            .monitor
            .get()
            .map_or(HeartbeatStats::default(), |m| HeartbeatStats {
                wakeups: m.wakeups.load(Ordering::Relaxed),
                pings: m.pings.load(Ordering::Relaxed),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_its_cap() {
        let interval = Duration::from_secs(60);
        for attempt in 1..20 {
            let d = backoff(interval, attempt, Duration::from_secs(5));
            assert!(
                d >= MIN_RETRY / 2 && d <= Duration::from_secs(5),
                "{attempt}: {d:?}"
            );
        }
        let first = backoff(interval, 1, Duration::from_secs(60));
        assert!(first >= Duration::from_millis(300) && first <= Duration::from_millis(600));
        assert!(backoff(Duration::from_secs(1), 1, Duration::ZERO) >= MIN_RETRY / 2);
    }

    #[test]
    fn dead_and_gone_are_told_apart_from_no_answer() {
        assert!(matches!(
            classify(Error::new(ErrorKind::Timeout, "t")),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            classify(Error::new(ErrorKind::HeartbeatDead, "d")),
            Outcome::Dead(_)
        ));
        assert!(matches!(
            classify(Error::new(ErrorKind::NotFound, "n")),
            Outcome::Dead(_)
        ));
        assert!(matches!(
            classify(Error::new(ErrorKind::LicenseSuspended, "s")),
            Outcome::Refused(_)
        ));
    }
}

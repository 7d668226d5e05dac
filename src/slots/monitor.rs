//! The heartbeat thread and the table of beats it serves (slots and the
//! machine): scheduling, pings, retries inside the window, recovery of lost
//! slots, the owner's relay lease, and the release at shutdown.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::{const_mutex, Condvar, Mutex};
use serde_json::{json, Value};

use crate::config::{Config, LogLevel};
use crate::crypto::random_bytes;
use crate::error::{err, Error, ErrorKind, Result};
use crate::events::{Event, EventKind, Events};

use super::{
    BeatState, HeartbeatStats, LeaseKeeper, LeaseState, MonitorState, ProcessSlot, Renewal,
    Revalidate,
};
use crate::protocol::{pct, Auth, Call, Deadline, Reply, Transport};

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

/// The heartbeat work of one client: its own transport and credential, the
/// table of beats, and the thread that serves them.
pub(crate) struct Monitor {
    transport: Transport,
    /// None for a client without a license key (a relay's): no slots then.
    credential: Option<Credential>,
    events: Arc<Events>,
    table: Mutex<Table>,
    wake: Condvar,
    wakeups: AtomicU64,
    pings: AtomicU64,
    revalidations: AtomicU64,
    renewals: AtomicU64,
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
    revalidation: Option<Revalidation>,
    lease: Option<LeaseBeat>,
}

/// The owner's relay lease.
struct LeaseBeat {
    job: Arc<dyn LeaseKeeper>,
    /// Held (else lost, and being claimed again).
    held: bool,
    ttl: Duration,
    /// When the lease ends unless renewed; `None`: it never does.
    expires: Option<Instant>,
    /// The next renewal; `None`: none (a lease that never ends).
    due: Option<Instant>,
    attempt: u32,
    busy: bool,
}

/// The owner's background revalidation.
struct Revalidation {
    interval: Duration,
    due: Instant,
    busy: bool,
    job: Arc<dyn Revalidate>,
}

impl Revalidation {
    /// The next run: a full interval from `now` plus up to a tenth of it
    /// (jitter that spreads a fleet's requests; never sooner than the
    /// interval).
    fn schedule(&mut self, now: Instant) {
        self.due = now + self.interval + jittered(self.interval / 10);
    }
}

/// What one wake-up of the thread does.
struct Work {
    beats: Vec<Job>,
    revalidate: Option<Arc<dyn Revalidate>>,
    /// The lease renewal due, and the moment it must give up by (the lease's end).
    lease: Option<(Arc<dyn LeaseKeeper>, Option<Instant>)>,
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

/// Releases the slots and relay leases of every live client, waiting at
/// most `SHUTDOWN_BUDGET` in all. For a process exiting normally without
/// freeing its clients (the C layer registers it with `atexit`).
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
    fn new(cfg: &Config, account: &str, events: Arc<Events>) -> Result<Monitor> {
        let credential = match (&cfg.license_token, &cfg.license_key) {
            (Some(t), _) => Some(Credential::Bearer(t.clone())),
            (None, Some(k)) => Some(Credential::License(k.clone())),
            (None, None) if cfg.relay_url.is_some() => None,
            (None, None) => return err(ErrorKind::ConfigIncomplete, "license key is not set"),
        };
        Ok(Monitor {
            transport: Transport::new(cfg, account)?,
            credential,
            events,
            table: Mutex::new(Table::default()),
            wake: Condvar::new(),
            wakeups: AtomicU64::new(0),
            pings: AtomicU64::new(0),
            revalidations: AtomicU64::new(0),
            renewals: AtomicU64::new(0),
        })
    }

    fn auth(&self) -> Auth<'_> {
        match &self.credential {
            Some(Credential::License(k)) => Auth::License(k),
            Some(Credential::Bearer(t)) => Auth::Bearer(t),
            None => Auth::None,
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

    fn spawn(
        &self,
        machine_id: &str,
        label: Option<&str>,
        limit: Option<Instant>,
    ) -> Result<(String, Duration)> {
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
        let reply = self.call_until("POST", "processes".into(), Some(body), limit)?;
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
        self.ensure_thread(&mut t)?;
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

    /// Starts the thread if it is not running.
    fn ensure_thread(self: &Arc<Self>, t: &mut Table) -> Result<()> {
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
        Ok(())
    }

    fn run(self: Arc<Self>) {
        while let Some(work) = self.next_jobs() {
            for job in work.beats {
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
            if let Some((job, limit)) = work.lease {
                self.renew_lease(job, limit);
            }
            // After the beats: they have windows to keep, a revalidation has none.
            if let Some(job) = work.revalidate {
                self.revalidate(job);
            }
        }
        let lease = self.table.lock().lease.take();
        if let Some(l) = lease {
            let limit = Instant::now() + SHUTDOWN_BUDGET * 3 / 4;
            if catch_unwind(AssertUnwindSafe(|| l.job.release(limit))).is_err() {
                self.log(LogLevel::Error, || {
                    "releasing the relay lease at shutdown panicked (a bug in lic)".to_string()
                });
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

    /// One background revalidation (without the lock); its events are
    /// delivered unless the monitor began stopping meanwhile (what the app's
    /// callback uses may be gone then).
    fn revalidate(&self, job: Arc<dyn Revalidate>) {
        self.revalidations.fetch_add(1, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| job.revalidate()));
        // When the owner went away during the job (the job's upgraded
        // reference was its last), its drop asked this monitor to stop, and
        // `stopping` below says so.
        drop(job);
        let events = {
            let mut t = self.table.lock();
            let stopping = t.stopping;
            match (&mut t.revalidation, outcome) {
                (Some(r), Ok(Some(events))) => {
                    r.busy = false;
                    r.schedule(Instant::now());
                    if stopping {
                        Vec::new()
                    } else {
                        events
                    }
                }
                (Some(r), Err(_)) => {
                    r.busy = false;
                    r.schedule(Instant::now());
                    self.log(LogLevel::Error, || {
                        "a background revalidation panicked (a bug in lic); it runs again later"
                            .to_string()
                    });
                    Vec::new()
                }
                (slot, Ok(None)) => {
                    *slot = None;
                    Vec::new()
                }
                (None, _) => Vec::new(),
            }
        };
        for e in events {
            self.events.emit(e);
        }
    }

    /// One lease renewal (without the lock), applied to the lease; its events
    /// are delivered unless the monitor began stopping meanwhile.
    fn renew_lease(&self, job: Arc<dyn LeaseKeeper>, limit: Option<Instant>) {
        self.renewals.fetch_add(1, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| job.renew(limit)));
        let mut events = Vec::new();
        {
            let mut t = self.table.lock();
            let stopping = t.stopping;
            let Some(l) = t.lease.as_mut() else { return };
            l.busy = false;
            let now = Instant::now();
            match outcome {
                Ok(r) => self.apply_renewal(l, r, now, &mut events),
                Err(_) => {
                    self.log(LogLevel::Error, || {
                        "a lease renewal panicked (a bug in lic); it is retried later".to_string()
                    });
                    l.due = Some(now + l.ttl / 2);
                }
            }
            if stopping {
                events.clear();
            }
        }
        for e in events {
            self.events.emit(e);
        }
    }

    fn apply_renewal(&self, l: &mut LeaseBeat, r: Renewal, now: Instant, events: &mut Vec<Event>) {
        match r {
            Renewal::Held {
                ttl,
                expires,
                reclaimed,
                message,
            } => {
                if reclaimed && l.held {
                    events.push(Event::new(
                        EventKind::LeaseLost,
                        None,
                        "the relay had let the lease go (not renewed in time, or the relay lost its database)",
                    ));
                }
                let recovered = reclaimed || !l.held;
                l.held = true;
                l.ttl = ttl;
                l.expires = expires;
                l.attempt = 0;
                l.due = expires.map(|_| now + ttl / 2);
                let kind = if recovered {
                    EventKind::LeaseRecovered
                } else {
                    EventKind::LeaseRenewed
                };
                events.push(Event::new(kind, None, message));
            }
            Renewal::NoAnswer(e) => {
                l.attempt += 1;
                let left = l.expires.map(|x| x.saturating_duration_since(now));
                match left {
                    Some(left) if l.held && !left.is_zero() => {
                        let mut ev = Event::new(
                            EventKind::LeaseRenewalFailed,
                            None,
                            format!("lease renewal failed: {e}"),
                        );
                        ev.attempt = l.attempt;
                        ev.time_left = Some(left);
                        events.push(ev);
                        l.due = Some(now + backoff(l.ttl, l.attempt, left / 2));
                    }
                    _ if l.held => {
                        l.held = false;
                        events.push(Event::new(
                            EventKind::LeaseLost,
                            None,
                            format!(
                                "no renewal reached the relay before the lease ended ({e}); claiming one again"
                            ),
                        ));
                        l.due = Some(now + backoff(l.ttl, l.attempt, l.ttl / 2));
                    }
                    _ => {
                        self.log(LogLevel::Info, || {
                            format!("claiming a lease again, attempt {}: {e}", l.attempt)
                        });
                        l.due = Some(now + backoff(l.ttl, l.attempt, l.ttl / 2));
                    }
                }
            }
            Renewal::Refused(e) => {
                l.attempt += 1;
                if l.held {
                    l.held = false;
                    events.push(Event::new(
                        EventKind::LeaseLost,
                        None,
                        format!("{e}; claiming one again later"),
                    ));
                } else {
                    self.log(LogLevel::Info, || {
                        format!("claiming a lease again, attempt {}: {e}", l.attempt)
                    });
                }
                l.due = Some(now + l.ttl / 2);
            }
        }
    }

    /// Sleeps until a beat or the revalidation is due (or the monitor
    /// stops: `None`), then takes every beat due now or within its
    /// coalescing slack, and the revalidation when it is due.
    fn next_jobs(&self) -> Option<Work> {
        let mut t = self.table.lock();
        loop {
            if t.stopping {
                return None;
            }
            let now = Instant::now();
            let revalidation_due = t.revalidation.as_ref().filter(|r| !r.busy).map(|r| r.due);
            let revalidate = match &mut t.revalidation {
                Some(r) if !r.busy && r.due <= now => {
                    r.busy = true;
                    Some(r.job.clone())
                }
                _ => None,
            };
            let lease_due = t.lease.as_ref().filter(|l| !l.busy).and_then(|l| l.due);
            let lease = match &mut t.lease {
                Some(l) if !l.busy && l.due.is_some_and(|d| d <= now) => {
                    l.busy = true;
                    // A renewal gives up when the lease ends (then it is lost, not late).
                    let limit = l
                        .expires
                        .filter(|e| l.held && *e > now)
                        .map(|e| e.max(now + MIN_RETRY));
                    Some((l.job.clone(), limit))
                }
                _ => None,
            };
            let beat_due = t
                .beats
                .iter()
                .filter(|b| b.schedulable())
                .map(|b| b.due)
                .min();
            if (revalidate.is_some() || lease.is_some()) && beat_due.is_none_or(|d| d > now) {
                return Some(Work {
                    beats: Vec::new(),
                    revalidate,
                    lease,
                });
            }
            match beat_due {
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
                    return Some(Work {
                        beats: jobs,
                        revalidate,
                        lease,
                    });
                }
                due => match due
                    .into_iter()
                    .chain(revalidation_due)
                    .chain(lease_due)
                    .min()
                {
                    Some(due) => {
                        self.wake.wait_until(&mut t, due);
                    }
                    None => {
                        self.wake.wait(&mut t);
                    }
                },
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
        match self.spawn(machine_id, label.as_deref(), job.window_end) {
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

    pub(crate) fn held(&self) -> usize {
        self.table
            .lock()
            .beats
            .iter()
            .filter(|b| b.state == State::Alive && matches!(b.target, Target::Slot { .. }))
            .count()
    }
}

/// What the client asks of its monitor (the rest is the thread's own).
impl Monitor {
    /// Builds the monitor of a client and registers it for the at-exit
    /// release. The thread starts with the first beat.
    pub(crate) fn start(cfg: &Config, account: &str, events: Arc<Events>) -> Result<Arc<Monitor>> {
        let m = Arc::new(Monitor::new(cfg, account, events)?);
        let mut live = LIVE.lock();
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&m));
        Ok(m)
    }

    /// Spawns a process on `machine_id` and keeps it alive from the heartbeat
    /// thread. A full license gives the server's `ProcessLimitExceeded`.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        machine_id: String,
        label: Option<String>,
        deadline: &Deadline,
    ) -> Result<ProcessSlot> {
        let sent_at = Instant::now();
        let (process_id, interval) =
            self.spawn(&machine_id, label.as_deref(), Some(deadline.at()))?;
        let target = Target::Slot {
            process_id: process_id.clone(),
            machine_id,
            label,
        };
        match self.register(target, interval, sent_at) {
            Ok(key) => {
                self.log(LogLevel::Info, || {
                    format!(
                        "acquired process slot {process_id} (heartbeat every {} s)",
                        (interval / 2).as_secs_f32()
                    )
                });
                Ok(ProcessSlot {
                    monitor: self.clone(),
                    key,
                })
            }
            Err(e) => {
                let _ = self.kill(&process_id);
                Err(e)
            }
        }
    }

    /// Starts the machine heartbeat: pings now (a dead machine is
    /// `HeartbeatDead`), then from the thread. Already started is success.
    pub(crate) fn start_machine(
        self: &Arc<Self>,
        machine_id: String,
        deadline: &Deadline,
    ) -> Result<()> {
        if self.table.lock().beats.iter().any(Beat::is_machine_monitor) {
            return Ok(());
        }
        let target = Target::Machine { machine_id };
        let sent_at = Instant::now();
        let interval = self.ping(&target, Some(deadline.at()))?;
        self.register(target, interval, sent_at)?;
        Ok(())
    }

    /// Stops the machine heartbeat; not running is success.
    pub(crate) fn stop_machine(&self) {
        let mut t = self.table.lock();
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

    pub(crate) fn stats(&self) -> HeartbeatStats {
        HeartbeatStats {
            wakeups: self.wakeups.load(Ordering::Relaxed),
            pings: self.pings.load(Ordering::Relaxed),
            revalidations: self.revalidations.load(Ordering::Relaxed),
            renewals: self.renewals.load(Ordering::Relaxed),
        }
    }

    /// Keeps the owner's lease alive from the thread (started if need be):
    /// held now until `expires` (`None`: it never ends, nothing to renew),
    /// renewed at half `ttl` after `received`. A lease already kept keeps its
    /// job and takes the new times; one that was lost is held again
    /// (LEASE_RECOVERED, with `message`).
    pub(crate) fn keep_lease(
        self: &Arc<Self>,
        job: Arc<dyn LeaseKeeper>,
        ttl: Duration,
        expires: Option<Instant>,
        received: Instant,
        message: String,
    ) -> Result<()> {
        let mut t = self.table.lock();
        if t.stopping {
            return err(ErrorKind::Internal, "the client is shutting down");
        }
        self.ensure_thread(&mut t)?;
        let recovered = t.lease.as_ref().is_some_and(|l| !l.held);
        let (job, busy) = match t.lease.take() {
            Some(l) => (l.job, l.busy),
            None => (job, false),
        };
        t.lease = Some(LeaseBeat {
            job,
            held: true,
            ttl,
            expires,
            due: expires.map(|_| received + ttl / 2),
            attempt: 0,
            busy,
        });
        self.wake.notify_all();
        drop(t);
        if recovered {
            self.events
                .emit(Event::new(EventKind::LeaseRecovered, None, message));
        }
        Ok(())
    }

    /// The owner found its lease gone (the relay answered that none is
    /// held): LEASE_LOST if it was held; the thread claims one again later.
    pub(crate) fn lease_lost(&self, why: &Error) {
        let mut t = self.table.lock();
        let Some(l) = t.lease.as_mut().filter(|l| l.held) else {
            return;
        };
        l.held = false;
        l.due = Some(Instant::now() + l.ttl / 2);
        self.wake.notify_all();
        drop(t);
        self.events.emit(Event::new(
            EventKind::LeaseLost,
            None,
            format!("{why}; claiming one again later"),
        ));
    }

    /// Runs `job` on the heartbeat thread every `interval` (plus jitter),
    /// the first run one interval from now. A running revalidation gets the
    /// new interval and job.
    pub(crate) fn start_revalidation(
        self: &Arc<Self>,
        interval: Duration,
        job: Arc<dyn Revalidate>,
    ) -> Result<()> {
        let mut t = self.table.lock();
        if t.stopping {
            return err(ErrorKind::Internal, "the client is shutting down");
        }
        self.ensure_thread(&mut t)?;
        let busy = t.revalidation.as_ref().is_some_and(|r| r.busy);
        let mut r = Revalidation {
            interval,
            due: Instant::now(),
            busy,
            job,
        };
        r.schedule(Instant::now());
        t.revalidation = Some(r);
        self.wake.notify_all();
        Ok(())
    }

    /// Stops the background revalidation; not running is success.
    pub(crate) fn stop_revalidation(&self) {
        self.table.lock().revalidation = None;
    }

    /// The revalidation interval, when one runs.
    pub(crate) fn revalidation_interval(&self) -> Option<Duration> {
        self.table.lock().revalidation.as_ref().map(|r| r.interval)
    }

    /// The thread and its work, for diagnostics.
    pub(crate) fn state(&self) -> MonitorState {
        let t = self.table.lock();
        let now = Instant::now();
        let secs = |d: Duration| d.as_secs();
        MonitorState {
            thread_running: t.thread.is_some() && !t.exited,
            beats: t
                .beats
                .iter()
                .map(|b| BeatState {
                    kind: match b.target {
                        Target::Slot { .. } => "slot",
                        Target::Machine { .. } => "machine",
                    },
                    id: match &b.target {
                        Target::Slot { process_id, .. } => process_id.clone(),
                        Target::Machine { machine_id } => machine_id.clone(),
                    },
                    state: match b.state {
                        State::Alive => "alive",
                        State::Lost => "lost",
                        State::Gone => "gone",
                        State::Released => "released",
                    },
                    interval_secs: secs(b.interval),
                    last_ok_secs_ago: secs(now.saturating_duration_since(b.last_ok)),
                    next_in_secs: secs(b.due.saturating_duration_since(now)),
                    attempt: b.attempt,
                })
                .collect(),
            revalidation: t.revalidation.as_ref().map(|r| {
                (
                    secs(r.interval),
                    secs(r.due.saturating_duration_since(now)),
                    r.busy,
                )
            }),
            lease: t.lease.as_ref().map(|l| LeaseState {
                state: if l.held { "held" } else { "lost" },
                ttl_secs: secs(l.ttl),
                expires_in_secs: l.expires.map(|e| secs(e.saturating_duration_since(now))),
                next_in_secs: l.due.map(|d| secs(d.saturating_duration_since(now))),
                attempt: l.attempt,
            }),
            stats: HeartbeatStats {
                wakeups: self.wakeups.load(Ordering::Relaxed),
                pings: self.pings.load(Ordering::Relaxed),
                revalidations: self.revalidations.load(Ordering::Relaxed),
                renewals: self.renewals.load(Ordering::Relaxed),
            },
        }
    }

    /// The id of the process holding slot `key` (it changes when a lost slot
    /// is recovered with a new process).
    pub(super) fn slot_id(&self, key: u64) -> String {
        let t = self.table.lock();
        t.beats
            .iter()
            .find(|b| b.key == key)
            .and_then(|b| target_process(&b.target))
            .unwrap_or_default()
    }

    /// Whether slot `key` is held right now (not lost, released or refused).
    pub(super) fn slot_held(&self, key: u64) -> bool {
        let t = self.table.lock();
        t.beats
            .iter()
            .any(|b| b.key == key && b.state == State::Alive)
    }

    /// Gives slot `key` back to the server (deletes its process). Releasing
    /// a released slot, or one the server no longer has, is success.
    pub(super) fn release_slot(&self, key: u64) -> Result<()> {
        let (id, before) = {
            let mut t = self.table.lock();
            let Some(b) = t.beats.iter_mut().find(|b| b.key == key) else {
                return Ok(());
            };
            if matches!(b.state, State::Released | State::Gone) {
                return Ok(());
            }
            let before = b.state;
            b.state = State::Released;
            (target_process(&b.target).unwrap_or_default(), before)
        };
        match self.kill(&id) {
            Ok(()) => {
                self.log(LogLevel::Info, || format!("released process slot {id}"));
                Ok(())
            }
            Err(e) => {
                // Still held: the heartbeat goes on and release may be retried.
                let mut t = self.table.lock();
                if let Some(b) = t.beats.iter_mut().find(|b| b.key == key) {
                    b.state = before;
                }
                Err(e)
            }
        }
    }

    /// The handle of slot `key` is gone: the beat goes on until released.
    pub(super) fn orphan_slot(&self, key: u64) {
        let mut t = self.table.lock();
        if let Some(i) = t.beats.iter().position(|b| b.key == key) {
            t.beats[i].orphan = true;
            if t.beats[i].removable() {
                t.beats.remove(i);
            }
        }
    }
}

fn target_process(target: &Target) -> Option<String> {
    match target {
        Target::Slot { process_id, .. } => Some(process_id.clone()),
        Target::Machine { .. } => None,
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

//! Process slots (Keygen processes, §4) and the heartbeats that keep them and
//! the machine alive (§3.4), on one background thread per client.
//! It never names `Client`: a monitor gets the config, account and event queue.
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
//!
//! The same thread also runs the owner's background revalidation (a
//! [`Revalidate`] job the client registers, holding only a weak reference
//! to it), never more often than its interval, with jitter; and it keeps a
//! lease alive for its owner (a Keygen Relay lease, through a [`LeaseKeeper`]
//! job the client registers): renewed at half its TTL, retried with backoff
//! until it ends, LEASE_LOST when it does, claimed again after, released at
//! shutdown.

mod monitor;

use crate::error::{Error, Result};
use crate::events::Event;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use monitor::Monitor;
pub use monitor::{release_all_at_exit, SHUTDOWN_BUDGET};

/// A held process slot. Dropping it does no I/O: a slot that was not
/// released stays heartbeated until its client is dropped, which releases it.
pub struct ProcessSlot {
    pub(super) monitor: Arc<Monitor>,
    pub(super) key: u64,
}

/// Counters of the heartbeat thread, for measurements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatStats {
    /// Times the thread woke up (deadline reached or notified).
    pub wakeups: u64,
    /// Heartbeat requests sent (slots and machine).
    pub pings: u64,
    /// Background revalidations run.
    pub revalidations: u64,
    /// Lease renewals sent.
    pub renewals: u64,
}

/// Work the heartbeat thread does for its owner besides heartbeats: one
/// revalidation per call. The owner implements it (holding only a weak
/// reference to itself, so the job never keeps it alive).
pub trait Revalidate: Send + Sync {
    /// Revalidates once and returns the events to deliver (the thread
    /// delivers them unless the monitor is stopping), or `None` when the
    /// owner is gone and the job should end.
    fn revalidate(&self) -> Option<Vec<Event>>;
}

/// A lease the heartbeat thread keeps alive for its owner (a Keygen Relay
/// lease). The owner implements the requests; the thread schedules them,
/// tells the app what happened (LEASE_* events) and releases at shutdown. The
/// job must not hold the owner (the owner's drop stops the thread).
pub trait LeaseKeeper: Send + Sync {
    /// One renewal (or, once lost, one attempt to claim a lease again),
    /// giving up by `limit` when that comes before the owner's timeout.
    fn renew(&self, limit: Option<Instant>) -> Renewal;
    /// Gives the lease back, by `limit` (the client is freed, the process exits).
    fn release(&self, limit: Instant);
}

/// What one renewal found.
pub enum Renewal {
    /// The lease is held: extended, or (`reclaimed`) a new one was claimed
    /// because the relay had let the old one go. `expires` is when it ends
    /// unless renewed (`None`: never; no more renewals are sent), `ttl` paces
    /// the renewals; `message` says what is held.
    Held {
        ttl: Duration,
        expires: Option<Instant>,
        reclaimed: bool,
        message: String,
    },
    /// No trustworthy answer (unreachable, bad signature): retried until the
    /// lease ends.
    NoAnswer(Error),
    /// The relay answered that no lease is held (pool empty, a file that
    /// fails verification): claimed again later.
    Refused(Error),
}

/// The lease as the diagnostics report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseState {
    /// "held" or "lost".
    pub state: &'static str,
    pub ttl_secs: u64,
    /// Seconds until the lease ends (None: it does not expire).
    pub expires_in_secs: Option<u64>,
    /// Seconds until the next renewal (None: none scheduled).
    pub next_in_secs: Option<u64>,
    pub attempt: u32,
}

/// One beat as the diagnostics report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeatState {
    /// "slot" or "machine".
    pub kind: &'static str,
    /// The process id (slots) or machine id.
    pub id: String,
    /// "alive", "lost", "gone" or "released".
    pub state: &'static str,
    pub interval_secs: u64,
    /// Seconds since the last successful heartbeat.
    pub last_ok_secs_ago: u64,
    /// Seconds until the next heartbeat.
    pub next_in_secs: u64,
    pub attempt: u32,
}

/// The heartbeat thread and its work, for diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonitorState {
    pub thread_running: bool,
    pub beats: Vec<BeatState>,
    /// (interval, seconds until the next run, running now) of the
    /// background revalidation.
    pub revalidation: Option<(u64, u64, bool)>,
    /// The relay lease the thread keeps, if any.
    pub lease: Option<LeaseState>,
    pub stats: HeartbeatStats,
}

impl ProcessSlot {
    /// The id of the process holding the slot (it changes when a lost slot is
    /// recovered with a new process).
    pub fn id(&self) -> String {
        self.monitor.slot_id(self.key)
    }

    /// Whether the slot is held right now (not lost, released or refused).
    pub fn is_held(&self) -> bool {
        self.monitor.slot_held(self.key)
    }

    /// Gives the slot back to the server (deletes its process). Releasing a
    /// released slot, or one the server no longer has, is success.
    pub fn release(&self) -> Result<()> {
        self.monitor.release_slot(self.key)
    }
}

impl Drop for ProcessSlot {
    fn drop(&mut self) {
        self.monitor.orphan_slot(self.key);
    }
}

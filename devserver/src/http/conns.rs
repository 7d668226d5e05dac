//! The open connections and the idle reaper. At the cap, a new connection first closes the ones
//! that have waited longest for their next request (silent clients, idle keep-alive connections,
//! a slowloris that never finishes its head): a sixteenth of the cap at once, so that a flood
//! of connections costs one scan per batch rather than per accept. A connection whose request
//! is being answered is never closed for room, so idle clients cannot lock out an active one.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

pub(super) struct Conns {
    max: usize,
    epoch: Instant,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    slots: HashMap<u64, Arc<Slot>>,
}

/// One open connection as the reaper sees it.
pub(super) struct Slot {
    id: u64,
    epoch: Instant,
    /// A request on it is being answered (its head and body have arrived).
    busy: AtomicBool,
    /// Microseconds after `epoch` when it last became idle (accepted, or an answer handed over).
    idle_since: AtomicU64,
    /// Notified when the reaper closes it; the connection's task then drops the socket.
    pub(super) close: Notify,
}

impl Slot {
    /// Marks the connection busy until the guard is dropped (the answer is handed to hyper, or
    /// the request is abandoned).
    pub(super) fn busy(&self) -> Busy<'_> {
        self.busy.store(true, Ordering::Relaxed);
        Busy(self)
    }
}

pub(super) struct Busy<'a>(&'a Slot);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let slot = self.0;
        slot.idle_since.store(micros(slot.epoch), Ordering::Relaxed);
        slot.busy.store(false, Ordering::Relaxed);
    }
}

fn micros(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

impl Conns {
    pub(super) fn new(max: usize) -> Conns {
        Conns {
            max: max.max(1),
            epoch: Instant::now(),
            open: Mutex::new(Open::default()),
        }
    }

    /// Registers a new connection, closing the idlest ones first when at the cap. `None` when
    /// every open connection is busy answering: the new one is then closed at once.
    pub(super) fn admit(&self) -> Option<Arc<Slot>> {
        let mut open = self.open.lock();
        if open.slots.len() >= self.max && open.reap_idlest(self.max.div_ceil(16)) == 0 {
            return None;
        }
        open.next_id += 1;
        let slot = Arc::new(Slot {
            id: open.next_id,
            epoch: self.epoch,
            busy: AtomicBool::new(false),
            idle_since: AtomicU64::new(micros(self.epoch)),
            close: Notify::new(),
        });
        open.slots.insert(slot.id, slot.clone());
        Some(slot)
    }

    /// Closes the idlest connections (for when the process runs out of file descriptors).
    pub(super) fn reap_idlest(&self) {
        self.open.lock().reap_idlest(self.max.div_ceil(16));
    }

    pub(super) fn leave(&self, slot: &Slot) {
        self.open.lock().slots.remove(&slot.id);
    }
}

impl Open {
    /// Closes up to `n` idle connections, the longest idle first; returns how many.
    fn reap_idlest(&mut self, n: usize) -> usize {
        let mut idle: Vec<(u64, u64)> = self
            .slots
            .values()
            .filter(|s| !s.busy.load(Ordering::Relaxed))
            .map(|s| (s.idle_since.load(Ordering::Relaxed), s.id))
            .collect();
        let n = n.min(idle.len());
        if n < idle.len() {
            idle.select_nth_unstable(n);
        }
        for (_, id) in &idle[..n] {
            if let Some(slot) = self.slots.remove(id) {
                // A stored permit: the task sees it even if it is not waiting yet.
                slot.close.notify_one();
            }
        }
        n
    }
}

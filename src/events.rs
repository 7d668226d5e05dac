//! What happens in the background (heartbeats, slot losses, offline
//! fallback) reaches the app as events: through a callback set on the
//! config, or, without one, through a bounded per-client queue the app
//! drains when it suits it (game loops, UI threads).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// Events kept for polling; beyond this the oldest are dropped (and counted).
pub const EVENT_QUEUE_CAPACITY: usize = 1024;

/// The kind of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A slot's (or the machine's) heartbeat reached the server.
    HeartbeatSent,
    /// A heartbeat failed for want of an answer; lic retries within the
    /// window (`attempt`, `time_left`).
    HeartbeatFailed,
    /// A slot is no longer held: the server declared it dead, removed it, or
    /// its window passed with no heartbeat. lic tries to get it back.
    SlotLost,
    /// A lost slot is held again (revived, or a new process; its id may change).
    SlotRecovered,
    /// The server declared this machine's heartbeat dead; the machine
    /// monitor stops.
    MachineHeartbeatDead,
    /// Validation answered from offline evidence.
    OfflineEntered,
    /// Validation answered online again after offline answers.
    OfflineLeft,
    /// The validation code differs from the previous validation's
    /// (`codes` has the old and the new one).
    LicenseStateChanged,
    /// Offline answers are close to the end of the offline grace
    /// (`time_left` has what is left).
    GraceExpiring,
    /// The Keygen Relay extended this machine's lease.
    LeaseRenewed,
    /// A lease renewal got no trustworthy answer; lic retries until the
    /// lease ends (`attempt`, `time_left`).
    LeaseRenewalFailed,
    /// The lease is no longer held: it ended without a renewal reaching the
    /// relay, or the relay let it go. lic tries to claim one again.
    LeaseLost,
    /// A lease is held again after LEASE_LOST (the license may differ).
    LeaseRecovered,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The slot's current process id, for slot events.
    pub slot_id: Option<String>,
    pub message: String,
    /// Consecutive failed attempts (HEARTBEAT_FAILED, LEASE_RENEWAL_FAILED),
    /// else 0.
    pub attempt: u32,
    /// Time left before the server's heartbeat window closes
    /// (HEARTBEAT_FAILED), before the offline grace ends (GRACE_EXPIRING), or
    /// before the relay lease ends (LEASE_RENEWAL_FAILED).
    pub time_left: Option<Duration>,
    /// The old and the new validation code, as text (LICENSE_STATE_CHANGED).
    pub codes: Option<(String, String)>,
}

impl Event {
    pub fn new(kind: EventKind, slot_id: Option<&str>, message: impl Into<String>) -> Event {
        Event {
            kind,
            slot_id: slot_id.map(str::to_string),
            message: message.into(),
            attempt: 0,
            time_left: None,
            codes: None,
        }
    }
}

/// Receives every event of a client instead of its queue. Called on the
/// thread that produced the event, with no lic lock held.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// A client's event delivery: the sink when one is configured, else the queue.
pub struct Events {
    sink: Option<EventSink>,
    queue: Mutex<VecDeque<Event>>,
    dropped: AtomicU64,
}

impl Events {
    pub fn new(sink: Option<EventSink>) -> Events {
        Events {
            sink,
            queue: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
        }
    }

    pub fn emit(&self, event: Event) {
        match &self.sink {
            Some(sink) => {
                // A panicking sink must not take the heartbeat thread down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(&event)));
            }
            None => {
                let mut q = self.queue.lock();
                if q.len() >= EVENT_QUEUE_CAPACITY {
                    q.pop_front();
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                q.push_back(event);
            }
        }
    }

    pub fn poll(&self) -> Option<Event> {
        self.queue.lock().pop_front()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_and_counts_drops() {
        let events = Events::new(None);
        for i in 0..EVENT_QUEUE_CAPACITY + 5 {
            events.emit(Event::new(EventKind::HeartbeatSent, None, i.to_string()));
        }
        assert_eq!(events.dropped(), 5);
        assert_eq!(events.poll().map(|e| e.message), Some("5".to_string()));
        let mut left = 1;
        while events.poll().is_some() {
            left += 1;
        }
        assert_eq!(left, EVENT_QUEUE_CAPACITY);
    }

    #[test]
    fn a_sink_takes_the_events_and_may_panic() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let events = Events::new(Some(Arc::new(move |e: &Event| {
            s.lock().push(e.kind);
            panic!("app bug");
        })));
        events.emit(Event::new(EventKind::SlotLost, Some("p1"), "gone"));
        assert_eq!(*seen.lock(), vec![EventKind::SlotLost]);
        assert_eq!(events.poll(), None);
    }
}

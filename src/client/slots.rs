//! The client's process slots and machine heartbeat: it checks the
//! arguments, finds this machine's id, and hands the work to its monitor
//! (created with the first slot).

use std::sync::Arc;

use super::Client;
use crate::config::check_text;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{pct, Deadline};
use crate::slots::{HeartbeatStats, Monitor, ProcessSlot};

impl Client {
    pub(super) fn monitor(&self) -> Result<Arc<Monitor>> {
        self.inner
            .monitor
            .get_or_try_init(|| {
                Monitor::start(
                    &self.inner.cfg,
                    &self.inner.account,
                    self.inner.events.clone(),
                )
            })
            .cloned()
    }

    /// Takes a process slot for this machine (which must be activated):
    /// spawns a Keygen process whose pid is this process's pid plus a random
    /// suffix, with `label` in its metadata, and keeps it alive from the
    /// heartbeat thread. A full license gives `ProcessLimitExceeded`.
    pub fn acquire_process_slot(&self, label: Option<&str>) -> Result<ProcessSlot> {
        let label = label.map(|l| check_text("label", l, 255)).transpose()?;
        let deadline = self.deadline();
        let machine_id = self.this_machine_id(&deadline)?;
        let monitor = self.monitor()?;
        match monitor.acquire(machine_id.clone(), label, &deadline) {
            Err(e) if e.kind == ErrorKind::ProcessLimitExceeded => {
                Err(self.with_process_count(e, &machine_id, &deadline))
            }
            other => other,
        }
    }

    /// Adds how many processes the server lists for the limit's scope, when
    /// the call has time left to ask.
    fn with_process_count(&self, mut e: Error, machine_id: &str, deadline: &Deadline) -> Error {
        if !deadline.room_for_follow_up() {
            return e;
        }
        let path = if e.message.contains("for machine") {
            format!("machines/{}/processes", pct(machine_id))
        } else {
            "processes".to_string()
        };
        if let Ok(items) = self.list(&path, deadline) {
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
        let deadline = self.deadline();
        let machine_id = self.this_machine_id(&deadline)?;
        self.monitor()?.start_machine(machine_id, &deadline)
    }

    /// Stops the machine heartbeat monitor; not running is success.
    pub fn stop_machine_heartbeat(&self) {
        if let Some(monitor) = self.inner.monitor.get() {
            monitor.stop_machine();
        }
    }

    /// How many process slots this client holds right now.
    pub fn process_slots(&self) -> usize {
        self.inner.monitor.get().map_or(0, |m| m.held())
    }

    pub fn heartbeat_stats(&self) -> HeartbeatStats {
        self.inner
            .monitor
            .get()
            .map_or(HeartbeatStats::default(), |m| m.stats())
    }
}

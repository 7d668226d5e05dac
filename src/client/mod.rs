//! The orchestration: a `Client` puts the wire, the evidence, the machine
//! and the slots together into validate, activate and deactivate, with the
//! offline fallback and the events, and leases from a Keygen Relay when one is
//! configured. It is the only module that names them all.
//!
//! A `Client` is immutable configuration plus a little shared state behind
//! locks that are never held across network I/O; it is `Send + Sync`.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU8;
use std::sync::Arc;
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use parking_lot::Mutex;

use crate::config::{check_text, Config, LogLevel};
use crate::error::{err, ErrorKind, Result};
use crate::events::{Event, Events};
use crate::evidence::OfflineStore;
use crate::machine::{machine_fingerprint, Component};
use crate::model::ValidationCode;
use crate::protocol::{Auth, Call, Deadline, Reply, Transport};
use crate::slots::Monitor;
use crate::time::Millis;

mod activation;
mod diagnostics;
mod fingerprint;
mod machines;
mod offline;
mod relay;
mod revalidate;
mod slots;
mod validate;

pub use diagnostics::HISTORY_LEN;
pub use revalidate::DEFAULT_REVALIDATION_INTERVAL;

/// The trust state of the system clock, as the result reports it.
pub use crate::model::ClockState;
/// One validation answer, online or offline.
pub use crate::model::Validation;

/// `lic_validate` options.
pub const VALIDATE_AUTO_ACTIVATE: u32 = 1;
/// Answer only from the server: no offline fallback.
pub const VALIDATE_ONLINE_ONLY: u32 = 2;
/// Answer only from offline evidence: no network at all.
pub const VALIDATE_OFFLINE_ONLY: u32 = 4;
pub const VALIDATE_ALL_FLAGS: u32 =
    VALIDATE_AUTO_ACTIVATE | VALIDATE_ONLINE_ONLY | VALIDATE_OFFLINE_ONLY;

pub(crate) struct Inner {
    pub cfg: Config,
    pub account: String,
    pub transport: Transport,
    fingerprint: OnceCell<String>,
    pub(crate) state: Mutex<State>,
    pub(crate) offline: OfflineStore,
    pub(crate) events: Arc<Events>,
    /// The slots and heartbeats, created with the first slot or machine monitor.
    pub(crate) monitor: OnceCell<Arc<Monitor>>,
    /// (answered online, code) of the last validation, for the events.
    last_verdict: Mutex<Option<(bool, ValidationCode)>>,
    /// This machine's components (collected once, on first use).
    components: OnceCell<Vec<Component>>,
    /// Whether validations send the components scope: unknown (0), no (1),
    /// yes (2: the policy requires it).
    components_scope: AtomicU8,
    /// The last calls and their outcomes, for diagnostics.
    history: Mutex<VecDeque<diagnostics::Entry>>,
    /// The grace expiry GRACE_EXPIRING was sent for.
    grace_warned: Mutex<Option<Millis>>,
    /// The Keygen Relay validation leases from, when one is configured.
    pub(crate) relay: Option<Arc<relay::RelayLink>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(m) = self.monitor.get() {
            m.shutdown();
        }
    }
}

/// What a client has learnt from the server.
#[derive(Default)]
pub(crate) struct State {
    pub license_id: Option<String>,
    pub machine: Option<(String, String)>, // (fingerprint, machine id)
    /// A failed machine lookup is not retried before this instant.
    pub machine_lookup_after: Option<Instant>,
    /// (license id, codes, valid until); a failed read is remembered briefly.
    pub entitlements: Option<(String, Vec<String>, Instant)>,
}

#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) const ENTITLEMENTS_TTL: Duration = Duration::from_secs(600);
/// A failed lookup behind a validation (machine id, entitlements) is not
/// repeated on every call.
pub(crate) const RETRY_LOOKUP: Duration = Duration::from_secs(60);

impl Client {
    pub fn new(cfg: Config) -> Result<Client> {
        let account = match &cfg.account_id {
            Some(a) => check_text("account id", a, 256)?,
            None => return err(ErrorKind::ConfigIncomplete, "account id is not set"),
        };
        cfg.check_limits()?;
        let transport = Transport::new(&cfg, &account)?;
        let offline = OfflineStore::new(&cfg, &account, transport.logger().clone());
        let fingerprint = OnceCell::new();
        if let Some(fp) = &cfg.fingerprint {
            let _ = fingerprint.set(check_text("fingerprint", fp, 4096)?);
        }
        fingerprint::check_overrides(&cfg.components)?;
        let relay =
            relay::RelayLink::new(&cfg, &account, transport.logger().clone())?.map(Arc::new);
        let events = Arc::new(Events::new(cfg.events.clone()));
        Ok(Client {
            inner: Arc::new(Inner {
                cfg,
                account,
                transport,
                fingerprint,
                state: Mutex::new(State::default()),
                offline,
                events,
                monitor: OnceCell::new(),
                last_verdict: Mutex::new(None),
                components: OnceCell::new(),
                components_scope: AtomicU8::new(0),
                history: Mutex::new(VecDeque::new()),
                grace_warned: Mutex::new(None),
                relay,
            }),
        })
    }

    /// The one deadline of a public call that starts now.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.inner.cfg.timeout)
    }

    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// This machine's fingerprint: the configured override, else the
    /// protected machine id for the app id (computed once).
    pub fn fingerprint(&self) -> Result<String> {
        self.inner
            .fingerprint
            .get_or_try_init(|| machine_fingerprint(&self.inner.cfg.app_id))
            .cloned()
    }

    pub(crate) fn license_key(&self) -> Result<&str> {
        match &self.inner.cfg.license_key {
            Some(k) => Ok(k),
            None if self.inner.relay.is_some() => err(
                ErrorKind::ConfigIncomplete,
                "this client leases its license from a relay, which hands out a license file and no license key for Keygen's API: only validation applies",
            ),
            None => err(ErrorKind::ConfigIncomplete, "license key is not set"),
        }
    }

    pub(crate) fn auth(&self) -> Result<Auth<'_>> {
        Ok(match &self.inner.cfg.license_token {
            Some(t) => Auth::Bearer(t),
            None => Auth::License(self.license_key()?),
        })
    }

    pub(crate) fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        self.inner.transport.log(level, message)
    }

    /// Sends a call. Error messages never carry the license key or token,
    /// whatever a lower layer put in them.
    pub(crate) fn send(&self, call: Call<'_>, deadline: &Deadline) -> Result<Reply> {
        self.inner
            .transport
            .send_by(&call, deadline)
            .map_err(|mut e| {
                for (secret, name) in [
                    (&self.inner.cfg.license_key, "<license key>"),
                    (&self.inner.cfg.license_token, "<license token>"),
                ] {
                    if let Some(s) = secret.as_deref().filter(|s| !s.is_empty()) {
                        e.message = e.message.replace(s, name);
                    }
                }
                e
            })
    }

    /// Stops the background thread (heartbeats, slots, revalidation) now,
    /// releasing the slots still held, waiting at most `SHUTDOWN_BUDGET`;
    /// no event is delivered after it returns. The C API calls it when the
    /// app frees its client; dropping the last `Client` does the same.
    pub fn shutdown(&self) {
        if let Some(m) = self.inner.monitor.get() {
            m.shutdown();
        }
    }

    /// The oldest queued event, if any (none are queued when a sink is set).
    pub fn poll_event(&self) -> Option<Event> {
        self.inner.events.poll()
    }

    /// How many events the full queue has dropped (oldest first).
    pub fn dropped_events(&self) -> u64 {
        self.inner.events.dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_needs_an_account() {
        assert_eq!(
            Client::new(Config::default()).err().unwrap().kind,
            ErrorKind::ConfigIncomplete
        );
    }

    #[test]
    fn flags_are_checked() {
        let c = Client::new(Config {
            account_id: Some("a".into()),
            license_key: Some("k".into()),
            fingerprint: Some("f".into()),
            ..Config::default()
        })
        .unwrap();
        assert_eq!(
            c.validate(1 << 10).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            c.validate(VALIDATE_ONLINE_ONLY | VALIDATE_OFFLINE_ONLY)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidArgument
        );
    }
}

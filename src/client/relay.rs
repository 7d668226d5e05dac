//! The client's side of a Keygen Relay: `validate` claims a lease for this machine, verifies
//! the license file that comes with a new one (Keygen's signature, the key from the claim) and
//! answers from it (`Source::Relay`, with the lease's end); the heartbeat thread renews the
//! lease at half its TTL through a [`LeaseKeeper`] and releases it at shutdown; the last file
//! is cached so that an unreachable relay falls back to it as the online path falls back to
//! the cached machine file. Relay's word alone never makes an answer: a file that does not
//! verify is refused and its lease given back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Client;
use crate::config::{Config, LogLevel, Logger};
use crate::error::{err, Error, ErrorKind, Result};
use crate::evidence::cache::{default_cache_dir, entry_name, read_capped, write_atomic};
use crate::evidence::{Evidence, OfflineStore};
use crate::model::{Source, Validation};
use crate::protocol::Deadline;
use crate::relay::{node_id, Claim, Lease, RelayClient, DEFAULT_TTL};
use crate::slots::{LeaseKeeper, Renewal};
use crate::time::format_rfc3339;

/// The error code that marks a relay answer refused because its file did not verify (it is
/// no trustworthy answer, so the cached file may answer instead).
const FILE_REFUSED: &str = "RELAY_FILE_REFUSED";
const RECORD_FORMAT: &str = "lic-relay-lease/1";

/// The last license file a relay leased to this machine, kept in the cache directory (0600)
/// for when the relay cannot be reached. It holds the license key: the file is useless
/// without it, and the machine already had both in the clear from the relay.
#[derive(Serialize, Deserialize)]
struct Record {
    format: String,
    license_key: String,
    license_file: String,
}

/// A client's relay: the wire, the lease held, the files that came with it.
pub(crate) struct RelayLink {
    wire: RelayClient,
    cfg: Config,
    account: String,
    log: Logger,
    fingerprint: OnceCell<String>,
    /// One claim at a time (validate and the renewal thread): a 202 must find the file of
    /// the 201 before it.
    claiming: Mutex<()>,
    state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    /// The evidence store for the license key the relay gave (clock mark, grace).
    store: Option<(String, Arc<OfflineStore>)>,
    held: Option<Held>,
}

#[derive(Clone)]
struct Held {
    key: String,
    /// The verified file, answering as `Source::Relay`.
    evidence: Arc<Evidence>,
    license_id: String,
    lease: Lease,
    /// The relay runs without heartbeats: the lease never ends and is not renewed.
    permanent: bool,
}

/// What a claim did.
enum Got {
    /// A new lease (201), its file verified.
    New,
    Extended,
    /// Held, and never ending (409 from a relay without heartbeats).
    Permanent,
}

impl RelayLink {
    pub(crate) fn new(cfg: &Config, account: &str, log: Logger) -> Result<Option<RelayLink>> {
        let Some(wire) = RelayClient::new(cfg)? else {
            return Ok(None);
        };
        if cfg.public_keys.is_empty() {
            return err(
                ErrorKind::ConfigIncomplete,
                "a relay hands out Keygen-signed license files, which lic verifies: set the account's public key",
            );
        }
        if cfg.license_key.is_some() || cfg.license_token.is_some() {
            return err(
                ErrorKind::InvalidArgument,
                "with a relay URL the license key comes from the relay's lease: leave the license key and token unset",
            );
        }
        Ok(Some(RelayLink {
            wire,
            cfg: cfg.clone(),
            account: account.to_string(),
            log,
            fingerprint: OnceCell::new(),
            claiming: Mutex::new(()),
            state: Mutex::new(LinkState::default()),
        }))
    }

    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        self.log.log(level, message)
    }

    fn fingerprint(&self) -> Result<&str> {
        self.fingerprint
            .get()
            .map(String::as_str)
            .ok_or_else(|| Error::new(ErrorKind::Internal, "relay used before validation"))
    }

    fn node(&self) -> Result<String> {
        Ok(node_id(self.fingerprint()?, self.wire.pool()))
    }

    /// The evidence store for `key` (made once per license key).
    fn store_for(&self, key: &str) -> Arc<OfflineStore> {
        let mut st = self.state.lock();
        if let Some((k, s)) = &st.store {
            if k == key {
                return s.clone();
            }
        }
        let cfg = Config {
            license_key: Some(key.to_string()),
            ..self.cfg.clone()
        };
        let store = Arc::new(OfflineStore::new(&cfg, &self.account, self.log.clone()));
        st.store = Some((key.to_string(), store.clone()));
        store
    }

    fn record_path(&self) -> Option<PathBuf> {
        if self.cfg.no_cache {
            return None;
        }
        let dir = self.cfg.cache_dir.clone().or_else(default_cache_dir)?;
        let relay = format!("{}\0{}", self.wire.url(), self.wire.pool().unwrap_or(""));
        let node = self.node().ok()?;
        Some(dir.join(entry_name("relay", &self.account, &relay, &node)))
    }

    /// The cached file, verified again (as any cached file is, once per process).
    fn cached_record(&self) -> Option<(String, Arc<Evidence>)> {
        let path = self.record_path()?;
        let bytes = match read_capped(&path, 4 << 20) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("ignoring the cached relay file: {e}")
                });
                return None;
            }
        };
        let record: Record = serde_json::from_slice(&bytes)
            .ok()
            .filter(|r: &Record| r.format == RECORD_FORMAT)?;
        match self.verify(&record.license_file, &record.license_key) {
            Ok(ev) => Some((record.license_key, ev)),
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("ignoring the cached relay file: {e}")
                });
                None
            }
        }
    }

    fn keep_record(&self, key: &str, file: &str) {
        let Some(path) = self.record_path() else {
            return;
        };
        let record = Record {
            format: RECORD_FORMAT.into(),
            license_key: key.to_string(),
            license_file: file.to_string(),
        };
        let written = serde_json::to_vec(&record)
            .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
            .and_then(|b| write_atomic(&path, &b));
        if let Err(e) = written {
            self.log(LogLevel::Warn, || {
                format!("cannot cache the relay's license file for offline use: {e}")
            });
        }
    }

    /// Verifies and decrypts a file from the relay with the key that came with it.
    fn verify(&self, file: &str, key: &str) -> Result<Arc<Evidence>> {
        self.store_for(key)
            .open_relay_file(file, self.fingerprint()?)
    }

    /// Claims (or extends) this machine's lease, within `limit`. A new lease's file is
    /// verified and decrypted before anything is held; one that fails is refused and its
    /// lease given back.
    fn lease(&self, limit: Instant) -> Result<Got> {
        let Some(_one) = self.claiming.try_lock_until(limit) else {
            return err(
                ErrorKind::Timeout,
                "another claim on the relay did not finish in time",
            );
        };
        let node = self.node()?;
        match self.wire.claim(&node, limit) {
            Ok(Claim::Created {
                license_file,
                license_key,
                lease,
            }) => self.adopt(&node, &license_file, &license_key, lease, limit),
            Ok(Claim::Extended(lease)) => {
                if let Some(h) = self.state.lock().held.as_mut() {
                    h.lease = lease;
                    h.permanent = false;
                    return Ok(Got::Extended);
                }
                // A lease from an earlier run of this machine: its file is in the cache.
                if let Some((key, ev)) = self.cached_record() {
                    self.hold(key, ev, lease, false);
                    return Ok(Got::Extended);
                }
                // No file for it: give it back and claim again, to get one.
                self.log(LogLevel::Info, || {
                    "the relay extended a lease lic has no file for; releasing it to claim again"
                        .to_string()
                });
                self.wire.release(&node, limit)?;
                match self.wire.claim(&node, limit)? {
                    Claim::Created {
                        license_file,
                        license_key,
                        lease,
                    } => self.adopt(&node, &license_file, &license_key, lease, limit),
                    Claim::Extended(_) => err(
                        ErrorKind::BadResponse,
                        "the relay extended a lease it had just released",
                    ),
                }
            }
            Err(e) if e.code.as_deref() == Some("RELAY_CONFLICT") => {
                // Without heartbeats a re-claim is 409: the lease is ours for good.
                if let Some(h) = self.state.lock().held.as_mut() {
                    h.permanent = true;
                    return Ok(Got::Permanent);
                }
                if let Some((key, ev)) = self.cached_record() {
                    let lease = Lease {
                        ttl: None,
                        expires: None,
                        expires_at: None,
                        received: Instant::now(),
                        skew_seconds: None,
                    };
                    self.hold(key, ev, lease, true);
                    return Ok(Got::Permanent);
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn hold(&self, key: String, evidence: Arc<Evidence>, lease: Lease, permanent: bool) {
        let license_id = evidence
            .dataset
            .license_id()
            .unwrap_or_default()
            .to_string();
        self.state.lock().held = Some(Held {
            key,
            evidence,
            license_id,
            lease,
            permanent,
        });
    }

    /// A new lease (201): verify its file, then hold and cache it; or refuse it, and give the
    /// lease back so another machine can have the license.
    fn adopt(
        &self,
        node: &str,
        file: &str,
        key: &str,
        lease: Lease,
        limit: Instant,
    ) -> Result<Got> {
        match self.verify(file, key) {
            Ok(ev) => {
                self.keep_record(key, file);
                self.hold(key.to_string(), ev, lease, false);
                Ok(Got::New)
            }
            Err(e) => {
                self.state.lock().held = None;
                if let Err(r) = self.wire.release(node, limit) {
                    self.log(LogLevel::Warn, || {
                        format!("could not give back the refused lease (the relay frees it after its TTL): {r}")
                    });
                }
                Err(Error::new(
                    e.kind,
                    format!(
                        "the relay at {} handed out a license file that does not verify, so lic refused it and gave the lease back: {}",
                        self.wire.url(),
                        e.message
                    ),
                )
                .with_code(Some(FILE_REFUSED.into())))
            }
        }
    }

    /// The answer the held lease's file gives now.
    fn answer(&self) -> Result<(Validation, Held)> {
        let held = self.state.lock().held.clone().ok_or_else(|| {
            Error::new(ErrorKind::Internal, "no relay lease is held after a claim")
        })?;
        let store = self.store_for(&held.key);
        let mut v = store.answer_from(&held.evidence, self.fingerprint()?);
        v.lease_expiry = if held.permanent {
            None
        } else {
            held.lease
                .expires
                .or_else(|| Some(crate::time::now_ms() + DEFAULT_TTL.as_millis() as i64))
        };
        Ok((v, held))
    }

    /// The offline answer when the relay gives no trustworthy one: the file of the last
    /// lease (in memory, else cached), through the evidence store's offline rules (file
    /// expiry, maximum age, grace, the clock), as `Source::CachedFile`.
    fn offline(&self, cause: Option<Error>) -> Result<Validation> {
        let held = self
            .state
            .lock()
            .held
            .as_ref()
            .map(|h| (h.key.clone(), h.evidence.clone()));
        let Some((key, ev)) = held.or_else(|| self.cached_record()) else {
            let context = match &cause {
                Some(e) => format!("the relay gave no trustworthy answer ({})", e.message),
                None => "offline validation was asked for".to_string(),
            };
            return err(
                ErrorKind::NoOfflineData,
                format!("{context}, and no license file from the relay is cached"),
            );
        };
        let store = self.store_for(&key);
        store.hold(Arc::new(Evidence {
            source: Source::CachedFile,
            ..(*ev).clone()
        }));
        store.validate(self.fingerprint()?, cause)
    }

    /// Gives the lease back (`lic_client_free`, process exit).
    fn release(&self, limit: Instant) {
        let Some(_one) = self.claiming.try_lock_until(limit) else {
            return;
        };
        let Ok(node) = self.node() else { return };
        let held = self.state.lock().held.take();
        match self.wire.release(&node, limit) {
            Ok(()) => self.log(LogLevel::Info, || {
                format!(
                    "released the relay lease{}",
                    held.map(|h| format!(" on license {}", h.license_id))
                        .unwrap_or_default()
                )
            }),
            Err(e) => self.log(LogLevel::Warn, || {
                format!("could not release the relay lease (the relay frees it after its TTL): {e}")
            }),
        }
    }

    /// The renewal schedule of the held lease: (ttl, end on the monotonic clock, received).
    fn schedule(held: &Held) -> (Duration, Option<Instant>, Instant) {
        let ttl = held.lease.ttl.unwrap_or(DEFAULT_TTL);
        let expires = match held.permanent {
            true => None,
            false => Some(
                held.lease
                    .expires_at
                    .unwrap_or(held.lease.received + DEFAULT_TTL),
            ),
        };
        (ttl, expires, held.lease.received)
    }

    fn describe(held: &Held) -> String {
        match (held.permanent, held.lease.expires) {
            (true, _) => format!("lease on license {} (it does not expire)", held.license_id),
            (false, Some(e)) => format!(
                "lease on license {} until {}",
                held.license_id,
                format_rfc3339(e)
            ),
            (false, None) => format!("lease on license {}", held.license_id),
        }
    }

    /// The relay and the lease, for diagnostics (no key, no file).
    pub(crate) fn diagnostics(&self) -> Value {
        let st = self.state.lock();
        json!({
            "url": self.wire.url(),
            "pool": self.wire.pool(),
            "signing_secret_set": self.wire.signed(),
            "node": self.node().ok(),
            "lease": st.held.as_ref().map(|h| json!({
                "license_id": h.license_id,
                "expires": h.lease.expires.map(format_rfc3339),
                "ttl_seconds": h.lease.ttl.map(|t| t.as_secs()),
                "permanent": h.permanent,
                "relay_clock_skew_seconds": h.lease.skew_seconds,
            })),
            "cached_file": self.record_path().map(|p| p.exists()),
        })
    }

    /// The license key of the lease held, to keep it out of messages and diagnostics.
    pub(crate) fn license_key(&self) -> Option<String> {
        self.state.lock().held.as_ref().map(|h| h.key.clone())
    }
}

/// The lease job of the heartbeat thread: renewals and the release, through the link (which
/// does not hold the client).
struct Keeper(Arc<RelayLink>);

impl LeaseKeeper for Keeper {
    fn renew(&self, limit: Option<Instant>) -> Renewal {
        let link = &self.0;
        let limit = limit.unwrap_or_else(|| Instant::now() + link.cfg.timeout);
        let got = link.lease(limit);
        let held = link.state.lock().held.clone();
        match (got, held) {
            (Ok(got), Some(h)) => {
                let (ttl, expires, _) = RelayLink::schedule(&h);
                Renewal::Held {
                    ttl,
                    expires,
                    // A 201 to a renewal: the relay had let the lease go.
                    reclaimed: matches!(got, Got::New),
                    message: RelayLink::describe(&h),
                }
            }
            (Ok(_), None) => Renewal::Refused(Error::new(
                ErrorKind::Internal,
                "no relay lease is held after a claim",
            )),
            (Err(e), _) if e.is_no_answer() && e.code.as_deref() != Some(FILE_REFUSED) => {
                Renewal::NoAnswer(e)
            }
            (Err(e), _) => Renewal::Refused(e),
        }
    }

    fn release(&self, limit: Instant) {
        self.0.release(limit);
    }
}

impl Client {
    /// `validate` with a relay: claim or extend this machine's lease and answer from the
    /// leased file; keep the lease alive from the heartbeat thread. Without a trustworthy
    /// answer (unreachable, bad signature, a file that does not verify) the last file answers
    /// offline, unless ONLINE_ONLY; OFFLINE_ONLY answers from it without asking.
    pub(super) fn validate_relay(
        &self,
        link: &Arc<RelayLink>,
        offline_only: bool,
        online_only: bool,
        deadline: &Deadline,
    ) -> Result<Validation> {
        let fingerprint = self.fingerprint()?;
        let _ = link.fingerprint.set(fingerprint);
        if offline_only {
            return link.offline(None);
        }
        match link.lease(deadline.at()) {
            Ok(_) => {
                let (v, held) = link.answer()?;
                let (ttl, expires, received) = RelayLink::schedule(&held);
                let kept = self.monitor().and_then(|m| {
                    m.keep_lease(
                        Arc::new(Keeper(link.clone())),
                        ttl,
                        expires,
                        received,
                        RelayLink::describe(&held),
                    )
                });
                if let Err(e) = kept {
                    self.log(LogLevel::Warn, || {
                        format!("the relay lease will not be renewed in the background: {e}")
                    });
                }
                Ok(v)
            }
            Err(e) => {
                if e.kind == ErrorKind::NoLicenseAvailable {
                    if let Some(m) = self.inner.monitor.get() {
                        m.lease_lost(&e);
                    }
                }
                let untrusted = e.is_no_answer() || e.code.as_deref() == Some(FILE_REFUSED);
                if untrusted && !online_only {
                    self.log(LogLevel::Warn, || {
                        format!(
                            "no trustworthy answer from the relay ({e}); trying the cached file"
                        )
                    });
                    return link.offline(Some(e));
                }
                Err(e)
            }
        }
    }
}

//! A client's offline evidence: the machine file it keeps in its cache, a
//! file delivered by hand, the signed license key, and the trusted-time mark
//! that catches a clock wound back. Every answer here is computed from
//! signed data only. The store does no network I/O: the client checks files
//! out and hands them over.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use super::cache::{default_cache_dir, entry_file, entry_id, read_capped, remove, write_atomic};
use super::clockmark::ClockMark;
use super::files::{parse_certificate, FileKind};
use super::grace::{GraceMark, GraceRecord};
use super::signed_key::verify_signed_key;
use super::verdict::{evaluate_file, half_life_passed, signed_key_verdict};
use super::Evidence;
use crate::config::{Config, LogLevel, Logger};
use crate::crypto::KeySet;
use crate::error::{err, Error, ErrorKind, Result};
use crate::model::{ClockState, Source, Validation, ValidationCode};
use crate::time::{format_rfc3339, now_ms, Millis};

const MAX_FILE: usize = 1 << 20;

/// The offline side of one client (one account, license key and machine).
pub struct OfflineStore {
    account: String,
    license_key: Option<String>,
    public_keys: KeySet,
    cache_dir: Option<PathBuf>,
    clock_tolerance_ms: i64,
    max_offline_age_ms: Option<i64>,
    grace_ms: Option<i64>,
    log: Logger,
    state: Mutex<State>,
    /// The cache paths already named (kind, fingerprint, entry id, path):
    /// the id is a SHA-256 of the account, key and fingerprint, computed
    /// once per client and fingerprint for every kind.
    paths: Mutex<Vec<(&'static str, String, String, PathBuf)>>,
}

#[derive(Default)]
struct State {
    cached: Option<Arc<Evidence>>,
    loaded: Option<Arc<Evidence>>,
    /// A file the client keeps for offline answers besides the two above (a relay's).
    held: Option<Arc<Evidence>>,
    clockmark: Option<ClockMark>,
    grace: Option<Arc<GraceMark>>,
    /// The fingerprint whose cached machine file was found missing. While a
    /// loaded or held file answers, the disk is not asked again (no failing
    /// open per validation); a checkout or `forget_cached` clears it.
    cached_absent: Option<String>,
}

impl OfflineStore {
    pub fn new(cfg: &Config, account: &str, log: Logger) -> OfflineStore {
        OfflineStore {
            account: account.to_string(),
            license_key: cfg.license_key.clone(),
            public_keys: cfg.public_keys.clone(),
            cache_dir: match cfg.no_cache {
                true => None,
                false => cfg.cache_dir.clone().or_else(default_cache_dir),
            },
            clock_tolerance_ms: cfg.clock_tolerance.as_millis() as i64,
            max_offline_age_ms: cfg.max_offline_age.map(|d| d.as_millis() as i64),
            grace_ms: cfg.offline_grace.map(|d| d.as_millis() as i64),
            log,
            state: Mutex::default(),
            paths: Mutex::default(),
        }
    }

    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        self.log.log(level, message)
    }

    fn license_key(&self) -> Result<&str> {
        match &self.license_key {
            Some(k) => Ok(k),
            None => err(ErrorKind::ConfigIncomplete, "license key is not set"),
        }
    }

    fn cache_path(&self, kind: &'static str, fingerprint: &str) -> Option<PathBuf> {
        let key = self.license_key.as_deref()?;
        let dir = self.cache_dir.as_ref()?;
        let mut paths = self.paths.lock();
        if let Some((_, _, _, p)) = paths
            .iter()
            .find(|(k, fp, _, _)| *k == kind && fp == fingerprint)
        {
            return Some(p.clone());
        }
        let id = match paths.iter().find(|(_, fp, _, _)| fp == fingerprint) {
            Some((_, _, id, _)) => id.clone(),
            None => entry_id(&self.account, key, fingerprint),
        };
        let path = dir.join(entry_file(kind, &id));
        // A client has one fingerprint in practice; a few are kept at most.
        if paths.len() >= 12 {
            paths.clear();
        }
        paths.push((kind, fingerprint.to_string(), id, path.clone()));
        Some(path)
    }

    /// Whether a checked-out file can be kept (a cache directory and a
    /// license key to name it by).
    pub fn can_cache(&self) -> bool {
        self.cache_dir.is_some() && self.license_key.is_some()
    }

    /// Runs `f` with the trusted-time mark for this license and machine.
    fn with_clockmark<T>(&self, fingerprint: &str, f: impl FnOnce(&ClockMark) -> T) -> Option<T> {
        let mut st = self.state.lock();
        if st.clockmark.is_none() {
            let path = self.cache_path("clock", fingerprint)?;
            st.clockmark = Some(ClockMark::new(
                path,
                self.license_key.as_deref()?,
                fingerprint,
            ));
        }
        st.clockmark.as_ref().map(f)
    }

    /// Records a trusted (signed) time and says where the clock stands.
    pub fn observe_and_check(&self, fingerprint: &str, trusted: Option<Millis>) -> ClockState {
        self.with_clockmark(fingerprint, |mark| {
            if let Some(t) = trusted {
                if let Err(e) = mark.observe(t) {
                    self.log(LogLevel::Warn, || {
                        format!("cannot store the trusted-time mark: {e}")
                    });
                }
            }
            mark.check(now_ms(), self.clock_tolerance_ms)
        })
        .unwrap_or(ClockState::Unknown)
    }

    /// The grace record for this license and machine.
    fn grace_mark(&self, fingerprint: &str) -> Option<Arc<GraceMark>> {
        let mut st = self.state.lock();
        if st.grace.is_none() {
            let path = self.cache_path("grace", fingerprint)?;
            st.grace = Some(Arc::new(GraceMark::new(
                path,
                self.license_key.as_deref()?,
                fingerprint,
            )));
        }
        st.grace.clone()
    }

    /// What the grace record says (for diagnostics).
    pub fn grace_record(&self, fingerprint: &str) -> Option<GraceRecord> {
        self.grace_mark(fingerprint)?.get()
    }

    /// The trusted-time mark, if any (for diagnostics and the grace clock).
    pub fn clock_mark(&self, fingerprint: &str) -> Option<Millis> {
        self.with_clockmark(fingerprint, |m| m.mark()).flatten()
    }

    /// The configured grace, in milliseconds.
    pub fn grace_ms(&self) -> Option<i64> {
        self.grace_ms
    }

    /// Folds an online answer into the clock mark (its signed time counts
    /// only when it was verified) and marks the answer when the clock was set
    /// back. A verified answer about the license restarts the offline grace.
    pub fn check_online_answer(&self, v: &mut Validation) {
        let trusted = if v.verified { v.timestamp } else { None };
        if let (Some(ts), true) = (trusted, v.license.is_some()) {
            if let Some(g) = self.grace_mark(&v.fingerprint) {
                if let Err(e) = g.online(ts, &v.code_text, v.valid) {
                    self.log(LogLevel::Warn, || {
                        format!("cannot store the offline-grace record: {e}")
                    });
                }
            }
            v.last_online = Some(ts);
            if let Some(grace) = self.grace_ms {
                v.grace_expiry = Some(ts.saturating_add(grace));
                v.grace_left_ms = Some(grace);
            }
        }
        v.clock = self.observe_and_check(&v.fingerprint, trusted);
        if let ClockState::Tampered { behind_ms } = v.clock {
            v.mark_clock_tampered(behind_ms);
        }
    }

    /// Forgets the cached machine file (the machine was deactivated).
    pub fn forget_cached(&self, fingerprint: &str) {
        {
            let mut st = self.state.lock();
            st.cached = None;
            st.cached_absent = None;
        }
        if let Some(path) = self.cache_path("machine", fingerprint) {
            if let Err(e) = remove(&path) {
                self.log(LogLevel::Warn, || {
                    format!("could not remove the cached machine file: {e}")
                });
            }
        }
    }

    /// The entitlement codes a verified file lists for this license.
    pub fn entitlements(&self, license_id: &str) -> Option<Vec<String>> {
        let st = self.state.lock();
        let found = [&st.cached, &st.loaded, &st.held]
            .into_iter()
            .flatten()
            .find_map(|ev| {
                (ev.dataset.license_id()? == license_id).then(|| ev.dataset.entitlement_codes())
            });
        found
    }

    /// Verifies a checked-out machine file and stores it atomically in the
    /// cache, where offline answers come from.
    pub fn keep_checkout(&self, certificate: &str, fingerprint: &str) -> Result<()> {
        let path = self
            .cache_path("machine", fingerprint)
            .ok_or_else(|| Error::new(ErrorKind::Io, "no cache directory is available"))?;
        let ev = self.open(certificate, Source::CachedFile, &|| {
            Ok(fingerprint.to_string())
        })?;
        write_atomic(&path, certificate.as_bytes())?;
        self.observe_and_check(fingerprint, Some(ev.dataset.issued));
        self.log(LogLevel::Info, || {
            format!(
                "cached a machine file issued {}",
                format_rfc3339(ev.dataset.issued)
            )
        });
        {
            let mut st = self.state.lock();
            st.cached = Some(ev);
            st.cached_absent = None;
        }
        Ok(())
    }

    /// Parses, verifies and decrypts a license or machine file.
    fn open(
        &self,
        text: &str,
        source: Source,
        fingerprint: &dyn Fn() -> Result<String>,
    ) -> Result<Arc<Evidence>> {
        let key = &self.public_keys;
        if key.is_empty() {
            return err(
                ErrorKind::NoPublicKey,
                "verifying a file needs the account's public key; none is configured",
            );
        }
        let license_key = self.license_key()?;
        let cert = parse_certificate(text)?;
        let fingerprint = match cert.kind {
            FileKind::Machine => Some(fingerprint()?),
            FileKind::License => None,
        };
        let dataset = cert.open(key, Some(license_key), fingerprint.as_deref())?;
        let file_key = dataset.license_key();
        if file_key.is_some_and(|k| k != license_key) {
            return err(
                ErrorKind::FileMalformed,
                "the file is for another license key",
            );
        }
        Ok(Arc::new(Evidence {
            certificate: cert.text.into(),
            dataset,
            source,
        }))
    }

    /// A boolean attribute of the policy in the cached machine file (checked
    /// out with `license.policy`), if there is such a file.
    pub fn policy_flag(&self, fingerprint: &str, flag: &str) -> Option<bool> {
        let ev = self.cached(fingerprint)?;
        let policies = ev.dataset.doc().get("included")?.as_array()?;
        policies
            .iter()
            .find(|i| i.get("type").and_then(Value::as_str) == Some("policies"))?
            .pointer(&format!("/attributes/{flag}"))?
            .as_bool()
    }

    /// The state of this client's cache for diagnostics: each file, whether
    /// it is there and verifies, and the issue and expiry times of the
    /// machine file — never a file's content.
    pub fn describe(&self, fingerprint: &str) -> Value {
        let times = |ev: &Evidence| {
            serde_json::json!({
                "issued": format_rfc3339(ev.dataset.issued),
                "expiry": ev.dataset.expiry.map(format_rfc3339),
            })
        };
        let file = |kind: &'static str| -> Value {
            let Some(path) = self.cache_path(kind, fingerprint) else {
                return Value::Null;
            };
            let meta = std::fs::metadata(&path).ok();
            let mut v = serde_json::json!({
                "name": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "present": meta.is_some(),
                "size": meta.as_ref().map(|m| m.len()),
            });
            if meta.is_none() {
                return v;
            }
            match kind {
                "machine" => {
                    let opened = read_capped(&path, MAX_FILE).and_then(|b| {
                        let text = String::from_utf8_lossy(&b.unwrap_or_default()).into_owned();
                        self.open(&text, Source::CachedFile, &|| Ok(fingerprint.to_string()))
                    });
                    match opened {
                        Ok(ev) => {
                            v["verifies"] = true.into();
                            v["issued"] = times(&ev)["issued"].clone();
                            v["expiry"] = times(&ev)["expiry"].clone();
                        }
                        Err(e) => {
                            v["verifies"] = false.into();
                            v["error"] = e.message.into();
                        }
                    }
                }
                "clock" => {
                    let m = ClockMark::new(
                        path.clone(),
                        self.license_key.as_deref().unwrap_or(""),
                        fingerprint,
                    );
                    let mark = m.load();
                    v["verifies"] = mark.is_some().into();
                    v["mark"] = mark.map(format_rfc3339).into();
                }
                "grace" => {
                    let g = GraceMark::new(
                        path.clone(),
                        self.license_key.as_deref().unwrap_or(""),
                        fingerprint,
                    );
                    let r = g.load();
                    v["verifies"] = r.is_some().into();
                    if let Some(r) = r {
                        v["last_online_validation"] = r.last_online.map(format_rfc3339).into();
                        v["last_online_code"] = r.code.into();
                        v["highest_offline_clock"] = r.highest_local.map(format_rfc3339).into();
                    }
                }
                _ => {}
            }
            v
        };
        let loaded = self.state.lock().loaded.clone();
        serde_json::json!({
            "dir": self.cache_dir.as_ref().map(|d| d.display().to_string()),
            "machine_file": file("machine"),
            "clock_mark": file("clock"),
            "grace_record": file("grace"),
            "loaded_file": loaded.map(|ev| times(&ev)),
        })
    }

    /// Verifies and decrypts a license or machine file for `fingerprint`
    /// (signature, license key, fingerprint) without keeping it: for a file
    /// checked out on behalf of another machine.
    pub fn verify(&self, text: &str, fingerprint: &str) -> Result<()> {
        self.open(text, Source::LoadedFile, &|| Ok(fingerprint.to_string()))
            .map(drop)
    }

    /// True when there is no cached machine file or half its life has passed.
    pub fn needs_refresh(&self, fingerprint: &str) -> bool {
        let in_memory = self
            .state
            .lock()
            .cached
            .as_ref()
            .map(|ev| half_life_passed(&ev.dataset, now_ms()));
        match in_memory {
            Some(stale) => stale,
            None => self
                .cached(fingerprint)
                .is_none_or(|ev| half_life_passed(&ev.dataset, now_ms())),
        }
    }

    /// The cached machine file: in memory, else read from disk once. A
    /// corrupt or foreign file is ignored (and replaced at the next online
    /// success).
    fn cached(&self, fingerprint: &str) -> Option<Arc<Evidence>> {
        {
            let st = self.state.lock();
            if let Some(ev) = st.cached.clone() {
                return Some(ev);
            }
            let answered = st.loaded.is_some() || st.held.is_some();
            if answered && st.cached_absent.as_deref() == Some(fingerprint) {
                return None;
            }
        }
        let path = self.cache_path("machine", fingerprint)?;
        let bytes = match read_capped(&path, MAX_FILE) {
            Ok(Some(b)) => b,
            Ok(None) => {
                self.state.lock().cached_absent = Some(fingerprint.to_string());
                return None;
            }
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("ignoring the cached machine file: {e}")
                });
                return None;
            }
        };
        // Valid UTF-8 in the normal case: checked once, never copied.
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&bytes),
        };
        match self.open(&text, Source::CachedFile, &|| Ok(fingerprint.to_string())) {
            Ok(ev) => {
                self.state.lock().cached = Some(ev.clone());
                Some(ev)
            }
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("ignoring the cached machine file: {e}")
                });
                None
            }
        }
    }

    /// Takes a license or machine file delivered by hand (air-gapped
    /// machines). It is verified and decrypted now; offline answers use it.
    pub fn load(&self, text: &str, fingerprint: &dyn Fn() -> Result<String>) -> Result<()> {
        let ev = self.open(text, Source::LoadedFile, fingerprint)?;
        self.observe_and_check(&fingerprint()?, Some(ev.dataset.issued));
        self.state.lock().loaded = Some(ev);
        Ok(())
    }

    /// Verifies and decrypts a license (or machine) file a relay handed out, with this
    /// store's license key (the one that came with it): the answers it gives are
    /// `Source::Relay`.
    pub fn open_relay_file(&self, text: &str, fingerprint: &str) -> Result<Arc<Evidence>> {
        self.open(text, Source::Relay, &|| Ok(fingerprint.to_string()))
    }

    /// The answer verified evidence gives now: its issue time raises the trusted-time mark,
    /// which is then checked. No grace applies (the caller's lease is the live check).
    pub fn answer_from(&self, ev: &Evidence, fingerprint: &str) -> Validation {
        let clock = self.observe_and_check(fingerprint, Some(ev.dataset.issued));
        evaluate_file(
            ev,
            fingerprint,
            clock,
            now_ms(),
            self.clock_tolerance_ms,
            self.max_offline_age_ms,
        )
    }

    /// Keeps verified evidence for the offline answers of `validate` (a relay's file, when
    /// the relay cannot be reached), beside the cached and loaded files.
    pub fn hold(&self, ev: Arc<Evidence>) {
        self.state.lock().held = Some(ev);
    }

    /// Answers from offline evidence: the newest verified file, else the
    /// signed license key. `cause` is why the server was not asked (or gave
    /// no trustworthy answer).
    pub fn validate(&self, fingerprint: &str, cause: Option<Error>) -> Result<Validation> {
        let why = cause.as_ref().map(|e| e.message.clone());
        let context = match &why {
            Some(w) => format!("the server gave no trustworthy answer ({w})"),
            None => "offline validation was asked for".to_string(),
        };
        if self.public_keys.is_empty() {
            return err(
                ErrorKind::NoPublicKey,
                format!(
                    "{context}, and offline fallback is off because no public key is configured"
                ),
            );
        }
        let evidence = {
            let cached = self.cached(fingerprint);
            let (loaded, held) = {
                let st = self.state.lock();
                (st.loaded.clone(), st.held.clone())
            };
            // The newest verified file wins.
            [cached, loaded, held]
                .into_iter()
                .flatten()
                .max_by_key(|ev| ev.dataset.issued)
        };
        let mut v = match evidence {
            Some(ev) => {
                let clock = self.observe_and_check(fingerprint, Some(ev.dataset.issued));
                evaluate_file(
                    &ev,
                    fingerprint,
                    clock,
                    now_ms(),
                    self.clock_tolerance_ms,
                    self.max_offline_age_ms,
                )
            }
            None => match self.signed_key_validation(fingerprint) {
                Ok(v) => v,
                Err(e) if e.kind == ErrorKind::KeyNotSigned => {
                    return err(
                        ErrorKind::NoOfflineData,
                        format!(
                        "{context}, and there is no cached or loaded license file to answer from"
                    ),
                    )
                }
                Err(e) => return Err(e),
            },
        };
        v.offline_reason = why;
        self.apply_grace(fingerprint, &mut v);
        Ok(v)
    }

    /// Holds an offline answer to the last verified online verdict and the
    /// grace: evidence older than a signed online SUSPENDED/BANNED/EXPIRED
    /// cannot lift it, and past the grace a valid answer is GRACE_EXPIRED.
    /// The grace runs from the last verified online validation (or, with
    /// none recorded, from the answering evidence's own signed time); its
    /// clock is the latest of the system clock, the trusted-time mark and
    /// the highest local reading already seen, and a clock set back beyond
    /// the tolerance during the grace ends it.
    fn apply_grace(&self, fingerprint: &str, v: &mut Validation) {
        let now = now_ms();
        let mark = self.grace_mark(fingerprint);
        let record = mark.as_ref().and_then(|m| m.get()).unwrap_or_default();
        if let Some(t) = record.last_online {
            let code = ValidationCode::from_text(&record.code);
            let revoked = !record.valid
                && matches!(
                    code,
                    ValidationCode::Suspended | ValidationCode::Banned | ValidationCode::Expired
                );
            if revoked && v.valid && v.timestamp.is_none_or(|issued| issued < t) {
                v.code = code;
                v.code_text = record.code.clone();
                v.valid = false;
                v.detail = format!(
                    "the last verified online answer ({}) said {}; offline evidence issued before it cannot lift that",
                    format_rfc3339(t),
                    record.code
                );
            }
        }
        v.last_online = record.last_online;
        let Some(grace) = self.grace_ms else { return };
        let Some(start) = record.last_online.or(v.timestamp) else {
            return;
        };
        if let Some(m) = &mark {
            if let Err(e) = m.offline_seen(now) {
                self.log(LogLevel::Warn, || {
                    format!("cannot store the offline-grace record: {e}")
                });
            }
        }
        let clock = [
            Some(now),
            self.clock_mark(fingerprint),
            record.highest_local,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now);
        let expiry = start.saturating_add(grace);
        let left = expiry.saturating_sub(clock);
        let set_back = record
            .highest_local
            .filter(|h| now < h.saturating_sub(self.clock_tolerance_ms))
            .map(|h| h - now);
        v.grace_expiry = Some(expiry);
        v.grace_left_ms = Some(if set_back.is_some() { 0 } else { left.max(0) });
        if !v.valid {
            return;
        }
        let detail = match set_back {
            Some(b) => format!(
                "the offline grace ended: the clock was set back {} s while offline; connect to the server to renew it",
                b / 1000
            ),
            None if left <= 0 => format!(
                "the offline grace of {} s after the last verified online validation ({}) ended at {}; connect to the server",
                grace / 1000,
                format_rfc3339(start),
                format_rfc3339(expiry)
            ),
            None => return,
        };
        v.code = ValidationCode::GraceExpired;
        v.code_text = ValidationCode::GraceExpired.as_text().to_string();
        v.valid = false;
        v.detail = detail;
    }

    /// Checks the configured license key as a signed key, with no server.
    pub fn signed_key_validation(&self, fingerprint: &str) -> Result<Validation> {
        let key = &self.public_keys;
        if key.is_empty() {
            return err(
                ErrorKind::NoPublicKey,
                "checking a signed key needs the account's public key; none is configured",
            );
        }
        let license_key = self.license_key()?;
        let signed = verify_signed_key(license_key, key)?;
        let clock = self.observe_and_check(fingerprint, None);
        Ok(signed_key_verdict(
            &signed,
            license_key,
            fingerprint,
            clock,
            now_ms(),
        ))
    }
}

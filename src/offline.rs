//! Offline answers: the machine file lic checks out after activation and
//! keeps in its cache, files delivered by hand, signed license keys, and the
//! trusted-time mark that catches a clock wound back. Every answer here is
//! computed from signed data only.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::cache::{default_cache_dir, entry_name, read_capped, remove, write_atomic};
use crate::client::{Client, ClockState, Validation};
use crate::clockmark::ClockMark;
use crate::config::LogLevel;
use crate::error::{err, Error, ErrorKind, Result};
use crate::files::{parse_certificate, Dataset, FileKind};
use crate::http::Call;
use crate::model::{LicenseInfo, Source, ValidationCode};
use crate::signed_key::verify_signed_key;
use crate::time::{format_rfc3339, now_ms, Millis};

const MAX_FILE: usize = 1 << 20;

/// A verified, decrypted file and where it came from.
#[derive(Clone)]
pub(crate) struct Evidence {
    pub certificate: String,
    pub dataset: Dataset,
    pub source: Source,
}

#[derive(Default)]
pub(crate) struct OfflineState {
    pub cached: Option<Arc<Evidence>>,
    pub loaded: Option<Arc<Evidence>>,
    pub clockmark: Option<ClockMark>,
}

impl Client {
    fn cache_dir(&self) -> Option<PathBuf> {
        self.config().cache_dir.clone().or_else(default_cache_dir)
    }

    fn cache_path(&self, kind: &str, fingerprint: &str) -> Option<PathBuf> {
        let key = self.config().license_key.as_deref()?;
        Some(
            self.cache_dir()?
                .join(entry_name(kind, &self.inner.account, key, fingerprint)),
        )
    }

    /// Runs `f` with the trusted-time mark for this license and machine.
    fn with_clockmark<T>(&self, fingerprint: &str, f: impl FnOnce(&ClockMark) -> T) -> Option<T> {
        let mut st = self.inner.offline.lock();
        if st.clockmark.is_none() {
            let path = self.cache_path("clock", fingerprint)?;
            st.clockmark = Some(ClockMark::new(
                path,
                self.config().license_key.as_deref()?,
                fingerprint,
            ));
        }
        st.clockmark.as_ref().map(f)
    }

    /// Records a trusted (signed) time and says where the clock stands.
    fn observe_and_check(&self, fingerprint: &str, trusted: Option<Millis>) -> ClockState {
        let tolerance = self.config().clock_tolerance.as_millis() as i64;
        self.with_clockmark(fingerprint, |mark| {
            if let Some(t) = trusted {
                if let Err(e) = mark.observe(t) {
                    self.log(LogLevel::Warn, || {
                        format!("cannot store the trusted-time mark: {e}")
                    });
                }
            }
            mark.check(now_ms(), tolerance)
        })
        .unwrap_or(ClockState::Unknown)
    }

    pub(crate) fn after_online_validation(&self, v: &mut Validation) {
        let trusted = if v.verified { v.timestamp } else { None };
        v.clock = self.observe_and_check(&v.fingerprint, trusted);
        if let ClockState::Tampered { behind_ms } = v.clock {
            mark_clock_tampered(v, behind_ms);
        }
        if self.config().public_key.is_none() || !v.verified {
            return;
        }
        let Some(machine_id) = v.machine_id.clone() else {
            return;
        };
        if self.cached_file_stale(&v.fingerprint) {
            if let Err(e) = self.checkout_machine_file(&machine_id, &v.fingerprint) {
                self.log(LogLevel::Warn, || {
                    format!("could not refresh the cached machine file: {e}")
                });
            }
        }
    }

    pub(crate) fn after_activation(&self, _license_id: &str, machine: &crate::model::MachineInfo) {
        if self.config().public_key.is_none() {
            return;
        }
        if let Err(e) = self.checkout_machine_file(&machine.id, &machine.fingerprint) {
            self.log(LogLevel::Warn, || {
                format!("activated, but could not cache a machine file for offline use: {e}")
            });
        }
    }

    pub(crate) fn after_deactivation(&self, fingerprint: &str) {
        self.inner.offline.lock().cached = None;
        if let Some(path) = self.cache_path("machine", fingerprint) {
            if let Err(e) = remove(&path) {
                self.log(LogLevel::Warn, || {
                    format!("could not remove the cached machine file: {e}")
                });
            }
        }
    }

    pub(crate) fn offline_entitlements(&self, license_id: &str) -> Option<Vec<String>> {
        let st = self.inner.offline.lock();
        let found = [&st.cached, &st.loaded]
            .into_iter()
            .flatten()
            .find_map(|ev| {
                let l = ev.dataset.license()?;
                (l.get("id")?.as_str()? == license_id).then(|| ev.dataset.entitlement_codes())
            });
        found
    }

    /// Checks out a machine file (encrypted, with the license, its policy and
    /// entitlements), verifies it and stores it atomically in the cache.
    fn checkout_machine_file(&self, machine_id: &str, fingerprint: &str) -> Result<()> {
        let path = self
            .cache_path("machine", fingerprint)
            .ok_or_else(|| Error::new(ErrorKind::Io, "no cache directory is available"))?;
        let body = json!({ "meta": {
            "algorithm": "aes-256-gcm+ed25519",
            "include": ["license", "license.entitlements", "license.policy"],
            "ttl": self.config().checkout_ttl,
        }});
        let reply = self.send(Call {
            method: "POST",
            path: format!(
                "machines/{}/actions/check-out",
                crate::client::pct(machine_id)
            ),
            query: None,
            body: Some(body),
            auth: self.auth()?,
            retry_safe: true,
        })?;
        let doc = reply.json()?;
        let certificate = doc
            .pointer("/data/attributes/certificate")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::BadResponse,
                    "check-out answer has no certificate",
                )
            })?;
        let ev = self.open_evidence(certificate, Source::CachedFile)?;
        write_atomic(&path, certificate.as_bytes())?;
        self.observe_and_check(fingerprint, Some(ev.dataset.issued));
        self.log(LogLevel::Info, || {
            format!(
                "cached a machine file issued {}",
                format_rfc3339(ev.dataset.issued)
            )
        });
        self.inner.offline.lock().cached = Some(ev);
        Ok(())
    }

    fn open_evidence(&self, text: &str, source: Source) -> Result<Arc<Evidence>> {
        let key = match &self.config().public_key {
            Some(k) => k,
            None => {
                return err(
                    ErrorKind::NoPublicKey,
                    "verifying a file needs the account's public key; none is configured",
                )
            }
        };
        let license_key = self.license_key()?;
        let cert = parse_certificate(text)?;
        let fingerprint = match cert.kind {
            FileKind::Machine => Some(self.fingerprint()?),
            FileKind::License => None,
        };
        let dataset = cert.open(key, Some(license_key), fingerprint.as_deref())?;
        let file_key = dataset
            .license()
            .and_then(|l| l.pointer("/attributes/key"))
            .and_then(Value::as_str);
        if file_key.is_some_and(|k| k != license_key) {
            return err(
                ErrorKind::FileMalformed,
                "the file is for another license key",
            );
        }
        Ok(Arc::new(Evidence {
            certificate: cert.text,
            dataset,
            source,
        }))
    }

    /// True when there is no cached machine file or half its life has passed.
    fn cached_file_stale(&self, fingerprint: &str) -> bool {
        let in_memory = self
            .inner
            .offline
            .lock()
            .cached
            .as_ref()
            .map(|ev| half_life_passed(&ev.dataset, now_ms()));
        match in_memory {
            Some(stale) => stale,
            None => self
                .cached_evidence(fingerprint)
                .is_none_or(|ev| half_life_passed(&ev.dataset, now_ms())),
        }
    }

    /// The cached machine file: in memory, else read from disk once. A
    /// corrupt or foreign file is ignored (and replaced at the next online
    /// success).
    fn cached_evidence(&self, fingerprint: &str) -> Option<Arc<Evidence>> {
        if let Some(ev) = self.inner.offline.lock().cached.clone() {
            return Some(ev);
        }
        let path = self.cache_path("machine", fingerprint)?;
        let bytes = match read_capped(&path, MAX_FILE) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("ignoring the cached machine file: {e}")
                });
                return None;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        match self.open_evidence(&text, Source::CachedFile) {
            Ok(ev) => {
                self.inner.offline.lock().cached = Some(ev.clone());
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

    /// Hands lic a license or machine file delivered by hand (air-gapped
    /// machines). It is verified and decrypted now; `validate` answers from
    /// it when the server cannot be reached (or with OFFLINE_ONLY).
    pub fn load_file(&self, text: &str) -> Result<()> {
        let ev = self.open_evidence(text, Source::LoadedFile)?;
        self.observe_and_check(&self.fingerprint()?, Some(ev.dataset.issued));
        self.inner.offline.lock().loaded = Some(ev);
        Ok(())
    }

    pub(crate) fn validate_offline(
        &self,
        fingerprint: &str,
        cause: Option<Error>,
    ) -> Result<Validation> {
        let why = cause.as_ref().map(|e| e.message.clone());
        let context = match &why {
            Some(w) => format!("the server gave no trustworthy answer ({w})"),
            None => "offline validation was asked for".to_string(),
        };
        if self.config().public_key.is_none() {
            return err(
                ErrorKind::NoPublicKey,
                format!(
                    "{context}, and offline fallback is off because no public key is configured"
                ),
            );
        }
        let evidence = {
            let cached = self.cached_evidence(fingerprint);
            let loaded = self.inner.offline.lock().loaded.clone();
            // The newest verified file wins.
            [cached, loaded]
                .into_iter()
                .flatten()
                .max_by_key(|ev| ev.dataset.issued)
        };
        let mut v = match evidence {
            Some(ev) => self.evaluate_file(&ev, fingerprint),
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
        Ok(v)
    }

    fn evaluate_file(&self, ev: &Evidence, fingerprint: &str) -> Validation {
        let ds = &ev.dataset;
        let now = now_ms();
        let license = ds.license().and_then(LicenseInfo::from_resource);
        let machine_id = ds
            .machine()
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut clock = self.observe_and_check(fingerprint, Some(ds.issued));
        let tolerance = self.config().clock_tolerance.as_millis() as i64;
        if now < ds.issued - tolerance {
            clock = ClockState::Tampered {
                behind_ms: ds.issued - now,
            };
        }
        let policy = ds
            .doc
            .get("included")
            .and_then(Value::as_array)
            .and_then(|inc| {
                inc.iter()
                    .find(|i| i.get("type").and_then(Value::as_str) == Some("policies"))
            });
        let expiration = policy
            .and_then(|p| p.pointer("/attributes/expirationStrategy"))
            .and_then(Value::as_str);
        let (code, valid, detail) = offline_verdict(
            ds,
            license.as_ref(),
            expiration,
            now,
            self.config().max_offline_age.map(|d| d.as_millis() as i64),
        );
        let mut v = Validation {
            code,
            code_text: code.as_text().to_string(),
            valid,
            detail,
            entitlements: ds.entitlement_codes(),
            license,
            machine_id,
            fingerprint: fingerprint.to_string(),
            source: ev.source,
            timestamp: Some(ds.issued),
            verified: true,
            clock,
            file_issued: Some(ds.issued),
            file_expiry: ds.expiry,
            signed: None,
            certificate: Some(ev.certificate.clone()),
            offline_reason: None,
            process_slots: 0,
        };
        if let ClockState::Tampered { behind_ms } = clock {
            mark_clock_tampered(&mut v, behind_ms);
        }
        v
    }

    /// Checks the configured license key as an ED25519_SIGN key, with no server.
    pub fn signed_key_validation(&self, fingerprint: &str) -> Result<Validation> {
        let key = match &self.config().public_key {
            Some(k) => k,
            None => {
                return err(
                    ErrorKind::NoPublicKey,
                    "checking a signed key needs the account's public key; none is configured",
                )
            }
        };
        let license_key = self.license_key()?;
        let signed = verify_signed_key(license_key, key)?;
        let (issued, expiry) = signed.issued_and_expiry();
        let payload = signed.json.clone().unwrap_or(Value::Null);
        let s = |p: &str| {
            payload
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let license = s("/license/id").map(|id| LicenseInfo {
            id,
            key: Some(license_key.to_string()),
            expiry,
            policy_id: s("/policy/id"),
            product_id: s("/product/id"),
            ..LicenseInfo::default()
        });
        let now = now_ms();
        let clock = self.observe_and_check(fingerprint, None);
        let (code, valid, detail) = match expiry {
            Some(e) if now > e => (
                ValidationCode::Expired,
                false,
                "is expired (signed key checked offline)".to_string(),
            ),
            _ => (
                ValidationCode::Valid,
                true,
                "is valid (signed key checked offline; machine activation is not checked)"
                    .to_string(),
            ),
        };
        let mut v = Validation {
            code,
            code_text: code.as_text().to_string(),
            valid,
            detail,
            license,
            entitlements: Vec::new(),
            machine_id: None,
            fingerprint: fingerprint.to_string(),
            source: Source::SignedKey,
            timestamp: issued,
            verified: true,
            clock,
            file_issued: None,
            file_expiry: None,
            signed: None,
            certificate: None,
            offline_reason: None,
            process_slots: 0,
        };
        if let ClockState::Tampered { behind_ms } = clock {
            mark_clock_tampered(&mut v, behind_ms);
        }
        Ok(v)
    }
}

fn mark_clock_tampered(v: &mut Validation, behind_ms: i64) {
    v.code = ValidationCode::ClockTampered;
    v.code_text = v.code.as_text().to_string();
    v.valid = false;
    v.detail = format!(
        "the system clock is {} s behind the latest trusted time lic has seen: it was set back",
        behind_ms / 1000
    );
}

/// A file is refreshed once half of its lifetime has passed.
fn half_life_passed(ds: &Dataset, now: Millis) -> bool {
    match ds.expiry {
        Some(e) => now >= ds.issued + (e - ds.issued) / 2,
        None => false,
    }
}

/// The verdict a signed file supports at `now`, in Keygen's order where it
/// applies: the file itself, then the license's status and expiry.
pub(crate) fn offline_verdict(
    ds: &Dataset,
    license: Option<&LicenseInfo>,
    expiration_strategy: Option<&str>,
    now: Millis,
    max_age_ms: Option<i64>,
) -> (ValidationCode, bool, String) {
    if let Some(e) = ds.expiry.filter(|e| now > *e) {
        return (
            ValidationCode::FileExpired,
            false,
            format!(
                "offline file expired at {}; connect to renew it",
                format_rfc3339(e)
            ),
        );
    }
    if let Some(max) = max_age_ms.filter(|m| now - ds.issued > *m) {
        return (
            ValidationCode::FileExpired,
            false,
            format!("offline file was issued more than {} s ago (the app's offline limit); connect to renew it", max / 1000),
        );
    }
    let Some(l) = license else {
        return (
            ValidationCode::Unknown,
            false,
            "the file holds no license".to_string(),
        );
    };
    if l.status.as_deref() == Some("BANNED") {
        return (ValidationCode::Banned, false, "is banned".to_string());
    }
    if l.suspended || l.status.as_deref() == Some("SUSPENDED") {
        return (ValidationCode::Suspended, false, "is suspended".to_string());
    }
    if l.expiry.is_some_and(|e| now > e) {
        let valid = matches!(
            expiration_strategy,
            Some("MAINTAIN_ACCESS" | "ALLOW_ACCESS")
        );
        return (ValidationCode::Expired, valid, "is expired".to_string());
    }
    (
        ValidationCode::Valid,
        true,
        format!(
            "is valid (offline: signed file issued {})",
            format_rfc3339(ds.issued)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::FileKind;

    fn ds(issued: Millis, expiry: Option<Millis>) -> Dataset {
        Dataset {
            kind: FileKind::Machine,
            issued,
            expiry,
            ttl: None,
            doc: Value::Null,
        }
    }

    #[test]
    fn verdict_order() {
        let lic = LicenseInfo {
            id: "l".into(),
            ..LicenseInfo::default()
        };
        let d = ds(1_000, Some(10_000));
        assert_eq!(
            offline_verdict(&d, Some(&lic), None, 5_000, None).0,
            ValidationCode::Valid
        );
        assert_eq!(
            offline_verdict(&d, Some(&lic), None, 10_001, None).0,
            ValidationCode::FileExpired
        );
        assert_eq!(
            offline_verdict(&d, Some(&lic), None, 5_000, Some(3_000)).0,
            ValidationCode::FileExpired
        );
        let suspended = LicenseInfo {
            suspended: true,
            expiry: Some(2_000),
            ..lic.clone()
        };
        assert_eq!(
            offline_verdict(&d, Some(&suspended), None, 5_000, None).0,
            ValidationCode::Suspended
        );
        let expired = LicenseInfo {
            expiry: Some(2_000),
            ..lic.clone()
        };
        assert_eq!(
            offline_verdict(&d, Some(&expired), Some("RESTRICT_ACCESS"), 5_000, None),
            (ValidationCode::Expired, false, "is expired".into())
        );
        assert!(offline_verdict(&d, Some(&expired), Some("MAINTAIN_ACCESS"), 5_000, None).1);
        // The file's own expiry is reported before the license's.
        assert_eq!(
            offline_verdict(&d, Some(&expired), None, 20_000, None).0,
            ValidationCode::FileExpired
        );
        assert_eq!(
            offline_verdict(&ds(0, None), Some(&lic), None, i64::MAX / 2, None).0,
            ValidationCode::Valid
        );
    }

    #[test]
    fn refresh_at_half_life() {
        assert!(!half_life_passed(&ds(0, Some(100)), 49));
        assert!(half_life_passed(&ds(0, Some(100)), 50));
        assert!(!half_life_passed(&ds(0, None), 1 << 40));
    }
}

//! `validate`: the online answer (validate-key with the fingerprint and
//! product scope, a nonce, and every echoed field checked), the offline
//! fallback when no trustworthy answer came, auto-activation, and the events
//! a change of source or code raises.

use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    Client, ENTITLEMENTS_TTL, RETRY_LOOKUP, VALIDATE_ALL_FLAGS, VALIDATE_AUTO_ACTIVATE,
    VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY,
};
use crate::config::LogLevel;
use crate::crypto::random_nonce;
use crate::error::{err, Error, ErrorKind, Result};
use crate::events::{Event, EventKind};
use crate::machine::HostFacts;
use crate::model::{LicenseInfo, LicenseResource, Source, Validation, ValidationCode};
use crate::protocol::{pct, Auth, Call, Deadline};
use crate::time::{format_rfc3339, parse_rfc3339};

impl Client {
    /// Validates the license for this machine. See `VALIDATE_*` for `flags`.
    /// Emits OFFLINE_ENTERED / OFFLINE_LEFT when the answer's source switches
    /// between online and offline, and LICENSE_STATE_CHANGED when the code
    /// differs from the previous validation's.
    ///
    /// One deadline (the configured timeout) covers the whole call: the
    /// validation, auto-activation and the validation after it, and the
    /// follow-ups (this machine's id, the entitlements, a fresh machine
    /// file). A follow-up that does not fit in what is left is skipped, and
    /// the next call does it.
    pub fn validate(&self, flags: u32) -> Result<Validation> {
        let (res, events) = self.validate_noting(flags, "validate");
        for e in events {
            self.inner.events.emit(e);
        }
        res
    }

    /// `validate`, recorded in the call history under `call`, returning the
    /// events it raises instead of emitting them (the background
    /// revalidation delivers them only while its client lives).
    pub(crate) fn validate_noting(
        &self,
        flags: u32,
        call: &'static str,
    ) -> (Result<Validation>, Vec<Event>) {
        let res = self.validate_once(flags, &self.deadline()).map(|mut v| {
            v.process_slots = self.process_slots();
            v
        });
        self.record_call(call, res.as_ref().map(Some));
        let events = match &res {
            Ok(v) => self.note_verdict(v),
            Err(_) => Vec::new(),
        };
        (res, events)
    }

    /// The events a verdict raises: a switch between online and offline,
    /// a changed code (with both codes), and the grace running out.
    fn note_verdict(&self, v: &Validation) -> Vec<Event> {
        // A relay's answer is a live one: its lease was just granted or extended.
        let online = matches!(v.source, Source::Online | Source::Relay);
        let before = self.inner.last_verdict.lock().replace((online, v.code));
        let was_online = before.is_none_or(|(o, _)| o);
        let mut events = Vec::new();
        if was_online && !online {
            let why = v
                .offline_reason
                .as_deref()
                .unwrap_or("offline validation was asked for");
            events.push(Event::new(
                EventKind::OfflineEntered,
                None,
                format!("answering from offline evidence: {why}"),
            ));
        } else if !was_online && online {
            events.push(Event::new(
                EventKind::OfflineLeft,
                None,
                "the server answers again",
            ));
        }
        if let Some((_, code)) = before.filter(|(_, c)| *c != v.code) {
            let mut e = Event::new(
                EventKind::LicenseStateChanged,
                None,
                format!("{} -> {}", code.as_text(), v.code_text),
            );
            e.codes = Some((code.as_text().to_string(), v.code_text.clone()));
            events.push(e);
        }
        if let Some(e) = self.grace_warning(v) {
            events.push(e);
        }
        events
    }

    /// GRACE_EXPIRING, once per grace period, when a valid offline answer
    /// has less grace left than a tenth of the grace or two revalidation
    /// intervals (whichever is longer).
    fn grace_warning(&self, v: &Validation) -> Option<Event> {
        if matches!(v.source, Source::Online | Source::Relay) || !v.valid {
            return None;
        }
        let (left, expiry) = (v.grace_left_ms?, v.grace_expiry?);
        let grace = self.inner.offline.grace_ms()?;
        let interval = self
            .inner
            .monitor
            .get()
            .and_then(|m| m.revalidation_interval())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let lead = (grace / 10).max(interval.saturating_mul(2)).min(grace);
        if left > lead {
            return None;
        }
        let mut warned = self.inner.grace_warned.lock();
        if *warned == Some(expiry) {
            return None;
        }
        *warned = Some(expiry);
        let mut e = Event::new(
            EventKind::GraceExpiring,
            None,
            format!(
                "the offline grace ends in {} s (at {}); connect to the server to renew it",
                left / 1000,
                format_rfc3339(expiry)
            ),
        );
        e.time_left = Some(std::time::Duration::from_millis(left.max(0) as u64));
        Some(e)
    }

    fn validate_once(&self, flags: u32, deadline: &Deadline) -> Result<Validation> {
        if flags & !VALIDATE_ALL_FLAGS != 0 {
            return err(
                ErrorKind::InvalidArgument,
                format!("unknown validate flags {:#x}", flags & !VALIDATE_ALL_FLAGS),
            );
        }
        if flags & VALIDATE_ONLINE_ONLY != 0 && flags & VALIDATE_OFFLINE_ONLY != 0 {
            return err(
                ErrorKind::InvalidArgument,
                "ONLINE_ONLY and OFFLINE_ONLY exclude each other",
            );
        }
        if let Some(link) = &self.inner.relay {
            return self.validate_relay(
                link,
                flags & VALIDATE_OFFLINE_ONLY != 0,
                flags & VALIDATE_ONLINE_ONLY != 0,
                deadline,
            );
        }
        let fingerprint = self.fingerprint()?;
        self.license_key()?;
        if flags & VALIDATE_OFFLINE_ONLY != 0 {
            return self.validate_offline(&fingerprint, None);
        }
        let first = match self.validate_online(&fingerprint, deadline) {
            Ok(v) => v,
            Err(e) if e.is_no_answer() && flags & VALIDATE_ONLINE_ONLY == 0 => {
                self.log(LogLevel::Warn, || {
                    format!(
                        "no trustworthy answer from the server ({}); trying offline evidence",
                        e
                    )
                });
                return self.validate_offline(&fingerprint, Some(e));
            }
            Err(e) => return Err(e),
        };
        if flags & VALIDATE_AUTO_ACTIVATE == 0 || !needs_activation(&first) {
            return Ok(first);
        }
        self.log(LogLevel::Info, || {
            format!("{} for this machine; activating", first.code_text)
        });
        self.activate_by(&HostFacts::this_machine(), deadline)?;
        self.validate_online(&fingerprint, deadline)
    }

    /// The online answer, with the components scope when the policy needs
    /// it: learnt from a COMPONENTS_SCOPE_REQUIRED answer (asked again at
    /// once with the scope when the call has time left) or from the cached
    /// file's policy.
    fn validate_online(&self, fingerprint: &str, deadline: &Deadline) -> Result<Validation> {
        let with_components = self.wants_components_scope(fingerprint);
        let v = self.validate_online_scoped(fingerprint, deadline, with_components)?;
        if with_components || v.code != ValidationCode::ComponentsScopeRequired {
            return Ok(v);
        }
        self.components_scope_required();
        if !deadline.room_for_follow_up() {
            return Ok(v);
        }
        self.log(LogLevel::Info, || {
            "the policy requires the components scope; validating again with it".to_string()
        });
        self.validate_online_scoped(fingerprint, deadline, true)
    }

    fn validate_online_scoped(
        &self,
        fingerprint: &str,
        deadline: &Deadline,
        with_components: bool,
    ) -> Result<Validation> {
        let key = self.license_key()?;
        let nonce = random_nonce()?;
        let mut scope = json!({ "fingerprint": fingerprint });
        if let Some(p) = &self.inner.cfg.product_id {
            scope["product"] = json!(p);
        }
        let components: Option<Vec<String>> = with_components.then(|| {
            self.components_to_send()
                .into_iter()
                .map(|(_, fp)| fp)
                .collect()
        });
        if let Some(c) = &components {
            scope["components"] = json!(c);
        }
        let body = json!({ "meta": { "key": key, "nonce": nonce, "scope": scope } });
        let reply = self.send(
            Call {
                method: "POST",
                path: "licenses/actions/validate-key".into(),
                query: None,
                body: Some(body),
                auth: Auth::None,
                retry_safe: true,
            },
            deadline,
        )?;
        let doc: ValidationDoc = reply.parse()?;
        let meta = doc
            .meta
            .ok_or_else(|| Error::new(ErrorKind::BadResponse, "validation answer has no meta"))?;
        if meta.nonce != Some(nonce) {
            return err(
                ErrorKind::ResponseMismatch,
                "validation answer does not echo this request's nonce: replayed or substituted",
            );
        }
        let scope = meta.scope.unwrap_or_default();
        if scope.fingerprint.as_deref() != Some(fingerprint) {
            return err(
                ErrorKind::ResponseMismatch,
                "validation answer is about another fingerprint",
            );
        }
        if let Some(sent) = &components {
            let mut echoed = scope.components.clone().unwrap_or_default();
            let mut sent = sent.clone();
            echoed.sort();
            sent.sort();
            if echoed != sent {
                return err(
                    ErrorKind::ResponseMismatch,
                    "validation answer is about other components",
                );
            }
        }
        if let Some(p) = &self.inner.cfg.product_id {
            if scope.product.as_deref() != Some(p.as_str()) {
                return err(
                    ErrorKind::ResponseMismatch,
                    "validation answer is about another product",
                );
            }
        }
        let license = doc.data.map(LicenseInfo::from);
        if let Some(l) = &license {
            if l.key.as_deref().is_some_and(|k| k != key) {
                return err(
                    ErrorKind::ResponseMismatch,
                    "validation answer is about another license key",
                );
            }
        }
        // API <= 1.1 names the code `constant`.
        let code_text = meta.code.or(meta.constant).unwrap_or_default();
        if code_text.is_empty() {
            return err(ErrorKind::BadResponse, "validation answer has no code");
        }
        let code = ValidationCode::from_text(&code_text);
        let valid = meta.valid.ok_or_else(|| {
            Error::new(
                ErrorKind::BadResponse,
                "validation answer has no valid flag",
            )
        })?;
        let timestamp = meta.ts.as_deref().and_then(parse_rfc3339).or(reply.date_ms);
        let verified = reply.signed.is_some();

        let mut v = Validation {
            code_text,
            license,
            timestamp,
            verified,
            signed: reply.signed,
            ..Validation::new(
                code,
                valid,
                meta.detail.unwrap_or_default(),
                fingerprint,
                Source::Online,
            )
        };
        if let Some(l) = &v.license {
            self.inner.state.lock().license_id = Some(l.id.clone());
            if fingerprint_matched(code) {
                v.machine_id = self.machine_id_for_result(deadline);
            }
            v.entitlements = self.entitlements_for(&l.id, deadline);
        }
        self.after_online_validation(&mut v, deadline);
        Ok(v)
    }

    /// This machine's id for a validation result: `None` when it cannot be
    /// had (not an error), and a failed lookup is not repeated for a while.
    /// Without time left for the lookup it is `None` too, and asked next time.
    fn machine_id_for_result(&self, deadline: &Deadline) -> Option<String> {
        {
            let st = self.inner.state.lock();
            if let Some((fp, id)) = &st.machine {
                if self.fingerprint().ok().as_ref() == Some(fp) {
                    return Some(id.clone());
                }
            }
            if st.machine_lookup_after.is_some_and(|t| Instant::now() < t) {
                return None;
            }
        }
        if !deadline.room_for_follow_up() {
            return None;
        }
        match self.this_machine_id(deadline) {
            Ok(id) => Some(id),
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("could not look up this machine's id: {e}")
                });
                self.inner.state.lock().machine_lookup_after = Some(Instant::now() + RETRY_LOOKUP);
                None
            }
        }
    }

    /// The license's entitlement codes: remembered for a while, else from a
    /// verified file, else read from the server when the call has time left
    /// (without it, the last codes read, asked again next time).
    fn entitlements_for(&self, license_id: &str, deadline: &Deadline) -> Vec<String> {
        let known = match &self.inner.state.lock().entitlements {
            Some((id, codes, until)) if id == license_id => {
                if Instant::now() < *until {
                    return codes.clone();
                }
                Some(codes.clone())
            }
            _ => None,
        };
        if let Some(codes) = self.offline_entitlements(license_id) {
            return codes;
        }
        if !deadline.room_for_follow_up() {
            return known.unwrap_or_default();
        }
        let (codes, ttl) = match self.fetch_entitlements(license_id, deadline) {
            Ok(codes) => (codes, ENTITLEMENTS_TTL),
            Err(e) => {
                self.log(LogLevel::Warn, || {
                    format!("could not read the license's entitlements: {e}")
                });
                (Vec::new(), RETRY_LOOKUP)
            }
        };
        self.inner.state.lock().entitlements =
            Some((license_id.to_string(), codes.clone(), Instant::now() + ttl));
        codes
    }

    fn fetch_entitlements(&self, license_id: &str, deadline: &Deadline) -> Result<Vec<String>> {
        let items = self.list(
            &format!("licenses/{}/entitlements", pct(license_id)),
            deadline,
        )?;
        Ok(items
            .iter()
            .filter_map(|e| {
                e.pointer("/attributes/code")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }
}

/// A validate-key answer, read straight from the body (the hot path builds no
/// JSON tree).
#[derive(Deserialize)]
struct ValidationDoc {
    data: Option<LicenseResource>,
    meta: Option<ValidationMeta>,
}

#[derive(Deserialize)]
struct ValidationMeta {
    code: Option<String>,
    constant: Option<String>,
    valid: Option<bool>,
    detail: Option<String>,
    nonce: Option<u64>,
    ts: Option<String>,
    scope: Option<EchoedScope>,
}

#[derive(Default, Deserialize)]
struct EchoedScope {
    fingerprint: Option<String>,
    product: Option<String>,
    components: Option<Vec<String>>,
}

fn needs_activation(v: &Validation) -> bool {
    match v.code {
        ValidationCode::NoMachine | ValidationCode::NoMachines => true,
        // Another machine holds a node-locked license: that is the user's
        // decision, so it comes back untouched. A floating license simply
        // has room for this machine too.
        ValidationCode::FingerprintScopeMismatch => {
            v.license.as_ref().and_then(|l| l.floating) == Some(true)
        }
        _ => false,
    }
}

/// Codes that can only be reached after the fingerprint matched a machine.
fn fingerprint_matched(code: ValidationCode) -> bool {
    use ValidationCode::*;
    matches!(
        code,
        Valid
            | Expired
            | TooManyUsers
            | TooManyMachines
            | TooManyCores
            | TooMuchMemory
            | TooMuchDisk
            | TooManyProcesses
            | HeartbeatNotStarted
    )
}

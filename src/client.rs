//! The client: node-locked validate, activate and deactivate against the
//! Keygen API, with the offline fallback and the process slots built on it.
//! A `Client` is immutable configuration plus a little shared state behind
//! locks that are never held across network I/O; it is `Send + Sync`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{check_text, Config, LogLevel};
use crate::crypto::random_nonce;
use crate::error::{err, Error, ErrorKind, Result};
use crate::events::{Event, EventKind, Events};
use crate::fingerprint::machine_fingerprint;
use crate::http::{Auth, Call, Reply, Transport};
use crate::model::{LicenseInfo, LicenseResource, MachineInfo, Source, ValidationCode};
use crate::signature::SignedMaterial;
use crate::slots::Monitor;
use crate::time::{parse_rfc3339, Millis};

/// The trust state of the system clock, as the result reports it.
pub use crate::clockmark::ClockState;

/// `lic_validate` options.
pub const VALIDATE_AUTO_ACTIVATE: u32 = 1;
/// Answer only from the server: no offline fallback.
pub const VALIDATE_ONLINE_ONLY: u32 = 2;
/// Answer only from offline evidence: no network at all.
pub const VALIDATE_OFFLINE_ONLY: u32 = 4;
pub const VALIDATE_ALL_FLAGS: u32 =
    VALIDATE_AUTO_ACTIVATE | VALIDATE_ONLINE_ONLY | VALIDATE_OFFLINE_ONLY;

/// One validation answer, online or offline.
#[derive(Clone, Debug)]
pub struct Validation {
    pub code: ValidationCode,
    /// The code exactly as the server (or lic) named it; kept for codes newer
    /// than this library.
    pub code_text: String,
    pub valid: bool,
    pub detail: String,
    pub license: Option<LicenseInfo>,
    pub entitlements: Vec<String>,
    pub machine_id: Option<String>,
    pub fingerprint: String,
    pub source: Source,
    /// When the answer was produced: the server's signed `meta.ts` (or `Date`)
    /// online, the file's `issued` offline.
    pub timestamp: Option<Millis>,
    /// The answer's signature was verified with the configured public key.
    pub verified: bool,
    pub clock: ClockState,
    pub file_issued: Option<Millis>,
    pub file_expiry: Option<Millis>,
    /// What the answer was signed with: the response (online) …
    pub signed: Option<SignedMaterial>,
    /// … or the certificate of the file in use (offline).
    pub certificate: Option<String>,
    /// Why an offline answer was used: the error of the online attempt.
    pub offline_reason: Option<String>,
    /// Process slots this client held when the answer was made.
    pub process_slots: usize,
}

pub(crate) struct Inner {
    pub cfg: Config,
    pub account: String,
    pub transport: Transport,
    fingerprint: OnceCell<String>,
    state: Mutex<State>,
    pub(crate) offline: Mutex<crate::offline::OfflineState>,
    pub(crate) events: Arc<Events>,
    /// The slots and heartbeats, created with the first slot or machine monitor.
    pub(crate) monitor: OnceCell<Arc<Monitor>>,
    /// (answered online, code) of the last validation, for the events.
    last_verdict: Mutex<Option<(bool, ValidationCode)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(m) = self.monitor.get() {
            m.shutdown();
        }
    }
}

#[derive(Default)]
struct State {
    license_id: Option<String>,
    machine: Option<(String, String)>, // (fingerprint, machine id)
    /// A failed machine lookup is not retried before this instant.
    machine_lookup_after: Option<Instant>,
    /// (license id, codes, valid until); a failed read is remembered briefly.
    entitlements: Option<(String, Vec<String>, Instant)>,
}

#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

const ENTITLEMENTS_TTL: Duration = Duration::from_secs(600);
/// A failed lookup behind a validation (machine id, entitlements) is not
/// repeated on every call.
const RETRY_LOOKUP: Duration = Duration::from_secs(60);

impl Client {
    pub fn new(cfg: Config) -> Result<Client> {
        let account = match &cfg.account_id {
            Some(a) => check_text("account id", a, 256)?,
            None => return err(ErrorKind::ConfigIncomplete, "account id is not set"),
        };
        let transport = Transport::new(&cfg, &account)?;
        let fingerprint = OnceCell::new();
        if let Some(fp) = &cfg.fingerprint {
            let _ = fingerprint.set(check_text("fingerprint", fp, 4096)?);
        }
        let events = Arc::new(Events::new(cfg.events.clone()));
        Ok(Client {
            inner: Arc::new(Inner {
                cfg,
                account,
                transport,
                fingerprint,
                state: Mutex::new(State::default()),
                offline: Mutex::default(),
                events,
                monitor: OnceCell::new(),
                last_verdict: Mutex::new(None),
            }),
        })
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
    pub(crate) fn send(&self, call: Call<'_>) -> Result<Reply> {
        self.inner.transport.send(&call).map_err(|mut e| {
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

    /// Validates the license for this machine. See `VALIDATE_*` for `flags`.
    /// Emits OFFLINE_ENTERED / OFFLINE_LEFT when the answer's source switches
    /// between online and offline, and LICENSE_STATE_CHANGED when the code
    /// differs from the previous validation's.
    pub fn validate(&self, flags: u32) -> Result<Validation> {
        let mut v = self.validate_once(flags)?;
        v.process_slots = self.process_slots();
        self.note_verdict(&v);
        Ok(v)
    }

    fn note_verdict(&self, v: &Validation) {
        let online = v.source == Source::Online;
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
            events.push(Event::new(
                EventKind::LicenseStateChanged,
                None,
                format!("{} -> {}", code.as_text(), v.code_text),
            ));
        }
        for e in events {
            self.inner.events.emit(e);
        }
    }

    fn validate_once(&self, flags: u32) -> Result<Validation> {
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
        let fingerprint = self.fingerprint()?;
        self.license_key()?;
        if flags & VALIDATE_OFFLINE_ONLY != 0 {
            return self.validate_offline(&fingerprint, None);
        }
        let first = match self.validate_online(&fingerprint) {
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
        self.activate()?;
        self.validate_online(&fingerprint)
    }

    fn validate_online(&self, fingerprint: &str) -> Result<Validation> {
        let key = self.license_key()?;
        let nonce = random_nonce()?;
        let mut scope = json!({ "fingerprint": fingerprint });
        if let Some(p) = &self.inner.cfg.product_id {
            scope["product"] = json!(p);
        }
        let body = json!({ "meta": { "key": key, "nonce": nonce, "scope": scope } });
        let reply = self.send(Call {
            method: "POST",
            path: "licenses/actions/validate-key".into(),
            query: None,
            body: Some(body),
            auth: Auth::None,
            retry_safe: true,
        })?;
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
            code,
            code_text,
            valid,
            detail: meta.detail.unwrap_or_default(),
            license,
            entitlements: Vec::new(),
            machine_id: None,
            fingerprint: fingerprint.to_string(),
            source: Source::Online,
            timestamp,
            verified,
            clock: ClockState::Unknown,
            file_issued: None,
            file_expiry: None,
            signed: reply.signed,
            certificate: None,
            offline_reason: None,
            process_slots: 0,
        };
        if let Some(l) = &v.license {
            self.inner.state.lock().license_id = Some(l.id.clone());
            if fingerprint_matched(code) {
                v.machine_id = self.machine_id_for_result();
            }
            v.entitlements = self.entitlements_for(&l.id);
        }
        self.after_online_validation(&mut v);
        Ok(v)
    }

    /// The id of this machine: remembered from activation, else looked up.
    /// `MachineNotActivated` when the license has no such machine.
    pub(crate) fn this_machine_id(&self) -> Result<String> {
        let fingerprint = self.fingerprint()?;
        if let Some((fp, id)) = &self.inner.state.lock().machine {
            if *fp == fingerprint {
                return Ok(id.clone());
            }
        }
        let m = match self.machine(&fingerprint) {
            Ok(m) => m,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::MachineNotActivated,
                    "this machine is not activated for the license: activate it first",
                )
                .with_code(e.code))
            }
            Err(e) => return Err(e),
        };
        self.inner.state.lock().machine = Some((fingerprint, m.id.clone()));
        Ok(m.id)
    }

    /// This machine's id for a validation result: `None` when it cannot be
    /// had (not an error), and a failed lookup is not repeated for a while.
    fn machine_id_for_result(&self) -> Option<String> {
        {
            let st = self.inner.state.lock();
            if st.machine.is_none() && st.machine_lookup_after.is_some_and(|t| Instant::now() < t) {
                return None;
            }
        }
        match self.this_machine_id() {
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

    fn entitlements_for(&self, license_id: &str) -> Vec<String> {
        if let Some((id, codes, until)) = &self.inner.state.lock().entitlements {
            if id == license_id && Instant::now() < *until {
                return codes.clone();
            }
        }
        if let Some(codes) = self.offline_entitlements(license_id) {
            return codes;
        }
        let (codes, ttl) = match self.fetch_entitlements(license_id) {
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

    fn fetch_entitlements(&self, license_id: &str) -> Result<Vec<String>> {
        let items = self.list(&format!("licenses/{}/entitlements", pct(license_id)))?;
        Ok(items
            .iter()
            .filter_map(|e| {
                e.pointer("/attributes/code")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }

    /// Every page of a list endpoint (page size 100).
    pub(crate) fn list(&self, path: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for page in 1.. {
            let reply = self.send(Call {
                method: "GET",
                path: path.to_string(),
                query: Some(format!("page%5Bsize%5D=100&page%5Bnumber%5D={page}")),
                body: None,
                auth: self.auth()?,
                retry_safe: true,
            })?;
            let items = reply
                .json()?
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            out.extend(items);
            if n < 100 || page >= 100 {
                break;
            }
        }
        Ok(out)
    }

    /// The license id, from the last answer or from `GET me`.
    pub(crate) fn license_id(&self) -> Result<String> {
        if let Some(id) = self.inner.state.lock().license_id.clone() {
            return Ok(id);
        }
        let reply = self.send(Call {
            method: "GET",
            path: "me".into(),
            query: None,
            body: None,
            auth: self.auth()?,
            retry_safe: true,
        })?;
        let doc = reply.json()?;
        let id = doc
            .pointer("/data/id")
            .and_then(Value::as_str)
            .filter(|_| doc.pointer("/data/type").and_then(Value::as_str) == Some("licenses"))
            .ok_or_else(|| Error::new(ErrorKind::BadResponse, "GET me did not return a license"))?
            .to_string();
        self.inner.state.lock().license_id = Some(id.clone());
        Ok(id)
    }

    /// Activates this machine. Already activated is success.
    pub fn activate(&self) -> Result<MachineInfo> {
        let fingerprint = self.fingerprint()?;
        let license_id = self.license_id()?;
        let mut attributes = json!({
            "fingerprint": fingerprint,
            "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        });
        if let Some(h) = hostname() {
            attributes["hostname"] = json!(h);
        }
        let body = json!({ "data": {
            "type": "machines",
            "attributes": attributes,
            "relationships": { "license": { "data": { "type": "licenses", "id": license_id } } }
        }});
        let machine = match self.send(Call {
            method: "POST",
            path: "machines".into(),
            query: None,
            body: Some(body),
            auth: self.auth()?,
            retry_safe: true,
        }) {
            Ok(reply) => {
                MachineInfo::from_resource(reply.json()?.get("data").unwrap_or(&Value::Null))
                    .ok_or_else(|| {
                        Error::new(ErrorKind::BadResponse, "activation answer has no machine")
                    })?
            }
            // Taken within this license means this machine is already activated.
            Err(e)
                if e.kind == ErrorKind::FingerprintTaken
                    && e.message.ends_with("has already been taken") =>
            {
                self.machine(&fingerprint)?
            }
            Err(e) => return Err(e),
        };
        self.log(LogLevel::Info, || {
            format!("machine {} is activated", machine.id)
        });
        self.inner.state.lock().machine = Some((fingerprint.clone(), machine.id.clone()));
        self.after_activation(&license_id, &machine);
        Ok(machine)
    }

    /// Reads one machine of this license by id or fingerprint.
    pub fn machine(&self, id_or_fingerprint: &str) -> Result<MachineInfo> {
        let reply = self.send(Call {
            method: "GET",
            path: format!("machines/{}", pct(id_or_fingerprint)),
            query: None,
            body: None,
            auth: self.auth()?,
            retry_safe: true,
        })?;
        MachineInfo::from_resource(reply.json()?.get("data").unwrap_or(&Value::Null))
            .ok_or_else(|| Error::new(ErrorKind::BadResponse, "answer has no machine"))
    }

    /// Deactivates this machine (`None`) or the machine with the given id.
    pub fn deactivate(&self, machine_id: Option<&str>) -> Result<()> {
        let fingerprint = self.fingerprint()?;
        let target = machine_id.unwrap_or(&fingerprint).to_string();
        let res = self.send(Call {
            method: "DELETE",
            path: format!("machines/{}", pct(&target)),
            query: None,
            body: None,
            auth: self.auth()?,
            retry_safe: true,
        });
        match res {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {
                let what = if machine_id.is_some() {
                    format!("machine {target}")
                } else {
                    "this machine".to_string()
                };
                return Err(Error::new(
                    ErrorKind::MachineNotActivated,
                    format!("{what} is not activated for this license"),
                )
                .with_code(e.code));
            }
            Err(e) => return Err(e),
        }
        let mine = {
            let mut st = self.inner.state.lock();
            let mine =
                machine_id.is_none() || st.machine.as_ref().is_some_and(|(_, id)| id == &target);
            if mine {
                st.machine = None;
            }
            mine
        };
        if mine {
            self.after_deactivation(&fingerprint);
        }
        self.log(LogLevel::Info, || {
            format!("machine {target} is deactivated")
        });
        Ok(())
    }

    /// Every machine activated for this license.
    pub fn machines(&self) -> Result<Vec<MachineInfo>> {
        let license_id = self.license_id()?;
        let items = self.list(&format!("licenses/{}/machines", pct(&license_id)))?;
        items
            .iter()
            .map(|m| {
                MachineInfo::from_resource(m).ok_or_else(|| {
                    Error::new(
                        ErrorKind::BadResponse,
                        "machine list has a malformed machine",
                    )
                })
            })
            .collect()
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

/// Percent-encodes a path segment (fingerprints may be any string).
pub(crate) fn pct(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hostname() -> Option<String> {
    let from_file = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty() && h.len() <= 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(pct("abc-DEF_1.2~"), "abc-DEF_1.2~");
        assert_eq!(pct("a/b c"), "a%2Fb%20c");
        assert_eq!(pct("é"), "%C3%A9");
    }

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

//! The vocabulary every subsystem shares: Keygen's validation codes, where an
//! answer came from, the license and machine as a (signed) answer describes
//! them, the state of the clock, and [`Validation`], the answer itself.

use serde::Deserialize;
use serde_json::Value;

use crate::time::{parse_rfc3339, Millis};

/// Every validation code Keygen defines (keygen-api
/// `license_validation_service.rb`), plus lic's own offline verdicts.
/// Numbers are stable ABI: append, never renumber. `Unknown` is zero so a
/// zeroed or missing value never reads as valid.
///
/// cbindgen:prefix-with-name
/// cbindgen:rename-all=ScreamingSnakeCase
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ValidationCode {
    Unknown = 0,
    Valid = 1,
    NotFound = 2,
    Banned = 3,
    Suspended = 4,
    Expired = 5,
    Overdue = 6,
    EnvironmentScopeMismatch = 7,
    EnvironmentScopeRequired = 8,
    ProductScopeMismatch = 9,
    ProductScopeRequired = 10,
    PolicyScopeMismatch = 11,
    PolicyScopeRequired = 12,
    UserScopeMismatch = 13,
    UserScopeRequired = 14,
    EntitlementsScopeEmpty = 15,
    EntitlementsMissing = 16,
    NoMachine = 17,
    NoMachines = 18,
    MachineScopeMismatch = 19,
    MachineScopeRequired = 20,
    HeartbeatNotStarted = 21,
    HeartbeatDead = 22,
    FingerprintScopeEmpty = 23,
    FingerprintScopeMismatch = 24,
    FingerprintScopeRequired = 25,
    ComponentsScopeEmpty = 26,
    ComponentsScopeMismatch = 27,
    ComponentsScopeRequired = 28,
    ChecksumScopeMismatch = 29,
    ChecksumScopeRequired = 30,
    VersionScopeMismatch = 31,
    VersionScopeRequired = 32,
    TooManyUsers = 33,
    TooManyMachines = 34,
    TooManyCores = 35,
    TooMuchMemory = 36,
    TooMuchDisk = 37,
    TooManyProcesses = 38,
    // lic's offline verdicts (never sent by Keygen).
    FileExpired = 100,
    ClockTampered = 101,
    /// Offline past the grace after the last verified online validation.
    GraceExpired = 102,
}

const CODE_TEXT: &[(ValidationCode, &str)] = &[
    (ValidationCode::Unknown, "UNKNOWN"),
    (ValidationCode::Valid, "VALID"),
    (ValidationCode::NotFound, "NOT_FOUND"),
    (ValidationCode::Banned, "BANNED"),
    (ValidationCode::Suspended, "SUSPENDED"),
    (ValidationCode::Expired, "EXPIRED"),
    (ValidationCode::Overdue, "OVERDUE"),
    (
        ValidationCode::EnvironmentScopeMismatch,
        "ENVIRONMENT_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::EnvironmentScopeRequired,
        "ENVIRONMENT_SCOPE_REQUIRED",
    ),
    (
        ValidationCode::ProductScopeMismatch,
        "PRODUCT_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::ProductScopeRequired,
        "PRODUCT_SCOPE_REQUIRED",
    ),
    (ValidationCode::PolicyScopeMismatch, "POLICY_SCOPE_MISMATCH"),
    (ValidationCode::PolicyScopeRequired, "POLICY_SCOPE_REQUIRED"),
    (ValidationCode::UserScopeMismatch, "USER_SCOPE_MISMATCH"),
    (ValidationCode::UserScopeRequired, "USER_SCOPE_REQUIRED"),
    (
        ValidationCode::EntitlementsScopeEmpty,
        "ENTITLEMENTS_SCOPE_EMPTY",
    ),
    (ValidationCode::EntitlementsMissing, "ENTITLEMENTS_MISSING"),
    (ValidationCode::NoMachine, "NO_MACHINE"),
    (ValidationCode::NoMachines, "NO_MACHINES"),
    (
        ValidationCode::MachineScopeMismatch,
        "MACHINE_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::MachineScopeRequired,
        "MACHINE_SCOPE_REQUIRED",
    ),
    (ValidationCode::HeartbeatNotStarted, "HEARTBEAT_NOT_STARTED"),
    (ValidationCode::HeartbeatDead, "HEARTBEAT_DEAD"),
    (
        ValidationCode::FingerprintScopeEmpty,
        "FINGERPRINT_SCOPE_EMPTY",
    ),
    (
        ValidationCode::FingerprintScopeMismatch,
        "FINGERPRINT_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::FingerprintScopeRequired,
        "FINGERPRINT_SCOPE_REQUIRED",
    ),
    (
        ValidationCode::ComponentsScopeEmpty,
        "COMPONENTS_SCOPE_EMPTY",
    ),
    (
        ValidationCode::ComponentsScopeMismatch,
        "COMPONENTS_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::ComponentsScopeRequired,
        "COMPONENTS_SCOPE_REQUIRED",
    ),
    (
        ValidationCode::ChecksumScopeMismatch,
        "CHECKSUM_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::ChecksumScopeRequired,
        "CHECKSUM_SCOPE_REQUIRED",
    ),
    (
        ValidationCode::VersionScopeMismatch,
        "VERSION_SCOPE_MISMATCH",
    ),
    (
        ValidationCode::VersionScopeRequired,
        "VERSION_SCOPE_REQUIRED",
    ),
    (ValidationCode::TooManyUsers, "TOO_MANY_USERS"),
    (ValidationCode::TooManyMachines, "TOO_MANY_MACHINES"),
    (ValidationCode::TooManyCores, "TOO_MANY_CORES"),
    (ValidationCode::TooMuchMemory, "TOO_MUCH_MEMORY"),
    (ValidationCode::TooMuchDisk, "TOO_MUCH_DISK"),
    (ValidationCode::TooManyProcesses, "TOO_MANY_PROCESSES"),
    (ValidationCode::FileExpired, "FILE_EXPIRED"),
    (ValidationCode::ClockTampered, "CLOCK_TAMPERED"),
    (ValidationCode::GraceExpired, "GRACE_EXPIRED"),
];

impl ValidationCode {
    pub fn all() -> impl Iterator<Item = ValidationCode> {
        CODE_TEXT.iter().map(|(c, _)| *c)
    }

    /// Maps Keygen's text; codes newer than this library are `Unknown`.
    pub fn from_text(text: &str) -> ValidationCode {
        CODE_TEXT
            .iter()
            .find(|(_, t)| *t == text)
            .map_or(ValidationCode::Unknown, |(c, _)| *c)
    }

    pub fn as_text(self) -> &'static str {
        CODE_TEXT
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("UNKNOWN", |(_, t)| t)
    }

    pub fn from_i32(n: i32) -> Option<ValidationCode> {
        ValidationCode::all().find(|c| *c as i32 == n)
    }
}

/// Where a validation answer came from.
///
/// cbindgen:prefix-with-name
/// cbindgen:rename-all=ScreamingSnakeCase
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Source {
    /// Not an answer (only returned for a NULL or broken handle).
    Unknown = 0,
    Online = 1,
    /// The machine file lic cached after activation.
    CachedFile = 2,
    /// A file the app loaded (air-gapped delivery).
    LoadedFile = 3,
    /// A signed license key checked with no server.
    SignedKey = 4,
    /// The license file a Keygen Relay leased to this machine, verified and
    /// decrypted by lic (`lic_result_lease_expiry` says until when).
    Relay = 5,
}

/// What the mark says about the local clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockState {
    /// No trusted time has been recorded yet.
    Unknown,
    Ok,
    /// The clock reads `behind_ms` earlier than the newest trusted time seen.
    Tampered {
        behind_ms: i64,
    },
}

/// Everything an app needs to re-check an answer with its own Ed25519 code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignedMaterial {
    pub body: Vec<u8>,
    pub date: String,
    pub digest: String,
    pub signature_header: String,
    /// The exact bytes the signature covers, as lic rebuilt them.
    pub signing_string: String,
    pub signature: Vec<u8>,
}

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
    /// Shared with the evidence it came from (no copy per answer).
    pub certificate: Option<std::sync::Arc<str>>,
    /// Why an offline answer was used: the error of the online attempt.
    pub offline_reason: Option<String>,
    /// Process slots this client held when the answer was made.
    pub process_slots: usize,
    /// The signed time of the last verified online validation (this one,
    /// when it is one).
    pub last_online: Option<Millis>,
    /// When the offline grace ends (configured grace only).
    pub grace_expiry: Option<Millis>,
    /// Grace left when the answer was made, never negative (configured
    /// grace only).
    pub grace_left_ms: Option<i64>,
    /// When the relay lease behind a `Source::Relay` answer ends unless
    /// renewed, on this machine's clock (None: no relay, or a lease that
    /// does not expire).
    pub lease_expiry: Option<Millis>,
}

impl Validation {
    /// An answer with `code`, its own text for `code_text`, and nothing else
    /// known yet: the caller fills in what its source knows.
    pub fn new(
        code: ValidationCode,
        valid: bool,
        detail: String,
        fingerprint: &str,
        source: Source,
    ) -> Validation {
        Validation {
            code,
            code_text: code.as_text().to_string(),
            valid,
            detail,
            license: None,
            entitlements: Vec::new(),
            machine_id: None,
            fingerprint: fingerprint.to_string(),
            source,
            timestamp: None,
            verified: false,
            clock: ClockState::Unknown,
            file_issued: None,
            file_expiry: None,
            signed: None,
            certificate: None,
            offline_reason: None,
            process_slots: 0,
            last_online: None,
            grace_expiry: None,
            grace_left_ms: None,
            lease_expiry: None,
        }
    }

    /// Turns the answer into CLOCK_TAMPERED (valid = 0): the system clock is
    /// `behind_ms` behind the latest trusted time.
    pub fn mark_clock_tampered(&mut self, behind_ms: i64) {
        self.code = ValidationCode::ClockTampered;
        self.code_text = self.code.as_text().to_string();
        self.valid = false;
        self.detail = format!(
            "the system clock is {} s behind the latest trusted time lic has seen: it was set back",
            behind_ms / 1000
        );
    }
}

/// The license as an answer (or a signed file) describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LicenseInfo {
    pub id: String,
    pub key: Option<String>,
    pub name: Option<String>,
    pub expiry: Option<Millis>,
    pub status: Option<String>,
    pub policy_id: Option<String>,
    pub product_id: Option<String>,
    pub max_machines: Option<i64>,
    pub max_processes: Option<i64>,
    pub strict: Option<bool>,
    pub floating: Option<bool>,
    pub suspended: bool,
    pub metadata: Value,
}

impl LicenseInfo {
    /// Reads a JSON:API `licenses` resource object.
    pub fn from_resource(data: &Value) -> Option<LicenseInfo> {
        LicenseResource::deserialize(data)
            .ok()
            .map(LicenseInfo::from)
    }
}

/// The parts of a JSON:API `licenses` resource lic reads. Deserialized
/// straight from the response bytes on the validation path (no JSON tree is
/// built), or from a `Value` for files.
#[derive(Deserialize)]
pub struct LicenseResource {
    id: String,
    #[serde(default)]
    attributes: LicenseAttributes,
    #[serde(default)]
    relationships: LicenseRelationships,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LicenseAttributes {
    key: Option<String>,
    name: Option<String>,
    expiry: Option<String>,
    status: Option<String>,
    max_machines: Option<i64>,
    max_processes: Option<i64>,
    strict: Option<bool>,
    floating: Option<bool>,
    suspended: Option<bool>,
    metadata: Option<Value>,
}

#[derive(Default, Deserialize)]
struct LicenseRelationships {
    policy: Option<Relationship>,
    product: Option<Relationship>,
}

#[derive(Deserialize)]
struct Relationship {
    data: Option<Linkage>,
}

#[derive(Deserialize)]
struct Linkage {
    id: String,
}

impl From<LicenseResource> for LicenseInfo {
    fn from(r: LicenseResource) -> LicenseInfo {
        let a = r.attributes;
        let linked = |rel: Option<Relationship>| rel.and_then(|r| r.data).map(|d| d.id);
        LicenseInfo {
            id: r.id,
            key: a.key,
            name: a.name,
            expiry: a.expiry.as_deref().and_then(parse_rfc3339),
            status: a.status,
            policy_id: linked(r.relationships.policy),
            product_id: linked(r.relationships.product),
            max_machines: a.max_machines,
            max_processes: a.max_processes,
            strict: a.strict,
            floating: a.floating,
            suspended: a.suspended.unwrap_or(false),
            metadata: a
                .metadata
                .unwrap_or_else(|| Value::Object(Default::default())),
        }
    }
}

/// A machine (activation) of a license.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineInfo {
    pub id: String,
    pub fingerprint: String,
    pub name: Option<String>,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub cores: Option<i64>,
    pub created: Option<Millis>,
    pub heartbeat_status: Option<String>,
    pub heartbeat_duration: Option<i64>,
}

impl MachineInfo {
    pub fn from_resource(data: &Value) -> Option<MachineInfo> {
        let id = data.get("id")?.as_str()?.to_string();
        let a = data.get("attributes")?;
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
        Some(MachineInfo {
            id,
            fingerprint: s("fingerprint")?,
            name: s("name"),
            hostname: s("hostname"),
            platform: s("platform"),
            cores: a.get("cores").and_then(Value::as_i64),
            created: a
                .get("created")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339),
            heartbeat_status: s("heartbeatStatus"),
            heartbeat_duration: a.get("heartbeatDuration").and_then(Value::as_i64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_round_trip_and_unknown_is_kept_apart() {
        for c in ValidationCode::all() {
            assert_eq!(ValidationCode::from_text(c.as_text()), c);
            assert_eq!(ValidationCode::from_i32(c as i32), Some(c));
        }
        assert_eq!(
            ValidationCode::from_text("SOMETHING_NEW"),
            ValidationCode::Unknown
        );
        assert_eq!(ValidationCode::all().count(), 42);
        assert_eq!(ValidationCode::from_i32(77), None);
    }

    #[test]
    fn reads_license_resource() {
        let l = LicenseInfo::from_resource(&json!({
            "id": "l1", "type": "licenses",
            "attributes": {"key": "K", "name": null, "expiry": "2030-01-01T00:00:00.000Z", "maxMachines": 1, "maxProcesses": null, "metadata": {"a": 1}},
            "relationships": {"policy": {"data": {"type": "policies", "id": "p1"}}}
        }))
        .unwrap();
        assert_eq!(l.id, "l1");
        assert_eq!(l.key.as_deref(), Some("K"));
        assert_eq!(l.name, None);
        assert_eq!(l.policy_id.as_deref(), Some("p1"));
        assert_eq!(l.max_machines, Some(1));
        assert_eq!(l.max_processes, None);
        assert_eq!(l.expiry, parse_rfc3339("2030-01-01T00:00:00Z"));
        assert_eq!(l.metadata, json!({"a": 1}));
        assert!(LicenseInfo::from_resource(&json!({"attributes": {}})).is_none());
    }
}

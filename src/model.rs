//! What a validation tells the app: Keygen's validation code, the server's
//! `valid` flag, and the license as the (signed) answer describes it.

use serde_json::Value;

use crate::time::{parse_rfc3339, Millis};

macro_rules! validation_codes {
    ($($name:ident = $n:literal => $text:literal,)*) => {
        /// Every validation code Keygen defines (keygen-api
        /// `license_validation_service.rb`), plus lic's own offline verdicts.
        /// Numbers are stable ABI: append, never renumber.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum ValidationCode { $($name = $n,)* }

        impl ValidationCode {
            pub const ALL: &'static [ValidationCode] = &[$(ValidationCode::$name,)*];

            pub fn from_text(text: &str) -> ValidationCode {
                match text { $($text => ValidationCode::$name,)* _ => ValidationCode::Unknown }
            }

            pub fn as_text(self) -> &'static str {
                match self { $(ValidationCode::$name => $text,)* }
            }
        }
    };
}

validation_codes! {
    Unknown = 0 => "UNKNOWN",
    Valid = 1 => "VALID",
    NotFound = 2 => "NOT_FOUND",
    Banned = 3 => "BANNED",
    Suspended = 4 => "SUSPENDED",
    Expired = 5 => "EXPIRED",
    Overdue = 6 => "OVERDUE",
    EnvironmentScopeMismatch = 7 => "ENVIRONMENT_SCOPE_MISMATCH",
    EnvironmentScopeRequired = 8 => "ENVIRONMENT_SCOPE_REQUIRED",
    ProductScopeMismatch = 9 => "PRODUCT_SCOPE_MISMATCH",
    ProductScopeRequired = 10 => "PRODUCT_SCOPE_REQUIRED",
    PolicyScopeMismatch = 11 => "POLICY_SCOPE_MISMATCH",
    PolicyScopeRequired = 12 => "POLICY_SCOPE_REQUIRED",
    UserScopeMismatch = 13 => "USER_SCOPE_MISMATCH",
    UserScopeRequired = 14 => "USER_SCOPE_REQUIRED",
    EntitlementsScopeEmpty = 15 => "ENTITLEMENTS_SCOPE_EMPTY",
    EntitlementsMissing = 16 => "ENTITLEMENTS_MISSING",
    NoMachine = 17 => "NO_MACHINE",
    NoMachines = 18 => "NO_MACHINES",
    MachineScopeMismatch = 19 => "MACHINE_SCOPE_MISMATCH",
    MachineScopeRequired = 20 => "MACHINE_SCOPE_REQUIRED",
    HeartbeatNotStarted = 21 => "HEARTBEAT_NOT_STARTED",
    HeartbeatDead = 22 => "HEARTBEAT_DEAD",
    FingerprintScopeEmpty = 23 => "FINGERPRINT_SCOPE_EMPTY",
    FingerprintScopeMismatch = 24 => "FINGERPRINT_SCOPE_MISMATCH",
    FingerprintScopeRequired = 25 => "FINGERPRINT_SCOPE_REQUIRED",
    ComponentsScopeEmpty = 26 => "COMPONENTS_SCOPE_EMPTY",
    ComponentsScopeMismatch = 27 => "COMPONENTS_SCOPE_MISMATCH",
    ComponentsScopeRequired = 28 => "COMPONENTS_SCOPE_REQUIRED",
    ChecksumScopeMismatch = 29 => "CHECKSUM_SCOPE_MISMATCH",
    ChecksumScopeRequired = 30 => "CHECKSUM_SCOPE_REQUIRED",
    VersionScopeMismatch = 31 => "VERSION_SCOPE_MISMATCH",
    VersionScopeRequired = 32 => "VERSION_SCOPE_REQUIRED",
    TooManyUsers = 33 => "TOO_MANY_USERS",
    TooManyMachines = 34 => "TOO_MANY_MACHINES",
    TooManyCores = 35 => "TOO_MANY_CORES",
    TooMuchMemory = 36 => "TOO_MUCH_MEMORY",
    TooMuchDisk = 37 => "TOO_MUCH_DISK",
    TooManyProcesses = 38 => "TOO_MANY_PROCESSES",
    // lic's offline verdicts (never sent by Keygen).
    FileExpired = 100 => "FILE_EXPIRED",
    ClockTampered = 101 => "CLOCK_TAMPERED",
}

/// Where a validation answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Source {
    Online = 1,
    /// The machine file lic cached after activation.
    CachedFile = 2,
    /// A file the app loaded (air-gapped delivery).
    LoadedFile = 3,
    /// A signed license key checked with no server.
    SignedKey = 4,
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
        let id = data.get("id")?.as_str()?.to_string();
        let a = data.get("attributes").unwrap_or(&Value::Null);
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
        let rel = |k: &str| {
            data.pointer(&format!("/relationships/{k}/data/id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Some(LicenseInfo {
            id,
            key: s("key"),
            name: s("name"),
            expiry: a
                .get("expiry")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339),
            status: s("status"),
            policy_id: rel("policy"),
            product_id: rel("product"),
            max_machines: a.get("maxMachines").and_then(Value::as_i64),
            max_processes: a.get("maxProcesses").and_then(Value::as_i64),
            strict: a.get("strict").and_then(Value::as_bool),
            floating: a.get("floating").and_then(Value::as_bool),
            suspended: a.get("suspended").and_then(Value::as_bool).unwrap_or(false),
            metadata: a
                .get("metadata")
                .cloned()
                .unwrap_or(Value::Object(Default::default())),
        })
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
        for c in ValidationCode::ALL {
            assert_eq!(ValidationCode::from_text(c.as_text()), *c);
        }
        assert_eq!(
            ValidationCode::from_text("SOMETHING_NEW"),
            ValidationCode::Unknown
        );
        assert_eq!(ValidationCode::ALL.len(), 41);
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

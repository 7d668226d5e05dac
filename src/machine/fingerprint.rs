//! This machine's fingerprint: hex HMAC-SHA256 keyed by the OS machine id over
//! the app id, as keygen-sh/machineid's `ProtectedID(appID)` computes it, so
//! the raw id never leaves the machine and each app sees a different value.

use crate::crypto::{encode_hex, hmac_sha256};
use crate::error::{err, ErrorKind, Result};

/// `hex(HMAC-SHA256(key = machine id, message = app id))`.
pub fn protected_id(machine_id: &str, app_id: &str) -> String {
    encode_hex(&hmac_sha256(machine_id.as_bytes(), app_id.as_bytes()))
}

/// Reads the OS machine id (`/etc/machine-id` or `/var/lib/dbus/machine-id`,
/// `IOPlatformUUID`, `MachineGuid`, BSD hostid) and protects it with `app_id`.
pub fn machine_fingerprint(app_id: &str) -> Result<String> {
    let id = match machine_uid::get() {
        Ok(id) => id.trim().to_string(),
        Err(e) => {
            return err(
                ErrorKind::FingerprintUnavailable,
                format!("this machine has no readable machine id ({e}); set a fingerprint in the configuration (for containers, pass a stable id from the host)"),
            )
        }
    };
    if id.is_empty() {
        return err(
            ErrorKind::FingerprintUnavailable,
            "this machine's OS machine id is empty; set a fingerprint in the configuration (for containers, pass a stable id from the host)",
        );
    }
    Ok(protected_id(&id, app_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_keygen_machineid_protected_id() {
        // Same construction as keygen-sh/machineid: HMAC keyed by the id, over the app id.
        let expected = encode_hex(&hmac_sha256(b"abc123", b"my-app"));
        assert_eq!(protected_id("abc123", "my-app"), expected);
        assert_eq!(protected_id("abc123", "my-app").len(), 64);
        assert_ne!(
            protected_id("abc123", "my-app"),
            protected_id("abc123", "other-app")
        );
    }

    #[test]
    fn this_machine_is_stable() {
        match machine_fingerprint("lic-test") {
            Ok(a) => assert_eq!(a, machine_fingerprint("lic-test").unwrap()),
            Err(e) => assert_eq!(e.kind, ErrorKind::FingerprintUnavailable),
        }
    }
}

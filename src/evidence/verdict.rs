//! Offline verdicts: what a verified file or signed key supports at a given
//! time, in Keygen's order where it applies, plus lic's own FILE_EXPIRED and
//! CLOCK_TAMPERED. Pure functions of signed data and the clock.

use super::files::{Dataset, FileKind};
use super::signed_key::SignedKey;
use super::Evidence;
use crate::model::{ClockState, LicenseInfo, Source, Validation, ValidationCode};
use crate::time::{format_rfc3339, Millis};

/// The answer a verified file gives at `now`. `clock` is what the trusted-time
/// mark says; a file issued after `now` (beyond the tolerance) means the
/// clock was set back too.
pub fn evaluate_file(
    ev: &Evidence,
    fingerprint: &str,
    mut clock: ClockState,
    now: Millis,
    clock_tolerance_ms: i64,
    max_offline_age_ms: Option<i64>,
) -> Validation {
    let ds = &ev.dataset;
    let license = ds.license_info().cloned();
    let machine_id = match ds.kind {
        FileKind::Machine => ds.data_id().map(str::to_string),
        FileKind::License => None,
    };
    if now < ds.issued - clock_tolerance_ms {
        clock = ClockState::Tampered {
            behind_ms: ds.issued - now,
        };
    }
    let expiration = ds.expiration_strategy();
    let (code, valid, detail) =
        offline_verdict(ds, license.as_ref(), expiration, now, max_offline_age_ms);
    let mut v = Validation {
        entitlements: ds.entitlement_codes(),
        license,
        machine_id,
        timestamp: Some(ds.issued),
        verified: true,
        clock,
        file_issued: Some(ds.issued),
        file_expiry: ds.expiry,
        certificate: Some(ev.certificate.clone()),
        ..Validation::new(code, valid, detail, fingerprint, ev.source)
    };
    if let ClockState::Tampered { behind_ms } = clock {
        v.mark_clock_tampered(behind_ms);
    }
    v
}

/// The answer a verified signed license key gives at `now`.
pub fn signed_key_verdict(
    signed: &SignedKey,
    license_key: &str,
    fingerprint: &str,
    clock: ClockState,
    now: Millis,
) -> Validation {
    let (issued, expiry) = signed.issued_and_expiry();
    let license = signed.license_id().map(|id| LicenseInfo {
        id,
        key: Some(license_key.to_string()),
        expiry,
        policy_id: signed.policy_id(),
        product_id: signed.product_id(),
        ..LicenseInfo::default()
    });
    let (code, valid, detail) = match expiry {
        Some(e) if now > e => (
            ValidationCode::Expired,
            false,
            "is expired (signed key checked offline)".to_string(),
        ),
        _ => (
            ValidationCode::Valid,
            true,
            "is valid (signed key checked offline; machine activation is not checked)".to_string(),
        ),
    };
    let mut v = Validation {
        license,
        timestamp: issued,
        verified: true,
        clock,
        ..Validation::new(code, valid, detail, fingerprint, Source::SignedKey)
    };
    if let ClockState::Tampered { behind_ms } = clock {
        v.mark_clock_tampered(behind_ms);
    }
    v
}

/// A file is refreshed once half of its lifetime has passed.
pub fn half_life_passed(ds: &Dataset, now: Millis) -> bool {
    match ds.expiry {
        Some(e) => now >= ds.issued + (e - ds.issued) / 2,
        None => false,
    }
}

/// The verdict a signed file supports at `now`, in Keygen's order where it
/// applies: the file itself, then the license's status and expiry.
pub fn offline_verdict(
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

    fn ds(issued: Millis, expiry: Option<Millis>) -> Dataset {
        Dataset::from_parts(FileKind::Machine, issued, expiry, serde_json::Value::Null)
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

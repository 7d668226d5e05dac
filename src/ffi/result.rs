//! `lic_result`: one validation answer. All accessors take
//! `const lic_result *`, do no I/O and are safe from any thread; string
//! outputs follow the buffer protocol and give NOT_FOUND for absent values.

use std::ffi::c_char;

use super::boundary::{
    arg_str, boundary, fail, infallible, write_buf, write_opt_str, write_out, write_str, FfiResult,
};
/// The handle type this part of the API hands out (declared with the others in `handles`).
pub use super::handles::lic_result;
use super::handles::{free_handle, handle_ref};
use super::status::lic_status;
use crate::model::{ClockState, Validation};
use crate::model::{LicenseInfo, Source, ValidationCode};
use crate::time::Millis;

/// The trust state of the system clock when a result was produced.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lic_clock_state {
    /// No trusted time has been seen yet on this machine.
    LIC_CLOCK_STATE_UNKNOWN = 0,
    /// The clock is not behind the latest trusted time.
    LIC_CLOCK_STATE_OK = 1,
    /// The clock is behind the latest trusted time by more than the tolerance.
    LIC_CLOCK_STATE_TAMPERED = 2,
}

/// Parts of the signed material behind a result, for `lic_result_signed_part`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lic_signed_part {
    /// The exact response body bytes.
    LIC_SIGNED_PART_BODY = 1,
    /// The response `Date` header.
    LIC_SIGNED_PART_DATE = 2,
    /// The response `Digest` header (`sha-256=<base64>`).
    LIC_SIGNED_PART_DIGEST = 3,
    /// The raw 64-byte Ed25519 signature.
    LIC_SIGNED_PART_SIGNATURE = 4,
    /// The signing string the signature covers, as lic rebuilt it.
    LIC_SIGNED_PART_SIGNING_STRING = 5,
    /// The full `Keygen-Signature` header.
    LIC_SIGNED_PART_SIGNATURE_HEADER = 6,
    /// The certificate text of the license or machine file an offline answer used.
    LIC_SIGNED_PART_CERTIFICATE = 7,
}

unsafe fn result<'a>(r: *const lic_result) -> FfiResult<&'a Validation> {
    unsafe { handle_ref(r) }
}

unsafe fn license<'a>(r: *const lic_result) -> FfiResult<&'a LicenseInfo> {
    match &unsafe { result(r)? }.license {
        Some(l) => Ok(l),
        None => fail(
            lic_status::LIC_STATUS_NOT_FOUND,
            "the result has no license (the key was not found)",
        ),
    }
}

unsafe fn write_time(value: Option<Millis>, what: &str, out: *mut i64) -> FfiResult<()> {
    match value {
        Some(ms) => unsafe { write_out(out, ms.div_euclid(1000), "out") },
        None => fail(
            lic_status::LIC_STATUS_NOT_FOUND,
            format!("{what} is not known for this result"),
        ),
    }
}

unsafe fn write_count(value: Option<i64>, what: &str, out: *mut i64) -> FfiResult<()> {
    match value {
        Some(n) => unsafe { write_out(out, n, "out") },
        None => fail(
            lic_status::LIC_STATUS_NOT_FOUND,
            format!("{what} is not set (unlimited or unknown)"),
        ),
    }
}

/// The validation code (`LIC_CODE_*`). `LIC_CODE_UNKNOWN` for NULL and for
/// codes newer than this library (their text is in `lic_result_code_text`).
/// Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_result_code(r: *const lic_result) -> ValidationCode {
    infallible(ValidationCode::Unknown, || {
        unsafe { result(r) }
            .map(|v| v.code)
            .unwrap_or(ValidationCode::Unknown)
    })
}

/// The verdict's `valid` flag: 1 or 0 (0 for NULL). Online it is the
/// server's flag, which can be 1 together with EXPIRED (MAINTAIN/ALLOW
/// access) or an overage code: check both. Offline lic computes it from the
/// signed file. Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_result_valid(r: *const lic_result) -> i32 {
    infallible(0, || {
        unsafe { result(r) }
            .map(|v| i32::from(v.valid))
            .unwrap_or(0)
    })
}

/// Writes the code's text exactly as the server sent it (e.g. "VALID").
/// Returns OK, NULL_ARGUMENT or BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn lic_result_code_text(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&result(r)?.code_text, buf, buf_len, out_len) })
}

/// Writes the verdict's detail (e.g. "fingerprint is not activated (has no
/// associated machine)"). Returns OK, NULL_ARGUMENT or BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn lic_result_detail(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&result(r)?.detail, buf, buf_len, out_len) })
}

/// Writes the license id. NOT_FOUND when the result has no license.
#[no_mangle]
pub unsafe extern "C" fn lic_result_license_id(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&license(r)?.id, buf, buf_len, out_len) })
}

/// Writes the license key as the answer states it. NOT_FOUND when absent.
#[no_mangle]
pub unsafe extern "C" fn lic_result_license_key(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            license(r)?.key.as_deref(),
            "license key",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the license name. NOT_FOUND when it has none.
#[no_mangle]
pub unsafe extern "C" fn lic_result_license_name(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            license(r)?.name.as_deref(),
            "license name",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the license status (ACTIVE, INACTIVE, EXPIRING, EXPIRED,
/// SUSPENDED, BANNED). NOT_FOUND when absent.
#[no_mangle]
pub unsafe extern "C" fn lic_result_license_status(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            license(r)?.status.as_deref(),
            "license status",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the policy id. NOT_FOUND when absent.
#[no_mangle]
pub unsafe extern "C" fn lic_result_policy_id(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            license(r)?.policy_id.as_deref(),
            "policy id",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the license's expiry in Unix seconds to `*out`. NOT_FOUND for a
/// license that never expires. (A file's own expiry is `lic_result_file_expiry`.)
#[no_mangle]
pub unsafe extern "C" fn lic_result_license_expiry(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe { write_time(license(r)?.expiry, "license expiry", out) })
}

/// Writes the license's machine limit to `*out`. NOT_FOUND when unlimited.
#[no_mangle]
pub unsafe extern "C" fn lic_result_max_machines(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe { write_count(license(r)?.max_machines, "maxMachines", out) })
}

/// Writes the license's process limit to `*out`. NOT_FOUND when unlimited.
#[no_mangle]
pub unsafe extern "C" fn lic_result_max_processes(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe { write_count(license(r)?.max_processes, "maxProcesses", out) })
}

/// Writes the license metadata as a JSON object. NOT_FOUND without a license.
#[no_mangle]
pub unsafe extern "C" fn lic_result_metadata_json(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&license(r)?.metadata.to_string(), buf, buf_len, out_len) })
}

/// Number of entitlement codes the license has; 0 for NULL. Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_result_entitlement_count(r: *const lic_result) -> usize {
    infallible(0, || {
        unsafe { result(r) }
            .map(|v| v.entitlements.len())
            .unwrap_or(0)
    })
}

/// Writes entitlement code `index`. NOT_FOUND when out of range.
#[no_mangle]
pub unsafe extern "C" fn lic_result_entitlement(
    r: *const lic_result,
    index: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            result(r)?.entitlements.get(index).map(String::as_str),
            "entitlement index",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Sets `*out` to 1 when the license has the entitlement `code`, else 0.
/// Returns OK, NULL_ARGUMENT or INVALID_UTF8.
#[no_mangle]
pub unsafe extern "C" fn lic_result_has_entitlement(
    r: *const lic_result,
    code: *const c_char,
    out: *mut i32,
) -> lic_status {
    boundary(|| unsafe {
        let v = result(r)?;
        let code = arg_str(code, "code")?;
        write_out(
            out,
            i32::from(v.entitlements.iter().any(|e| e == code)),
            "out",
        )
    })
}

/// Writes the id of this machine when its fingerprint is activated.
/// NOT_FOUND otherwise.
#[no_mangle]
pub unsafe extern "C" fn lic_result_machine_id(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            result(r)?.machine_id.as_deref(),
            "machine id",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the fingerprint the validation was made for.
#[no_mangle]
pub unsafe extern "C" fn lic_result_fingerprint(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&result(r)?.fingerprint, buf, buf_len, out_len) })
}

/// Where the answer came from (`LIC_SOURCE_*`); `LIC_SOURCE_UNKNOWN` for NULL.
#[no_mangle]
pub unsafe extern "C" fn lic_result_source(r: *const lic_result) -> Source {
    infallible(Source::Unknown, || {
        unsafe { result(r) }
            .map(|v| v.source)
            .unwrap_or(Source::Unknown)
    })
}

/// Writes when the answer was produced (server time online, the file's
/// issue time offline), Unix seconds. NOT_FOUND when unknown.
#[no_mangle]
pub unsafe extern "C" fn lic_result_timestamp(r: *const lic_result, out: *mut i64) -> lic_status {
    boundary(|| unsafe { write_time(result(r)?.timestamp, "timestamp", out) })
}

/// 1 when the answer's signature was verified with the configured public
/// key, 0 when not (no public key configured) or for NULL. Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_result_verified(r: *const lic_result) -> i32 {
    infallible(0, || {
        unsafe { result(r) }
            .map(|v| i32::from(v.verified))
            .unwrap_or(0)
    })
}

/// The clock state when the result was made. UNKNOWN for NULL. Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_result_clock_state(r: *const lic_result) -> lic_clock_state {
    infallible(
        lic_clock_state::LIC_CLOCK_STATE_UNKNOWN,
        || match unsafe { result(r) }.map(|v| v.clock) {
            Ok(ClockState::Ok) => lic_clock_state::LIC_CLOCK_STATE_OK,
            Ok(ClockState::Tampered { .. }) => lic_clock_state::LIC_CLOCK_STATE_TAMPERED,
            _ => lic_clock_state::LIC_CLOCK_STATE_UNKNOWN,
        },
    )
}

/// Writes the issue time of the file an offline answer used (Unix seconds).
/// NOT_FOUND for online answers.
#[no_mangle]
pub unsafe extern "C" fn lic_result_file_issued(r: *const lic_result, out: *mut i64) -> lic_status {
    boundary(|| unsafe { write_time(result(r)?.file_issued, "file issue time", out) })
}

/// Writes the expiry of the file an offline answer used (Unix seconds).
/// NOT_FOUND for online answers and for files that never expire.
#[no_mangle]
pub unsafe extern "C" fn lic_result_file_expiry(r: *const lic_result, out: *mut i64) -> lic_status {
    boundary(|| unsafe { write_time(result(r)?.file_expiry, "file expiry", out) })
}

/// Writes why an offline answer was used (the online failure). NOT_FOUND
/// for online answers.
#[no_mangle]
pub unsafe extern "C" fn lic_result_offline_reason(
    r: *const lic_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            result(r)?.offline_reason.as_deref(),
            "offline reason",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes one part of the signed material behind the result (`part` is a
/// `LIC_SIGNED_PART_*` value), so an app can re-verify the answer with its
/// own Ed25519 code: verify SIGNATURE over SIGNING_STRING with the account
/// key, check DIGEST is sha-256 of BODY, and read the verdict from BODY.
/// Bytes are written as they are, with no NUL appended; otherwise the
/// buffer protocol applies. Returns OK, NULL_ARGUMENT, BUFFER_TOO_SMALL,
/// INVALID_ARGUMENT (`part` is not a LIC_SIGNED_PART_* value, whatever kind
/// of result `r` is) or NOT_FOUND (a known part this result does not have:
/// any part of an unverified online answer, CERTIFICATE of an online answer,
/// the response parts of an offline or signed-key answer).
#[no_mangle]
pub unsafe extern "C" fn lic_result_signed_part(
    r: *const lic_result,
    part: i32,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        let v = result(r)?;
        // The part is checked first, so an unknown one is INVALID_ARGUMENT
        // on every kind of result, whatever parts it happens to have.
        if !(lic_signed_part::LIC_SIGNED_PART_BODY as i32
            ..=lic_signed_part::LIC_SIGNED_PART_CERTIFICATE as i32)
            .contains(&part)
        {
            return fail(
                lic_status::LIC_STATUS_INVALID_ARGUMENT,
                format!(
                    "unknown signed part {part} (LIC_SIGNED_PART_* values are 1 to {})",
                    lic_signed_part::LIC_SIGNED_PART_CERTIFICATE as i32
                ),
            );
        }
        let missing = || {
            fail(
                lic_status::LIC_STATUS_NOT_FOUND,
                "this result has no such signed part",
            )
        };
        let bytes: &[u8] = if part == lic_signed_part::LIC_SIGNED_PART_CERTIFICATE as i32 {
            match &v.certificate {
                Some(c) => c.as_bytes(),
                None => return missing(),
            }
        } else {
            let Some(s) = &v.signed else { return missing() };
            match part {
                1 => &s.body,
                2 => s.date.as_bytes(),
                3 => s.digest.as_bytes(),
                4 => &s.signature,
                5 => s.signing_string.as_bytes(),
                _ => s.signature_header.as_bytes(),
            }
        };
        write_buf(bytes, false, buf, buf_len, out_len)
    })
}

/// How many process slots the client held when it produced this result; 0
/// for NULL. Infallible, no I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_result_process_slots(r: *const lic_result) -> usize {
    infallible(0, || {
        unsafe { result(r) }.map(|v| v.process_slots).unwrap_or(0)
    })
}

/// Writes the signed time of the last verified online validation (Unix
/// seconds): this answer's own for a verified online answer, else the last
/// one recorded for this license and machine (kept in the cache directory
/// across restarts). NOT_FOUND when none is known (no public key, or never
/// validated online here). No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_result_last_online_validation(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe {
        write_time(
            result(r)?.last_online,
            "last verified online validation",
            out,
        )
    })
}

/// Writes when the offline grace ends (Unix seconds): the last verified
/// online validation plus `lic_config_set_offline_grace_seconds`. NOT_FOUND
/// without a configured grace or a known start. No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_result_grace_expiry(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe { write_time(result(r)?.grace_expiry, "grace expiry", out) })
}

/// Writes the seconds of offline grace left when the result was made (the
/// whole grace for an online answer, 0 once it has ended). NOT_FOUND as
/// `lic_result_grace_expiry`. No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_result_grace_seconds_left(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe {
        match result(r)?.grace_left_ms {
            Some(ms) => write_out(out, ms.max(0) / 1000, "out"),
            None => fail(
                lic_status::LIC_STATUS_NOT_FOUND,
                "no offline grace is configured or known for this result",
            ),
        }
    })
}

/// Writes when the relay lease behind a LIC_SOURCE_RELAY answer ends unless
/// renewed (Unix seconds, on this machine's clock: the relay's `expires_at`
/// less its `Relay-Clock`, counted from when the answer arrived). The
/// client's background thread renews it at half its TTL. NOT_FOUND for
/// answers not from a relay, and for a lease that does not expire (a relay
/// run with `--no-heartbeats`). No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_result_lease_expiry(
    r: *const lic_result,
    out: *mut i64,
) -> lic_status {
    boundary(|| unsafe { write_time(result(r)?.lease_expiry, "lease expiry", out) })
}

/// Frees a result. NULL is a no-op. Must not be called twice.
#[no_mangle]
pub unsafe extern "C" fn lic_result_free(r: *mut lic_result) {
    infallible((), || unsafe { free_handle(r) })
}

//! Signature-only checks of license and machine files: `lic_file_verify_signature`
//! and the `lic_file_signature` result it hands out. For tools that vet a
//! file they cannot (or need not) decrypt — a portal, a relay, support — so
//! no client, license key or fingerprint is involved: only a config's
//! public keys. Accessors take `const lic_file_signature *`, do no I/O and
//! are safe from any thread.

use std::ffi::c_char;

use super::boundary::{
    arg_bytes, boundary, check_out, fail, infallible, write_out, write_str, FfiResult,
};
/// The handle type this part of the API hands out (declared with the others in `handles`).
pub use super::handles::lic_file_signature;
use super::handles::{free_handle, handle_ref, into_handle, lic_config};
use super::status::lic_status;
use crate::evidence::files::{check_signature, FileKind, SignatureCheck};
use crate::time::Millis;

/// Which kind of Keygen file a signature check looked at.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lic_file_kind {
    /// NULL handle.
    LIC_FILE_KIND_UNKNOWN = 0,
    /// A license file (`-----BEGIN LICENSE FILE-----`).
    LIC_FILE_KIND_LICENSE = 1,
    /// A machine file (`-----BEGIN MACHINE FILE-----`).
    LIC_FILE_KIND_MACHINE = 2,
}

/// Checks the signature of a Keygen license or machine file (certificate
/// text, `len` bytes, not necessarily NUL-terminated) with the public keys
/// set on `config` (the key of the file's algorithm: Ed25519, RSA or ECDSA
/// P-256), without the license key: nothing is decrypted. A signature that
/// does not hold is not an error: `*out` says so
/// (`lic_file_signature_valid`), with the algorithm, whether the file is
/// encrypted and, for a file that is not encrypted and whose signature
/// holds, its issued and expiry times.
///
/// On success `*out` is owned by the caller (free with
/// `lic_file_signature_free`). `config` and `out` must not be NULL; `data`
/// may be NULL only when `len` is 0. Returns OK, NULL_ARGUMENT,
/// FILE_MALFORMED (not a certificate or not UTF-8, or a `base64+` file whose
/// signed dataset is not Keygen's), UNSUPPORTED_ALGORITHM (an `alg` lic does
/// not know; the message names it) or NO_PUBLIC_KEY (`config` has no key of
/// the kind the file's algorithm needs; the message names both). No I/O.
/// Thread-safe as long as no setter runs on `config` at the same time.
#[no_mangle]
pub unsafe extern "C" fn lic_file_verify_signature(
    config: *const lic_config,
    data: *const u8,
    len: usize,
    out: *mut *mut lic_file_signature,
) -> lic_status {
    boundary(|| {
        let config = unsafe { handle_ref(config)? };
        let bytes = unsafe { arg_bytes(data, len, "data")? };
        check_out(out, "out")?;
        let text = std::str::from_utf8(bytes).or_else(|_| {
            fail(
                lic_status::LIC_STATUS_FILE_MALFORMED,
                "the file is not text (not UTF-8)",
            )
        })?;
        let check = check_signature(text, &config.public_keys)?;
        unsafe { out.write(into_handle::<lic_file_signature>(check)) };
        Ok(())
    })
}

unsafe fn check<'a>(r: *const lic_file_signature) -> FfiResult<&'a SignatureCheck> {
    unsafe { handle_ref(r) }
}

/// 1 when the file's signature holds with the account key of its
/// algorithm, else 0 (0 for NULL). Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_valid(r: *const lic_file_signature) -> i32 {
    infallible(0, || {
        unsafe { check(r) }.map(|c| i32::from(c.valid)).unwrap_or(0)
    })
}

/// 1 when the file is encrypted (`aes-256-gcm+…`: its dataset needs the
/// license key), 0 when it is only encoded (`base64+…`) or for NULL.
/// Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_encrypted(r: *const lic_file_signature) -> i32 {
    infallible(0, || {
        unsafe { check(r) }
            .map(|c| i32::from(c.encrypted()))
            .unwrap_or(0)
    })
}

/// Whether it was a license or a machine file (`LIC_FILE_KIND_UNKNOWN` for
/// NULL). Infallible.
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_kind(r: *const lic_file_signature) -> lic_file_kind {
    infallible(lic_file_kind::LIC_FILE_KIND_UNKNOWN, || {
        match unsafe { check(r) }.map(|c| c.kind) {
            Ok(FileKind::License) => lic_file_kind::LIC_FILE_KIND_LICENSE,
            Ok(FileKind::Machine) => lic_file_kind::LIC_FILE_KIND_MACHINE,
            Err(_) => lic_file_kind::LIC_FILE_KIND_UNKNOWN,
        }
    })
}

/// Writes the file's algorithm as Keygen names it (e.g.
/// "aes-256-gcm+rsa-pss-sha256"). Returns OK, NULL_ARGUMENT or
/// BUFFER_TOO_SMALL (the buffer protocol).
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_algorithm(
    r: *const lic_file_signature,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&check(r)?.algorithm.name(), buf, buf_len, out_len) })
}

unsafe fn write_time(value: Option<Millis>, what: &str, out: *mut i64) -> FfiResult<()> {
    match value {
        Some(ms) => unsafe { write_out(out, ms.div_euclid(1000), "out") },
        None => fail(lic_status::LIC_STATUS_NOT_FOUND, what.to_string()),
    }
}

fn why_no_times(c: &SignatureCheck) -> &'static str {
    if !c.valid {
        "the file's signature does not hold, so nothing in it is read"
    } else if c.encrypted() {
        "the file is encrypted; its times need the license key (lic_client_load_file)"
    } else {
        "the file was checked out without a TTL: it does not expire"
    }
}

/// Writes `meta.issued` as Unix seconds to `*out`: when Keygen produced the
/// file. Only for a file whose signature holds and that is not encrypted;
/// else NOT_FOUND (the message says which). Returns OK, NULL_ARGUMENT or
/// NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_issued_unix(
    r: *const lic_file_signature,
    out: *mut i64,
) -> lic_status {
    boundary(|| {
        let c = unsafe { check(r)? };
        unsafe { write_time(c.issued, why_no_times(c), out) }
    })
}

/// Writes `meta.expiry` as Unix seconds to `*out`: when the file (not the
/// license) stops being valid. NOT_FOUND for a file checked out without a
/// TTL, and as `lic_file_signature_issued_unix` for an encrypted file or one
/// whose signature does not hold. Returns OK, NULL_ARGUMENT or NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_expires_unix(
    r: *const lic_file_signature,
    out: *mut i64,
) -> lic_status {
    boundary(|| {
        let c = unsafe { check(r)? };
        unsafe { write_time(c.expiry, why_no_times(c), out) }
    })
}

/// Frees a signature check. NULL is a no-op. Must not be called twice on
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn lic_file_signature_free(r: *const lic_file_signature) {
    infallible((), || unsafe { free_handle(r) })
}

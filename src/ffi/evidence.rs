//! Offline entry points: files delivered by hand and signed keys.

use std::ffi::c_char;

use super::boundary::{arg_bytes, arg_str, boundary, check_out, fail};
use super::handles::{handle_ref, into_handle, lic_client, lic_result};
use super::status::lic_status;

fn text_of(bytes: &[u8]) -> super::boundary::FfiResult<&str> {
    std::str::from_utf8(bytes).or_else(|_| {
        fail(
            lic_status::LIC_STATUS_FILE_MALFORMED,
            "the file is not text (not UTF-8)",
        )
    })
}

/// Hands the client a Keygen license file or machine file (certificate text,
/// `len` bytes, not necessarily NUL-terminated) delivered by hand, for an
/// air-gapped machine. It is verified with the public key and decrypted
/// with the license key (and this fingerprint for machine files) now;
/// `lic_validate` then answers from it whenever the server cannot be reached,
/// or at once with LIC_VALIDATE_OFFLINE_ONLY. The bytes are copied.
///
/// `client` must not be NULL; `data` may be NULL only when `len` is 0.
/// Returns OK, NULL_ARGUMENT, NO_PUBLIC_KEY (none, or none of the kind the
/// file is signed with: Ed25519, RSA or ECDSA), CONFIG_INCOMPLETE (no license
/// key), FILE_MALFORMED, UNSUPPORTED_ALGORITHM (an algorithm lic does not
/// know, named), SIGNATURE_INVALID, DECRYPTION_FAILED (wrong license key) or
/// FINGERPRINT_MISMATCH (a machine file for another machine). No network.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_load_file(
    client: *const lic_client,
    data: *const u8,
    len: usize,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        let bytes = unsafe { arg_bytes(data, len, "data")? };
        client.load_file(text_of(bytes)?)?;
        Ok(())
    })
}

/// As `lic_client_load_file`, reading the file at `path` (UTF-8, at most
/// 1 MiB). Also returns IO_ERROR when it does not exist, cannot be read, or
/// is not a regular file: a FIFO, directory, device or socket is refused at
/// once, never read and never waited on. Reads the file; no network.
#[no_mangle]
pub unsafe extern "C" fn lic_client_load_file_path(
    client: *const lic_client,
    path: *const c_char,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        let path = unsafe { arg_str(path, "path")? };
        let bytes = crate::evidence::cache::read_capped(std::path::Path::new(path), 1 << 20)?
            .ok_or_else(|| super::boundary::FfiError {
                status: lic_status::LIC_STATUS_IO_ERROR,
                message: format!("{path} does not exist"),
            })?;
        client.load_file(text_of(&bytes)?)?;
        Ok(())
    })
}

/// Checks the configured license key as a signed key of any Keygen scheme
/// (ED25519_SIGN, ECDSA_P256_SIGN, RSA_2048_PKCS1_PSS_SIGN_V2,
/// RSA_2048_PKCS1_SIGN_V2, the legacy RSA_2048_PKCS1_PSS_SIGN and
/// RSA_2048_PKCS1_SIGN, RSA_2048_PKCS1_ENCRYPT, RSA_2048_JWT_RS256) with the
/// configured key of its kind and no server, and returns a result whose
/// source is LIC_SOURCE_SIGNED_KEY: VALID, or EXPIRED when the payload's
/// license expiry has passed, with the license id, policy and expiry from
/// the payload (Keygen's default dataset of the scheme). Machine activation
/// is not checked.
///
/// On success `*out` is owned by the caller (free with `lic_result_free`).
/// Returns OK, NULL_ARGUMENT, NO_PUBLIC_KEY (none, or none of the kind the
/// scheme needs; the message names it), CONFIG_INCOMPLETE, KEY_NOT_SIGNED,
/// UNSUPPORTED_ALGORITHM (a JWT not signed RS256), FILE_MALFORMED or
/// SIGNATURE_INVALID. No network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_check_signed_key(
    client: *const lic_client,
    out: *mut *mut lic_result,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        check_out(out, "out")?;
        let fp = client.fingerprint().unwrap_or_default();
        let v = client.signed_key_validation(&fp)?;
        unsafe { out.write(into_handle::<lic_result>(v)) };
        Ok(())
    })
}

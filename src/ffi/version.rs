//! Versions, status text and the thread-local last error.

use std::ffi::c_char;

use super::boundary::{guarded, last_error_ptr};
use super::status::lic_status;
use crate::model::ValidationCode;

/// Bumped on every change that breaks the ABI (signatures, handle
/// semantics, renumbered values). Bindings refuse to load a library whose
/// `lic_abi_version()` differs from theirs.
pub const LIC_ABI_VERSION: u32 = 1;
pub const LIC_VERSION_MAJOR: u32 = 0;
pub const LIC_VERSION_MINOR: u32 = 1;
pub const LIC_VERSION_PATCH: u32 = 0;

/// The library version, e.g. "0.1.0". Static; never NULL; do not free.
#[no_mangle]
pub extern "C" fn lic_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of this library build (see LIC_ABI_VERSION).
#[no_mangle]
pub extern "C" fn lic_abi_version() -> u32 {
    LIC_ABI_VERSION
}

/// Static English text for a status value ("unknown status" for values
/// this library does not define). Never NULL; do not free. Thread-safe.
#[no_mangle]
pub extern "C" fn lic_status_str(status: i32) -> *const c_char {
    lic_status::text(status).as_ptr()
}

/// Static text of a validation code value (`LIC_CODE_*`), e.g. "VALID";
/// "UNKNOWN" for other values. Never NULL; do not free. Thread-safe.
#[no_mangle]
pub extern "C" fn lic_code_str(code: i32) -> *const c_char {
    guarded(c"UNKNOWN".as_ptr(), || {
        match ValidationCode::from_i32(code) {
            Some(c) => code_cstr(c),
            None => c"UNKNOWN".as_ptr(),
        }
    })
}

fn code_cstr(c: ValidationCode) -> *const c_char {
    static TEXTS: once_cell::sync::Lazy<Vec<(ValidationCode, std::ffi::CString)>> =
        once_cell::sync::Lazy::new(|| {
            ValidationCode::all()
                .map(|c| (c, std::ffi::CString::new(c.as_text()).unwrap_or_default()))
                .collect()
        });
    TEXTS
        .iter()
        .find(|(k, _)| *k == c)
        .map_or(c"UNKNOWN".as_ptr(), |(_, t)| t.as_ptr())
}

/// The message of the last failed `lic_` call on this thread: NUL-terminated
/// UTF-8, "" when the last call succeeded. Every `lic_` call clears it on
/// entry, so read it right after the failing call, on the same thread. The
/// pointer is valid until the next `lic_` call on this thread; do not free.
#[no_mangle]
pub extern "C" fn lic_last_error_message() -> *const c_char {
    last_error_ptr()
}

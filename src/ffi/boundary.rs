//! The panic boundary, the thread-local last error, and the pointer, string
//! and buffer helpers every exported function goes through.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use parking_lot::{const_mutex, Mutex};

use super::status::lic_status;
use crate::error::Error;
use crate::slots::release_all_at_exit;

static EXIT_HOOK: std::sync::Once = std::sync::Once::new();

extern "C" fn release_at_exit() {
    let _ = catch_unwind(AssertUnwindSafe(release_all_at_exit));
}

/// Makes a normal process exit release what clients never freed still hold
/// (process slots, a relay lease): registered once, with the first slot or
/// the first relay client.
pub(crate) fn register_exit_hook() {
    EXIT_HOOK.call_once(|| {
        // SAFETY: registers a function with no preconditions, once. Best
        // effort like the release itself: if libc refuses, the server culls
        // the slots after their heartbeat window, and the relay its lease
        // after its TTL.
        unsafe { libc::atexit(release_at_exit) };
    });
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failure at the boundary: a status and its message.
pub(crate) struct FfiError {
    pub status: lic_status,
    pub message: String,
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError {
            status: lic_status::from_kind(e.kind),
            message: e.message,
        }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;

pub(crate) fn fail<T>(status: lic_status, message: impl Into<String>) -> FfiResult<T> {
    Err(FfiError {
        status,
        message: message.into(),
    })
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c);
}

pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|slot| {
        let mut slot = slot.borrow_mut();
        if !slot.as_bytes().is_empty() {
            *slot = CString::default();
        }
    });
}

/// Pointer to the thread's last error message (valid until the next `lic_`
/// call on this thread).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("internal error (a bug in lic, please report it): {text}")
}

/// Runs the body of a status-returning function: clears the last error,
/// catches panics, maps errors to a status and records their message.
pub(crate) fn boundary(body: impl FnOnce() -> FfiResult<()>) -> lic_status {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => lic_status::LIC_STATUS_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            lic_status::LIC_STATUS_INTERNAL_PANIC
        }
    }
}

/// Runs the body of an infallible function; a panic yields `default`.
pub(crate) fn infallible<T>(default: T, body: impl FnOnce() -> T) -> T {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            default
        }
    }
}

/// Runs the body of a static-string function under the panic guard without
/// touching the last error (so it can be called between a failure and
/// reading its message).
pub(crate) fn guarded<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// Borrows a required NUL-terminated UTF-8 argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> FfiResult<&'a str> {
    match unsafe { opt_str(p, name)? } {
        Some(s) => Ok(s),
        None => fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("argument `{name}` is NULL"),
        ),
    }
}

/// Borrows a nullable NUL-terminated UTF-8 argument.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    match unsafe { CStr::from_ptr(p) }.to_str() {
        Ok(s) => Ok(Some(s)),
        Err(e) => fail(
            lic_status::LIC_STATUS_INVALID_UTF8,
            format!(
                "argument `{name}` is not valid UTF-8 (byte {})",
                e.valid_up_to()
            ),
        ),
    }
}

/// Borrows `(data, len)`; NULL data is allowed only with len 0.
///
/// # Safety
/// `data` is NULL or valid for `len` bytes for the duration of the call.
pub(crate) unsafe fn arg_bytes<'a>(data: *const u8, len: usize, name: &str) -> FfiResult<&'a [u8]> {
    if data.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("argument `{name}` is NULL but its length is {len}"),
        );
    }
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Writes an output scalar through a required pointer.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T, name: &str) -> FfiResult<()> {
    if out.is_null() {
        return fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("output `{name}` is NULL"),
        );
    }
    unsafe { out.write(value) };
    Ok(())
}

/// Checks a required output pointer before any work is done.
pub(crate) fn check_out<T>(out: *mut T, name: &str) -> FfiResult<()> {
    if out.is_null() {
        return fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("output `{name}` is NULL"),
        );
    }
    Ok(())
}

/// The buffer protocol: on success writes `data` plus a NUL (when `nul`) and
/// sets `*out_len` to `data.len()`; when `buf_len` is too small writes nothing
/// to `buf`, sets `*out_len` to the length needed (without the NUL) and
/// returns BUFFER_TOO_SMALL. `buf = NULL, buf_len = 0` asks for the length.
///
/// # Safety
/// `buf` is NULL or valid for `buf_len` bytes; `out_len` is NULL or valid.
pub(crate) unsafe fn write_buf(
    data: &[u8],
    nul: bool,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> FfiResult<()> {
    if !out_len.is_null() {
        unsafe { out_len.write(data.len()) };
    }
    let need = data.len() + usize::from(nul);
    if buf.is_null() || buf_len < need {
        if !buf.is_null() || buf_len == 0 {
            return fail(
                lic_status::LIC_STATUS_BUFFER_TOO_SMALL,
                format!("buffer of {buf_len} bytes is too small: {need} needed (out_len has the length)"),
            );
        }
        return fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("buffer is NULL but buf_len is {buf_len}"),
        );
    }
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        if nul {
            buf.add(data.len()).write(0);
        }
    }
    Ok(())
}

/// [`write_buf`] for text. Every string output of the C API goes through
/// here, so all of them treat an embedded NUL the same way: text holding a
/// NUL byte is refused with EMBEDDED_NUL and nothing is written (not even
/// `out_len`), because a C caller would read it truncated at the NUL.
///
/// # Safety
/// As [`write_buf`].
pub(crate) unsafe fn write_str(
    s: &str,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> FfiResult<()> {
    if let Some(at) = s.bytes().position(|b| b == 0) {
        return fail(
            lic_status::LIC_STATUS_EMBEDDED_NUL,
            format!(
                "the value contains a NUL byte (at byte {at} of {}), so it cannot be returned as a C string; lic refuses it as malformed data",
                s.len()
            ),
        );
    }
    unsafe { write_buf(s.as_bytes(), true, buf.cast(), buf_len, out_len) }
}

/// A string output that may be absent: NOT_FOUND when it is.
///
/// # Safety
/// As [`write_buf`].
pub(crate) unsafe fn write_opt_str(
    s: Option<&str>,
    what: &str,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> FfiResult<()> {
    match s {
        Some(s) => unsafe { write_str(s, buf, buf_len, out_len) },
        None => fail(
            lic_status::LIC_STATUS_NOT_FOUND,
            format!("{what} is not known for this result"),
        ),
    }
}

/// A generated document (a report) that did not fit the caller's buffer,
/// kept so the call that follows with a big enough buffer gets the very
/// same text instead of a fresh one of another length.
struct PendingDocument {
    owner: usize,
    thread: ThreadId,
    what: &'static str,
    at: Instant,
    text: String,
}

static PENDING: Mutex<Vec<PendingDocument>> = const_mutex(Vec::new());
/// How long a document waits for its second call.
const PENDING_FOR: Duration = Duration::from_secs(60);
const MAX_PENDING: usize = 64;

/// The buffer protocol for a document that is generated anew on each call
/// (`make`): when it does not fit, it is kept for this thread, `owner` (a
/// handle address) and `what` for up to a minute, and the next such call
/// writes the kept text, so asking for the length and then for the text
/// gives one document.
///
/// # Safety
/// As [`write_buf`].
pub(crate) unsafe fn write_document(
    owner: usize,
    what: &'static str,
    make: impl FnOnce() -> String,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> FfiResult<()> {
    let thread = std::thread::current().id();
    let kept = {
        let mut p = PENDING.lock();
        p.retain(|d| d.at.elapsed() < PENDING_FOR);
        p.iter()
            .position(|d| d.owner == owner && d.thread == thread && d.what == what)
            .map(|i| p.swap_remove(i).text)
    };
    let text = kept.unwrap_or_else(make);
    match unsafe { write_str(&text, buf, buf_len, out_len) } {
        Err(e) if e.status == lic_status::LIC_STATUS_BUFFER_TOO_SMALL => {
            let mut p = PENDING.lock();
            if p.len() >= MAX_PENDING {
                p.remove(0);
            }
            p.push(PendingDocument {
                owner,
                thread,
                what,
                at: Instant::now(),
                text,
            });
            Err(e)
        }
        other => other,
    }
}

/// Drops the documents kept for `owner` (its handle is being freed).
pub(crate) fn forget_documents(owner: usize) {
    PENDING.lock().retain(|d| d.owner != owner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_a_nul_is_refused_and_nothing_is_written() {
        let mut buf = [0x55u8; 8];
        let mut n = usize::MAX;
        let e = unsafe { write_str("a\0b", buf.as_mut_ptr().cast(), buf.len(), &mut n) }
            .expect_err("refused");
        assert_eq!(e.status, lic_status::LIC_STATUS_EMBEDDED_NUL);
        assert!(e.message.contains("byte 1 of 3"), "{}", e.message);
        assert_eq!((n, buf), (usize::MAX, [0x55; 8]));
        // The length query says the same.
        let e = unsafe { write_str("\0", std::ptr::null_mut(), 0, &mut n) }.err();
        assert_eq!(
            e.map(|e| e.status),
            Some(lic_status::LIC_STATUS_EMBEDDED_NUL)
        );
        // Clean text is written with its NUL.
        unsafe { write_str("ab", buf.as_mut_ptr().cast(), buf.len(), &mut n) }
            .ok()
            .expect("written");
        assert_eq!((n, &buf[..3]), (2, &b"ab\0"[..]));
    }
}

//! QR-code activation for air-gapped machines: the request a machine shows
//! (`lic_client_activation_request`) and its renderings. The `.lic` file the
//! portal hands back is loaded with `lic_client_load_file_path`.

use std::ffi::c_char;

use super::boundary::{
    boundary, check_out, fail, infallible, opt_str, write_buf, write_str, FfiResult,
};
/// The handle type this part of the API hands out (declared with the others in `handles`).
pub use super::handles::lic_activation_request;
use super::handles::{free_handle, handle_ref, into_handle, lic_client};
use super::status::lic_status;
use crate::activation::{RequestCode, RequestOptions};

/// `lic_client_activation_request` flag: leave this machine's host name out
/// of the request (by default it is in, so the license's machine list names
/// the machine as an online activation would).
pub const LIC_ACTIVATION_REQUEST_OMIT_HOSTNAME: u32 = 1;
/// `lic_client_activation_request` flag: leave the platform (`os/arch`) out
/// of the request.
pub const LIC_ACTIVATION_REQUEST_OMIT_PLATFORM: u32 = 2;
const ALL_FLAGS: u32 = LIC_ACTIVATION_REQUEST_OMIT_HOSTNAME | LIC_ACTIVATION_REQUEST_OMIT_PLATFORM;

/// Makes the activation request an air-gapped machine shows, so that a
/// person can activate it through an activation portal (lic-portal) on any
/// online device and bring back a machine file. No network.
///
/// Format (version 1): the payload is compact JSON, keys in this order, no
/// whitespace: `{"v":1,"k":"<license key>","f":"<fingerprint>"}` plus
/// `"h"` (host name), `"p"` (platform, e.g. `linux/x86_64`) and `"a"` (app
/// name) when present. The text is `lic1.` + base64url without padding of
/// the payload. With `portal_url` it is `<portal_url>#lic1.…`: the request
/// is in the URL's fragment, which browsers never send to a server, so a
/// phone's camera app opens the portal directly and the license key reaches
/// no server log or proxy (the portal's page reads the fragment). The
/// request holds nothing secret beyond the license key the user entered.
/// The QR code (byte mode, error correction M) holds the text.
///
/// `portal_url` may be NULL; otherwise it must be http:// or https://
/// without a fragment. `app_name` may be NULL (left out); otherwise it is
/// shown by the portal (at most 128 bytes). `flags`: 0 (host name and
/// platform included) or LIC_ACTIVATION_REQUEST_OMIT_HOSTNAME and/or
/// LIC_ACTIVATION_REQUEST_OMIT_PLATFORM. The fingerprint is the client's
/// (`lic_client_fingerprint`).
///
/// On success `*out` is owned by the caller; free it with
/// `lic_activation_request_free`. `client` and `out` must not be NULL.
/// Returns OK, NULL_ARGUMENT, INVALID_UTF8, INVALID_ARGUMENT (a bad portal
/// URL or app name, an unknown flag, or a request too long for a QR code),
/// CONFIG_INCOMPLETE (no license key) or FINGERPRINT_UNAVAILABLE. No
/// network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_activation_request(
    client: *const lic_client,
    portal_url: *const c_char,
    app_name: *const c_char,
    flags: u32,
    out: *mut *mut lic_activation_request,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        let portal_url = unsafe { opt_str(portal_url, "portal_url")? };
        let app_name = unsafe { opt_str(app_name, "app_name")? };
        check_out(out, "out")?;
        if flags & !ALL_FLAGS != 0 {
            return fail(
                lic_status::LIC_STATUS_INVALID_ARGUMENT,
                format!("unknown activation request flags {:#x}", flags & !ALL_FLAGS),
            );
        }
        let options = RequestOptions {
            portal_url: portal_url.map(str::to_string),
            app_name: app_name.map(str::to_string),
            hostname: flags & LIC_ACTIVATION_REQUEST_OMIT_HOSTNAME == 0,
            platform: flags & LIC_ACTIVATION_REQUEST_OMIT_PLATFORM == 0,
        };
        let code = client.activation_request(&options)?;
        unsafe { out.write(into_handle::<lic_activation_request>(code)) };
        Ok(())
    })
}

unsafe fn request<'a>(r: *const lic_activation_request) -> FfiResult<&'a RequestCode> {
    unsafe { handle_ref(r) }
}

/// Writes the request text (`lic1.…`, or `<portal URL>#lic1.…`): what the
/// QR code holds, and what a person can copy into the portal by hand.
/// Buffer protocol: see the header's introduction. It holds the license
/// key: show it, never log it. Returns OK, NULL_ARGUMENT or
/// BUFFER_TOO_SMALL. No network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_activation_request_text(
    r: *const lic_activation_request,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(request(r)?.text(), buf, buf_len, out_len) })
}

/// Writes the QR code as an SVG document (UTF-8 text): black modules on a
/// white square with the quiet zone, 8 units per module, scalable to any
/// size. Buffer protocol as `lic_activation_request_text`. Returns OK,
/// NULL_ARGUMENT or BUFFER_TOO_SMALL. No network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_activation_request_svg(
    r: *const lic_activation_request,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(request(r)?.qr().svg(), buf, buf_len, out_len) })
}

/// Writes the QR code as PNG bytes: 1-bit greyscale, 8 pixels per module,
/// with the quiet zone (about 450–550 px square for a typical request).
/// Bytes are written as they are, with no NUL appended (like
/// `lic_result_signed_part`): `buf` needs exactly `*out_len` bytes;
/// otherwise the buffer protocol applies (`buf = NULL, buf_len = 0` asks for
/// the size). Returns OK, NULL_ARGUMENT, BUFFER_TOO_SMALL or INTERNAL_PANIC.
/// No network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_activation_request_png(
    r: *const lic_activation_request,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        let png = request(r)?.qr().png()?;
        write_buf(png, false, buf, buf_len, out_len)
    })
}

/// Writes the QR code drawn with Unicode half blocks (U+2580, U+2584,
/// U+2588 and spaces), two module rows per line, each line ending in `\n`,
/// quiet zone included: for console tools and servers to print. It is drawn
/// for a terminal whose text is lighter than its background (the usual dark
/// terminal): light modules are the blocks. About 60 columns for a typical
/// request. Buffer protocol as `lic_activation_request_text`. Returns OK,
/// NULL_ARGUMENT or BUFFER_TOO_SMALL. No network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_activation_request_terminal(
    r: *const lic_activation_request,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(request(r)?.qr().terminal(), buf, buf_len, out_len) })
}

/// Frees an activation request. NULL is a no-op. Must not be called twice,
/// nor while another thread is using the request.
#[no_mangle]
pub unsafe extern "C" fn lic_activation_request_free(r: *const lic_activation_request) {
    infallible((), || unsafe { free_handle(r) })
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_char, CStr, CString};
    use std::ptr::{null, null_mut};

    use super::*;
    use crate::activation::ActivationRequest;
    use crate::client::Client;
    use crate::config::Config;
    use crate::ffi::status::lic_status::*;

    fn client(key: Option<&str>) -> *mut lic_client {
        let c = Client::new(Config {
            account_id: Some("acct".into()),
            license_key: key.map(str::to_string),
            fingerprint: Some("fp-ffi".into()),
            no_cache: true,
            ..Config::default()
        })
        .unwrap();
        into_handle::<lic_client>(c)
    }

    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::ffi::boundary::last_error_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    fn text_of(r: *const lic_activation_request) -> String {
        let mut n = 0;
        unsafe {
            assert_eq!(
                lic_activation_request_text(r, null_mut(), 0, &mut n),
                LIC_STATUS_BUFFER_TOO_SMALL
            );
            let mut buf = vec![0u8; n + 1];
            assert_eq!(
                lic_activation_request_text(r, buf.as_mut_ptr().cast(), n, &mut n),
                LIC_STATUS_BUFFER_TOO_SMALL,
                "the NUL needs room too"
            );
            assert_eq!(
                lic_activation_request_text(r, buf.as_mut_ptr().cast(), n + 1, &mut n),
                LIC_STATUS_OK
            );
            assert_eq!(buf[n], 0);
            String::from_utf8(buf[..n].to_vec()).unwrap()
        }
    }

    #[test]
    fn a_request_round_trips_through_the_c_api() {
        let c = client(Some("KEY-FFI"));
        let url = CString::new("https://portal.example/").unwrap();
        let app = CString::new("Ünïcode App").unwrap();
        let mut r = null_mut();
        unsafe {
            assert_eq!(
                lic_client_activation_request(c, url.as_ptr(), app.as_ptr(), 0, &mut r),
                LIC_STATUS_OK
            );
            let text = text_of(r);
            assert!(text.starts_with("https://portal.example/#lic1."), "{text}");
            let parsed = ActivationRequest::parse(&text).unwrap();
            assert_eq!(parsed.license_key, "KEY-FFI");
            assert_eq!(parsed.fingerprint, "fp-ffi");
            assert_eq!(parsed.app.as_deref(), Some("Ünïcode App"));
            assert_eq!(parsed.platform, Some(crate::machine::platform()));

            // PNG: exact size, no NUL.
            let mut n = 0;
            assert_eq!(
                lic_activation_request_png(r, null_mut(), 0, &mut n),
                LIC_STATUS_BUFFER_TOO_SMALL
            );
            let mut png = vec![0u8; n];
            assert_eq!(
                lic_activation_request_png(r, png.as_mut_ptr(), n, &mut n),
                LIC_STATUS_OK
            );
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            assert_eq!(&png[n - 8..n - 4], b"IEND");

            for f in [lic_activation_request_svg, lic_activation_request_terminal] {
                let mut n = 0;
                assert_eq!(f(r, null_mut(), 0, &mut n), LIC_STATUS_BUFFER_TOO_SMALL);
                let mut buf = vec![0u8; n + 1];
                assert_eq!(f(r, buf.as_mut_ptr().cast(), n + 1, &mut n), LIC_STATUS_OK);
                assert!(std::str::from_utf8(&buf[..n]).is_ok());
            }
            lic_activation_request_free(r);

            // Flags leave the host name and platform out.
            let mut r = null_mut();
            let both = LIC_ACTIVATION_REQUEST_OMIT_HOSTNAME | LIC_ACTIVATION_REQUEST_OMIT_PLATFORM;
            assert_eq!(
                lic_client_activation_request(c, null(), null(), both, &mut r),
                LIC_STATUS_OK
            );
            let text = text_of(r);
            assert!(text.starts_with("lic1."));
            let parsed = ActivationRequest::parse(&text).unwrap();
            assert_eq!(
                (parsed.hostname, parsed.platform, parsed.app),
                (None, None, None)
            );
            lic_activation_request_free(r);
            free_handle(c.cast_const());
        }
    }

    #[test]
    fn bad_arguments_get_a_status_and_write_nothing() {
        let c = client(Some("KEY-FFI"));
        let no_key = client(None);
        let mut r: *mut lic_activation_request = null_mut();
        let bad_url = CString::new("file:///etc/passwd").unwrap();
        let invalid_utf8 = [0xffu8, 0];
        unsafe {
            assert_eq!(
                lic_client_activation_request(null(), null(), null(), 0, &mut r),
                LIC_STATUS_NULL_ARGUMENT
            );
            assert_eq!(
                lic_client_activation_request(c, null(), null(), 0, null_mut()),
                LIC_STATUS_NULL_ARGUMENT
            );
            assert_eq!(
                lic_client_activation_request(c, null(), null(), 8, &mut r),
                LIC_STATUS_INVALID_ARGUMENT
            );
            assert!(last_error().contains("unknown activation request flags"));
            assert_eq!(
                lic_client_activation_request(c, bad_url.as_ptr(), null(), 0, &mut r),
                LIC_STATUS_INVALID_ARGUMENT
            );
            assert_eq!(
                lic_client_activation_request(
                    c,
                    invalid_utf8.as_ptr().cast::<c_char>(),
                    null(),
                    0,
                    &mut r
                ),
                LIC_STATUS_INVALID_UTF8
            );
            assert_eq!(
                lic_client_activation_request(no_key, null(), null(), 0, &mut r),
                LIC_STATUS_CONFIG_INCOMPLETE
            );
            assert!(r.is_null(), "outputs are written only on success");
            let mut n = 0;
            assert_eq!(
                lic_activation_request_text(null(), null_mut(), 0, &mut n),
                LIC_STATUS_NULL_ARGUMENT
            );
            assert_eq!(
                lic_activation_request_png(null(), null_mut(), 0, &mut n),
                LIC_STATUS_NULL_ARGUMENT
            );
            lic_activation_request_free(null());
            free_handle(c.cast_const());
            free_handle(no_key.cast_const());
        }
    }
}

//! Boundary tests of the C ABI itself: NULLs, invalid UTF-8, the buffer
//! protocol, the last-error slot and the panic boundary. (The flows are
//! tested end to end by tests/c/test_api.c against lic-devserver.)

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

use super::boundary::{boundary, fail, infallible};
use super::client::*;
use super::config::*;
use super::result::*;
use super::status::lic_status::{self, *};
use super::version::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(lic_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn cs(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).unwrap()
}

#[test]
fn panics_become_a_status_and_a_message() {
    let st = boundary(|| panic!("forced panic for the test"));
    assert_eq!(st, LIC_STATUS_INTERNAL_PANIC);
    assert!(last_error().contains("forced panic for the test"));
    assert_eq!(infallible(7, || panic!("again")), 7);
    // The next call clears the message.
    assert_eq!(boundary(|| Ok(())), LIC_STATUS_OK);
    assert_eq!(last_error(), "");
}

#[test]
fn last_error_is_per_thread() {
    assert_eq!(
        boundary(|| fail(LIC_STATUS_INVALID_ARGUMENT, "main thread failure")),
        LIC_STATUS_INVALID_ARGUMENT
    );
    std::thread::spawn(|| assert_eq!(last_error(), ""))
        .join()
        .unwrap();
    assert_eq!(last_error(), "main thread failure");
}

#[test]
fn null_arguments_give_a_status() {
    unsafe {
        assert_eq!(lic_config_new(null_mut()), LIC_STATUS_NULL_ARGUMENT);
        assert_eq!(
            lic_config_set_account_id(null_mut(), null()),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert!(last_error().contains("NULL"));
        let mut client = null_mut();
        assert_eq!(
            lic_client_new(null(), &mut client),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert!(client.is_null());
        let mut r = null_mut();
        assert_eq!(lic_validate(null(), 0, &mut r), LIC_STATUS_NULL_ARGUMENT);
        assert_eq!(lic_activate(null(), null_mut()), LIC_STATUS_NULL_ARGUMENT);
        assert_eq!(lic_deactivate(null(), null()), LIC_STATUS_NULL_ARGUMENT);
        assert_eq!(
            lic_result_code(null()),
            crate::model::ValidationCode::Unknown
        );
        assert_eq!(lic_result_valid(null()), 0);
        assert_eq!(lic_result_source(null()), crate::model::Source::Unknown);
        assert_eq!(lic_result_entitlement_count(null()), 0);
        let mut n = 0usize;
        assert_eq!(
            lic_result_detail(null(), null_mut(), 0, &mut n),
            LIC_STATUS_NULL_ARGUMENT
        );
        lic_result_free(null_mut());
        lic_client_free(null());
        lic_config_free(null_mut());
        lic_machine_free(null_mut());
        lic_machine_list_free(null_mut());
        assert_eq!(lic_machine_list_count(null()), 0);
    }
}

#[test]
fn invalid_utf8_and_bad_values_are_refused() {
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
        let bad = [0x66u8, 0xff, 0xfe, 0];
        assert_eq!(
            lic_config_set_account_id(cfg, bad.as_ptr().cast()),
            LIC_STATUS_INVALID_UTF8
        );
        assert!(last_error().contains("UTF-8"));
        assert_eq!(
            lic_config_set_account_id(cfg, cs("").as_ptr()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_set_public_key(cfg, cs("not-hex").as_ptr()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_set_timeout_ms(cfg, 0),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_set_allow_insecure_http(cfg, 2),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_set_checkout_ttl_seconds(cfg, 60),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_set_log_callback(cfg, None, 9, null_mut()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        // No account id yet.
        let mut client = null_mut();
        assert_eq!(
            lic_client_new(cfg, &mut client),
            LIC_STATUS_CONFIG_INCOMPLETE
        );
        assert!(client.is_null());
        assert_eq!(
            lic_config_set_account_id(cfg, cs("acct").as_ptr()),
            LIC_STATUS_OK
        );
        assert_eq!(
            lic_config_set_api_url(cfg, cs("http://licensing.example.com").as_ptr()),
            LIC_STATUS_OK
        );
        assert_eq!(lic_client_new(cfg, &mut client), LIC_STATUS_INSECURE_URL);
        assert_eq!(lic_config_set_api_url(cfg, null()), LIC_STATUS_OK);
        assert_eq!(
            lic_config_set_fingerprint(cfg, cs("fp-1").as_ptr()),
            LIC_STATUS_OK
        );
        assert_eq!(lic_client_new(cfg, &mut client), LIC_STATUS_OK);
        lic_config_free(cfg); // the client keeps its own copy
        let mut r = null_mut();
        assert_eq!(
            lic_validate(client, 0, &mut r),
            LIC_STATUS_CONFIG_INCOMPLETE
        );
        assert!(last_error().contains("license key"));
        assert_eq!(
            lic_validate(client, 0x80, &mut r),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert!(r.is_null());
        let mut buf = [0u8; 16];
        let mut n = 0usize;
        assert_eq!(
            lic_client_fingerprint(client, buf.as_mut_ptr().cast(), buf.len(), &mut n),
            LIC_STATUS_OK
        );
        assert_eq!((&buf[..5], n), (&b"fp-1\0"[..], 4));
        lic_client_free(client);
    }
}

#[test]
fn buffer_protocol() {
    unsafe {
        let mut n = 0usize;
        // Query the length.
        assert_eq!(
            lic_fingerprint(cs("app").as_ptr(), null_mut(), 0, &mut n),
            lic_fingerprint_status_for_this_machine(true)
        );
        if n == 0 {
            return; // no machine id here; FINGERPRINT_UNAVAILABLE was checked above
        }
        assert_eq!(n, 64);
        let mut exact = vec![0 as c_char; 65];
        assert_eq!(
            lic_fingerprint(cs("app").as_ptr(), exact.as_mut_ptr(), 64, &mut n),
            LIC_STATUS_BUFFER_TOO_SMALL
        );
        assert_eq!(
            exact[0], 0,
            "nothing is written to a buffer that is too small"
        );
        assert_eq!(
            lic_fingerprint(cs("app").as_ptr(), exact.as_mut_ptr(), 65, &mut n),
            LIC_STATUS_OK
        );
        assert_eq!(CStr::from_ptr(exact.as_ptr()).to_bytes().len(), 64);
        assert_eq!(
            lic_fingerprint(cs("app").as_ptr(), null_mut(), 10, &mut n),
            LIC_STATUS_NULL_ARGUMENT
        );
    }
}

fn lic_fingerprint_status_for_this_machine(query: bool) -> lic_status {
    match crate::machine::machine_fingerprint("app") {
        Ok(_) if query => LIC_STATUS_BUFFER_TOO_SMALL,
        Ok(_) => LIC_STATUS_OK,
        Err(_) => LIC_STATUS_FINGERPRINT_UNAVAILABLE,
    }
}

#[test]
fn static_strings() {
    unsafe {
        assert_eq!(
            CStr::from_ptr(lic_version()).to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(lic_abi_version(), LIC_ABI_VERSION);
        assert_eq!(
            CStr::from_ptr(lic_status_str(LIC_STATUS_TIMEOUT as i32))
                .to_str()
                .unwrap(),
            "timed out"
        );
        assert_eq!(
            CStr::from_ptr(lic_status_str(12345)).to_str().unwrap(),
            "unknown status"
        );
        assert_eq!(CStr::from_ptr(lic_code_str(1)).to_str().unwrap(), "VALID");
        assert_eq!(
            CStr::from_ptr(lic_code_str(24)).to_str().unwrap(),
            "FINGERPRINT_SCOPE_MISMATCH"
        );
        assert_eq!(
            CStr::from_ptr(lic_code_str(-5)).to_str().unwrap(),
            "UNKNOWN"
        );
    }
}

#[test]
fn validate_flags_match_the_core() {
    assert_eq!(
        LIC_VALIDATE_AUTO_ACTIVATE,
        crate::client::VALIDATE_AUTO_ACTIVATE
    );
    assert_eq!(
        LIC_VALIDATE_ONLINE_ONLY,
        crate::client::VALIDATE_ONLINE_ONLY
    );
    assert_eq!(
        LIC_VALIDATE_OFFLINE_ONLY,
        crate::client::VALIDATE_OFFLINE_ONLY
    );
}

/// `lic_file_verify_signature` and `lic_config_add_public_key` (ffi/signature.rs).
mod file_signature {
    use super::super::boundary::last_error_ptr;
    use super::super::config::{
        lic_config_add_public_key, lic_config_free, lic_config_new, lic_config_set_public_key,
    };
    use super::super::signature::*;
    use super::super::status::lic_status;
    use std::ffi::c_char;
    use std::ffi::{CStr, CString};
    use std::ptr::{null, null_mut};

    fn last_error() -> String {
        unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn verify_signature_through_the_c_abi() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/signing/vectors.json")).unwrap();
        let file = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["algorithm"] == "base64+ecdsa-p256" && f["kind"] == "machine")
            .unwrap();
        let cert = file["certificate"].as_str().unwrap().as_bytes();
        let key = |k: &str| CString::new(v["account"][k].as_str().unwrap()).unwrap();
        unsafe {
            let mut cfg = null_mut();
            assert_eq!(lic_config_new(&mut cfg), lic_status::LIC_STATUS_OK);
            let mut out = null_mut();
            // No key yet: NO_PUBLIC_KEY naming the algorithm.
            assert_eq!(
                lic_file_verify_signature(cfg, cert.as_ptr(), cert.len(), &mut out),
                lic_status::LIC_STATUS_NO_PUBLIC_KEY
            );
            assert!(last_error().contains("ecdsa-p256"), "{}", last_error());
            assert!(out.is_null(), "outputs are written only on success");
            assert_eq!(
                lic_config_set_public_key(cfg, key("ed25519").as_ptr()),
                lic_status::LIC_STATUS_OK
            );
            assert_eq!(
                lic_config_add_public_key(cfg, null()),
                lic_status::LIC_STATUS_NULL_ARGUMENT
            );
            let bad = CString::new("zz").unwrap();
            assert_eq!(
                lic_config_add_public_key(cfg, bad.as_ptr()),
                lic_status::LIC_STATUS_INVALID_ARGUMENT
            );
            assert!(last_error().contains("PEM"), "{}", last_error());
            assert_eq!(
                lic_config_add_public_key(cfg, key("ecdsa").as_ptr()),
                lic_status::LIC_STATUS_OK
            );
            assert_eq!(
                lic_file_verify_signature(cfg, cert.as_ptr(), cert.len(), &mut out),
                lic_status::LIC_STATUS_OK
            );
            assert_eq!(lic_file_signature_valid(out), 1);
            assert_eq!(lic_file_signature_encrypted(out), 0);
            assert_eq!(
                lic_file_signature_kind(out),
                lic_file_kind::LIC_FILE_KIND_MACHINE
            );
            let mut buf = [0 as c_char; 64];
            let mut n = 0;
            assert_eq!(
                lic_file_signature_algorithm(out, buf.as_mut_ptr(), buf.len(), &mut n),
                lic_status::LIC_STATUS_OK
            );
            assert_eq!(
                CStr::from_ptr(buf.as_ptr()).to_str().unwrap(),
                "base64+ecdsa-p256"
            );
            let mut t = 0i64;
            assert_eq!(
                lic_file_signature_issued_unix(out, &mut t),
                lic_status::LIC_STATUS_OK
            );
            assert_eq!(t, 1_709_368_200);
            assert_eq!(
                lic_file_signature_expires_unix(out, &mut t),
                lic_status::LIC_STATUS_NOT_FOUND
            );
            assert!(last_error().contains("without a TTL"), "{}", last_error());
            assert_eq!(
                lic_file_signature_issued_unix(out, null_mut()),
                lic_status::LIC_STATUS_NULL_ARGUMENT
            );
            lic_file_signature_free(out);

            // NULL handles: neutral answers, never a crash.
            assert_eq!(lic_file_signature_valid(null()), 0);
            assert_eq!(
                lic_file_signature_kind(null()),
                lic_file_kind::LIC_FILE_KIND_UNKNOWN
            );
            lic_file_signature_free(null());
            assert_eq!(
                lic_file_verify_signature(null(), cert.as_ptr(), cert.len(), &mut out),
                lic_status::LIC_STATUS_NULL_ARGUMENT
            );
            assert_eq!(
                lic_file_verify_signature(cfg, cert.as_ptr(), cert.len(), null_mut()),
                lic_status::LIC_STATUS_NULL_ARGUMENT
            );
            let junk = [0xffu8, 0xfe];
            assert_eq!(
                lic_file_verify_signature(cfg, junk.as_ptr(), junk.len(), &mut out),
                lic_status::LIC_STATUS_FILE_MALFORMED
            );
            lic_config_free(cfg);
        }
    }
}

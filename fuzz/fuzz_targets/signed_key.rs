//! ED25519_SIGN license keys: parsing, signature verification, the payload
//! and the offline verdict a signed key supports.
//!
//! Input: a mode byte, then bytes. Even mode: the bytes are a license key
//! (the seed is the real Keygen key), checked with the real account's key.
//! Odd mode: the bytes are a payload, which the target signs with the
//! fuzzer's own key (bit 1: without base64 padding), so the payload
//! handling behind the signature check sees arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lic::evidence::signed_key::verify_signed_key;
use lic::evidence::verdict::signed_key_verdict;
use lic::model::ClockState;
use lic_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (key_text, public_key) = if mode & 1 == 0 {
        (
            String::from_utf8_lossy(rest).into_owned(),
            vector_public_key(),
        )
    } else {
        (forge_signed_key(rest, mode & 2 == 0), fuzz_public_key())
    };
    let Ok(signed) = verify_signed_key(&key_text, &public_key) else {
        assert!(mode & 1 == 0, "a key signed with the fuzzer's key verifies");
        return;
    };
    if mode & 1 == 1 {
        assert_eq!(signed.payload, rest, "the payload comes back as signed");
    }
    let (issued, expiry) = signed.issued_and_expiry();
    for now in [
        0,
        lic::time::now_ms(),
        issued.unwrap_or(0),
        expiry.unwrap_or(0),
    ] {
        let v = signed_key_verdict(
            &signed,
            &key_text,
            FUZZ_FINGERPRINT,
            ClockState::Unknown,
            now,
        );
        assert!(v.verified);
    }
});

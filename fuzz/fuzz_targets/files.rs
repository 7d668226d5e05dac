//! License and machine files: parsing, signature verification, decryption,
//! the dataset, and the offline verdict a verified file supports.
//!
//! Input: a mode byte, then bytes. Even mode: the bytes are certificate text
//! as delivered (the seeds are the real Keygen files), opened with the real
//! account's key. Odd mode: the bytes are a dataset, which the target wraps
//! into a certificate that verifies (signed with the fuzzer's own key;
//! mode bit 1: machine file, bit 2: encrypted), so the code behind the
//! signature check sees arbitrary plaintext.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lic::evidence::files::{parse_certificate, Dataset};
use lic::evidence::verdict::{evaluate_file, half_life_passed};
use lic::evidence::Evidence;
use lic::model::{ClockState, Source};
use lic_fuzz::*;

fn exercise(text: &str, ds: Dataset) {
    let _ = (
        ds.license(),
        ds.machine(),
        ds.entitlement_codes(),
        ds.fingerprint(),
    );
    let issued = ds.issued;
    let ev = Evidence {
        certificate: text.into(),
        dataset: ds,
        source: Source::CachedFile,
    };
    const YEAR: i64 = 31_556_952_000;
    const MAX_SPAN: i64 = 3_155_695_200_000; // lic's largest span setting, in ms
    for now in [issued, issued - YEAR, issued + YEAR, lic::time::now_ms()] {
        for (tolerance, max_age) in [(600_000, None), (1, Some(1)), (MAX_SPAN, Some(MAX_SPAN))] {
            let v = evaluate_file(
                &ev,
                FUZZ_FINGERPRINT,
                ClockState::Unknown,
                now,
                tolerance,
                max_age,
            );
            let _ = (
                ev.dataset.is_expired_at(now),
                half_life_passed(&ev.dataset, now),
            );
            // A verdict of a verified file is always a verified, offline answer.
            assert!(v.verified);
            assert_eq!(v.source, Source::CachedFile);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let text = String::from_utf8_lossy(rest);
        let Ok(cert) = parse_certificate(&text) else {
            return;
        };
        // The normalized text parses to itself.
        let again = parse_certificate(&cert.text).expect("normalized certificate text parses");
        assert_eq!(again.text, cert.text);
        let key = vector_public_key();
        let _ = cert.verify(&key);
        let _ = cert.open(&key, None, None);
        for license_key in VECTOR_LICENSE_KEYS {
            if let Ok(ds) = cert.open(&key, Some(license_key), Some(VECTOR_FINGERPRINT)) {
                exercise(&cert.text, ds);
            }
        }
    } else {
        let text = forge_certificate(mode & 2 != 0, mode & 4 != 0, rest, [mode; 12]);
        let Ok(cert) = parse_certificate(&text) else {
            assert!(
                text.len() > 1 << 20,
                "a forged certificate of {} bytes parses",
                text.len()
            );
            return;
        };
        let key = fuzz_public_key();
        cert.verify(&key).expect("a forged certificate verifies");
        if let Ok(ds) = cert.open(&key, Some(FUZZ_LICENSE_KEY), Some(FUZZ_FINGERPRINT)) {
            exercise(&cert.text, ds);
        }
    }
});

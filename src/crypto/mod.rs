//! The cryptography both the online and offline paths use: the account's
//! public keys and signature verification (`keys`), SHA-256, HMAC-SHA256,
//! AES-256-GCM opening, base64 and hex, and OS randomness.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{err, ErrorKind, Result};

mod keys;
pub use keys::{KeyKind, KeySet, PublicKey, SigAlg, KEY_FORMS};

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Constant-time equality for secrets and MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Opens AES-256-GCM with a 16-byte tag appended to the ciphertext, no AAD.
/// Returns nothing on any failure: no partial plaintext ever escapes.
pub fn aes256gcm_open(key: &[u8; 32], iv: &[u8], ciphertext: &[u8], tag: &[u8]) -> Result<Vec<u8>> {
    let mut buf = ciphertext.to_vec();
    aes256gcm_open_in_place(key, iv, &mut buf, tag)?;
    Ok(buf)
}

/// As [`aes256gcm_open`], decrypting `buf` (the ciphertext) in place: on
/// success it holds the plaintext; on failure its content is unspecified.
pub fn aes256gcm_open_in_place(
    key: &[u8; 32],
    iv: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<()> {
    if iv.len() != 12 || tag.len() != 16 {
        return err(
            ErrorKind::FileMalformed,
            "AES-GCM IV must be 12 bytes and tag 16 bytes",
        );
    }
    Aes256Gcm::new(key.into())
        .decrypt_in_place_detached(Nonce::from_slice(iv), &[], buf, Tag::from_slice(tag))
        .or_else(|_| {
            err(
                ErrorKind::DecryptionFailed,
                "decryption failed: wrong license key or fingerprint, or the file was altered",
            )
        })
}

pub fn b64_std(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Standard base64 with its padding (RFC 4648 §4), strictly: a length that
/// is not a multiple of 4, misplaced padding or non-zero trailing bits are
/// `None`, as with the base64 crate's `STANDARD` (the tests compare them).
pub fn b64_std_decode(s: &str) -> Option<Vec<u8>> {
    b64_std_decode_bytes(s.as_bytes())
}

/// As [`b64_std_decode`], from bytes (no UTF-8 check needed first).
pub fn b64_std_decode_bytes(s: &[u8]) -> Option<Vec<u8>> {
    base64_simd::STANDARD.decode_to_vec(s).ok()
}

/// base64url without padding (RFC 4648 §5), for text that travels in URLs.
pub fn b64_url_nopad(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// base64url, padded or not (Keygen pads; other tools may not).
pub fn b64_url_decode(s: &str) -> Option<Vec<u8>> {
    if s.ends_with('=') {
        URL_SAFE.decode(s).ok()
    } else {
        URL_SAFE_NO_PAD.decode(s).ok()
    }
}

pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf)
        .or_else(|e| err(ErrorKind::Internal, format!("OS random source failed: {e}")))
}

/// A random non-negative integer that fits JSON numbers exactly (< 2^53), for
/// validation nonces.
pub fn random_nonce() -> Result<u64> {
    let mut b = [0u8; 8];
    random_bytes(&mut b)?;
    Ok(u64::from_le_bytes(b) & ((1 << 53) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            encode_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_long_key_is_hashed_first() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            encode_hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(decode_hex("00ffA0").unwrap(), vec![0, 255, 160]);
        assert!(decode_hex("0").is_none());
        assert!(decode_hex("zz").is_none());
        assert_eq!(encode_hex(&[0, 255, 160]), "00ffa0");
    }

    #[test]
    fn public_key_parse() {
        let k =
            PublicKey::from_hex("e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788")
                .unwrap();
        assert_eq!(
            k.to_hex().as_deref(),
            Some("e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788")
        );
        assert_eq!(
            PublicKey::from_hex("abcd").unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn gcm_rejects_bad_sizes_and_tags() {
        let key = [7u8; 32];
        assert_eq!(
            aes256gcm_open(&key, &[0; 11], b"x", &[0; 16])
                .unwrap_err()
                .kind,
            ErrorKind::FileMalformed
        );
        assert_eq!(
            aes256gcm_open(&key, &[0; 12], b"x", &[0; 16])
                .unwrap_err()
                .kind,
            ErrorKind::DecryptionFailed
        );
    }

    /// The SIMD decoder accepts exactly what the base64 crate's strict
    /// `STANDARD` does, with the same bytes: edge cases around padding and
    /// trailing bits, and every length to 200 of valid, altered and
    /// truncated text (the SIMD loops take 32-byte and longer blocks).
    #[test]
    fn std_decode_matches_the_base64_crate() {
        let same = |s: &[u8]| {
            assert_eq!(
                b64_std_decode_bytes(s),
                STANDARD.decode(s).ok(),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        };
        for s in [
            "",
            "=",
            "==",
            "===",
            "====",
            "A",
            "AA",
            "AAA",
            "AA=",
            "A===",
            "AA==",
            "AAA=",
            "AB==",
            "AAB=",
            "AA=A",
            "A=AA",
            "AAAA====",
            "AA==AAAA",
            "AAAA AAAA",
            "AAAA\n",
            "\nAAAA",
            "AA-_",
            "AA+/",
            "Zm9v",
            "Zm9vYg==",
            "Zm9vYmE=",
            "Zm9vYmFy",
            "Zm9vYg",
        ] {
            same(s.as_bytes());
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let text = STANDARD.encode(&data).into_bytes();
            same(&text);
            assert_eq!(b64_std_decode_bytes(&text).as_deref(), Some(&data[..]));
            for cut in [1, 2, 3] {
                same(&text[..text.len().saturating_sub(cut)]);
            }
            if !text.is_empty() {
                for _ in 0..8 {
                    let mut bad = text.clone();
                    let at = next() as usize % bad.len();
                    bad[at] = next() as u8;
                    same(&bad);
                }
            }
        }
    }

    #[test]
    fn nonce_fits_json_integer() {
        for _ in 0..100 {
            assert!(random_nonce().unwrap() < (1 << 53));
        }
    }
}

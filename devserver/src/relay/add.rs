//! `relay add`: the one time Relay checks a license file (`manager.go` AddLicense, through
//! keygen-go's `LicenseFile.Verify` and `Decrypt`): the Ed25519 signature over
//! `license/<enc>` with the account's public key, AES-256-GCM decryption with SHA-256 of the
//! license key, then the dataset's own issue and expiry times. The messages are Relay's.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::Deserialize;
use serde_json::Value;

use crate::util::{parse_time, sha256, unhex};

/// keygen-go's `MaxClockDrift`: a file issued further in the future is refused.
const MAX_CLOCK_DRIFT_MS: i64 = 5 * 60 * 1000;

/// What `relay add` keeps of a file it accepted.
pub(super) struct Accepted {
    /// The Keygen license id (`dec.License.ID`).
    pub guid: String,
    /// The key the decrypted license names (`dec.License.Key`).
    pub key: String,
}

#[derive(Deserialize)]
struct Certificate {
    enc: String,
    sig: String,
    alg: String,
}

/// keygen-go's `certificate()`: trim, strip the armour, base64 (newlines ignored, as Go's
/// decoder does), JSON. Every failure is a `LicenseFileError`, which prints as this.
fn certificate(file: &[u8]) -> Result<Certificate, &'static str> {
    const INVALID: &str = "license file is invalid";
    let text = std::str::from_utf8(file).map_err(|_| INVALID)?.trim();
    let text = text
        .strip_prefix("-----BEGIN LICENSE FILE-----")
        .unwrap_or(text);
    let text = text
        .strip_suffix("-----END LICENSE FILE-----")
        .unwrap_or(text);
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    let json = STANDARD.decode(compact).map_err(|_| INVALID)?;
    serde_json::from_slice(&json).map_err(|_| INVALID)
}

/// Verifies, decrypts and checks a license file as `relay add` does, at `now` (Unix ms).
/// `Err` has the text `relay add` prints after `error: `.
pub(super) fn check(
    file: &[u8],
    license_key: &str,
    public_key_hex: &str,
    now: i64,
) -> Result<Accepted, String> {
    verify(file, public_key_hex).map_err(|e| format!("license verification failed: {e}"))?;
    decrypt(file, license_key, now).map_err(|e| format!("license decryption failed: {e}"))
}

/// `LicenseFile.Verify`: any failure (unknown algorithm, bad key, bad signature) is a
/// `LicenseFileError`, whose text is always "license file is invalid".
fn verify(file: &[u8], public_key_hex: &str) -> Result<(), &'static str> {
    const INVALID: &str = "license file is invalid";
    let cert = certificate(file)?;
    if cert.alg != "aes-256-gcm+ed25519" && cert.alg != "base64+ed25519" {
        return Err(INVALID);
    }
    let key: [u8; 32] = unhex(public_key_hex)
        .and_then(|b| b.try_into().ok())
        .ok_or(INVALID)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| INVALID)?;
    let sig: [u8; 64] = STANDARD
        .decode(&cert.sig)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(INVALID)?;
    key.verify(
        format!("license/{}", cert.enc).as_bytes(),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| INVALID)
}

/// `LicenseFile.Decrypt`: only `aes-256-gcm+ed25519` is taken; then the dataset's `issued`
/// (at most `MaxClockDrift` ahead) and, when it has a TTL, its `expiry`.
fn decrypt(file: &[u8], license_key: &str, now: i64) -> Result<Accepted, String> {
    let cert = certificate(file)?;
    match cert.alg.as_str() {
        "aes-256-gcm+rsa-pss-sha256" | "aes-256-gcm+rsa-sha256" => {
            return Err("license file is not supported".into())
        }
        "aes-256-gcm+ed25519" => {}
        _ => return Err("license file is not encrypted".into()),
    }
    let parts: Vec<&str> = cert.enc.split('.').collect();
    let [ct, iv, tag] = parts[..] else {
        return Err("license file is invalid".into());
    };
    let decode = |s: &str| STANDARD.decode(s).map_err(|_| "license file is invalid");
    let (ct, iv, tag) = (decode(ct)?, decode(iv)?, decode(tag)?);
    if iv.len() != 12 {
        return Err("license file is invalid".into());
    }
    let cipher = Aes256Gcm::new_from_slice(&sha256(license_key.as_bytes()))
        .map_err(|_| "license file is invalid")?;
    let sealed = [ct, tag].concat();
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: &[],
            },
        )
        .map_err(|_| "license file is invalid")?;
    let doc: Value = serde_json::from_slice(&plain).map_err(|e| e.to_string())?;
    let text = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_string);
    let guid = text("/data/id").ok_or("license file dataset has no license id")?;
    let key = text("/data/attributes/key").unwrap_or_default();
    let issued = text("/meta/issued").and_then(|t| parse_time(&t));
    if issued.is_some_and(|i| i - now > MAX_CLOCK_DRIFT_MS) {
        return Err("system clock is out of sync".into());
    }
    let ttl = doc
        .pointer("/meta/ttl")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let expiry = text("/meta/expiry").and_then(|t| parse_time(&t));
    if ttl != 0 && expiry.map_or(true, |e| now > e) {
        return Err("license file is expired".into());
    }
    Ok(Accepted { guid, key })
}

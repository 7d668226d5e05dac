//! Cryptographic license keys, every scheme Keygen makes
//! (keygen-api `app/models/license.rb`, keygen-api.md §6):
//!
//! | scheme | key | what is verified |
//! |---|---|---|
//! | `ED25519_SIGN`, `ECDSA_P256_SIGN`, `RSA_2048_PKCS1_PSS_SIGN_V2`, `RSA_2048_PKCS1_SIGN_V2` | `key/<b64url(seed)>.<b64url(sig)>` | the signature over the ASCII `key/<b64url(seed)>` |
//! | `RSA_2048_PKCS1_PSS_SIGN`, `RSA_2048_PKCS1_SIGN` (v1) | `<b64url(seed)>.<b64url(sig)>` | the signature over the raw seed |
//! | `RSA_2048_PKCS1_ENCRYPT` | `b64url(RSA private-encrypt(seed))` | RSA public decrypt, PKCS#1 v1.5 type-1 padding |
//! | `RSA_2048_JWT_RS256` | a JWT (`header.claims.sig`) | RS256 over `header.claims`; the header must say RS256 |
//!
//! base64url is accepted with and without `=` padding (Keygen pads all but
//! the JWT). The scheme is told by the key's shape and the signature that
//! verifies, and each verifies only with the account key of its kind.

use serde_json::Value;

use crate::crypto::{b64_url_decode, KeyKind, KeySet, SigAlg};
use crate::error::{err, Error, ErrorKind, Result};
use crate::time::{parse_rfc3339, Millis};

/// Keygen's license key schemes that can be verified offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScheme {
    Ed25519Sign,
    EcdsaP256Sign,
    RsaPssSignV2,
    RsaSignV2,
    RsaPssSign,
    RsaSign,
    RsaEncrypt,
    RsaJwtRs256,
}

impl KeyScheme {
    /// Keygen's name for the scheme (a policy's `scheme`).
    pub fn name(self) -> &'static str {
        match self {
            KeyScheme::Ed25519Sign => "ED25519_SIGN",
            KeyScheme::EcdsaP256Sign => "ECDSA_P256_SIGN",
            KeyScheme::RsaPssSignV2 => "RSA_2048_PKCS1_PSS_SIGN_V2",
            KeyScheme::RsaSignV2 => "RSA_2048_PKCS1_SIGN_V2",
            KeyScheme::RsaPssSign => "RSA_2048_PKCS1_PSS_SIGN",
            KeyScheme::RsaSign => "RSA_2048_PKCS1_SIGN",
            KeyScheme::RsaEncrypt => "RSA_2048_PKCS1_ENCRYPT",
            KeyScheme::RsaJwtRs256 => "RSA_2048_JWT_RS256",
        }
    }

    /// The signature algorithm behind the scheme (`RSA_2048_PKCS1_ENCRYPT`
    /// uses the same padding as `rsa-sha256`, without a digest).
    pub fn algorithm(self) -> SigAlg {
        match self {
            KeyScheme::Ed25519Sign => SigAlg::Ed25519,
            KeyScheme::EcdsaP256Sign => SigAlg::EcdsaP256,
            KeyScheme::RsaPssSignV2 | KeyScheme::RsaPssSign => SigAlg::RsaPssSha256,
            KeyScheme::RsaSignV2
            | KeyScheme::RsaSign
            | KeyScheme::RsaEncrypt
            | KeyScheme::RsaJwtRs256 => SigAlg::RsaSha256,
        }
    }

    /// The file signature Keygen defaults to for a license of this scheme
    /// (`license_checkout_service.rb`).
    pub fn default_file_signing(self) -> SigAlg {
        self.algorithm()
    }
}

/// A license key whose signature has been verified.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedKey {
    pub scheme: KeyScheme,
    /// The exact text whose bytes were signed, for the `key/` and JWT
    /// schemes (`key/<b64url payload>` in the form that verified: Keygen
    /// pads, and an unpadded payload is checked in its padded form too;
    /// `header.claims` for a JWT). For the v1 schemes the raw seed is signed
    /// and this is its base64url text; for `RSA_2048_PKCS1_ENCRYPT`, the key.
    pub signing_data: String,
    /// The decoded payload (the seed, or the JWT claims).
    pub payload: Vec<u8>,
    /// The payload as JSON, when it is JSON (Keygen's default datasets are;
    /// a policy may sign any text instead).
    pub json: Option<Value>,
}

const PREFIX: &str = "key/";

fn not_signed() -> Error {
    Error::new(
        ErrorKind::KeyNotSigned,
        "license key is not a signed key (expected key/<payload>.<signature>, a legacy \
         <payload>.<signature>, an RSA-encrypted key or a JWT)",
    )
}

fn invalid(scheme: &str) -> Error {
    Error::new(
        ErrorKind::SignatureInvalid,
        format!(
            "license key signature does not verify ({scheme}): the key was altered or belongs \
             to another account"
        ),
    )
}

/// Whether `sig` has the shape of a signature of `kind` (so that a key of
/// that kind is worth trying, or would be needed).
fn fits(kind: KeyKind, sig: &[u8]) -> bool {
    match kind {
        KeyKind::Ed25519 => sig.len() == 64,
        KeyKind::Rsa => (256..=512).contains(&sig.len()),
        KeyKind::EcdsaP256 => {
            sig.len() >= 8 && sig.len() <= 72 && sig[0] == 0x30 && sig[1] as usize == sig.len() - 2
        }
    }
}

/// NO_PUBLIC_KEY for a key of `scheme` when its kind of key is missing.
fn needs_key(keys: &KeySet, scheme: &str, kind: KeyKind) -> Error {
    let have: Vec<&str> = keys.keys().map(|k| k.kind().name()).collect();
    let have = if have.is_empty() {
        "no public key is configured".to_string()
    } else {
        format!("only the {} key is configured", have.join(" and "))
    };
    Error::new(
        ErrorKind::NoPublicKey,
        format!(
            "license key is {scheme}, which needs the account's {} public key; {have}",
            kind.name()
        ),
    )
}

/// Verifies a signed license key of any scheme and decodes its payload.
/// Errors: KEY_NOT_SIGNED (not a signed key's shape), NO_PUBLIC_KEY (no key
/// of the kind its scheme needs, named), UNSUPPORTED_ALGORITHM (a JWT of
/// another `alg`), SIGNATURE_INVALID, FILE_MALFORMED.
pub fn verify_signed_key(key: &str, keys: &KeySet) -> Result<SignedKey> {
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        [signing, sig] if signing.starts_with(PREFIX) => verify_v2(signing, sig, keys),
        [payload, sig] => verify_v1(payload, sig, keys),
        [header, claims, sig] => verify_jwt(header, claims, sig, keys),
        [whole] => verify_encrypted(whole, keys),
        _ => Err(not_signed()),
    }
}

/// `key/<payload>.<sig>`: Ed25519, ECDSA P-256, RSA-PSS or RSA PKCS#1 v1.5.
fn verify_v2(signing_data: &str, sig: &str, keys: &KeySet) -> Result<SignedKey> {
    let encoded = &signing_data[PREFIX.len()..];
    let sig = b64_url_decode(sig).ok_or_else(|| malformed("signature"))?;
    let mut candidates = vec![signing_data.to_owned()];
    if !encoded.ends_with('=') && !encoded.len().is_multiple_of(4) {
        candidates.push(format!(
            "{signing_data}{}",
            "=".repeat(4 - encoded.len() % 4)
        ));
    }
    let schemes = [
        KeyScheme::Ed25519Sign,
        KeyScheme::RsaPssSignV2,
        KeyScheme::RsaSignV2,
        KeyScheme::EcdsaP256Sign,
    ];
    let mut missing = None;
    let mut tried = false;
    for scheme in schemes {
        let alg = scheme.algorithm();
        if !fits(alg.key_kind(), &sig) {
            continue;
        }
        if !keys.has(alg.key_kind()) {
            missing.get_or_insert((scheme, alg.key_kind()));
            continue;
        }
        tried = true;
        for data in &candidates {
            if keys.verify(alg, data.as_bytes(), &sig) == Some(true) {
                let payload = b64_url_decode(encoded).ok_or_else(|| malformed("payload"))?;
                return Ok(SignedKey {
                    scheme,
                    signing_data: data.clone(),
                    json: serde_json::from_slice(&payload).ok(),
                    payload,
                });
            }
        }
    }
    match missing {
        Some((scheme, kind)) if !tried => Err(needs_key(keys, scheme.name(), kind)),
        _ if tried => Err(invalid("key/… signed key")),
        _ => err(
            ErrorKind::SignatureInvalid,
            format!(
                "license key signature is {} bytes, the shape of no Keygen scheme: the key was \
                 altered or is not a Keygen key",
                sig.len()
            ),
        ),
    }
}

/// Legacy `<payload>.<sig>`: RSA over the raw seed (PSS or PKCS#1 v1.5).
fn verify_v1(encoded: &str, sig: &str, keys: &KeySet) -> Result<SignedKey> {
    let (Some(payload), Some(sig)) = (b64_url_decode(encoded), b64_url_decode(sig)) else {
        return Err(not_signed());
    };
    if !fits(KeyKind::Rsa, &sig) {
        return Err(not_signed());
    }
    let label = "RSA_2048_PKCS1_PSS_SIGN or RSA_2048_PKCS1_SIGN (legacy v1)";
    if !keys.has(KeyKind::Rsa) {
        return Err(needs_key(keys, label, KeyKind::Rsa));
    }
    for scheme in [KeyScheme::RsaPssSign, KeyScheme::RsaSign] {
        if keys.verify(scheme.algorithm(), &payload, &sig) == Some(true) {
            return Ok(SignedKey {
                scheme,
                signing_data: encoded.to_string(),
                json: serde_json::from_slice(&payload).ok(),
                payload,
            });
        }
    }
    Err(invalid(label))
}

/// A JWT: RS256 over `header.claims`.
fn verify_jwt(header: &str, claims: &str, sig: &str, keys: &KeySet) -> Result<SignedKey> {
    let Some(head) = b64_url_decode(header).and_then(|h| serde_json::from_slice::<Value>(&h).ok())
    else {
        return Err(not_signed());
    };
    let Some(alg) = head.get("alg").and_then(Value::as_str) else {
        return Err(not_signed());
    };
    if alg != "RS256" {
        return err(
            ErrorKind::UnsupportedAlgorithm,
            format!(
                "license key is a JWT signed with {alg:.32?}; Keygen's RSA_2048_JWT_RS256 keys, \
                 the only JWTs lic verifies, are RS256"
            ),
        );
    }
    let sig = b64_url_decode(sig).ok_or_else(|| malformed("JWT signature"))?;
    let scheme = KeyScheme::RsaJwtRs256;
    if !keys.has(KeyKind::Rsa) {
        return Err(needs_key(keys, scheme.name(), KeyKind::Rsa));
    }
    let signing_data = format!("{header}.{claims}");
    if keys.verify(SigAlg::RsaSha256, signing_data.as_bytes(), &sig) != Some(true) {
        return Err(invalid(scheme.name()));
    }
    let payload = b64_url_decode(claims).ok_or_else(|| malformed("JWT claims"))?;
    Ok(SignedKey {
        scheme,
        signing_data,
        json: serde_json::from_slice(&payload).ok(),
        payload,
    })
}

/// `b64url(RSA private-encrypt(seed))`: decrypts with the public key.
fn verify_encrypted(key: &str, keys: &KeySet) -> Result<SignedKey> {
    let Some(block) = b64_url_decode(key).filter(|b| fits(KeyKind::Rsa, b)) else {
        return Err(not_signed());
    };
    let scheme = KeyScheme::RsaEncrypt;
    if !keys.has(KeyKind::Rsa) {
        return Err(needs_key(keys, scheme.name(), KeyKind::Rsa));
    }
    let payload = keys
        .of_kind(KeyKind::Rsa)
        .find_map(|k| k.rsa_public_decrypt(&block))
        .ok_or_else(|| invalid(scheme.name()))?;
    Ok(SignedKey {
        scheme,
        signing_data: key.to_string(),
        json: serde_json::from_slice(&payload).ok(),
        payload,
    })
}

fn malformed(part: &str) -> Error {
    Error::new(
        ErrorKind::FileMalformed,
        format!("license key {part} is not valid base64url"),
    )
}

impl SignedKey {
    fn text(&self, pointer: &str) -> Option<String> {
        Some(self.json.as_ref()?.pointer(pointer)?.as_str()?.to_string())
    }

    fn unix_ms(&self, claim: &str) -> Option<Millis> {
        let s = self.json.as_ref()?.get(claim)?.as_i64()?;
        s.checked_mul(1000)
    }

    /// When the license was created and when it expires, from Keygen's
    /// default dataset of the scheme (`license.created`/`license.expiry`;
    /// `created`/`expiry` for RSA_2048_PKCS1_ENCRYPT; the `iat`/`exp` claims
    /// of a JWT). `None` for whatever is absent, null or not a time.
    pub fn issued_and_expiry(&self) -> (Option<Millis>, Option<Millis>) {
        let time = |p: &str| self.text(p).as_deref().and_then(parse_rfc3339);
        match self.scheme {
            KeyScheme::RsaJwtRs256 => (self.unix_ms("iat"), self.unix_ms("exp")),
            KeyScheme::RsaEncrypt => (time("/created"), time("/expiry")),
            _ => (time("/license/created"), time("/license/expiry")),
        }
    }

    /// The license id the payload names (`license.id`; `id`; a JWT's `sub`).
    pub fn license_id(&self) -> Option<String> {
        match self.scheme {
            KeyScheme::RsaJwtRs256 => self.text("/sub"),
            KeyScheme::RsaEncrypt => self.text("/id"),
            _ => self.text("/license/id"),
        }
    }

    /// `policy.id` of the default dataset (the `key/` and v1 schemes).
    pub fn policy_id(&self) -> Option<String> {
        self.text("/policy/id")
    }

    /// `product.id` of the default dataset (the `key/` and v1 schemes).
    pub fn product_id(&self) -> Option<String> {
        self.text("/product/id")
    }

    /// The account the payload names (`account.id`; a JWT's `aud`).
    pub fn account_id(&self) -> Option<String> {
        match self.scheme {
            KeyScheme::RsaJwtRs256 => self.text("/aud"),
            _ => self.text("/account/id"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::files::tests::account;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    use ed25519_dalek::Signer;
    use serde_json::json;

    /// A key signed by test account 1 over exactly `key/<encoded>`.
    fn make(encoded: &str, pad_sig: bool) -> String {
        let sig = account(1)
            .0
            .sign(format!("key/{encoded}").as_bytes())
            .to_bytes();
        let sig = if pad_sig {
            URL_SAFE.encode(sig)
        } else {
            URL_SAFE_NO_PAD.encode(sig)
        };
        format!("key/{encoded}.{sig}")
    }

    fn payload() -> Vec<u8> {
        json!({"license": {"id": "L12", "created": "2021-10-14T15:20:32.670Z",
                           "expiry": "2021-10-15T00:00:00.000Z"}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn verifies_and_decodes() {
        let (_, pk) = account(1);
        let encoded = URL_SAFE.encode(payload());
        let key = make(&encoded, true);
        let k = verify_signed_key(&key, &pk).unwrap();
        assert_eq!(k.signing_data, format!("key/{encoded}"));
        assert_eq!(k.payload, payload());
        assert_eq!(k.json.as_ref().unwrap()["license"]["id"], "L12");
        assert_eq!(
            k.issued_and_expiry(),
            (
                parse_rfc3339("2021-10-14T15:20:32.670Z"),
                parse_rfc3339("2021-10-15T00:00:00.000Z")
            )
        );
        // Surrounding whitespace from copy and paste is ignored.
        assert_eq!(verify_signed_key(&format!(" {key}\n"), &pk).unwrap(), k);
        assert_eq!(
            kind(verify_signed_key(&key, &account(2).1)),
            ErrorKind::SignatureInvalid
        );
    }

    #[test]
    fn padding_forms() {
        let (_, pk) = account(1);
        let body = payload();
        assert_ne!(
            body.len() % 3,
            0,
            "the payload must need padding for this test"
        );
        let padded = URL_SAFE.encode(&body);
        let unpadded = URL_SAFE_NO_PAD.encode(&body);
        // Signed as Keygen does (padded), presented with padding stripped.
        let keygen = make(&padded, true);
        let stripped = keygen.replace('=', "");
        for k in [keygen.as_str(), stripped.as_str(), &make(&padded, false)] {
            let v = verify_signed_key(k, &pk).unwrap();
            assert_eq!(v.payload, body);
            assert_eq!(v.signing_data, format!("key/{padded}"));
        }
        // Signed unpadded by another tool: verifies as written.
        let v = verify_signed_key(&make(&unpadded, false), &pk).unwrap();
        assert_eq!(v.signing_data, format!("key/{unpadded}"));
    }

    #[test]
    fn not_signed_keys() {
        let (_, pk) = account(1);
        for k in [
            "",
            "ABCD-1234-EFGH",
            "key/abc",
            "Key/abc.def",
            "abc.def",
            " key/",
        ] {
            assert_eq!(
                kind(verify_signed_key(k, &pk)),
                ErrorKind::KeyNotSigned,
                "{k}"
            );
        }
    }

    #[test]
    fn non_json_payload_and_bad_base64() {
        let (_, pk) = account(1);
        let k = verify_signed_key(&make(&URL_SAFE.encode(b"plain seed"), true), &pk).unwrap();
        assert_eq!(k.payload, b"plain seed");
        assert_eq!(k.json, None);
        assert_eq!(k.issued_and_expiry(), (None, None));

        assert_eq!(
            kind(verify_signed_key("key/abc.!!!", &pk)),
            ErrorKind::FileMalformed
        );
        // A validly signed payload that is not base64url.
        assert_eq!(
            kind(verify_signed_key(&make("a*b", true), &pk)),
            ErrorKind::FileMalformed
        );
    }

    #[test]
    fn every_flip_is_rejected() {
        let (_, pk) = account(1);
        let key = make(&URL_SAFE.encode(payload()), true);
        for i in 0..key.len() {
            let mut b = key.clone().into_bytes();
            b[i] ^= 1;
            let flipped = String::from_utf8(b).unwrap();
            assert!(
                verify_signed_key(&flipped, &pk).is_err(),
                "byte {i}: {flipped}"
            );
        }
    }

    fn kind<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
        r.unwrap_err().kind
    }
}

//! Signed license keys in all eight of Keygen's schemes, as keygen-api `app/models/license.rb`
//! (`crypt_key` and the `generate_*_key!` methods) builds them from a seed:
//!
//! | scheme | key |
//! |---|---|
//! | `ED25519_SIGN`, `ECDSA_P256_SIGN`, `RSA_2048_PKCS1_PSS_SIGN_V2`, `RSA_2048_PKCS1_SIGN_V2` | `key/<b64url(seed)>.<b64url(sig over "key/<b64url(seed)>")>` |
//! | `RSA_2048_PKCS1_PSS_SIGN`, `RSA_2048_PKCS1_SIGN` (v1) | `<b64url(seed)>.<b64url(sig over the raw seed)>` |
//! | `RSA_2048_PKCS1_ENCRYPT` | `b64url(private_encrypt(seed))`, seed at most 245 bytes |
//! | `RSA_2048_JWT_RS256` | ruby-jwt's `JWT.encode(JSON.parse(seed), key, "RS256")` |
//!
//! base64url is Ruby's `urlsafe_encode64` (padded) everywhere but in the JWT (unpadded).

use super::{Algorithm, Signer};
use crate::util::{b64url, b64url_nopad};

/// A policy `scheme` that signs or encrypts keys (`Policy::CRYPTO_SCHEMES` less the legacy one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Ed25519Sign,
    EcdsaP256Sign,
    RsaPssSignV2,
    RsaSignV2,
    RsaPssSign,
    RsaSign,
    RsaEncrypt,
    RsaJwtRs256,
}

pub const SCHEMES: [(&str, Scheme); 8] = [
    ("ED25519_SIGN", Scheme::Ed25519Sign),
    ("ECDSA_P256_SIGN", Scheme::EcdsaP256Sign),
    ("RSA_2048_PKCS1_PSS_SIGN_V2", Scheme::RsaPssSignV2),
    ("RSA_2048_PKCS1_SIGN_V2", Scheme::RsaSignV2),
    ("RSA_2048_PKCS1_PSS_SIGN", Scheme::RsaPssSign),
    ("RSA_2048_PKCS1_SIGN", Scheme::RsaSign),
    ("RSA_2048_PKCS1_ENCRYPT", Scheme::RsaEncrypt),
    ("RSA_2048_JWT_RS256", Scheme::RsaJwtRs256),
];

/// The scheme names a policy may have here.
pub const SCHEME_NAMES: [&str; 8] = [
    "ED25519_SIGN",
    "ECDSA_P256_SIGN",
    "RSA_2048_PKCS1_PSS_SIGN_V2",
    "RSA_2048_PKCS1_SIGN_V2",
    "RSA_2048_PKCS1_PSS_SIGN",
    "RSA_2048_PKCS1_SIGN",
    "RSA_2048_PKCS1_ENCRYPT",
    "RSA_2048_JWT_RS256",
];

impl Scheme {
    pub fn from_name(name: &str) -> Option<Scheme> {
        SCHEMES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    /// The file signing algorithm a check-out defaults to for a license of this scheme
    /// (`license_checkout_service.rb`, `machine_checkout_service.rb`).
    pub fn file_signing(self) -> Algorithm {
        match self {
            Scheme::Ed25519Sign => Algorithm::Ed25519,
            Scheme::EcdsaP256Sign => Algorithm::EcdsaP256,
            Scheme::RsaPssSignV2 | Scheme::RsaPssSign => Algorithm::RsaPssSha256,
            Scheme::RsaSignV2 | Scheme::RsaSign | Scheme::RsaEncrypt | Scheme::RsaJwtRs256 => {
                Algorithm::RsaSha256
            }
        }
    }
}

/// Why a key could not be made (Keygen's 422s on `key`).
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    /// `KEY_BYTE_SIZE_EXCEEDED`.
    TooLarge,
    /// `KEY_JWT_CLAIMS_INVALID`, with the reason in parentheses.
    JwtClaimsInvalid(String),
}

impl KeyError {
    pub fn detail(&self) -> String {
        match self {
            KeyError::TooLarge => {
                "key exceeds maximum byte length (max size of 245 bytes)".to_string()
            }
            KeyError::JwtClaimsInvalid(why) => {
                format!("key is not a valid JWT claims payload ({why})")
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            KeyError::TooLarge => "KEY_BYTE_SIZE_EXCEEDED",
            KeyError::JwtClaimsInvalid(_) => "KEY_JWT_CLAIMS_INVALID",
        }
    }
}

/// Compact JSON text of `text` with its keys in their original order (Ruby's
/// `JSON.generate(JSON.parse(text))`; serde_json's map would sort them).
fn compact_json(text: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(text).ok()?;
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    Some(out)
}

/// The key for `seed` (the templated given key, or the default dataset) in `scheme`.
pub fn crypt_key(signer: &Signer, scheme: Scheme, seed: &str) -> Result<String, KeyError> {
    let v2 = |alg: Algorithm| {
        let signing_data = format!("key/{}", b64url(seed.as_bytes()));
        let sig = signer.sign_with(alg, signing_data.as_bytes());
        format!("{signing_data}.{}", b64url(&sig))
    };
    let v1 = |alg: Algorithm| {
        let sig = signer.sign_with(alg, seed.as_bytes());
        format!("{}.{}", b64url(seed.as_bytes()), b64url(&sig))
    };
    Ok(match scheme {
        Scheme::Ed25519Sign => v2(Algorithm::Ed25519),
        Scheme::EcdsaP256Sign => v2(Algorithm::EcdsaP256),
        Scheme::RsaPssSignV2 => v2(Algorithm::RsaPssSha256),
        Scheme::RsaSignV2 => v2(Algorithm::RsaSha256),
        Scheme::RsaPssSign => v1(Algorithm::RsaPssSha256),
        Scheme::RsaSign => v1(Algorithm::RsaSha256),
        Scheme::RsaEncrypt => {
            let block = signer
                .rsa_private_encrypt(seed.as_bytes())
                .ok_or(KeyError::TooLarge)?;
            b64url(&block)
        }
        Scheme::RsaJwtRs256 => {
            let claims = compact_json(seed).ok_or_else(|| {
                KeyError::JwtClaimsInvalid("must be a valid JSON encoded string".into())
            })?;
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&claims) {
                for claim in ["exp", "iat", "nbf"] {
                    if map.get(claim).is_some_and(|v| !v.is_number()) {
                        return Err(KeyError::JwtClaimsInvalid(format!(
                            "{claim} claim must be a numeric value"
                        )));
                    }
                }
            }
            let signing_input = format!(
                "{}.{}",
                b64url_nopad(br#"{"alg":"RS256"}"#),
                b64url_nopad(claims.as_bytes())
            );
            let sig = signer.sign_with(Algorithm::RsaSha256, signing_input.as_bytes());
            format!("{signing_input}.{}", b64url_nopad(&sig))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_keeps_key_order() {
        assert_eq!(
            compact_json("{ \"z\": 1,\n \"a\": \"x y\\\" \" }").as_deref(),
            Some(r#"{"z":1,"a":"x y\" "}"#)
        );
        assert_eq!(compact_json("not json"), None);
    }

    #[test]
    fn encrypt_refuses_long_seeds_and_jwt_non_json() {
        let s = Signer::new(&[3; 32], "a".into());
        assert_eq!(
            crypt_key(&s, Scheme::RsaEncrypt, &"x".repeat(246)),
            Err(KeyError::TooLarge)
        );
        assert!(matches!(
            crypt_key(&s, Scheme::RsaJwtRs256, "plain"),
            Err(KeyError::JwtClaimsInvalid(_))
        ));
        let ed = crypt_key(&s, Scheme::Ed25519Sign, "seed").unwrap();
        assert!(ed.starts_with("key/c2VlZA==."), "{ed}");
    }
}

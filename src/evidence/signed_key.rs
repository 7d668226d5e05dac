//! `ED25519_SIGN` license keys: `key/<b64url(payload)>.<b64url(signature)>`,
//! signed over the ASCII text `key/<b64url(payload)>`. Reference:
//! keygen-api.md §6.

use serde_json::Value;

use crate::crypto::{b64_url_decode, PublicKey};
use crate::error::{err, Error, ErrorKind, Result};
use crate::time::{parse_rfc3339, Millis};

/// A license key whose signature has been verified.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedKey {
    /// The signed text, `key/<b64url payload>`, in the form that verified
    /// (Keygen pads; an unpadded payload is checked in its padded form too).
    pub signing_data: String,
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The payload as JSON, when it is JSON (Keygen's default dataset is; a
    /// policy may sign any text instead).
    pub json: Option<Value>,
}

const PREFIX: &str = "key/";

/// Verifies an `ED25519_SIGN` license key and decodes its payload. Base64url
/// with or without `=` padding is accepted.
pub fn verify_signed_key(key: &str, public_key: &PublicKey) -> Result<SignedKey> {
    let key = key.trim();
    let (signing_data, sig) = key
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .map(|(payload, sig)| (&key[..PREFIX.len() + payload.len()], sig))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::KeyNotSigned,
                "license key is not a signed key (expected key/<payload>.<signature>)",
            )
        })?;
    let encoded = &signing_data[PREFIX.len()..];
    let sig = b64_url_decode(sig).ok_or_else(|| malformed("signature"))?;

    let mut candidates = vec![signing_data.to_owned()];
    if !encoded.ends_with('=') && encoded.len() % 4 != 0 {
        candidates.push(format!(
            "{signing_data}{}",
            "=".repeat(4 - encoded.len() % 4)
        ));
    }
    let Some(signing_data) = candidates
        .into_iter()
        .find(|data| public_key.verify(data.as_bytes(), &sig))
    else {
        return err(
            ErrorKind::SignatureInvalid,
            "license key signature does not verify: the key was altered or belongs to another account",
        );
    };
    let payload = b64_url_decode(encoded).ok_or_else(|| malformed("payload"))?;
    let json = serde_json::from_slice(&payload).ok();
    Ok(SignedKey {
        signing_data,
        payload,
        json,
    })
}

fn malformed(part: &str) -> Error {
    Error::new(
        ErrorKind::FileMalformed,
        format!("license key {part} is not valid base64url"),
    )
}

impl SignedKey {
    /// `license.created` and `license.expiry` from Keygen's default dataset;
    /// `None` for whatever is absent, null or not a time.
    pub fn issued_and_expiry(&self) -> (Option<Millis>, Option<Millis>) {
        let time = |field: &str| {
            self.json
                .as_ref()?
                .get("license")?
                .get(field)?
                .as_str()
                .and_then(parse_rfc3339)
        };
        (time("created"), time("expiry"))
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

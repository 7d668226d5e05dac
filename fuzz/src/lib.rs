//! What the fuzz targets share: the keys of the real Keygen vectors, a
//! signing key of the fuzzer's own (so that inputs can be wrapped into
//! certificates, signed keys and responses that verify, and the code behind
//! each signature check is fuzzed too), and the input formats.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

/// The Keygen demo account of `shared/vectors` (public values).
pub const VECTOR_PUBLIC_KEY: &str =
    "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788";
pub const VECTOR_LICENSE_KEYS: [&str; 3] = [
    "B10760-1B177D-656D1F-C03298-9AF89E-V3",
    "988214-879010-F1185E-B37E91-E53AF5-V3",
    "E1FBA2-5488D8-8AC81A-53157E-01939A-V3",
];
pub const VECTOR_FINGERPRINT: &str =
    "198e9fe586114844f6a4eaca5069b41a7ed43fb5a2df84892b69826d64573e39";

/// The fuzzer's own account: the devserver that made the response seeds
/// signs with this seed, and forged inputs are signed with it.
pub const FUZZ_SEED: [u8; 32] = [0x5a; 32];
pub const FUZZ_ACCOUNT: &str = "fuzz-account";
pub const FUZZ_LICENSE_KEY: &str = "FUZZ-LICENSE-KEY";
pub const FUZZ_FINGERPRINT: &str = "fuzz-fingerprint";
/// The admin token of the devservers the fuzz crate starts.
pub const FUZZ_ADMIN_TOKEN: &str = "fuzz-admin-token";

pub fn fuzz_signing_key() -> SigningKey {
    SigningKey::from_bytes(&FUZZ_SEED)
}

/// The fuzzer's public key, as the key set lic verifies with.
pub fn fuzz_public_key() -> lic::crypto::KeySet {
    let hex: String = fuzz_signing_key()
        .verifying_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    lic::crypto::KeySet::of(lic::crypto::PublicKey::from_hex(&hex).expect("a valid key"))
}

/// The real Keygen account's public key, as a key set.
pub fn vector_public_key() -> lic::crypto::KeySet {
    lic::crypto::KeySet::of(
        lic::crypto::PublicKey::from_hex(VECTOR_PUBLIC_KEY).expect("a valid key"),
    )
}

/// Wraps `plaintext` as Keygen would: encrypted with AES-256-GCM under
/// sha256(license key + fingerprint) (machine files) or sha256(license key)
/// (license files), or only base64-encoded, then signed over
/// `<kind>/<enc>` with the fuzzer's key, in the 60-column certificate text.
pub fn forge_certificate(machine: bool, encrypted: bool, plaintext: &[u8], iv: [u8; 12]) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    let kind = if machine { "machine" } else { "license" };
    let (enc, alg) = if encrypted {
        let secret = if machine {
            format!("{FUZZ_LICENSE_KEY}{FUZZ_FINGERPRINT}")
        } else {
            FUZZ_LICENSE_KEY.to_string()
        };
        let key = Sha256::digest(secret.as_bytes());
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).expect("32-byte key");
        let mut sealed = cipher
            .encrypt(aes_gcm::Nonce::from_slice(&iv), plaintext)
            .expect("encryption");
        let tag = sealed.split_off(sealed.len() - 16);
        (
            format!(
                "{}.{}.{}",
                STANDARD.encode(&sealed),
                STANDARD.encode(iv),
                STANDARD.encode(tag)
            ),
            "aes-256-gcm+ed25519",
        )
    } else {
        (STANDARD.encode(plaintext), "base64+ed25519")
    };
    let sig = fuzz_signing_key().sign(format!("{kind}/{enc}").as_bytes());
    let envelope =
        serde_json::json!({ "enc": enc, "sig": STANDARD.encode(sig.to_bytes()), "alg": alg });
    let body = STANDARD.encode(envelope.to_string());
    let upper = kind.to_ascii_uppercase();
    let mut text = format!("-----BEGIN {upper} FILE-----\n");
    for line in body.as_bytes().chunks(60) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    text.push_str(&format!("-----END {upper} FILE-----\n"));
    text
}

/// An `ED25519_SIGN` key over `payload`, signed with the fuzzer's key.
pub fn forge_signed_key(payload: &[u8], padded: bool) -> String {
    let mut encoded = URL_SAFE.encode(payload);
    if !padded {
        encoded = encoded.trim_end_matches('=').to_string();
    }
    let signing = format!("key/{encoded}");
    let sig = fuzz_signing_key().sign(signing.as_bytes());
    format!("{signing}.{}", URL_SAFE.encode(sig.to_bytes()))
}

/// One request and its response, as the `response` target reads them:
/// a flags byte, then six lines (method, target, host, Date, Digest,
/// Keygen-Signature; an empty line is an absent header), then the body.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub flags: u8,
    pub status: u16,
    pub method: String,
    pub target: String,
    pub host: String,
    pub date: Option<String>,
    pub digest: Option<String>,
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

/// `flags`: re-sign the exchange with the fuzzer's key before verifying.
pub const RESIGN: u8 = 1;
/// `flags`: try the signed host with its port first (`RequestInfo::port_first`).
pub const PORT_FIRST: u8 = 2;

impl Exchange {
    pub fn parse(data: &[u8]) -> Option<Exchange> {
        let (&flags, rest) = data.split_first()?;
        let (&status, mut rest) = rest.split_first()?;
        let mut lines = Vec::new();
        for _ in 0..6 {
            let i = rest.iter().position(|&b| b == b'\n')?;
            lines.push(String::from_utf8_lossy(&rest[..i]).into_owned());
            rest = &rest[i + 1..];
        }
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        Some(Exchange {
            flags,
            // 200, 201, 204 and the error statuses lic maps.
            status: [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503]
                [status as usize % 12],
            method: lines[0].clone(),
            target: lines[1].clone(),
            host: lines[2].clone(),
            date: opt(&lines[3]),
            digest: opt(&lines[4]),
            signature: opt(&lines[5]),
            body: rest.to_vec(),
        })
    }

    pub fn to_bytes(&self, status_index: u8) -> Vec<u8> {
        let mut out = vec![self.flags, status_index];
        for line in [
            Some(&self.method),
            Some(&self.target),
            Some(&self.host),
            self.date.as_ref(),
            self.digest.as_ref(),
            self.signature.as_ref(),
        ] {
            out.extend_from_slice(line.map_or("", String::as_str).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// Gives the exchange a Digest and Keygen-Signature that verify with
    /// the fuzzer's key (keeping the Date, or using `now` when it has none).
    pub fn resign(&mut self, now: &str) {
        let date = self.date.clone().unwrap_or_else(|| now.to_string());
        let digest = format!("sha-256={}", STANDARD.encode(Sha256::digest(&self.body)));
        let signing = lic::protocol::signature::signing_string(
            &self.method,
            &self.target,
            &self.host,
            &date,
            &digest,
        );
        let sig = STANDARD.encode(fuzz_signing_key().sign(signing.as_bytes()).to_bytes());
        self.signature = Some(format!(
            r#"keyid="{FUZZ_ACCOUNT}", algorithm="ed25519", signature="{sig}", headers="(request-target) host date digest""#
        ));
        self.date = Some(date);
        self.digest = Some(digest);
    }
}

//! Signing: the account's key and everything made with it: response signatures (Digest of the
//! exact body, the draft-cavage signing string, Keygen-Signature), the signatures in license
//! and machine files and signed keys, and the Keygen-Accept-Signature negotiation.
//!
//! Only Ed25519 exists so far. RSA-2048 (`rsa-pss-sha256`, `rsa-sha256`) and ECDSA P-256 would
//! be further [`Algorithm`]s with their keys held by [`Signer`], each in a file beside this one;
//! callers already go through `Signer` and name the algorithm it reports.

use crate::util::{b64, hex, sha256};
use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::Sha512;

/// A signature scheme Keygen offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Ed25519,
}

impl Algorithm {
    /// The name in `Keygen-Signature` and `Keygen-Accept-Signature`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// The account's signing identity: its key, and the key id (the account id) it signs as.
pub struct Signer {
    /// Expanded from the seed once (a SHA-512), not once per signature as `SigningKey::sign`.
    expanded: ExpandedSecretKey,
    public: VerifyingKey,
    keyid: String,
}

/// The `Date`, `Digest` and `Keygen-Signature` values of one signed response.
pub struct SignedHeaders {
    pub date: String,
    pub digest: String,
    pub signature: String,
}

pub const SIGNED_HEADERS: &str = "(request-target) host date digest";

impl Signer {
    pub fn new(seed: &[u8; 32], keyid: String) -> Signer {
        Signer {
            expanded: ExpandedSecretKey::from(seed),
            public: SigningKey::from_bytes(seed).verifying_key(),
            keyid,
        }
    }

    /// A signer with a random key under the same key id (the `wrong_key` fault).
    pub fn impostor(&self) -> Signer {
        Signer::new(&crate::util::random_bytes::<32>(), self.keyid.clone())
    }

    pub fn algorithm(&self) -> Algorithm {
        Algorithm::Ed25519
    }

    pub fn public_key_hex(&self) -> String {
        hex(self.public.as_bytes())
    }

    /// The raw signature over `message` (license and machine files: `license/<enc>`; signed
    /// keys: `key/<encoded>`).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        raw_sign::<Sha512>(&self.expanded, message, &self.public).to_bytes()
    }

    /// §7: `Digest: sha-256=<base64 SHA-256 of body>`, and the signature over
    /// `(request-target): <method> <target>\nhost: <host>\ndate: <date>\ndigest: <digest>`.
    pub fn response(
        &self,
        method: &str,
        target: &str,
        host: &str,
        date: String,
        body: &[u8],
    ) -> SignedHeaders {
        let digest = digest(body);
        let signing = format!(
            "(request-target): {} {target}\nhost: {host}\ndate: {date}\ndigest: {digest}",
            method.to_ascii_lowercase()
        );
        let sig = b64(&self.sign(signing.as_bytes()));
        let signature = format!(
            r#"keyid="{}", algorithm="{}", signature="{sig}", headers="{SIGNED_HEADERS}""#,
            self.keyid,
            self.algorithm().name()
        );
        SignedHeaders {
            date,
            digest,
            signature,
        }
    }
}

/// `sha-256=<standard base64 of SHA-256(body)>`.
pub fn digest(body: &[u8]) -> String {
    format!("sha-256={}", b64(&sha256(body)))
}

/// Why a `Keygen-Accept-Signature` header is refused (Keygen's 400 details).
#[derive(Debug, PartialEq, Eq)]
pub enum AcceptError {
    Malformed,
    UnsupportedAlgorithm,
    KeyNotFound,
}

impl AcceptError {
    pub fn detail(&self) -> &'static str {
        match self {
            AcceptError::Malformed => "invalid accept-signature header (malformed)",
            AcceptError::UnsupportedAlgorithm => {
                "invalid accept-signature header (unsupported algorithm)"
            }
            AcceptError::KeyNotFound => "invalid accept-signature header (keyid not found)",
        }
    }
}

/// `Keygen-Accept-Signature: [keyid="<account>", ]algorithm="<name>"` (absent or blank: the
/// default). Only algorithms this signer has are accepted; Keygen's RSA ones are refused as
/// unsupported here.
pub fn accept(header: Option<&str>, signer: &Signer) -> Result<Algorithm, AcceptError> {
    let Some(header) = header.filter(|h| !h.trim().is_empty()) else {
        return Ok(signer.algorithm());
    };
    let (mut algorithm, mut keyid) = (None, None);
    for part in header.trim().trim_end_matches(';').split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(AcceptError::Malformed)?;
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(AcceptError::Malformed)?;
        match k.to_ascii_lowercase().as_str() {
            "algorithm" => algorithm = Some(v),
            "keyid" => keyid = Some(v),
            _ => return Err(AcceptError::Malformed),
        }
    }
    let algorithm = algorithm.ok_or(AcceptError::Malformed)?;
    if !algorithm.eq_ignore_ascii_case(signer.algorithm().name()) {
        return Err(AcceptError::UnsupportedAlgorithm);
    }
    if keyid.is_some_and(|k| k != signer.keyid) {
        return Err(AcceptError::KeyNotFound);
    }
    Ok(signer.algorithm())
}

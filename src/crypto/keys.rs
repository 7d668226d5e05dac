//! The account's public keys, and verifying signatures with them.

use ed25519_dalek::{Signature, VerifyingKey};

use super::{decode_hex, encode_hex};
use crate::error::{err, Error, ErrorKind, Result};

/// An account's Ed25519 public key, parsed once from its 64 hex characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn from_hex(hex: &str) -> Result<PublicKey> {
        let hex = hex.trim();
        let bytes = decode_hex(hex)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    "public key must be 64 hex characters (the account's Ed25519 key as Keygen shows it)",
                )
            })?;
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&bytes);
        match VerifyingKey::from_bytes(&raw) {
            Ok(k) => Ok(PublicKey(k)),
            Err(_) => err(
                ErrorKind::InvalidArgument,
                "public key is not a valid Ed25519 point",
            ),
        }
    }

    /// Verifies a 64-byte signature over `message`. Uses strict verification
    /// (rejects malleable and small-order signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let sig = Signature::from_bytes(&sig);
        self.0.verify_strict(message, &sig).is_ok()
    }

    pub fn to_hex(&self) -> String {
        encode_hex(self.0.as_bytes())
    }
}

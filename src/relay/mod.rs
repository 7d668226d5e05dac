//! Keygen Relay's wire: the claim (`PUT /v1/nodes/{node}`: 201 with a license file and key,
//! 202 when the lease is extended) and the release (`DELETE`), the `Relay-Pool` header,
//! `Relay-Signature` checked with the shared secret, `Relay-Clock`, and the node id lic sends.
//!
//! It knows requests and answers (keygen-sh/keygen-relay, `/work/shared/relay-api.md`), never
//! what a license file proves: the client hands the file to `evidence`, which verifies it with
//! the account's Keygen key and decrypts it with the key from the claim, so lic never takes
//! Relay's word alone. Relay speaks plain HTTP on the LAN (it has no TLS); the answers it
//! signs cover only the time and the body, so a secret proves who answered, not which request.

mod signature;
mod wire;

pub use signature::verify as verify_signature;
pub use wire::{Claim, Lease, RelayClient, DEFAULT_TTL};

use crate::crypto::{encode_hex, hmac_sha256, sha256};

/// The node id lic claims a lease for, from this machine's fingerprint (lic's protected
/// machine id, already an HMAC of the OS machine id):
///
/// - with a pool, Relay's own advice (README "Pools"): hex `HMAC-SHA256(key = fingerprint,
///   message = pool)`, so one machine is a different node in each pool and never collides
///   across pools;
/// - without one, the fingerprint itself when it is one path segment Relay's router takes
///   (URL-unreserved characters, as lic's own hex fingerprint always is), else hex
///   `SHA-256(fingerprint)` (an app-set fingerprint with `/`, spaces or the like).
pub fn node_id(fingerprint: &str, pool: Option<&str>) -> String {
    match pool {
        Some(p) => encode_hex(&hmac_sha256(fingerprint.as_bytes(), p.as_bytes())),
        None if is_plain_segment(fingerprint) => fingerprint.to_string(),
        None => encode_hex(&sha256(fingerprint.as_bytes())),
    }
}

fn is_plain_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_follow_relays_advice() {
        // Relay's README: `echo -n "prod" | openssl dgst -sha256 -hmac "$(cat /etc/machine-id)"`.
        assert_eq!(
            node_id("abc123", Some("prod")),
            encode_hex(&hmac_sha256(b"abc123", b"prod"))
        );
        assert_ne!(
            node_id("abc123", Some("prod")),
            node_id("abc123", Some("dev"))
        );
        assert_eq!(node_id("0a1b2c", None), "0a1b2c");
        assert_eq!(node_id("a/b c", None), encode_hex(&sha256(b"a/b c")));
        assert_eq!(node_id("..", None), encode_hex(&sha256(b"..")));
    }
}

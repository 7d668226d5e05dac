//! Signing: the account's three keys (Ed25519, RSA-2048, ECDSA P-256) and everything made with
//! them: response signatures (Digest of the exact body, the draft-cavage signing string,
//! Keygen-Signature), the signatures in license and machine files, and signed license keys.
//!
//! Keygen's `signature_methods.rb` and `abstract_checkout_service.rb` sign with one of four
//! algorithms ([`Algorithm`]); `license.rb` makes keys in eight schemes ([`keys`]). The RSA key
//! is made on first use (a 2048-bit key costs a noticeable fraction of a second), so a server
//! that never signs with RSA never makes one. All three keys derive from the one 32-byte seed:
//! the Ed25519 key is the seed itself (as before), the others come from it through SHA-256 with
//! a label, so `--signing-key-seed` and the state file fix all three.
//!
//! The `rsa` crate's timing advisory (RUSTSEC-2023-0071) concerns private-key operations, which
//! this room performs: the devserver is a development tool, never a production signer.

pub mod keys;

use crate::util::{b64, hex, sha256};
use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use rand_chacha::rand_core::SeedableRng;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use sha2::{Digest, Sha256, Sha512};
use std::sync::OnceLock;

/// A signature algorithm Keygen offers (`SUPPORTED_SIGNATURE_ALGORITHMS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Ed25519,
    RsaPssSha256,
    RsaSha256,
    EcdsaP256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Ed25519,
        Algorithm::RsaPssSha256,
        Algorithm::RsaSha256,
        Algorithm::EcdsaP256,
    ];

    /// The name in `Keygen-Signature`, `Keygen-Accept-Signature` and a file's `alg`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::RsaPssSha256 => "rsa-pss-sha256",
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// By name, case-insensitively (Keygen downcases before it compares).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

/// The account's signing identity: its keys, and the key id (the account id) it signs as.
pub struct Signer {
    /// Expanded from the seed once (a SHA-512), not once per signature as `SigningKey::sign`.
    expanded: ExpandedSecretKey,
    public: VerifyingKey,
    rsa_seed: [u8; 32],
    rsa: OnceLock<RsaPrivateKey>,
    ecdsa: p256::ecdsa::SigningKey,
    keyid: String,
}

/// The `Date`, `Digest` and `Keygen-Signature` values of one signed response.
pub struct SignedHeaders {
    pub date: String,
    pub digest: String,
    /// `None` when the request's `keyid` named another account (Keygen then sends no
    /// signature, but still the Date and Digest).
    pub signature: Option<String>,
}

pub const SIGNED_HEADERS: &str = "(request-target) host date digest";

/// `SHA-256(label || seed)`: an independent 32-byte seed per key kind.
fn derive(label: &str, seed: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update(seed);
    h.finalize().into()
}

impl Signer {
    pub fn new(seed: &[u8; 32], keyid: String) -> Signer {
        let mut ecdsa_seed = derive("lic-devserver ecdsa-p256", seed);
        // A scalar of zero or not below the group order is no key; rehash (practically never).
        let ecdsa = loop {
            match p256::ecdsa::SigningKey::from_slice(&ecdsa_seed) {
                Ok(k) => break k,
                Err(_) => ecdsa_seed = sha256(&ecdsa_seed),
            }
        };
        Signer {
            expanded: ExpandedSecretKey::from(seed),
            public: SigningKey::from_bytes(seed).verifying_key(),
            rsa_seed: derive("lic-devserver rsa-2048", seed),
            rsa: OnceLock::new(),
            ecdsa,
            keyid,
        }
    }

    /// A signer with random keys under the same key id (the `wrong_key` fault).
    pub fn impostor(&self) -> Signer {
        Signer::new(&crate::util::random_bytes::<32>(), self.keyid.clone())
    }

    /// The Ed25519 public key as Keygen shows it to SDKs: 64 hex characters.
    pub fn public_key_hex(&self) -> String {
        hex(self.public.as_bytes())
    }

    /// The RSA-2048 key, made from its seed on first use (ChaCha20 seeded with it).
    fn rsa(&self) -> &RsaPrivateKey {
        self.rsa.get_or_init(|| {
            let mut rng = rand_chacha::ChaCha20Rng::from_seed(self.rsa_seed);
            RsaPrivateKey::new(&mut rng, 2048).expect("an RSA-2048 key from a seeded generator")
        })
    }

    /// The RSA-2048 public key as Keygen's `public_key` (Ruby `to_pem`: SPKI PEM).
    pub fn rsa_public_pem(&self) -> String {
        self.rsa()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key encodes")
    }

    /// The ECDSA P-256 public key as Keygen's `ecdsa_public_key` (SPKI PEM).
    pub fn ecdsa_public_pem(&self) -> String {
        self.ecdsa
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("a P-256 public key encodes")
    }

    /// The raw Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        raw_sign::<Sha512>(&self.expanded, message, &self.public).to_bytes()
    }

    /// A signature over `message` with `alg`, as Keygen makes them: RSA-PSS with SHA-256,
    /// MGF1-SHA-256 and the largest salt (OpenSSL `salt_length: :max`); RSA PKCS#1 v1.5 with
    /// SHA-256; ECDSA P-256 with SHA-256, DER-encoded (OpenSSL `EC#sign`); Ed25519.
    pub fn sign_with(&self, alg: Algorithm, message: &[u8]) -> Vec<u8> {
        let mut rng = rand_core::OsRng;
        match alg {
            Algorithm::Ed25519 => self.sign(message).to_vec(),
            Algorithm::RsaPssSha256 => {
                let key = self.rsa();
                // emLen - hLen - 2 for a 2048-bit modulus.
                let salt = (rsa::traits::PublicKeyParts::n(key).bits() - 1).div_ceil(8) - 32 - 2;
                key.sign_with_rng(
                    &mut rng,
                    Pss::new_with_salt::<Sha256>(salt),
                    &Sha256::digest(message),
                )
                .expect("RSA-PSS signature of a digest")
            }
            Algorithm::RsaSha256 => self
                .rsa()
                .sign_with_rng(
                    &mut rng,
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(message),
                )
                .expect("RSA PKCS#1 v1.5 signature of a digest"),
            Algorithm::EcdsaP256 => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = self.ecdsa.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }

    /// OpenSSL `private_encrypt` with PKCS#1 padding (type 1): `RSA_2048_PKCS1_ENCRYPT` keys.
    /// `None` for a seed over 245 bytes (`RSA_MAX_BYTE_SIZE`).
    pub fn rsa_private_encrypt(&self, seed: &[u8]) -> Option<Vec<u8>> {
        if seed.len() > 2048 / 8 - 11 {
            return None;
        }
        self.rsa()
            .sign_with_rng(&mut rand_core::OsRng, Pkcs1v15Sign::new_unprefixed(), seed)
            .ok()
    }

    /// §7: `Digest: sha-256=<base64 SHA-256 of body>`, and the signature with `accept`'s
    /// algorithm over
    /// `(request-target): <method> <target>\nhost: <host>\ndate: <date>\ndigest: <digest>`.
    pub fn response(
        &self,
        accept: &Accepted,
        method: &str,
        target: &str,
        host: &str,
        date: String,
        body: &[u8],
    ) -> SignedHeaders {
        let digest = digest(body);
        let signature = accept.keyid_ok.then(|| {
            let signing = format!(
                "(request-target): {} {}\nhost: {host}\ndate: {date}\ndigest: {digest}",
                method.to_ascii_lowercase(),
                if target.is_empty() { "/" } else { target },
            );
            let sig = b64(&self.sign_with(accept.algorithm, signing.as_bytes()));
            format!(
                r#"keyid="{}", algorithm="{}", signature="{sig}", headers="{SIGNED_HEADERS}""#,
                self.keyid, accept.name
            )
        });
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

/// What a response is signed with: the algorithm, its name as the client wrote it (Keygen
/// echoes it in `Keygen-Signature`), and whether the `keyid` (if any) is this account's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub algorithm: Algorithm,
    pub name: String,
    pub keyid_ok: bool,
}

impl Accepted {
    pub fn default_ed25519() -> Accepted {
        Accepted {
            algorithm: Algorithm::Ed25519,
            name: Algorithm::Ed25519.name().into(),
            keyid_ok: true,
        }
    }

    /// The 400 Keygen answers for this header (`validate_accept_signature_header!`).
    pub fn check(&self) -> Result<(), AcceptError> {
        if self.keyid_ok {
            Ok(())
        } else {
            Err(AcceptError::KeyNotFound)
        }
    }
}

/// Keygen's `ACCEPT_SIGNATURE_RE`, case-insensitive:
/// `\A(keyid="[^"]+")?(\s*,\s*)?(algorithm="[^"]+")(\s*;\s*)?\z`. Returns (keyid, algorithm).
fn parse_accept(header: &str) -> Option<(Option<&str>, &str)> {
    fn quoted<'a>(s: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
        let head = s.get(..name.len() + 2)?;
        if !head.eq_ignore_ascii_case(&format!("{name}=\"")) {
            return None;
        }
        let rest = &s[name.len() + 2..];
        let end = rest.find('"').filter(|&e| e > 0)?;
        Some((&rest[..end], &rest[end + 1..]))
    }
    // Ruby's \s: space, \t, \n, \v, \f, \r.
    let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let separator = |s: &str, sep: char| -> Option<usize> {
        let t = s.trim_start_matches(ws);
        t.strip_prefix(sep)
            .map(|after| s.len() - after.trim_start_matches(ws).len())
    };
    let (keyid, mut rest) = match quoted(header, "keyid") {
        Some((k, rest)) => (Some(k), rest),
        None => (None, header),
    };
    if let Some(n) = separator(rest, ',') {
        rest = &rest[n..];
    }
    let (algorithm, mut rest) = quoted(rest, "algorithm")?;
    if let Some(n) = separator(rest, ';') {
        rest = &rest[n..];
    }
    rest.is_empty().then_some((keyid, algorithm))
}

/// `Keygen-Accept-Signature` (absent or blank: `algorithm="ed25519"`), as Keygen reads it:
/// malformed and unsupported values are errors (and such answers carry no signature at all);
/// a `keyid` other than this account's is accepted here but answers without a signature.
pub fn accept(header: Option<&str>, signer: &Signer) -> Result<Accepted, AcceptError> {
    let Some(header) = header.filter(|h| !h.trim().is_empty()) else {
        return Ok(Accepted::default_ed25519());
    };
    let (keyid, name) = parse_accept(header).ok_or(AcceptError::Malformed)?;
    let algorithm = Algorithm::from_name(name).ok_or(AcceptError::UnsupportedAlgorithm)?;
    Ok(Accepted {
        algorithm,
        name: name.to_string(),
        keyid_ok: keyid.map_or(true, |k| k == signer.keyid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_signature_follows_keygens_pattern() {
        let s = Signer::new(&[7; 32], "acct".into());
        let ok = |h: &str| accept(Some(h), &s).map(|a| (a.algorithm, a.name, a.keyid_ok));
        assert_eq!(
            ok(r#"algorithm="rsa-pss-sha256""#),
            Ok((Algorithm::RsaPssSha256, "rsa-pss-sha256".into(), true))
        );
        assert_eq!(
            ok(r#"KEYID="acct" ,  Algorithm="ECDSA-P256" ; "#),
            Ok((Algorithm::EcdsaP256, "ECDSA-P256".into(), true))
        );
        assert_eq!(
            ok(r#", algorithm="ed25519""#),
            Ok((Algorithm::Ed25519, "ed25519".into(), true))
        );
        assert_eq!(
            ok(r#"keyid="other", algorithm="rsa-sha256""#),
            Ok((Algorithm::RsaSha256, "rsa-sha256".into(), false))
        );
        for bad in [
            r#"algorithm=ed25519"#,
            r#"algorithm="ed25519", keyid="acct""#,
            r#"keyid="acct" algorithm="ed25519""#,
            r#" algorithm="ed25519""#,
            r#"algorithm="ed25519" "#,
            r#"algorithm="""#,
            r#"signature="x""#,
        ] {
            assert_eq!(ok(bad), Err(AcceptError::Malformed), "{bad}");
        }
        assert_eq!(
            ok(r#"algorithm="hmac-sha256""#),
            Err(AcceptError::UnsupportedAlgorithm)
        );
        assert_eq!(ok("  "), Ok((Algorithm::Ed25519, "ed25519".into(), true)));
    }

    #[test]
    fn keys_are_deterministic_from_the_seed() {
        let a = Signer::new(&[9; 32], "a".into());
        let b = Signer::new(&[9; 32], "b".into());
        assert_eq!(a.public_key_hex(), b.public_key_hex());
        assert_eq!(a.ecdsa_public_pem(), b.ecdsa_public_pem());
        assert_ne!(
            a.ecdsa_public_pem(),
            Signer::new(&[8; 32], "a".into()).ecdsa_public_pem()
        );
        assert!(a
            .ecdsa_public_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
    }
}

//! The account's public keys, and verifying signatures with them.
//!
//! Every Keygen account has three signing keys: Ed25519, RSA-2048 and ECDSA
//! P-256. A [`KeySet`] holds the ones an app configured, each a
//! [`PublicKey`] that knows its [`KeyKind`]; verification names a
//! [`SigAlg`] and the set picks the keys of that algorithm's kind, so an
//! RSA signature is never checked against an Ed25519 key (or the reverse).

use ed25519_dalek::pkcs8::DecodePublicKey as _;
use ed25519_dalek::{Signature, VerifyingKey};
use p256::ecdsa::signature::Verifier as _;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest, Sha256};
use spki::der::Decode as _;
use spki::ObjectIdentifier;

use super::{b64_std_decode, decode_hex, encode_hex, sha256};
use crate::error::{Error, ErrorKind, Result};

/// What every key-parsing message offers as the forms lic reads.
pub const KEY_FORMS: &str = "the account's Ed25519 key as 64 hex characters or base64 DER \
     (SPKI, MCowBQYDK2VwAyEA…), or its RSA-2048 or ECDSA P-256 key as PEM \
     (-----BEGIN PUBLIC KEY-----) or base64 DER, as Keygen shows them";

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// RSA moduli lic accepts. Keygen's are 2048-bit; smaller ones are weak.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The kind of an account key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    Ed25519,
    Rsa,
    EcdsaP256,
}

impl KeyKind {
    /// The name used in messages ("Ed25519", "RSA", "ECDSA P-256").
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Rsa => "RSA",
            KeyKind::EcdsaP256 => "ECDSA P-256",
        }
    }
}

/// A signature algorithm Keygen signs with: the `sig` half of a file's `alg`,
/// a `Keygen-Signature` header's `algorithm`, and the key schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// Ed25519 (64-byte signature).
    Ed25519,
    /// RSA-PSS with SHA-256, MGF1-SHA-256, salt as long as it can be.
    RsaPssSha256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// ECDSA on P-256 with SHA-256, DER-encoded signature.
    EcdsaP256,
}

impl SigAlg {
    pub const ALL: [SigAlg; 4] = [
        SigAlg::Ed25519,
        SigAlg::RsaPssSha256,
        SigAlg::RsaSha256,
        SigAlg::EcdsaP256,
    ];

    /// Keygen's name: `ed25519`, `rsa-pss-sha256`, `rsa-sha256`, `ecdsa-p256`.
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Ed25519 => "ed25519",
            SigAlg::RsaPssSha256 => "rsa-pss-sha256",
            SigAlg::RsaSha256 => "rsa-sha256",
            SigAlg::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// The algorithm Keygen's `name` stands for (exact, lower case).
    pub fn from_name(name: &str) -> Option<SigAlg> {
        SigAlg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The kind of key that verifies it.
    pub fn key_kind(self) -> KeyKind {
        match self {
            SigAlg::Ed25519 => KeyKind::Ed25519,
            SigAlg::RsaPssSha256 | SigAlg::RsaSha256 => KeyKind::Rsa,
            SigAlg::EcdsaP256 => KeyKind::EcdsaP256,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Inner {
    Ed25519(VerifyingKey),
    Rsa(RsaPublicKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

/// One of the account's public keys, parsed once.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Inner);

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

impl PublicKey {
    /// Reads a key in any form Keygen shows one (see [`KEY_FORMS`]): an
    /// Ed25519 key as 64 hex characters; any key as SPKI DER in base64 or as
    /// PEM; an RSA key also as PKCS#1 (`BEGIN RSA PUBLIC KEY`); and the
    /// account resource's `meta.keys` values, which are base64 of the PEM (or
    /// of the hex) text. Anything else is INVALID_ARGUMENT with a message
    /// naming the forms expected.
    pub fn parse(text: &str) -> Result<PublicKey> {
        Self::parse_at(text, 0)
    }

    fn parse_at(text: &str, depth: u8) -> Result<PublicKey> {
        let text = text.trim().trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            return Err(invalid(format!(
                "public key is empty; expected {KEY_FORMS}"
            )));
        }
        if text.starts_with("-----BEGIN") {
            return Self::from_pem(text);
        }
        // Keygen's Ed25519 form; hex digits are also base64 letters, so first.
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Self::from_hex(text);
        }
        if text.bytes().all(|b| b.is_ascii_hexdigit()) && text.len() <= 128 {
            return Err(invalid(format!(
                "public key is {} hex characters; an Ed25519 key is 64 (expected {KEY_FORMS})",
                text.len()
            )));
        }
        let compact: String = text.split_ascii_whitespace().collect();
        let Some(bytes) = b64_std_decode(&compact) else {
            return Err(invalid(format!(
                "public key is neither hex, PEM nor base64; expected {KEY_FORMS}"
            )));
        };
        // Keygen's account `meta.keys`: base64 of the PEM text, or of the hex.
        if depth == 0 {
            if let Ok(inner) = std::str::from_utf8(&bytes) {
                let inner = inner.trim();
                if inner.starts_with("-----BEGIN")
                    || (inner.len() == 64 && inner.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Self::parse_at(inner, depth + 1);
                }
            }
        }
        if bytes.first() != Some(&0x30) {
            return Err(invalid(format!(
                "public key decodes from base64 to {} bytes that are not DER; expected {KEY_FORMS}",
                bytes.len()
            )));
        }
        Self::from_der(&bytes)
    }

    /// An Ed25519 key from its 64 hex characters (Keygen's dashboard form).
    pub fn from_hex(hex: &str) -> Result<PublicKey> {
        let hex = hex.trim();
        let bytes = decode_hex(hex).filter(|b| b.len() == 32).ok_or_else(|| {
            invalid(
                "public key must be 64 hex characters (the account's Ed25519 key as Keygen shows it)",
            )
        })?;
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&bytes);
        VerifyingKey::from_bytes(&raw)
            .map(|k| PublicKey(Inner::Ed25519(k)))
            .map_err(|_| invalid("public key is 64 hex characters but not a valid Ed25519 point"))
    }

    fn from_pem(text: &str) -> Result<PublicKey> {
        // A PEM pasted from JSON may carry its line breaks as `\n` escapes.
        let unescaped;
        let text = if text.contains("\\n") {
            unescaped = text.replace("\\r", "").replace("\\n", "\n");
            unescaped.as_str()
        } else {
            text
        };
        let (label, der) = spki::der::pem::decode_vec(text.as_bytes()).map_err(|e| {
            invalid(format!(
                "public key PEM is malformed ({e}); expected {KEY_FORMS}"
            ))
        })?;
        match label {
            "PUBLIC KEY" => Self::from_der(&der),
            "RSA PUBLIC KEY" => Self::rsa(RsaPublicKey::from_pkcs1_der(&der).map_err(|e| {
                invalid(format!(
                    "RSA PUBLIC KEY PEM does not hold a PKCS#1 RSA key ({e})"
                ))
            })?),
            l if l.contains("PRIVATE KEY") => Err(invalid(format!(
                "this is a private key ({l}); lic needs the account's PUBLIC key \
                 (expected {KEY_FORMS}). Never ship a private key in an app"
            ))),
            l if l.contains("CERTIFICATE") => Err(invalid(format!(
                "this is a certificate ({l}), not a public key; expected {KEY_FORMS}"
            ))),
            l => Err(invalid(format!(
                "PEM block {l:?} is not a public key; expected {KEY_FORMS}"
            ))),
        }
    }

    /// A DER SubjectPublicKeyInfo (any of the three kinds) or a PKCS#1
    /// RSAPublicKey.
    fn from_der(der: &[u8]) -> Result<PublicKey> {
        let info = match spki::SubjectPublicKeyInfoRef::from_der(der) {
            Ok(info) => info,
            Err(spki_err) => {
                return match RsaPublicKey::from_pkcs1_der(der) {
                    Ok(k) => Self::rsa(k),
                    Err(_) => Err(invalid(format!(
                        "public key DER is neither a SubjectPublicKeyInfo nor a PKCS#1 RSA key \
                         ({spki_err}); expected {KEY_FORMS}"
                    ))),
                };
            }
        };
        let oid = info.algorithm.oid;
        if oid == OID_ED25519 {
            let k = VerifyingKey::from_public_key_der(der)
                .map_err(|e| invalid(format!("Ed25519 public key DER is not valid ({e})")))?;
            Ok(PublicKey(Inner::Ed25519(k)))
        } else if oid == OID_RSA {
            let k = RsaPublicKey::from_public_key_der(der)
                .map_err(|e| invalid(format!("RSA public key DER is not valid ({e})")))?;
            Self::rsa(k)
        } else if oid == OID_EC {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| invalid("ECDSA public key names no curve"))?;
            if curve != OID_P256 {
                let name = match curve {
                    c if c == OID_P384 => "P-384 (secp384r1)",
                    c if c == OID_P521 => "P-521 (secp521r1)",
                    c if c == OID_SECP256K1 => "secp256k1",
                    _ => "an unknown curve",
                };
                return Err(invalid(format!(
                    "ECDSA public key is on {name} ({curve}); Keygen's ECDSA keys are P-256 \
                     (prime256v1): give its PEM or base64 DER (SPKI)"
                )));
            }
            let k = p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map_err(|e| invalid(format!("ECDSA P-256 public key DER is not valid ({e})")))?;
            Ok(PublicKey(Inner::EcdsaP256(k)))
        } else {
            let what = match oid {
                o if o == OID_X25519 => "an X25519 key (for key agreement, not signatures)",
                o if o == OID_ED448 => "an Ed448 key",
                _ => "a key of an algorithm lic does not know",
            };
            Err(invalid(format!(
                "public key is {what} ({oid}); expected {KEY_FORMS}"
            )))
        }
    }

    fn rsa(k: RsaPublicKey) -> Result<PublicKey> {
        let bits = k.n().bits();
        if !RSA_BITS.contains(&bits) {
            return Err(invalid(format!(
                "RSA public key is {bits}-bit; Keygen's RSA keys are 2048-bit (lic takes 2048 to \
                 4096): give the account's RSA-2048 key as PEM or base64 DER"
            )));
        }
        Ok(PublicKey(Inner::Rsa(k)))
    }

    pub fn kind(&self) -> KeyKind {
        match &self.0 {
            Inner::Ed25519(_) => KeyKind::Ed25519,
            Inner::Rsa(_) => KeyKind::Rsa,
            Inner::EcdsaP256(_) => KeyKind::EcdsaP256,
        }
    }

    /// Verifies `signature` over `message` with `alg`; false when the key is
    /// of another kind or the signature is malformed. Ed25519 is verified
    /// strictly (no malleable or small-order signatures); RSA-PSS takes the
    /// salt length Keygen uses (the maximum).
    pub fn verify(&self, alg: SigAlg, message: &[u8], signature: &[u8]) -> bool {
        match (&self.0, alg) {
            (Inner::Ed25519(k), SigAlg::Ed25519) => {
                let Ok(sig) = <[u8; 64]>::try_from(signature) else {
                    return false;
                };
                k.verify_strict(message, &Signature::from_bytes(&sig))
                    .is_ok()
            }
            (Inner::Rsa(k), SigAlg::RsaSha256) => {
                signature.len() == k.size()
                    && k.verify(
                        Pkcs1v15Sign::new::<Sha256>(),
                        &Sha256::digest(message),
                        signature,
                    )
                    .is_ok()
            }
            (Inner::Rsa(k), SigAlg::RsaPssSha256) => {
                if signature.len() != k.size() {
                    return false;
                }
                // Keygen signs with OpenSSL `salt_length: :max`, emLen - hLen - 2.
                let em_len = (k.n().bits() - 1).div_ceil(8);
                let salt = em_len.saturating_sub(32 + 2);
                k.verify(
                    Pss::new_with_salt::<Sha256>(salt),
                    &Sha256::digest(message),
                    signature,
                )
                .is_ok()
            }
            (Inner::EcdsaP256(k), SigAlg::EcdsaP256) => {
                match p256::ecdsa::DerSignature::try_from(signature) {
                    Ok(sig) => k.verify(message, &sig).is_ok(),
                    Err(_) => false,
                }
            }
            _ => false,
        }
    }

    /// RSA public-key "decryption" of data encrypted with the private key
    /// (OpenSSL `private_encrypt`, PKCS#1 v1.5 type-1 padding, as Keygen's
    /// `RSA_2048_PKCS1_ENCRYPT` keys are made): the payload, or `None` when
    /// this is not an RSA key, the input is not one block, or the padding is
    /// not `00 01 FF…FF 00` with at least 8 `FF`.
    pub fn rsa_public_decrypt(&self, block: &[u8]) -> Option<Vec<u8>> {
        let Inner::Rsa(k) = &self.0 else {
            return None;
        };
        if block.len() != k.size() {
            return None;
        }
        let c = BigUint::from_bytes_be(block);
        if &c >= k.n() {
            return None;
        }
        let m = rsa::hazmat::rsa_encrypt(k, &c).ok()?.to_bytes_be();
        // to_bytes_be drops the leading zero byte: m is `01 FF… 00 payload`.
        if m.len() != k.size() - 1 || m[0] != 1 {
            return None;
        }
        let pad = m[1..].iter().take_while(|&&b| b == 0xff).count();
        if pad < 8 || m.get(1 + pad) != Some(&0) {
            return None;
        }
        Some(m[2 + pad..].to_vec())
    }

    /// The Ed25519 key's 64 hex characters (`None` for other kinds).
    pub fn to_hex(&self) -> Option<String> {
        match &self.0 {
            Inner::Ed25519(k) => Some(encode_hex(k.as_bytes())),
            _ => None,
        }
    }

    /// A short, stable description for logs and `Debug`: the kind and the
    /// first bytes of a SHA-256 over the key material (never secret anyway).
    pub fn describe(&self) -> String {
        let material: Vec<u8> = match &self.0 {
            Inner::Ed25519(k) => k.as_bytes().to_vec(),
            Inner::Rsa(k) => k.n().to_bytes_be(),
            Inner::EcdsaP256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
        };
        let bits = match &self.0 {
            Inner::Rsa(k) => format!("-{}", k.n().bits()),
            _ => String::new(),
        };
        format!(
            "{}{bits}:{}",
            self.kind().name(),
            encode_hex(&sha256(&material)[..6])
        )
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The account keys a client was given (any number; usually one of each
/// kind). Verification picks the keys of the algorithm's kind.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeySet(Vec<PublicKey>);

impl KeySet {
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// A set of one key.
    pub fn of(key: PublicKey) -> KeySet {
        KeySet(vec![key])
    }

    /// Adds a key; adding one already present changes nothing.
    pub fn add(&mut self, key: PublicKey) {
        if !self.0.contains(&key) {
            self.0.push(key);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.0.iter()
    }

    pub fn of_kind(&self, kind: KeyKind) -> impl Iterator<Item = &PublicKey> {
        self.0.iter().filter(move |k| k.kind() == kind)
    }

    pub fn has(&self, kind: KeyKind) -> bool {
        self.of_kind(kind).next().is_some()
    }

    /// Whether any key of `alg`'s kind verifies `signature` over `message`;
    /// `None` when the set has no key of that kind (so nothing can be said).
    pub fn verify(&self, alg: SigAlg, message: &[u8], signature: &[u8]) -> Option<bool> {
        let mut keys = self.of_kind(alg.key_kind()).peekable();
        keys.peek()?;
        Some(keys.any(|k| k.verify(alg, message, signature)))
    }

    /// The signature algorithm to ask the server for: Keygen's default
    /// Ed25519 when that key is here, else RSA-PSS, else ECDSA.
    pub fn preferred(&self) -> Option<SigAlg> {
        [
            (KeyKind::Ed25519, SigAlg::Ed25519),
            (KeyKind::Rsa, SigAlg::RsaPssSha256),
            (KeyKind::EcdsaP256, SigAlg::EcdsaP256),
        ]
        .into_iter()
        .find(|(kind, _)| self.has(*kind))
        .map(|(_, alg)| alg)
    }

    /// The error for a signature of `alg` on `what` when the set has no key
    /// of its kind: NO_PUBLIC_KEY naming the algorithm and the key needed.
    pub fn missing(&self, alg: SigAlg, what: &str) -> Error {
        let have: Vec<&str> = self.0.iter().map(|k| k.kind().name()).collect();
        let have = if have.is_empty() {
            "no public key is configured".to_string()
        } else {
            format!("only the {} key is configured", have.join(" and "))
        };
        Error::new(
            ErrorKind::NoPublicKey,
            format!(
                "{what} is signed with {}, which needs the account's {} public key; {have}",
                alg.name(),
                alg.key_kind().name()
            ),
        )
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    use spki::der::asn1::BitString;
    use spki::der::{Any, Encode};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

    const ED_HEX: &str = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788";

    fn vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/data/signing/vectors.json")).unwrap()
    }

    fn pem_body(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    fn spki_der(oid: ObjectIdentifier, params: Option<ObjectIdentifier>, key: &[u8]) -> Vec<u8> {
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: params.map(|p| Any::from(&p)),
            },
            subject_public_key: BitString::from_bytes(key).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    fn message(text: &str) -> String {
        let e = PublicKey::parse(text).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{text:.40}");
        e.message
    }

    #[test]
    fn every_form_keygen_shows() {
        let v = vectors();
        let rsa_pem = v["account"]["rsa"].as_str().unwrap();
        let ec_pem = v["account"]["ecdsa"].as_str().unwrap();
        let ed = PublicKey::parse(ED_HEX).unwrap();
        assert_eq!(ed.kind(), KeyKind::Ed25519);
        // Node's example: SPKI DER in base64, MCowBQYDK2VwAyEA + the key.
        let mut der = STANDARD.decode("MCowBQYDK2VwAyEA").unwrap();
        der.extend(decode_hex(ED_HEX).unwrap());
        let b64 = STANDARD.encode(&der);
        assert!(b64.starts_with("MCowBQYDK2VwAyEA"));
        for form in [
            b64.clone(),
            format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n"),
            // The account resource's meta.keys.ed25519: base64 of the hex.
            STANDARD.encode(ED_HEX),
            ED_HEX.to_uppercase(),
            format!("  {ED_HEX}\n"),
        ] {
            assert_eq!(PublicKey::parse(&form).unwrap(), ed, "{form}");
        }
        for (pem, kind) in [(rsa_pem, KeyKind::Rsa), (ec_pem, KeyKind::EcdsaP256)] {
            let k = PublicKey::parse(pem).unwrap();
            assert_eq!(k.kind(), kind);
            for form in [
                pem_body(pem),
                STANDARD.encode(pem),
                pem.replace('\n', "\r\n"),
                pem.replace('\n', "\\n"),
                format!("\u{feff}{pem}"),
            ] {
                assert_eq!(PublicKey::parse(&form).unwrap(), k, "{form}");
            }
        }
        // PKCS#1 (BEGIN RSA PUBLIC KEY), as some tools write RSA keys.
        use rsa::pkcs1::EncodeRsaPublicKey;
        let k = RsaPublicKey::from_public_key_pem(rsa_pem).unwrap();
        let pkcs1 = k.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(
            PublicKey::parse(&pkcs1).unwrap(),
            PublicKey::parse(rsa_pem).unwrap()
        );
        assert_eq!(
            PublicKey::parse(&pem_body(&pkcs1)).unwrap(),
            PublicKey::parse(rsa_pem).unwrap()
        );
    }

    #[test]
    fn malformed_keys_name_the_forms_expected() {
        for (text, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("abcd", "4 hex characters"),
            (&ED_HEX[..62], "62 hex characters"),
            ("not a key at all!", "neither hex, PEM nor base64"),
            (
                "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n",
                "PEM is malformed",
            ),
            ("-----BEGIN PUBLIC KEY-----\nMIIB", "PEM is malformed"),
            (&STANDARD.encode([1u8; 40]), "not DER"),
            (
                &STANDARD.encode([0x30, 3, 1, 2, 3]),
                "neither a SubjectPublicKeyInfo",
            ),
        ] {
            let m = message(text);
            assert!(m.contains(needle), "{text:?}: {m}");
            assert!(
                m.contains("64 hex characters") && m.contains("PEM") && m.contains("DER"),
                "{text:?}: {m}"
            );
        }
        // 64 hex characters that are not a curve point.
        let off_curve = (0..=255u8)
            .map(|b| encode_hex(&[b; 32]))
            .find(|h| PublicKey::parse(h).is_err())
            .unwrap();
        assert!(message(&off_curve).contains("not a valid Ed25519 point"));
    }

    #[test]
    fn keys_of_the_wrong_kind_say_what_is_expected() {
        let p384 = spki_der(OID_EC, Some(OID_P384), &[4u8; 97]);
        let m = message(&STANDARD.encode(&p384));
        assert!(m.contains("P-384") && m.contains("P-256"), "{m}");
        assert!(m.contains("PEM or base64 DER"), "{m}");

        let k1 = spki_der(OID_EC, Some(OID_SECP256K1), &[4u8; 65]);
        assert!(message(&STANDARD.encode(&k1)).contains("secp256k1"));

        let x25519 = spki_der(OID_X25519, None, &[9u8; 32]);
        let m = message(&STANDARD.encode(&x25519));
        assert!(m.contains("X25519") && m.contains(KEY_FORMS), "{m}");

        let mut rng = rand_core::OsRng;
        let small = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pem = small
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let m = message(&pem);
        assert!(m.contains("1024-bit") && m.contains("2048"), "{m}");

        // A private key pasted by mistake is refused, and said to be one.
        let ec = p256::ecdsa::SigningKey::random(&mut rng);
        let private = ec.to_pkcs8_pem(LineEnding::LF).unwrap();
        let m = message(&private);
        assert!(m.contains("private key") && m.contains("PUBLIC"), "{m}");
        let m = message(&STANDARD.encode(private.as_bytes()));
        assert!(m.contains("private key"), "{m}");

        let m = message("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
        assert!(m.contains("certificate"), "{m}");
    }

    #[test]
    fn verification_picks_the_key_by_algorithm() {
        let v = vectors();
        let mut set = KeySet::new();
        for kind in ["ed25519", "rsa", "ecdsa"] {
            set.add(PublicKey::parse(v["account"][kind].as_str().unwrap()).unwrap());
        }
        set.add(PublicKey::parse(v["account"]["rsa"].as_str().unwrap()).unwrap());
        assert_eq!(set.len(), 3, "adding a key twice changes nothing");
        assert_eq!(set.preferred(), Some(SigAlg::Ed25519));
        let only_rsa = KeySet::of(PublicKey::parse(v["account"]["rsa"].as_str().unwrap()).unwrap());
        assert_eq!(only_rsa.preferred(), Some(SigAlg::RsaPssSha256));
        assert_eq!(only_rsa.verify(SigAlg::Ed25519, b"m", &[0; 64]), None);
        assert_eq!(
            only_rsa.verify(SigAlg::RsaSha256, b"m", &[0; 256]),
            Some(false)
        );
        let e = only_rsa.missing(SigAlg::EcdsaP256, "this file");
        assert_eq!(e.kind, ErrorKind::NoPublicKey);
        assert!(e.message.contains("ecdsa-p256") && e.message.contains("ECDSA P-256"));
        assert!(e.message.contains("only the RSA key"), "{}", e.message);
        assert_eq!(KeySet::new().preferred(), None);
        // Debug names kinds and short fingerprints, never whole keys.
        let dbg = format!("{set:?}");
        assert!(
            dbg.contains("Ed25519:") && dbg.contains("RSA-2048:"),
            "{dbg}"
        );
    }

    #[test]
    fn rsa_public_decrypt_checks_type_1_padding() {
        let mut rng = rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let public = PublicKey(Inner::Rsa(private.to_public_key()));
        let seed = br#"{"id":"L1"}"#;
        let block = private.sign(Pkcs1v15Sign::new_unprefixed(), seed).unwrap();
        assert_eq!(public.rsa_public_decrypt(&block).unwrap(), seed);
        // Raw blocks with other paddings (type 2, no FF run, short FF run).
        let raw = |em: &[u8]| {
            let m = BigUint::from_bytes_be(em);
            rsa::hazmat::rsa_decrypt_and_check(&private, None::<&mut rand_core::OsRng>, &m)
                .unwrap()
                .to_bytes_be()
        };
        let pad = |em: Vec<u8>| {
            let mut b = raw(&em);
            while b.len() < 128 {
                b.insert(0, 0);
            }
            b
        };
        let mut type2 = vec![0u8, 2];
        type2.extend(std::iter::repeat_n(0x55, 128 - 3 - seed.len()));
        type2.push(0);
        type2.extend(seed);
        assert_eq!(public.rsa_public_decrypt(&pad(type2)), None);
        let mut short = vec![0u8, 1];
        short.extend([0xff; 7]);
        short.push(0);
        short.extend(std::iter::repeat_n(0x41, 128 - 10));
        assert_eq!(public.rsa_public_decrypt(&pad(short)), None);
        assert_eq!(public.rsa_public_decrypt(&block[1..]), None);
        assert_eq!(public.rsa_public_decrypt(&[0xff; 128]), None);
    }
}

//! A test-only Keygen signer: makes license keys of every scheme and license
//! and machine files of every algorithm the way keygen-api's source does,
//! with the signing halves of RustCrypto's crates and nothing of lic's.
//!
//! Sources it follows (keygen-sh/keygen-api):
//! - `app/models/license.rb`: `default_seed_key`, `generate_*_key!` — the
//!   key schemes, their seeds and their base64url (Ruby `urlsafe_encode64`,
//!   padded) encodings; v1 RSA keys sign the raw seed, v2 keys sign
//!   `key/<b64url(seed)>`; `RSA_2048_PKCS1_ENCRYPT` is OpenSSL
//!   `private_encrypt` (PKCS#1 v1.5 type-1 padding); the JWT is ruby-jwt's
//!   `JWT.encode(claims, key, "RS256")` (header `{"alg":"RS256"}`, unpadded).
//! - `app/services/abstract_checkout_service.rb`: `sign` over
//!   `<prefix>/<enc>` (`rsa-pss-sha256` with salt `:max` and MGF1-SHA256,
//!   `rsa-sha256` PKCS#1 v1.5, `ed25519`, `ecdsa-p256` OpenSSL `EC#sign` =
//!   DER), `sig` strict base64; `encrypt`: AES-256-GCM, key SHA-256(secret),
//!   random 12-byte IV, `b64(ct).b64(iv).b64(tag)`.
//! - `app/services/{license,machine}_checkout_service.rb`: the certificate
//!   text, Ruby `Base64.encode64` (60-column lines) of `{enc,sig,alg}`.
//! - `app/models/account.rb`: RSA-2048, Ed25519 and P-256 (prime256v1) keys;
//!   public keys as `to_pem` (SPKI `BEGIN PUBLIC KEY`) and Ed25519 as hex.

#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::Signer as _;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use sha2::{Digest, Sha256};

/// One Keygen account's three signing keys.
pub struct Account {
    pub id: String,
    ed25519: ed25519_dalek::SigningKey,
    rsa: RsaPrivateKey,
    ecdsa: p256::ecdsa::SigningKey,
    rng: std::cell::RefCell<ChaCha20Rng>,
}

pub const SCHEMES: [&str; 8] = [
    "ED25519_SIGN",
    "ECDSA_P256_SIGN",
    "RSA_2048_PKCS1_PSS_SIGN_V2",
    "RSA_2048_PKCS1_SIGN_V2",
    "RSA_2048_PKCS1_PSS_SIGN",
    "RSA_2048_PKCS1_SIGN",
    "RSA_2048_PKCS1_ENCRYPT",
    "RSA_2048_JWT_RS256",
];

pub const SIGNING: [&str; 4] = ["ed25519", "rsa-pss-sha256", "rsa-sha256", "ecdsa-p256"];

impl Account {
    /// The same seed gives the same keys (and, PSS salts and IVs aside, the
    /// same artifacts).
    pub fn new(id: &str, seed: u64) -> Account {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut ed = [0u8; 32];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut ed);
        let rsa = RsaPrivateKey::new(&mut rng, 2048).expect("RSA-2048 key");
        let ecdsa = p256::ecdsa::SigningKey::random(&mut rng);
        Account {
            id: id.to_string(),
            ed25519: ed25519_dalek::SigningKey::from_bytes(&ed),
            rsa,
            ecdsa,
            rng: std::cell::RefCell::new(rng),
        }
    }

    /// `ed25519_public_key`: 64 hex characters.
    pub fn ed25519_hex(&self) -> String {
        self.ed25519
            .verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `public_key` (RSA) as Ruby's `to_pem`: SPKI PEM.
    pub fn rsa_pem(&self) -> String {
        self.rsa
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    /// `ecdsa_public_key` as `public_to_pem`: SPKI PEM.
    pub fn ecdsa_pem(&self) -> String {
        self.ecdsa
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    /// `abstract_checkout_service.rb#sign` and `signature_methods.rb`'s
    /// `sign_with_*`: the raw signature of `data`.
    pub fn sign(&self, alg: &str, data: &[u8]) -> Vec<u8> {
        let digest = Sha256::digest(data);
        match alg {
            "ed25519" => self.ed25519.sign(data).to_bytes().to_vec(),
            "rsa-pss-sha256" => {
                // OpenSSL salt_length: :max = emLen - hLen - 2.
                let salt = (rsa::traits::PublicKeyParts::n(&self.rsa).bits() - 1).div_ceil(8) - 34;
                self.rsa
                    .sign_with_rng(
                        &mut *self.rng.borrow_mut(),
                        Pss::new_with_salt::<Sha256>(salt),
                        &digest,
                    )
                    .unwrap()
            }
            "rsa-sha256" => self
                .rsa
                .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
                .unwrap(),
            "ecdsa-p256" => {
                let sig: p256::ecdsa::Signature = self.ecdsa.sign(data);
                sig.to_der().as_bytes().to_vec()
            }
            other => panic!("no such signing algorithm {other}"),
        }
    }

    /// `license.rb#crypt_key` for `scheme` with `seed` as the seed key.
    pub fn license_key(&self, scheme: &str, seed: &str) -> String {
        let b64url = |b: &[u8]| URL_SAFE.encode(b);
        let v2 = |alg: &str| {
            let signing_data = format!("key/{}", b64url(seed.as_bytes()));
            let sig = self.sign(alg, signing_data.as_bytes());
            format!("{signing_data}.{}", b64url(&sig))
        };
        let v1 = |alg: &str| {
            let sig = self.sign(alg, seed.as_bytes());
            format!("{}.{}", b64url(seed.as_bytes()), b64url(&sig))
        };
        match scheme {
            "ED25519_SIGN" => v2("ed25519"),
            "ECDSA_P256_SIGN" => v2("ecdsa-p256"),
            "RSA_2048_PKCS1_PSS_SIGN_V2" => v2("rsa-pss-sha256"),
            "RSA_2048_PKCS1_SIGN_V2" => v2("rsa-sha256"),
            "RSA_2048_PKCS1_PSS_SIGN" => v1("rsa-pss-sha256"),
            "RSA_2048_PKCS1_SIGN" => v1("rsa-sha256"),
            "RSA_2048_PKCS1_ENCRYPT" => {
                // OpenSSL private_encrypt with PKCS1_PADDING: 00 01 FF.. 00 seed,
                // raised to d. That is an unprefixed PKCS#1 v1.5 "signature".
                assert!(seed.len() <= 245, "RSA_MAX_BYTE_SIZE");
                let block = self
                    .rsa
                    .sign(Pkcs1v15Sign::new_unprefixed(), seed.as_bytes())
                    .unwrap();
                b64url(&block)
            }
            "RSA_2048_JWT_RS256" => {
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
                let claims = URL_SAFE_NO_PAD.encode(seed.as_bytes());
                let signing_input = format!("{header}.{claims}");
                let sig = self.sign("rsa-sha256", signing_input.as_bytes());
                format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
            }
            other => panic!("no such scheme {other}"),
        }
    }

    /// `license.rb#default_seed_key` for a license of `scheme`.
    pub fn default_seed(
        &self,
        scheme: &str,
        license_id: &str,
        created: &str,
        created_unix: i64,
        expiry: Option<(&str, i64)>,
    ) -> String {
        match scheme {
            "RSA_2048_PKCS1_ENCRYPT" => serde_json::json!({
                "id": license_id, "created": created, "duration": null,
                "expiry": expiry.map(|e| e.0),
            })
            .to_string(),
            "RSA_2048_JWT_RS256" => {
                let mut claims = serde_json::json!({
                    "jti": "5b0c1d2e-3f40-4a51-8b62-7c83d94ea5fb", "iss": "https://keygen.sh",
                    "aud": self.id, "sub": license_id, "iat": created_unix, "nbf": created_unix,
                });
                if let Some((_, unix)) = expiry {
                    claims["exp"] = unix.into();
                }
                claims.to_string()
            }
            _ => serde_json::json!({
                "account": {"id": self.id},
                "product": {"id": "a9b8c7d6-0000-4000-8000-000000000001"},
                "policy": {"id": "a9b8c7d6-0000-4000-8000-000000000002", "duration": null},
                "user": null,
                "license": {"id": license_id, "created": created, "expiry": expiry.map(|e| e.0)},
            })
            .to_string(),
        }
    }

    /// `*_checkout_service.rb#call`: a certificate of `kind` ("license" or
    /// "machine") with `alg` (`<enc>+<sig>`) over `dataset` (JSON text),
    /// encrypted with `secret` (the license key, plus the fingerprint for
    /// machine files) when `alg` starts with `aes-256-gcm`.
    pub fn certificate(&self, kind: &str, alg: &str, dataset: &str, secret: &str) -> String {
        let (enc_alg, sig_alg) = alg.split_once('+').expect("enc+sig");
        let enc = match enc_alg {
            "base64" => STANDARD.encode(dataset.as_bytes()),
            "aes-256-gcm" => {
                use aes_gcm::aead::{Aead, KeyInit};
                let key = Sha256::digest(secret.as_bytes());
                let cipher = aes_gcm::Aes256Gcm::new(&key);
                let mut iv = [0u8; 12];
                rand_chacha::rand_core::RngCore::fill_bytes(&mut *self.rng.borrow_mut(), &mut iv);
                let sealed = cipher
                    .encrypt(aes_gcm::Nonce::from_slice(&iv), dataset.as_bytes())
                    .unwrap();
                let (ct, tag) = sealed.split_at(sealed.len() - 16);
                format!(
                    "{}.{}.{}",
                    STANDARD.encode(ct),
                    STANDARD.encode(iv),
                    STANDARD.encode(tag)
                )
            }
            other => panic!("no such encoding {other}"),
        };
        let sig = STANDARD.encode(self.sign(sig_alg, format!("{kind}/{enc}").as_bytes()));
        let doc = serde_json::json!({"enc": enc, "sig": sig, "alg": alg}).to_string();
        // Ruby Base64.encode64: a newline after every 60 characters, chomped.
        let body = STANDARD.encode(doc.as_bytes());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(60)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let upper = kind.to_uppercase();
        format!(
            "-----BEGIN {upper} FILE-----\n{}\n-----END {upper} FILE-----\n",
            lines.join("\n")
        )
    }

    /// `signature_methods.rb#generate_signature_header` for a response.
    pub fn response_signature(&self, alg: &str, signing_string: &str) -> String {
        let sig = STANDARD.encode(self.sign(alg, signing_string.as_bytes()));
        format!(
            r#"keyid="{}", algorithm="{alg}", signature="{sig}", headers="(request-target) host date digest""#,
            self.id
        )
    }
}

//! Keygen license files and machine files (checked-out certificates): parsing
//! the certificate text, verifying its signature (Ed25519, RSA-PSS, RSA
//! PKCS#1 v1.5 or ECDSA P-256, with the account key of that kind), decrypting
//! or decoding the dataset, and reading the JSON:API document inside.
//! Reference: keygen-api.md §5; keygen-api `abstract_checkout_service.rb`.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::crypto::{
    aes256gcm_open_in_place, b64_std_decode, b64_std_decode_bytes, sha256, KeySet, SigAlg,
};
use crate::error::{err, Error, ErrorKind, Result};
use crate::model::LicenseInfo;
use crate::time::{parse_rfc3339, Millis};

/// Certificates are a few KiB to a few hundred KiB; anything bigger is not one.
const MAX_CERTIFICATE: usize = 1 << 20;
const LINE: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    License,
    Machine,
}

impl FileKind {
    /// Lower-case name, also the signing prefix (`license/…`, `machine/…`).
    fn name(self) -> &'static str {
        match self {
            FileKind::License => "license",
            FileKind::Machine => "machine",
        }
    }

    fn header(self) -> &'static str {
        match self {
            FileKind::License => "-----BEGIN LICENSE FILE-----",
            FileKind::Machine => "-----BEGIN MACHINE FILE-----",
        }
    }

    fn footer(self) -> &'static str {
        match self {
            FileKind::License => "-----END LICENSE FILE-----",
            FileKind::Machine => "-----END MACHINE FILE-----",
        }
    }

    /// `data.type` of the dataset.
    fn data_type(self) -> &'static str {
        match self {
            FileKind::License => "licenses",
            FileKind::Machine => "machines",
        }
    }
}

/// The certificate's `alg`, `<encoding>+<signing>`: `base64` (the dataset is
/// only encoded) or `aes-256-gcm` (encrypted with the license key, plus the
/// fingerprint for machine files), and one of Keygen's four signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Algorithm {
    pub encrypted: bool,
    pub signing: SigAlg,
}

impl Algorithm {
    /// `aes-256-gcm+ed25519`, what lic asked for before it spoke RSA/ECDSA.
    pub const AES_ED25519: Algorithm = Algorithm {
        encrypted: true,
        signing: SigAlg::Ed25519,
    };

    /// Keygen's name, e.g. `aes-256-gcm+rsa-pss-sha256`.
    pub fn name(&self) -> String {
        let enc = if self.encrypted {
            "aes-256-gcm"
        } else {
            "base64"
        };
        format!("{enc}+{}", self.signing.name())
    }

    /// Reads Keygen's name; anything else is UNSUPPORTED_ALGORITHM naming it.
    pub fn parse(alg: &str) -> Result<Algorithm> {
        let parsed = alg.split_once('+').and_then(|(enc, sig)| {
            let encrypted = match enc {
                "aes-256-gcm" => true,
                "base64" => false,
                _ => return None,
            };
            Some(Algorithm {
                encrypted,
                signing: SigAlg::from_name(sig)?,
            })
        });
        parsed.ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedAlgorithm,
                format!(
                    "unknown file algorithm {alg:.64?}: lic verifies aes-256-gcm or base64 with \
                     ed25519, rsa-pss-sha256, rsa-sha256 or ecdsa-p256"
                ),
            )
        })
    }
}

/// A parsed, not yet verified certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub kind: FileKind,
    pub alg: Algorithm,
    /// The signed payload exactly as in the certificate.
    pub enc: String,
    /// The signature bytes (64 for Ed25519, the modulus size for RSA, DER
    /// for ECDSA).
    pub sig: Vec<u8>,
    /// The certificate in Keygen's own layout (LF line ends, body wrapped at
    /// 60 columns, final newline). Equals the file Keygen served.
    pub text: String,
}

/// The decrypted content of a verified file.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub kind: FileKind,
    /// `meta.issued`: when the server produced the file (trusted time).
    pub issued: Millis,
    /// `meta.expiry`: when the file stops being valid; `None` when checked out
    /// without a TTL. Independent of the license's own `expiry`.
    pub expiry: Option<Millis>,
    /// `meta.ttl` in seconds, as the server reports it.
    pub ttl: Option<i64>,
    /// The JSON:API document as the file holds it.
    plain: Box<str>,
    /// What lic reads from the document, read once when the file is opened.
    summary: Summary,
    /// The whole document as a JSON tree, built on first use (diagnostics,
    /// tests); the offline path never needs it.
    doc: OnceLock<Value>,
}

impl PartialEq for Dataset {
    fn eq(&self, other: &Dataset) -> bool {
        (self.kind, self.issued, self.expiry, self.ttl, &self.plain)
            == (
                other.kind,
                other.issued,
                other.expiry,
                other.ttl,
                &other.plain,
            )
    }
}

/// The parts of the document the offline answers use.
#[derive(Debug, Clone, Default, PartialEq)]
struct Summary {
    /// `data.id` (the machine's id in a machine file).
    data_id: Option<String>,
    /// `data.attributes.fingerprint` of a machine file.
    fingerprint: Option<String>,
    /// The license resource's `id` and `attributes.key` as strings.
    license_id: Option<String>,
    license_key: Option<String>,
    /// The license resource as [`LicenseInfo::from_resource`] reads it.
    license: Option<LicenseInfo>,
    /// `attributes.code` of each included entitlement.
    entitlements: Vec<String>,
    /// `attributes.expirationStrategy` of the first included policy.
    expiration_strategy: Option<String>,
}

impl Summary {
    /// From the JSON tree: the reference reading, for any document.
    fn from_doc(kind: FileKind, doc: &Value) -> Summary {
        let included = |type_: &'static str| {
            doc.get("included")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(move |item| item.get("type").and_then(Value::as_str) == Some(type_))
        };
        let data = doc.get("data");
        let (license, machine) = match kind {
            FileKind::License => (data, None),
            FileKind::Machine => (included("licenses").next(), data),
        };
        let str_at = |v: Option<&Value>, path: &str| {
            v.and_then(|v| v.pointer(path))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Summary {
            data_id: str_at(data, "/id"),
            fingerprint: str_at(machine, "/attributes/fingerprint"),
            license_id: str_at(license, "/id"),
            license_key: str_at(license, "/attributes/key"),
            license: license.and_then(LicenseInfo::from_resource),
            entitlements: included("entitlements")
                .filter_map(|e| e.pointer("/attributes/code")?.as_str())
                .map(str::to_owned)
                .collect(),
            expiration_strategy: str_at(
                included("policies").next(),
                "/attributes/expirationStrategy",
            ),
        }
    }
}

/// The typed reading of a dataset: straight from the bytes in one pass, no
/// JSON tree. It accepts only documents whose every part lic reads has the
/// expected shape (objects where objects are expected, strings where strings
/// are, no repeated keys among them); anything else is `None`, and the
/// document is read as a tree instead, which gives the same answers and the
/// same errors as before for every document.
///
/// An included resource's `type` may come after its attributes, so every
/// resource is read with the union of the attributes lic reads of any type
/// (the license's, a machine's fingerprint, an entitlement's code, a
/// policy's expiration strategy); what lic does not read is skipped
/// unparsed, and strings are borrowed unless they hold escapes.
mod typed {
    use std::borrow::Cow;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use serde_json::Value;

    use super::{FileKind, Summary};
    use crate::model::LicenseInfo;
    use crate::time::{parse_rfc3339, Millis};

    /// `T` read from a JSON object only: serde's derived structs also read
    /// arrays (field by field), which the tree reading never treats as
    /// objects.
    struct Obj<T>(T);

    impl<T: Default> Default for Obj<T> {
        fn default() -> Obj<T> {
            Obj(T::default())
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Obj<T>, D::Error> {
            struct Objects<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for Objects<T> {
                type Value = Obj<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
                }
            }
            d.deserialize_map(Objects(PhantomData))
        }
    }

    #[derive(Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        data: Option<Obj<Resource<'a>>>,
        #[serde(borrow)]
        included: Option<Vec<Obj<Resource<'a>>>>,
        #[serde(borrow)]
        meta: Option<Obj<Meta<'a>>>,
    }

    #[derive(Deserialize)]
    struct Meta<'a> {
        #[serde(borrow)]
        issued: Option<Cow<'a, str>>,
        #[serde(borrow)]
        expiry: Option<Cow<'a, str>>,
        ttl: Option<i64>,
    }

    /// Any resource, as far as lic reads it. `attributes` and
    /// `relationships` may be absent (as for [`LicenseInfo::from_resource`])
    /// but not null.
    #[derive(Deserialize)]
    struct Resource<'a> {
        #[serde(rename = "type", borrow)]
        type_: Option<Cow<'a, str>>,
        #[serde(borrow)]
        id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        attributes: Obj<Attrs<'a>>,
        #[serde(borrow, default)]
        relationships: Obj<Rels<'a>>,
    }

    /// The attributes lic reads of any resource type. The license's are
    /// those of `model::LicenseResource`, with the same types.
    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Attrs<'a> {
        #[serde(borrow)]
        key: Option<Cow<'a, str>>,
        #[serde(borrow)]
        name: Option<Cow<'a, str>>,
        #[serde(borrow)]
        expiry: Option<Cow<'a, str>>,
        #[serde(borrow)]
        status: Option<Cow<'a, str>>,
        max_machines: Option<i64>,
        max_processes: Option<i64>,
        strict: Option<bool>,
        floating: Option<bool>,
        suspended: Option<bool>,
        /// Read as JSON only for the license.
        #[serde(borrow)]
        metadata: Option<&'a RawValue>,
        #[serde(borrow)]
        fingerprint: Option<Cow<'a, str>>,
        #[serde(borrow)]
        code: Option<Cow<'a, str>>,
        #[serde(borrow)]
        expiration_strategy: Option<Cow<'a, str>>,
    }

    #[derive(Default, Deserialize)]
    struct Rels<'a> {
        #[serde(borrow)]
        policy: Option<Obj<Rel<'a>>>,
        #[serde(borrow)]
        product: Option<Obj<Rel<'a>>>,
    }

    #[derive(Deserialize)]
    struct Rel<'a> {
        #[serde(borrow)]
        data: Option<Obj<Linkage<'a>>>,
    }

    #[derive(Deserialize)]
    struct Linkage<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
    }

    fn owned(s: Option<Cow<str>>) -> Option<String> {
        s.map(Cow::into_owned)
    }

    /// The license as `LicenseInfo::from(LicenseResource)` reads the same
    /// resource; `None` where that reading fails (no id).
    fn license(r: Resource) -> Option<LicenseInfo> {
        let (a, rels) = (r.attributes.0, r.relationships.0);
        let linked = |rel: Option<Obj<Rel>>| Some(rel?.0.data?.0.id.into_owned());
        let metadata = match a.metadata {
            Some(raw) => serde_json::from_str(raw.get()).ok()?,
            None => Value::Object(Default::default()),
        };
        Some(LicenseInfo {
            id: r.id?.into_owned(),
            key: owned(a.key),
            name: owned(a.name),
            expiry: a.expiry.as_deref().and_then(parse_rfc3339),
            status: owned(a.status),
            policy_id: linked(rels.policy),
            product_id: linked(rels.product),
            max_machines: a.max_machines,
            max_processes: a.max_processes,
            strict: a.strict,
            floating: a.floating,
            suspended: a.suspended.unwrap_or(false),
            metadata,
        })
    }

    pub(super) type Parsed = (Millis, Option<Millis>, Option<i64>, Summary);

    pub(super) fn parse(kind: FileKind, plain: &str) -> Option<Parsed> {
        let Obj(doc) = serde_json::from_str::<Obj<Doc>>(plain).ok()?;
        let Obj(meta) = doc.meta?;
        let time = |t: Option<Cow<str>>| match t {
            None => Some(None),
            Some(t) => parse_rfc3339(&t).map(Some),
        };
        let issued = time(meta.issued)??;
        let expiry = time(meta.expiry)?;
        let Obj(data) = doc.data?;
        if data.type_.as_deref() != Some(kind.data_type()) {
            return None;
        }
        let mut summary = Summary {
            data_id: data.id.as_deref().map(str::to_owned),
            ..Summary::default()
        };
        let set_license = |summary: &mut Summary, r: Resource| -> Option<()> {
            let info = license(r)?;
            summary.license_id = Some(info.id.clone());
            summary.license_key = info.key.clone();
            summary.license = Some(info);
            Some(())
        };
        match kind {
            FileKind::License => set_license(&mut summary, data)?,
            FileKind::Machine => summary.fingerprint = owned(data.attributes.0.fingerprint),
        }
        let mut seen_policy = false;
        for Obj(item) in doc.included.into_iter().flatten() {
            match item.type_.as_deref() {
                Some("licenses") if kind == FileKind::Machine && summary.license.is_none() => {
                    set_license(&mut summary, item)?;
                }
                Some("entitlements") => {
                    summary.entitlements.extend(owned(item.attributes.0.code));
                }
                Some("policies") if !seen_policy => {
                    seen_policy = true;
                    summary.expiration_strategy = owned(item.attributes.0.expiration_strategy);
                }
                _ => {}
            }
        }
        Some((issued, expiry, meta.ttl, summary))
    }
}

#[derive(Deserialize)]
struct Envelope {
    enc: String,
    sig: String,
    alg: String,
}

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::FileMalformed, message)
}

/// Parses certificate text. Tolerates CRLF line ends, surrounding whitespace
/// and a UTF-8 byte-order mark; checks the structure and the algorithm but not
/// the signature (see [`Certificate::verify`]).
pub fn parse_certificate(text: &str) -> Result<Certificate> {
    if text.len() > MAX_CERTIFICATE {
        return Err(malformed(format!(
            "certificate is {} bytes, more than the {MAX_CERTIFICATE} allowed",
            text.len()
        )));
    }
    let text = text.trim().trim_start_matches('\u{feff}').trim_start();
    let (kind, rest) = [FileKind::License, FileKind::Machine]
        .into_iter()
        .find_map(|k| Some((k, text.strip_prefix(k.header())?)))
        .ok_or_else(|| {
            malformed(
                "not a certificate: expected it to begin with -----BEGIN LICENSE FILE----- \
                 or -----BEGIN MACHINE FILE-----",
            )
        })?;
    let body = rest.strip_suffix(kind.footer()).ok_or_else(|| {
        malformed(format!(
            "{} file is truncated or mixed up: it does not end with {}",
            kind.name(),
            kind.footer()
        ))
    })?;
    // Keygen's own layout (LF line ends, 60 columns, nothing else): the
    // body is its lines side by side and the normalized text is the input
    // itself. Any other layout, or a body that does not decode that way
    // (whitespace inside a line), takes the general path below, which gives
    // every answer and error as before.
    if let Some(lines) = keygen_layout(body) {
        if let Some(json) = b64_std_decode_bytes(&lines) {
            let mut normalized = String::with_capacity(text.len() + 1);
            normalized.push_str(text);
            normalized.push('\n');
            return certificate(kind, &json, normalized);
        }
    }
    // The body without its line breaks and any other whitespace: one byte
    // buffer, no intermediate strings.
    let mut stripped = Vec::with_capacity(body.len());
    stripped.extend(body.bytes().filter(|b| !b.is_ascii_whitespace()));
    let body = stripped;
    if body.is_empty() {
        return Err(malformed(format!("{} file has an empty body", kind.name())));
    }
    let json = b64_std_decode_bytes(&body)
        .ok_or_else(|| malformed(format!("{} file body is not valid base64", kind.name())))?;

    let mut normalized = Vec::with_capacity(body.len() + body.len() / LINE + 64);
    normalized.extend_from_slice(kind.header().as_bytes());
    normalized.push(b'\n');
    for line in body.chunks(LINE) {
        normalized.extend_from_slice(line);
        normalized.push(b'\n');
    }
    normalized.extend_from_slice(kind.footer().as_bytes());
    normalized.push(b'\n');
    // The body decoded as base64, so it is ASCII: one check of the whole text.
    let normalized = String::from_utf8(normalized)
        .map_err(|_| malformed(format!("{} file body is not valid base64", kind.name())))?;
    certificate(kind, &json, normalized)
}

/// The body's lines side by side when the body is laid out as Keygen writes
/// it: `\n`, lines of exactly [`LINE`] bytes each ended by `\n`, the last
/// one of 1 to [`LINE`] bytes. `None` for any other layout. The lines' own
/// bytes are not looked at here (the base64 decoder does).
fn keygen_layout(body: &str) -> Option<Vec<u8>> {
    let inner = body.strip_prefix('\n')?.strip_suffix('\n')?.as_bytes();
    let full = inner.len() / (LINE + 1);
    let last = inner.len() - full * (LINE + 1);
    if last == 0 {
        return None;
    }
    let mut lines = Vec::with_capacity(full * LINE + last);
    let mut rows = inner.chunks(LINE + 1);
    for row in rows.by_ref().take(full) {
        let (line, end) = row.split_at(LINE);
        if end != b"\n" {
            return None;
        }
        lines.extend_from_slice(line);
    }
    lines.extend_from_slice(rows.next()?);
    Some(lines)
}

/// The certificate of the decoded body `json` (the envelope) and its
/// normalized text.
fn certificate(kind: FileKind, json: &[u8], normalized: String) -> Result<Certificate> {
    let envelope: Envelope = serde_json::from_slice(json).map_err(|e| {
        malformed(format!(
            "{} file body is not the JSON object {{enc, sig, alg}}: {e}",
            kind.name()
        ))
    })?;
    let alg = Algorithm::parse(&envelope.alg)?;
    let sig = b64_std_decode(&envelope.sig)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            malformed(format!(
                "{} file signature is not base64 ({})",
                kind.name(),
                alg.signing.name()
            ))
        })?;
    if alg.signing == SigAlg::Ed25519 && sig.len() != 64 {
        return Err(malformed(format!(
            "{} file signature is {} bytes, not a 64-byte Ed25519 signature",
            kind.name(),
            sig.len()
        )));
    }
    Ok(Certificate {
        kind,
        alg,
        enc: envelope.enc,
        sig,
        text: normalized,
    })
}

impl Certificate {
    /// Whether the signature over `license/<enc>` or `machine/<enc>` holds
    /// with the account key of the file's algorithm; NO_PUBLIC_KEY (naming
    /// the algorithm) when `keys` has no key of that kind.
    pub fn signature_holds(&self, keys: &KeySet) -> Result<bool> {
        let message = format!("{}/{}", self.kind.name(), self.enc);
        keys.verify(self.alg.signing, message.as_bytes(), &self.sig)
            .ok_or_else(|| {
                keys.missing(self.alg.signing, &format!("this {} file", self.kind.name()))
            })
    }

    /// Checks the signature; SIGNATURE_INVALID when it does not hold.
    pub fn verify(&self, keys: &KeySet) -> Result<()> {
        if self.signature_holds(keys)? {
            Ok(())
        } else {
            err(
                ErrorKind::SignatureInvalid,
                format!(
                    "{} file signature does not verify: the file was altered, is not a {0} \
                     file, or was issued by another account",
                    self.kind.name()
                ),
            )
        }
    }

    /// Verifies, then decodes or decrypts and checks the dataset. Encrypted
    /// files need the license key; machine files always need this machine's
    /// fingerprint, which must match the one inside.
    pub fn open(
        &self,
        key: &KeySet,
        license_key: Option<&str>,
        fingerprint: Option<&str>,
    ) -> Result<Dataset> {
        self.verify(key)?;
        // Part of a machine file's secret; a license file's secret is the key alone.
        let secret_suffix = match (self.kind, fingerprint) {
            (FileKind::License, _) => "",
            (FileKind::Machine, Some(fp)) => fp,
            (FileKind::Machine, None) => {
                return err(
                    ErrorKind::InvalidArgument,
                    "opening a machine file needs this machine's fingerprint",
                )
            }
        };
        let plain = if !self.alg.encrypted {
            self.decode()?
        } else {
            let Some(license_key) = license_key else {
                return err(
                    ErrorKind::InvalidArgument,
                    format!(
                        "this {} file is encrypted and needs the license key",
                        self.kind.name()
                    ),
                );
            };
            let secret = format!("{license_key}{secret_suffix}");
            self.decrypt(&sha256(secret.as_bytes()))?
        };
        Dataset::from_json(self.kind, plain, fingerprint)
    }

    /// The dataset of a `base64+…` file.
    fn decode(&self) -> Result<Vec<u8>> {
        b64_std_decode(&self.enc).ok_or_else(|| {
            malformed(format!(
                "{} file payload is not valid base64",
                self.kind.name()
            ))
        })
    }

    /// `enc` is `b64(ciphertext).b64(iv).b64(tag)`; the ciphertext is
    /// decrypted in place.
    fn decrypt(&self, key: &[u8; 32]) -> Result<Vec<u8>> {
        let not_parts = || {
            malformed(format!(
                "{} file payload is not ciphertext.iv.tag in base64",
                self.kind.name()
            ))
        };
        // From the end: the IV and tag are short, the ciphertext long. A
        // fourth part leaves a dot in `ct`, which is not base64 either.
        let mut split = self.enc.rsplitn(3, '.');
        let (Some(tag), Some(iv), Some(ct)) = (split.next(), split.next(), split.next()) else {
            return Err(not_parts());
        };
        let (Some(mut buf), Some(iv), Some(tag)) =
            (b64_std_decode(ct), b64_std_decode(iv), b64_std_decode(tag))
        else {
            return Err(not_parts());
        };
        aes256gcm_open_in_place(key, &iv, &mut buf, &tag).map_err(|e| {
            if e.kind != ErrorKind::DecryptionFailed {
                return e;
            }
            match self.kind {
                FileKind::Machine => Error::new(
                    ErrorKind::FingerprintMismatch,
                    "machine file was issued for another machine or another license key",
                ),
                FileKind::License => Error::new(
                    ErrorKind::DecryptionFailed,
                    "license file cannot be decrypted: wrong license key",
                ),
            }
        })?;
        Ok(buf)
    }
}

/// Parses and opens certificate text in one step.
pub fn open_file(
    text: &str,
    key: &KeySet,
    license_key: Option<&str>,
    fingerprint: Option<&str>,
) -> Result<(Certificate, Dataset)> {
    let cert = parse_certificate(text)?;
    let dataset = cert.open(key, license_key, fingerprint)?;
    Ok((cert, dataset))
}

/// What a file's signature says, checked without the license key (for a
/// portal, relay or support tool that vets files it cannot decrypt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    pub kind: FileKind,
    pub algorithm: Algorithm,
    /// Whether the signature holds with the account key of its algorithm.
    pub valid: bool,
    /// `meta.issued`, when the signature holds and the file is not encrypted.
    pub issued: Option<Millis>,
    /// `meta.expiry`, likewise (and `None` for a file without a TTL).
    pub expiry: Option<Millis>,
}

impl SignatureCheck {
    pub fn encrypted(&self) -> bool {
        self.algorithm.encrypted
    }
}

/// Checks a license or machine file's signature, no license key needed.
/// A signature that does not hold is `valid: false`, not an error; the
/// errors are FILE_MALFORMED (not a certificate, or a signed `base64+` file
/// whose dataset is not Keygen's), UNSUPPORTED_ALGORITHM (an `alg` lic does
/// not know, named) and NO_PUBLIC_KEY (no key of the algorithm's kind).
/// Times are read only from a file whose signature holds and that is not
/// encrypted.
pub fn check_signature(text: &str, keys: &KeySet) -> Result<SignatureCheck> {
    let cert = parse_certificate(text)?;
    let valid = cert.signature_holds(keys)?;
    let (mut issued, mut expiry) = (None, None);
    if valid && !cert.alg.encrypted {
        let ds = Dataset::from_json(cert.kind, cert.decode()?, None)?;
        issued = Some(ds.issued);
        expiry = ds.expiry;
    }
    Ok(SignatureCheck {
        kind: cert.kind,
        algorithm: cert.alg,
        valid,
        issued,
        expiry,
    })
}

impl Dataset {
    fn from_json(kind: FileKind, plain: Vec<u8>, fingerprint: Option<&str>) -> Result<Dataset> {
        // Not UTF-8 goes to the tree reading, whose JSON error says where.
        let dataset = match String::from_utf8(plain) {
            Ok(text) => match typed::parse(kind, &text) {
                Some((issued, expiry, ttl, summary)) => Dataset {
                    kind,
                    issued,
                    expiry,
                    ttl,
                    plain: text.into_boxed_str(),
                    summary,
                    doc: OnceLock::new(),
                },
                None => Dataset::from_tree(kind, text.into_bytes())?,
            },
            Err(e) => Dataset::from_tree(kind, e.into_bytes())?,
        };
        if let (FileKind::Machine, Some(expected)) = (kind, fingerprint) {
            match dataset.fingerprint() {
                Some(found) if found == expected => {}
                Some(found) => {
                    return err(
                        ErrorKind::FingerprintMismatch,
                        format!(
                            "machine file is for fingerprint {found}, not this machine's {expected}"
                        ),
                    )
                }
                None => return Err(malformed("machine file has no data.attributes.fingerprint")),
            }
        }
        Ok(dataset)
    }

    /// Reads the document as a JSON tree: every document the typed reading
    /// declines, with the errors lic has always given.
    fn from_tree(kind: FileKind, plain: Vec<u8>) -> Result<Dataset> {
        let name = kind.name();
        let doc: Value = serde_json::from_slice(&plain)
            .map_err(|e| malformed(format!("{name} file dataset is not JSON: {e}")))?;
        let data_type = doc.pointer("/data/type").and_then(Value::as_str);
        if data_type != Some(kind.data_type()) {
            return Err(malformed(format!(
                "{name} file dataset has data.type {data_type:?}, expected {:?}",
                kind.data_type()
            )));
        }
        let meta = |field: &str| {
            doc.pointer(&format!("/meta/{field}"))
                .filter(|v| !v.is_null())
        };
        let time = |field: &str| -> Result<Option<Millis>> {
            meta(field)
                .map(|v| {
                    v.as_str().and_then(parse_rfc3339).ok_or_else(|| {
                        malformed(format!("{name} file meta.{field} is not an RFC 3339 time"))
                    })
                })
                .transpose()
        };
        let issued =
            time("issued")?.ok_or_else(|| malformed(format!("{name} file has no meta.issued")))?;
        let expiry = time("expiry")?;
        let ttl = meta("ttl")
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| malformed(format!("{name} file meta.ttl is not an integer")))
            })
            .transpose()?;
        let plain = String::from_utf8(plain)
            .map_err(|_| malformed(format!("{name} file dataset is not UTF-8")))?;
        Ok(Dataset {
            kind,
            issued,
            expiry,
            ttl,
            plain: plain.into_boxed_str(),
            summary: Summary::from_doc(kind, &doc),
            doc: OnceLock::from(doc),
        })
    }

    /// A dataset of `doc` with the given times (for tests of the verdicts).
    #[doc(hidden)]
    pub fn from_parts(
        kind: FileKind,
        issued: Millis,
        expiry: Option<Millis>,
        doc: Value,
    ) -> Dataset {
        Dataset {
            kind,
            issued,
            expiry,
            ttl: None,
            plain: doc.to_string().into_boxed_str(),
            summary: Summary::from_doc(kind, &doc),
            doc: OnceLock::from(doc),
        }
    }

    /// The whole JSON:API document (built from the text on first use).
    pub fn doc(&self) -> &Value {
        self.doc
            .get_or_init(|| serde_json::from_str(&self.plain).unwrap_or(Value::Null))
    }

    /// The document's text, as decrypted or decoded.
    pub fn text(&self) -> &str {
        &self.plain
    }

    fn included<'a>(&'a self, type_: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.doc()
            .get("included")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(move |item| item.get("type").and_then(Value::as_str) == Some(type_))
    }

    /// The license resource: `data` of a license file, the included license of
    /// a machine file (present when checked out with `include=license`).
    pub fn license(&self) -> Option<&Value> {
        match self.kind {
            FileKind::License => self.doc().get("data"),
            FileKind::Machine => self.included("licenses").next(),
        }
    }

    /// The license as [`LicenseInfo::from_resource`] reads [`Self::license`].
    pub fn license_info(&self) -> Option<&LicenseInfo> {
        self.summary.license.as_ref()
    }

    /// `id` of the license resource.
    pub fn license_id(&self) -> Option<&str> {
        self.summary.license_id.as_deref()
    }

    /// `attributes.key` of the license resource.
    pub fn license_key(&self) -> Option<&str> {
        self.summary.license_key.as_deref()
    }

    /// `data.id`: the machine's id in a machine file.
    pub fn data_id(&self) -> Option<&str> {
        self.summary.data_id.as_deref()
    }

    /// `attributes.expirationStrategy` of the included policy.
    pub fn expiration_strategy(&self) -> Option<&str> {
        self.summary.expiration_strategy.as_deref()
    }

    /// The machine resource (`data` of a machine file).
    pub fn machine(&self) -> Option<&Value> {
        match self.kind {
            FileKind::License => None,
            FileKind::Machine => self.doc().get("data"),
        }
    }

    /// Codes of the included entitlements (checked out with
    /// `include=entitlements` / `license.entitlements`).
    pub fn entitlement_codes(&self) -> Vec<String> {
        self.summary.entitlements.clone()
    }

    /// The included entitlements' codes, borrowed.
    pub fn entitlements(&self) -> &[String] {
        &self.summary.entitlements
    }

    /// The machine's fingerprint (machine files only).
    pub fn fingerprint(&self) -> Option<&str> {
        self.summary.fingerprint.as_deref()
    }

    /// Whether the file (not the license) has expired at `now`.
    pub fn is_expired_at(&self, now: Millis) -> bool {
        self.expiry.is_some_and(|e| now > e)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::{b64_std, encode_hex, PublicKey};
    use aes_gcm::aead::{Aead, KeyInit};
    use aes_gcm::{Aes256Gcm, Nonce};
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    const FP: &str = "fp-0123456789abcdef";
    const LICENSE_KEY: &str = "TEST-KEY-1234";
    const ISSUED: &str = "2024-01-01T00:00:00.000Z";
    const EXPIRY: &str = "2024-02-01T00:00:00.000Z";

    /// A test-only account key pair; `seed` picks the account.
    pub(crate) fn account(seed: u8) -> (SigningKey, KeySet) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let pk = PublicKey::from_hex(&encode_hex(sk.verifying_key().as_bytes())).unwrap();
        (sk, KeySet::of(pk))
    }

    /// Wraps an envelope the way Keygen does.
    fn wrap(kind: FileKind, envelope: &str) -> String {
        let body = b64_std(envelope.as_bytes());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(LINE)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "{}\n{}\n{}\n",
            kind.header(),
            lines.join("\n"),
            kind.footer()
        )
    }

    /// A certificate of `kind` with `enc` signed under `prefix` by account 1.
    fn signed_as(kind: FileKind, prefix: &str, alg: &str, enc: &str) -> String {
        let sig = account(1).0.sign(format!("{prefix}/{enc}").as_bytes());
        wrap(
            kind,
            &json!({"enc": enc, "sig": b64_std(&sig.to_bytes()), "alg": alg}).to_string(),
        )
    }

    fn signed(kind: FileKind, alg: &str, enc: &str) -> String {
        signed_as(kind, kind.name(), alg, enc)
    }

    fn dataset(kind: FileKind, fingerprint: &str) -> Value {
        let license = json!({"type": "licenses", "id": "lic-1",
            "attributes": {"key": LICENSE_KEY, "expiry": "2030-01-01T00:00:00.000Z"}});
        let entitlements = [
            json!({"type": "entitlements", "id": "e1", "attributes": {"code": "FEATURE_A"}}),
            json!({"type": "entitlements", "id": "e2", "attributes": {"code": "FEATURE_B"}}),
        ];
        let meta = json!({"issued": ISSUED, "expiry": EXPIRY, "ttl": 2629746});
        match kind {
            FileKind::License => json!({"data": license, "included": entitlements, "meta": meta}),
            FileKind::Machine => json!({
                "data": {"type": "machines", "id": "mach-1",
                         "attributes": {"fingerprint": fingerprint}},
                "included": [entitlements[0].clone(), license, entitlements[1].clone()],
                "meta": meta}),
        }
    }

    fn base64_file(kind: FileKind, doc: &Value) -> String {
        signed(kind, "base64+ed25519", &b64_std(doc.to_string().as_bytes()))
    }

    fn seal(secret: &str, plain: &[u8]) -> String {
        let cipher = Aes256Gcm::new(&sha256(secret.as_bytes()).into());
        let iv = [9u8; 12];
        let sealed = cipher.encrypt(Nonce::from_slice(&iv), plain).unwrap();
        let (ct, tag) = sealed.split_at(sealed.len() - 16);
        format!("{}.{}.{}", b64_std(ct), b64_std(&iv), b64_std(tag))
    }

    fn aes_file(kind: FileKind, secret: &str, doc: &Value) -> String {
        signed(
            kind,
            "aes-256-gcm+ed25519",
            &seal(secret, doc.to_string().as_bytes()),
        )
    }

    fn kind_of<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
        r.unwrap_err().kind
    }

    #[test]
    fn base64_license_file_opens() {
        let (_, pk) = account(1);
        let text = base64_file(FileKind::License, &dataset(FileKind::License, ""));
        let (cert, ds) = open_file(&text, &pk, None, None).unwrap();
        assert_eq!(cert.kind, FileKind::License);
        assert_eq!(cert.alg.name(), "base64+ed25519");
        assert_eq!(cert.text, text);
        assert_eq!(ds.kind, FileKind::License);
        assert_eq!(ds.issued, parse_rfc3339(ISSUED).unwrap());
        assert_eq!(ds.expiry, parse_rfc3339(EXPIRY));
        assert_eq!(ds.ttl, Some(2629746));
        assert_eq!(ds.license().unwrap()["id"], "lic-1");
        assert_eq!(ds.machine(), None);
        assert_eq!(ds.fingerprint(), None);
        assert_eq!(ds.entitlement_codes(), vec!["FEATURE_A", "FEATURE_B"]);
        // A license key is not needed for an unencrypted file, and is harmless.
        assert_eq!(cert.open(&pk, Some("anything"), None).unwrap(), ds);
    }

    #[test]
    fn base64_machine_file_checks_fingerprint() {
        let (_, pk) = account(1);
        let text = base64_file(FileKind::Machine, &dataset(FileKind::Machine, FP));
        let cert = parse_certificate(&text).unwrap();
        assert_eq!(cert.kind, FileKind::Machine);

        let ds = cert.open(&pk, None, Some(FP)).unwrap();
        assert_eq!(ds.machine().unwrap()["id"], "mach-1");
        assert_eq!(ds.license().unwrap()["id"], "lic-1");
        assert_eq!(ds.fingerprint(), Some(FP));
        assert_eq!(ds.entitlement_codes(), vec!["FEATURE_A", "FEATURE_B"]);

        assert_eq!(
            kind_of(cert.open(&pk, None, None)),
            ErrorKind::InvalidArgument
        );
        let e = cert.open(&pk, None, Some("other-fp")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::FingerprintMismatch);
        assert!(
            e.message.contains(FP) && e.message.contains("other-fp"),
            "{}",
            e.message
        );
    }

    #[test]
    fn encrypted_license_file() {
        let (_, pk) = account(1);
        let doc = dataset(FileKind::License, "");
        let cert = parse_certificate(&aes_file(FileKind::License, LICENSE_KEY, &doc)).unwrap();
        assert_eq!(cert.alg, Algorithm::AES_ED25519);
        let ds = cert.open(&pk, Some(LICENSE_KEY), None).unwrap();
        assert_eq!(ds.doc(), &doc);

        let e = cert.open(&pk, None, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("needs the license key"), "{}", e.message);
        let e = cert.open(&pk, Some("TEST-KEY-1235"), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::DecryptionFailed);
        assert!(e.message.contains("wrong license key"), "{}", e.message);
        // A fingerprint plays no part in a license file's secret.
        assert_eq!(cert.open(&pk, Some(LICENSE_KEY), Some(FP)).unwrap(), ds);
    }

    #[test]
    fn encrypted_machine_file() {
        let (_, pk) = account(1);
        let doc = dataset(FileKind::Machine, FP);
        let secret = format!("{LICENSE_KEY}{FP}");
        let cert = parse_certificate(&aes_file(FileKind::Machine, &secret, &doc)).unwrap();
        assert_eq!(
            cert.open(&pk, Some(LICENSE_KEY), Some(FP)).unwrap().doc(),
            &doc
        );

        for (key, fp) in [("TEST-KEY-9999", FP), (LICENSE_KEY, "fp-other")] {
            let e = cert.open(&pk, Some(key), Some(fp)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::FingerprintMismatch);
            assert!(e.message.contains("another machine"), "{}", e.message);
        }
        assert_eq!(
            kind_of(cert.open(&pk, Some(LICENSE_KEY), None)),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            kind_of(cert.open(&pk, None, Some(FP))),
            ErrorKind::InvalidArgument
        );

        // Decrypts with the right secret but the dataset names another machine.
        let foreign = dataset(FileKind::Machine, "fp-foreign");
        let cert = parse_certificate(&aes_file(FileKind::Machine, &secret, &foreign)).unwrap();
        let e = cert.open(&pk, Some(LICENSE_KEY), Some(FP)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::FingerprintMismatch);
        assert!(e.message.contains("fp-foreign"), "{}", e.message);
    }

    #[test]
    fn signature_is_checked_before_decryption() {
        let (_, pk) = account(1);
        let (_, other) = account(2);
        let text = aes_file(
            FileKind::License,
            LICENSE_KEY,
            &dataset(FileKind::License, ""),
        );
        let cert = parse_certificate(&text).unwrap();
        assert_eq!(
            kind_of(cert.open(&other, Some(LICENSE_KEY), None)),
            ErrorKind::SignatureInvalid
        );
        // Even without the key: verification needs none, so it fails first.
        assert_eq!(
            kind_of(cert.open(&other, None, None)),
            ErrorKind::SignatureInvalid
        );
        let mut bad = cert.clone();
        bad.sig[10] ^= 1;
        assert_eq!(kind_of(bad.verify(&pk)), ErrorKind::SignatureInvalid);
        let mut bad = cert.clone();
        bad.enc.insert(0, 'A');
        assert_eq!(
            kind_of(bad.open(&pk, Some(LICENSE_KEY), None)),
            ErrorKind::SignatureInvalid
        );
    }

    #[test]
    fn signed_but_altered_ciphertext_fails_decryption() {
        let (_, pk) = account(1);
        let plain = dataset(FileKind::License, "").to_string();
        let enc = seal(LICENSE_KEY, plain.as_bytes());
        let mut ct = b64_std_decode(enc.split('.').next().unwrap()).unwrap();
        ct[0] ^= 1;
        let rest: Vec<&str> = enc.split('.').skip(1).collect();
        let altered = format!("{}.{}", b64_std(&ct), rest.join("."));
        let cert =
            parse_certificate(&signed(FileKind::License, "aes-256-gcm+ed25519", &altered)).unwrap();
        assert_eq!(
            kind_of(cert.open(&pk, Some(LICENSE_KEY), None)),
            ErrorKind::DecryptionFailed
        );
    }

    #[test]
    fn malformed_encrypted_payloads() {
        let (_, pk) = account(1);
        let good = seal(LICENSE_KEY, b"{}");
        let parts: Vec<&str> = good.split('.').collect();
        for enc in [
            format!("{}.{}", parts[0], parts[1]),
            format!("{good}.{}", parts[2]),
            format!("{}.!!!.{}", parts[0], parts[2]),
            format!("{}.{}.{}", parts[0], b64_std(&[0u8; 8]), parts[2]),
            String::new(),
        ] {
            let cert =
                parse_certificate(&signed(FileKind::License, "aes-256-gcm+ed25519", &enc)).unwrap();
            assert_eq!(
                kind_of(cert.open(&pk, Some(LICENSE_KEY), None)),
                ErrorKind::FileMalformed,
                "{enc}"
            );
        }
        let cert =
            parse_certificate(&signed(FileKind::License, "base64+ed25519", "not base64!")).unwrap();
        assert_eq!(
            kind_of(cert.open(&pk, None, None)),
            ErrorKind::FileMalformed
        );
    }

    #[test]
    fn prefixes_are_not_interchangeable() {
        let (_, pk) = account(1);
        let enc = b64_std(dataset(FileKind::License, "").to_string().as_bytes());
        // License-signed payload presented as a machine file, and the reverse.
        for (kind, prefix) in [
            (FileKind::Machine, "license"),
            (FileKind::License, "machine"),
        ] {
            let cert = parse_certificate(&signed_as(kind, prefix, "base64+ed25519", &enc)).unwrap();
            assert_eq!(cert.kind, kind);
            let e = cert.verify(&pk).unwrap_err();
            assert_eq!(e.kind, ErrorKind::SignatureInvalid);
            assert!(e.message.contains(kind.name()), "{}", e.message);
        }
        let cert = parse_certificate(&signed(FileKind::License, "base64+ed25519", &enc)).unwrap();
        assert!(cert.verify(&pk).is_ok());
    }

    /// `text`'s body with `insert` put at `at`, wrapped at `width` columns.
    fn rewrap(text: &str, at: usize, insert: &str, width: usize) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut body = lines[1..lines.len() - 1].concat();
        body.insert_str(at, insert);
        let wrapped: Vec<&str> = body
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "{}\n{}\n{}\n",
            lines[0],
            wrapped.join("\n"),
            lines[lines.len() - 1]
        )
    }

    #[test]
    fn tolerates_crlf_bom_and_whitespace() {
        let (_, pk) = account(1);
        let text = base64_file(FileKind::License, &dataset(FileKind::License, ""));
        let variants = [
            text.replace('\n', "\r\n"),
            format!("\u{feff}{text}"),
            format!("  \n\u{feff}\t{}\n\n  ", text.replace('\n', " \r\n")),
            text.trim_end().to_string(),
            // Keygen's layout with a space inside a line (the 60-column
            // lines decode only once it is taken out), and 64 columns.
            rewrap(&text, 30, " ", LINE),
            rewrap(&text, 0, "", 64),
        ];
        for v in variants {
            let cert = parse_certificate(&v).unwrap();
            assert_eq!(cert.text, text);
            cert.open(&pk, None, None).unwrap();
        }
    }

    #[test]
    fn garbage_is_malformed_with_a_reason() {
        let text = base64_file(FileKind::License, &dataset(FileKind::License, ""));
        let lic = FileKind::License;
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "BEGIN LICENSE FILE"),
            ("   \n ".into(), "BEGIN LICENSE FILE"),
            ("hello world".into(), "BEGIN"),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into(),
                "BEGIN",
            ),
            (text[..text.len() / 2].to_string(), "END LICENSE FILE"),
            (lic.header().to_string(), "END LICENSE FILE"),
            (format!("{}\n{}\n", lic.header(), lic.footer()), "empty"),
            (
                text.replace("-----END LICENSE FILE-----", "-----END MACHINE FILE-----"),
                "END LICENSE FILE",
            ),
            (
                format!("{}\n!!!!\n{}\n", lic.header(), lic.footer()),
                "base64",
            ),
            (wrap(lic, "not json"), "JSON"),
            (wrap(lic, r#"{"enc":"x","alg":"base64+ed25519"}"#), "sig"),
            (
                wrap(lic, r#"{"enc":"x","sig":7,"alg":"base64+ed25519"}"#),
                "JSON",
            ),
            (
                wrap(lic, r#"{"enc":"x","sig":"%%%","alg":"base64+ed25519"}"#),
                "signature",
            ),
            (
                wrap(
                    lic,
                    &json!({"enc": "x", "sig": b64_std(&[1; 63]), "alg": "base64+ed25519"})
                        .to_string(),
                ),
                "64-byte",
            ),
        ];
        for (input, needle) in cases {
            let e = parse_certificate(&input).unwrap_err();
            assert_eq!(e.kind, ErrorKind::FileMalformed, "{input:?}: {}", e.message);
            assert!(e.message.contains(needle), "{input:?}: {}", e.message);
        }
    }

    #[test]
    fn size_cap() {
        let text = base64_file(FileKind::License, &dataset(FileKind::License, ""));
        let huge = format!("{text}{}", " ".repeat(MAX_CERTIFICATE - text.len() + 1));
        assert_eq!(kind_of(parse_certificate(&huge)), ErrorKind::FileMalformed);
        assert!(parse_certificate(&huge[..MAX_CERTIFICATE]).is_ok());
    }

    #[test]
    fn other_kinds_need_their_key_and_unknown_algorithms_are_named() {
        let (_, ed) = account(1);
        let sig = b64_std(&[1u8; 256]);
        for alg in [
            "base64+rsa-sha256",
            "base64+rsa-pss-sha256",
            "aes-256-gcm+rsa-pss-sha256",
            "aes-256-gcm+ecdsa-p256",
        ] {
            let text = wrap(
                FileKind::License,
                &json!({"enc": "x", "sig": sig, "alg": alg}).to_string(),
            );
            let cert = parse_certificate(&text).unwrap();
            assert_eq!(cert.alg.name(), alg);
            // Only the Ed25519 key is configured: lic cannot say, and says why.
            let e = cert.verify(&ed).unwrap_err();
            assert_eq!(e.kind, ErrorKind::NoPublicKey, "{alg}");
            let signing = alg.split('+').nth(1).unwrap();
            assert!(e.message.contains(signing), "{}", e.message);
            assert!(!e.message.contains("altered"), "{}", e.message);
        }
        for alg in [
            "",
            "ed25519",
            "rsa-sha256",
            "base64+ed448",
            "aes-128-gcm+ed25519",
            "BASE64+ED25519",
            "base64+rsa-sha512",
            "aes-256-gcm+ecdsa-p384",
            "base64+ed25519+x",
        ] {
            let text = wrap(
                FileKind::Machine,
                &json!({"enc": "x", "sig": sig, "alg": alg}).to_string(),
            );
            let e = parse_certificate(&text).unwrap_err();
            assert_eq!(e.kind, ErrorKind::UnsupportedAlgorithm, "{alg}");
            assert!(e.message.contains("unknown"), "{}", e.message);
            assert!(e.message.contains(&format!("{alg:?}")), "{}", e.message);
        }
    }

    #[test]
    fn dataset_structure_is_checked() {
        let (_, pk) = account(1);
        let open = |kind: FileKind, doc: Value| {
            parse_certificate(&base64_file(kind, &doc))
                .unwrap()
                .open(&pk, None, Some(FP))
        };
        let lic = || dataset(FileKind::License, "");
        let with = |mut doc: Value, pointer: &str, v: Value| {
            *doc.pointer_mut(pointer).unwrap() = v;
            doc
        };
        let mut no_issued = lic();
        no_issued["meta"].as_object_mut().unwrap().remove("issued");
        let mut no_fp = dataset(FileKind::Machine, FP);
        no_fp["data"]["attributes"]
            .as_object_mut()
            .unwrap()
            .remove("fingerprint");

        for (kind, doc, needle) in [
            (
                FileKind::License,
                dataset(FileKind::Machine, FP),
                "data.type",
            ),
            (FileKind::Machine, lic(), "data.type"),
            (FileKind::License, json!([1, 2]), "data.type"),
            (FileKind::License, no_issued, "meta.issued"),
            (
                FileKind::License,
                with(lic(), "/meta/issued", Value::Null),
                "meta.issued",
            ),
            (
                FileKind::License,
                with(lic(), "/meta/issued", json!("yesterday")),
                "meta.issued",
            ),
            (
                FileKind::License,
                with(lic(), "/meta/expiry", json!(12)),
                "meta.expiry",
            ),
            (
                FileKind::License,
                with(lic(), "/meta/ttl", json!("1h")),
                "meta.ttl",
            ),
            (
                FileKind::License,
                with(lic(), "/meta/ttl", json!(1.5)),
                "meta.ttl",
            ),
            (FileKind::Machine, no_fp, "fingerprint"),
        ] {
            let e = open(kind, doc).unwrap_err();
            assert_eq!(e.kind, ErrorKind::FileMalformed, "{needle}: {}", e.message);
            assert!(e.message.contains(needle), "{needle}: {}", e.message);
        }

        let text = signed(FileKind::License, "base64+ed25519", &b64_std(b"{not json"));
        let e = parse_certificate(&text)
            .unwrap()
            .open(&pk, None, None)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::FileMalformed);

        let no_ttl = with(
            with(lic(), "/meta/expiry", Value::Null),
            "/meta/ttl",
            Value::Null,
        );
        let ds = open(FileKind::License, no_ttl).unwrap();
        assert_eq!((ds.expiry, ds.ttl), (None, None));
        assert!(!ds.is_expired_at(i64::MAX));
    }

    #[test]
    fn expiry_edge() {
        let (_, pk) = account(1);
        let text = base64_file(FileKind::License, &dataset(FileKind::License, ""));
        let (_, ds) = open_file(&text, &pk, None, None).unwrap();
        let expiry = parse_rfc3339(EXPIRY).unwrap();
        assert!(!ds.is_expired_at(ds.issued));
        assert!(!ds.is_expired_at(expiry));
        assert!(ds.is_expired_at(expiry + 1));
    }

    /// The typed reading gives what the tree reading gives, and declines
    /// (so the tree reading answers) every document whose shape it does not
    /// expect.
    #[test]
    fn typed_reading_matches_the_tree() {
        let mut docs = vec![
            dataset(FileKind::License, ""),
            dataset(FileKind::Machine, FP),
        ];
        let mut policy = dataset(FileKind::Machine, FP);
        policy["included"].as_array_mut().unwrap().push(json!({
            "type": "policies", "id": "p", "attributes": {"expirationStrategy": "MAINTAIN_ACCESS"}}));
        policy["included"].as_array_mut().unwrap().push(json!({
            "type": "policies", "id": "p2", "attributes": {"expirationStrategy": "REVOKE_ACCESS"}}));
        policy["included"].as_array_mut().unwrap().push(json!({
            "type": "entitlements", "id": "e3", "attributes": {"code": null}}));
        docs.push(policy);
        for (kind, doc) in [FileKind::License, FileKind::Machine, FileKind::Machine]
            .into_iter()
            .zip(&docs)
        {
            let text = doc.to_string();
            let (issued, expiry, ttl, summary) = typed::parse(kind, &text).expect("typed");
            let tree = Dataset::from_tree(kind, text.clone().into_bytes()).unwrap();
            assert_eq!((issued, expiry, ttl), (tree.issued, tree.expiry, tree.ttl));
            assert_eq!(summary, tree.summary, "{text}");
        }
        let declined = [
            r#"{"data": ["machines"], "meta": {"issued": "2024-01-01T00:00:00Z"}}"#,
            r#"{"data": {"type": "machines", "attributes": []}, "meta": {"issued": "2024-01-01T00:00:00Z"}}"#,
            r#"{"data": {"type": "machines", "id": 1}, "meta": {"issued": "2024-01-01T00:00:00Z"}}"#,
            r#"{"data": {"type": "machines"}, "meta": {"issued": "2024-01-01T00:00:00Z", "ttl": 1.5}}"#,
            r#"{"data": {"type": "machines"}, "data": {"type": "machines"}, "meta": {"issued": "2024-01-01T00:00:00Z"}}"#,
            r#"{"data": {"type": "machines"}, "meta": {"issued": "yesterday"}}"#,
            r#"{"data": {"type": "machines"}, "meta": []}"#,
            r#"{"data": {"type": "machines"}, "included": {}, "meta": {"issued": "2024-01-01T00:00:00Z"}}"#,
            r#"{"data": {"type": "machines"}, "included": [{"type": "entitlements", "attributes": {"code": 7}}], "meta": {"issued": "2024-01-01T00:00:00Z"}}"#,
            r#"[]"#,
        ];
        for text in declined {
            assert!(typed::parse(FileKind::Machine, text).is_none(), "{text}");
        }
    }

    /// Resources in Keygen's full shape (relationships, links, metadata,
    /// escaped strings, other included types, a second license) are read
    /// typed, as the tree reads them; shapes the tree reads differently
    /// (arrays for objects, null attributes) are declined.
    #[test]
    fn typed_reading_of_keygen_shapes() {
        let rel = |t: &str, id: &str| json!({"links": {"related": "/v1/x"}, "data": {"type": t, "id": id}});
        let license = json!({"type": "licenses", "id": "lic-1",
            "attributes": {"name": "Caf\u{e9} & \"Co\"", "key": LICENSE_KEY, "expiry": "2030-01-01T00:00:00.000Z",
                "status": "ACTIVE", "uses": 0, "suspended": false, "scheme": null, "strict": true,
                "floating": false, "maxMachines": 3, "maxProcesses": null, "metadata": {"tier": ["pro", 2], "k": {"a": null}},
                "created": "2022-06-23T02:20:01.368Z"},
            "relationships": {"account": rel("accounts", "a"), "policy": rel("policies", "pol-1"),
                "product": rel("products", "prod-1"), "group": {"links": {}, "data": null},
                "machines": {"links": {}, "meta": {"cores": 0, "count": 3}}},
            "links": {"self": "/v1/accounts/a/licenses/lic-1"}});
        let machine = json!({"type": "machines", "id": "mach-1",
            "attributes": {"fingerprint": FP, "name": null, "metadata": {}, "heartbeatDuration": 120},
            "relationships": {"product": rel("products", "prod-1"), "license": rel("licenses", "lic-1")},
            "links": {"self": "/v1/x"}});
        let others = [
            json!({"type": "products", "id": "prod-1", "attributes": {"name": "P", "metadata": {"x": 1}, "platforms": ["linux"]}}),
            json!({"type": "policies", "id": "pol-1", "attributes": {"name": "Pol", "strict": false, "maxMachines": null,
                "expirationStrategy": "RESTRICT_ACCESS", "duration": 86400}}),
            json!({"attributes": {"code": "F1"}, "id": "e1", "type": "entitlements"}),
            json!({"type": "users", "id": "u", "attributes": {"status": "ACTIVE", "email": "a@b"}}),
        ];
        let meta = json!({"issued": ISSUED, "expiry": null, "ttl": null});
        let mut second = license.clone();
        second["id"] = json!("lic-2");
        let mut included = vec![others[0].clone(), license.clone(), second];
        included.extend(others[1..].iter().cloned());
        let docs = [
            (
                FileKind::Machine,
                json!({"data": machine, "included": included, "meta": meta}),
            ),
            (
                FileKind::License,
                json!({"data": license, "included": others, "meta": meta}),
            ),
            (
                FileKind::License,
                json!({"meta": meta, "data": {"id": "l", "type": "licenses"}}),
            ),
        ];
        for (kind, doc) in &docs {
            let text = doc.to_string();
            let (issued, expiry, ttl, summary) = typed::parse(*kind, &text).expect("typed");
            let tree = Dataset::from_tree(*kind, text.clone().into_bytes()).unwrap();
            assert_eq!((issued, expiry, ttl), (tree.issued, tree.expiry, tree.ttl));
            assert_eq!(summary, tree.summary, "{text}");
            assert!(summary.license.is_some());
        }
        let (_, _, _, summary) = typed::parse(FileKind::Machine, &docs[0].1.to_string()).unwrap();
        let info = summary.license.unwrap();
        assert_eq!(info.id, "lic-1");
        assert_eq!(info.name.as_deref(), Some("Caf\u{e9} & \"Co\""));
        assert_eq!(
            (info.policy_id.as_deref(), info.product_id.as_deref()),
            (Some("pol-1"), Some("prod-1"))
        );
        assert_eq!(info.metadata, license["attributes"]["metadata"]);
        assert_eq!(summary.entitlements, ["F1"]);
        assert_eq!(
            summary.expiration_strategy.as_deref(),
            Some("RESTRICT_ACCESS")
        );

        let edit = |f: &dyn Fn(&mut Value)| {
            let mut d = docs[0].1.clone();
            f(&mut d);
            d.to_string()
        };
        let declined = [
            edit(&|d| d["included"][1]["attributes"] = json!(["KEY"])),
            edit(&|d| d["included"][1]["attributes"] = Value::Null),
            edit(&|d| d["included"][1]["relationships"]["policy"]["data"] = json!(["pol-1"])),
            edit(&|d| d["included"][1]["relationships"] = Value::Null),
            edit(&|d| d["included"][1]["attributes"]["maxMachines"] = json!("3")),
            edit(&|d| d["included"][0]["attributes"]["code"] = json!(7)),
            edit(&|d| d["data"]["attributes"]["fingerprint"] = json!(7)),
            edit(&|d| d["meta"] = json!([ISSUED])),
        ];
        for text in declined {
            assert!(typed::parse(FileKind::Machine, &text).is_none(), "{text}");
        }
    }

    /// The Keygen vectors that lic can decrypt are read typed, as the tree
    /// reads them.
    #[test]
    fn keygen_vectors_are_read_typed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors");
        let vectors: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/vectors.json")).unwrap())
                .unwrap();
        let mut read = 0;
        let files = vectors.iter().filter(|v| v["kind"] != "license_key");
        for v in files.filter(|v| v["decryptable"] == true) {
            let text =
                std::fs::read_to_string(format!("{dir}/{}", v["file"].as_str().unwrap())).unwrap();
            let keys =
                KeySet::of(PublicKey::from_hex(v["public_key_hex"].as_str().unwrap()).unwrap());
            let (cert, ds) = open_file(
                &text,
                &keys,
                v["license_key"].as_str(),
                v["fingerprint"].as_str(),
            )
            .unwrap();
            let (issued, expiry, ttl, summary) =
                typed::parse(cert.kind, ds.text()).unwrap_or_else(|| panic!("{}", v["name"]));
            let tree = Dataset::from_tree(cert.kind, ds.text().as_bytes().to_vec()).unwrap();
            assert_eq!((issued, expiry, ttl), (tree.issued, tree.expiry, tree.ttl));
            assert_eq!(summary, tree.summary);
            assert!(summary.license.is_some());
            read += 1;
        }
        assert!(read >= 3, "{read}");
    }
}

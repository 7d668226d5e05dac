//! The offline primitives against real artifacts signed by Keygen
//! (`shared/vectors/`, described in its README.md). Every time is passed in
//! explicitly; the global clock is only read, never moved.

use std::collections::BTreeMap;

use lic::crypto::{KeySet, PublicKey};
use lic::error::{ErrorKind, Result};
use lic::evidence::files::{self, Certificate, Dataset, FileKind};
use lic::evidence::signed_key::verify_signed_key;
use lic::time::{now_ms, parse_rfc3339, Millis};
use serde::Deserialize;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors");
const HOUR: Millis = 3_600_000;

#[derive(Deserialize)]
struct Vector {
    name: String,
    kind: String,
    file: String,
    algorithm: String,
    public_key_hex: String,
    license_key: Option<String>,
    fingerprint: Option<String>,
    decryptable: bool,
    expected: BTreeMap<String, Value>,
}

impl Vector {
    fn text(&self) -> String {
        let path = format!("{DIR}/{}", self.file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: cannot read {path}: {e}", self.name))
    }

    fn public_key(&self) -> KeySet {
        KeySet::of(PublicKey::parse(&self.public_key_hex).unwrap())
    }

    fn file_kind(&self) -> Option<FileKind> {
        match self.kind.as_str() {
            "license_file" => Some(FileKind::License),
            "machine_file" => Some(FileKind::Machine),
            _ => None,
        }
    }

    fn open(&self) -> (Certificate, Dataset) {
        files::open_file(
            &self.text(),
            &self.public_key(),
            self.license_key.as_deref(),
            self.fingerprint.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    fn expected_time(&self, field: &str) -> Option<Millis> {
        self.expected[field]
            .as_str()
            .map(|s| parse_rfc3339(s).unwrap_or_else(|| panic!("{}: bad {field} {s}", self.name)))
    }

    /// The expected values that are dotted paths into the dataset.
    fn expected_paths(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.expected.iter().filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "issued" | "expiry" | "ttl" | "data_type" | "data_id"
            )
        })
    }
}

fn vectors() -> Vec<Vector> {
    let path = format!("{DIR}/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("the Keygen test vectors are missing: cannot read {path} ({e}); they live in shared/vectors/ beside the repository")
    });
    let all: Vec<Vector> = serde_json::from_str(&text).expect("vectors.json does not parse");
    assert!(!all.is_empty(), "vectors.json lists no vectors");
    all
}

fn file_vectors() -> impl Iterator<Item = (Vector, FileKind)> {
    vectors()
        .into_iter()
        .filter_map(|v| v.file_kind().map(|k| (v, k)))
}

fn decryptable_files() -> impl Iterator<Item = (Vector, FileKind)> {
    file_vectors().filter(|(v, _)| v.decryptable)
}

fn key_vectors() -> impl Iterator<Item = Vector> {
    vectors().into_iter().filter(|v| v.kind == "license_key")
}

/// A dotted path; the segment `included[T]` is the first included item of type T.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, segment| {
        match segment
            .strip_prefix("included[")
            .and_then(|s| s.strip_suffix(']'))
        {
            Some(t) => v
                .get("included")?
                .as_array()?
                .iter()
                .find(|i| i["type"] == t),
            None => v.get(segment),
        }
    })
}

fn header(kind: FileKind) -> (&'static str, &'static str) {
    match kind {
        FileKind::License => ("-----BEGIN LICENSE FILE-----", "-----END LICENSE FILE-----"),
        FileKind::Machine => ("-----BEGIN MACHINE FILE-----", "-----END MACHINE FILE-----"),
    }
}

/// The base64 body of a certificate text, without line breaks.
fn body_of(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[1..lines.len() - 1].concat()
}

fn wrap(kind: FileKind, body: &[u8]) -> String {
    let (begin, end) = header(kind);
    let lines: Vec<&str> = body
        .chunks(60)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("{begin}\n{}\n{end}\n", lines.join("\n"))
}

fn kind_of<T>(r: Result<T>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind)
}

#[test]
fn manifest_covers_every_kind() {
    let all = vectors();
    for kind in ["license_file", "machine_file", "license_key"] {
        assert!(all.iter().any(|v| v.kind == kind), "no {kind} vector");
    }
    assert!(
        all.iter().any(|v| !v.decryptable),
        "no signature-only vector"
    );
    assert!(all
        .iter()
        .any(|v| v.file_kind().is_some() && v.expected["ttl"].is_null() && v.decryptable));
}

#[test]
fn every_file_parses_and_verifies() {
    for (v, kind) in file_vectors() {
        let text = v.text();
        let cert = files::parse_certificate(&text).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(cert.kind, kind, "{}", v.name);
        assert_eq!(v.algorithm, "aes-256-gcm+ed25519", "{}", v.name);
        assert_eq!(cert.alg, files::Algorithm::AES_ED25519, "{}", v.name);
        assert_eq!(cert.text, text, "{}: normalized text differs", v.name);
        cert.verify(&v.public_key())
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));

        // The same file as saved by a Windows editor.
        let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        let again = files::parse_certificate(&crlf).unwrap();
        assert_eq!(again, cert, "{}", v.name);
    }
}

#[test]
fn decryptable_files_match_expected() {
    for (v, kind) in decryptable_files() {
        let (_, ds) = v.open();
        let name = &v.name;
        assert_eq!(ds.kind, kind);
        assert_eq!(Some(ds.issued), v.expected_time("issued"), "{name}");
        assert_eq!(ds.expiry, v.expected_time("expiry"), "{name}");
        assert_eq!(ds.ttl, v.expected["ttl"].as_i64(), "{name}");
        assert_eq!(ds.doc()["meta"]["issued"], v.expected["issued"], "{name}");
        assert_eq!(ds.doc()["meta"]["expiry"], v.expected["expiry"], "{name}");
        assert_eq!(ds.doc()["data"]["type"], v.expected["data_type"], "{name}");
        assert_eq!(ds.doc()["data"]["id"], v.expected["data_id"], "{name}");
        let mut paths = 0;
        for (path, want) in v.expected_paths() {
            assert_eq!(lookup(ds.doc(), path), Some(want), "{name}: {path}");
            paths += 1;
        }
        assert!(paths > 0, "{name}: no dotted paths to check");

        match kind {
            FileKind::License => {
                assert_eq!(ds.license(), Some(&ds.doc()["data"]), "{name}");
                assert_eq!(
                    ds.license().unwrap()["attributes"]["key"],
                    v.license_key.as_deref().unwrap()
                );
                assert_eq!((ds.machine(), ds.fingerprint()), (None, None), "{name}");
            }
            FileKind::Machine => {
                assert_eq!(ds.machine(), Some(&ds.doc()["data"]), "{name}");
                assert_eq!(ds.fingerprint(), v.fingerprint.as_deref(), "{name}");
                let license = ds.license().expect("machine file includes its license");
                assert_eq!(
                    license["id"],
                    ds.doc()["data"]["relationships"]["license"]["data"]["id"],
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn expiry_is_judged_at_the_time_given() {
    let now = now_ms();
    let mut without_ttl = 0;
    for (v, _) in decryptable_files() {
        let (_, ds) = v.open();
        assert!(!ds.is_expired_at(ds.issued + HOUR), "{}", v.name);
        let license_expiry = ds
            .license()
            .and_then(|l| l["attributes"]["expiry"].as_str())
            .and_then(parse_rfc3339);
        match ds.expiry {
            Some(expiry) => {
                assert!(ds.is_expired_at(now), "{}", v.name);
                assert!(!ds.is_expired_at(expiry) && ds.is_expired_at(expiry + 1));
            }
            None => {
                // The file itself never expires; the license inside it has.
                without_ttl += 1;
                assert!(!ds.is_expired_at(now), "{}", v.name);
                assert!(!ds.is_expired_at(Millis::MAX), "{}", v.name);
                let license_expiry = license_expiry.expect("license has an expiry");
                assert!(license_expiry < now, "{}", v.name);
            }
        }
    }
    assert_eq!(without_ttl, 1);
}

#[test]
fn every_flipped_body_character_is_rejected() {
    // One thread per file: each needs thousands of signature checks.
    std::thread::scope(|scope| {
        for (v, kind) in file_vectors() {
            scope.spawn(move || {
                let key = v.public_key();
                let body = body_of(&v.text()).into_bytes();
                assert_eq!(
                    wrap(kind, &body),
                    v.text(),
                    "{}: re-wrapping is not exact",
                    v.name
                );
                for i in 0..body.len() {
                    let mut flipped = body.clone();
                    flipped[i] ^= 0x01;
                    let result = files::parse_certificate(&wrap(kind, &flipped))
                        .and_then(|c| c.verify(&key));
                    assert!(
                        matches!(
                            kind_of(result),
                            Some(
                                ErrorKind::SignatureInvalid
                                    | ErrorKind::FileMalformed
                                    | ErrorKind::UnsupportedAlgorithm
                            )
                        ),
                        "{}: flipping body character {i} was not rejected",
                        v.name
                    );
                }
            });
        }
    });
}

#[test]
fn every_flipped_signature_byte_is_rejected() {
    for (v, _) in file_vectors() {
        let key = v.public_key();
        let cert = files::parse_certificate(&v.text()).unwrap();
        for i in 0..cert.sig.len() {
            for bit in [0x01, 0x80] {
                let mut bad = cert.clone();
                bad.sig[i] ^= bit;
                assert_eq!(
                    kind_of(bad.verify(&key)),
                    Some(ErrorKind::SignatureInvalid),
                    "{}: sig byte {i}",
                    v.name
                );
                assert_eq!(
                    kind_of(bad.open(&key, v.license_key.as_deref(), v.fingerprint.as_deref())),
                    Some(ErrorKind::SignatureInvalid)
                );
            }
        }
    }
}

#[test]
fn license_and_machine_files_are_not_interchangeable() {
    for (v, kind) in file_vectors() {
        let other = match kind {
            FileKind::License => FileKind::Machine,
            FileKind::Machine => FileKind::License,
        };
        let swapped = wrap(other, body_of(&v.text()).as_bytes());
        let cert = files::parse_certificate(&swapped).unwrap();
        assert_eq!(cert.kind, other);
        assert_eq!(
            kind_of(cert.verify(&v.public_key())),
            Some(ErrorKind::SignatureInvalid),
            "{} verified as a {other:?} file",
            v.name
        );
    }
}

#[test]
fn wrong_secrets_fail_cleanly() {
    for (v, kind) in decryptable_files() {
        let (text, key) = (v.text(), v.public_key());
        let license_key = v.license_key.as_deref().unwrap();
        let fingerprint = v.fingerprint.as_deref();
        let open =
            |lk: Option<&str>, fp: Option<&str>| kind_of(files::open_file(&text, &key, lk, fp));
        let wrong_key = format!("{license_key}X");
        assert_eq!(
            open(None, fingerprint),
            Some(ErrorKind::InvalidArgument),
            "{}",
            v.name
        );
        match kind {
            FileKind::License => {
                assert_eq!(
                    open(Some(&wrong_key), None),
                    Some(ErrorKind::DecryptionFailed)
                );
                assert_eq!(open(Some(""), None), Some(ErrorKind::DecryptionFailed));
            }
            FileKind::Machine => {
                let fp = fingerprint.unwrap();
                let wrong_fp = fp.to_uppercase();
                assert_ne!(wrong_fp, fp);
                assert_eq!(
                    open(Some(license_key), None),
                    Some(ErrorKind::InvalidArgument)
                );
                for (lk, fp) in [(wrong_key.as_str(), fp), (license_key, wrong_fp.as_str())] {
                    assert_eq!(
                        open(Some(lk), Some(fp)),
                        Some(ErrorKind::FingerprintMismatch),
                        "{}",
                        v.name
                    );
                }
                // The right secret split differently decrypts, but the
                // fingerprint inside the file must still match the one given.
                let joined = format!("{license_key}{fp}");
                assert_eq!(
                    open(Some(&joined), Some("")),
                    Some(ErrorKind::FingerprintMismatch)
                );
            }
        }
    }
}

#[test]
fn signature_only_file_verifies_without_the_key() {
    let mut seen = 0;
    for (v, kind) in file_vectors().filter(|(v, _)| !v.decryptable) {
        seen += 1;
        assert!(v.license_key.is_none());
        assert!(v.expected.values().all(Value::is_null), "{}", v.name);
        let cert = files::parse_certificate(&v.text()).unwrap();
        cert.verify(&v.public_key()).unwrap();
        let key = v.public_key();
        let fp = (kind == FileKind::Machine).then_some("made-up-fingerprint");
        let e = cert
            .open(&key, Some("MADE-UP-LICENSE-KEY"), fp)
            .unwrap_err();
        assert!(
            matches!(
                e.kind,
                ErrorKind::DecryptionFailed | ErrorKind::FingerprintMismatch
            ),
            "{}: {e:?}",
            v.name
        );
        assert_eq!(
            kind_of(cert.open(&key, None, fp)),
            Some(ErrorKind::InvalidArgument)
        );
    }
    assert!(seen > 0);
}

#[test]
fn signed_key_verifies_and_matches_expected() {
    for v in key_vectors() {
        let text = v.text();
        assert_eq!(Some(text.as_str()), v.license_key.as_deref(), "{}", v.name);
        assert_eq!(v.algorithm, "ED25519_SIGN");
        let key =
            verify_signed_key(&text, &v.public_key()).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(key.signing_data, text[..text.find('.').unwrap()]);
        let json = key.json.as_ref().expect("payload is JSON");
        assert_eq!(v.expected["data_type"], "licenses");
        assert_eq!(json["license"]["id"], v.expected["data_id"], "{}", v.name);
        assert_eq!(
            key.issued_and_expiry(),
            (v.expected_time("issued"), v.expected_time("expiry")),
            "{}",
            v.name
        );
        assert!(v.expected["ttl"].is_null());
        let mut paths = 0;
        for (path, want) in v.expected_paths() {
            assert_eq!(lookup(json, path), Some(want), "{}: {path}", v.name);
            paths += 1;
        }
        assert!(paths > 0);
        assert_eq!(
            serde_json::from_slice::<Value>(&key.payload).unwrap(),
            *json
        );
    }
}

#[test]
fn signed_key_flips_are_rejected() {
    for v in key_vectors() {
        let (text, pk) = (v.text(), v.public_key());
        for i in 0..text.len() {
            let mut flipped = text.clone().into_bytes();
            flipped[i] ^= 0x01;
            let flipped = String::from_utf8(flipped).unwrap();
            assert!(
                verify_signed_key(&flipped, &pk).is_err(),
                "{}: flipping character {i} was not rejected",
                v.name
            );
        }
    }
}

#[test]
fn signed_key_padding_is_optional() {
    for v in key_vectors() {
        let (text, pk) = (v.text(), v.public_key());
        let (signing_data, sig) = text.split_once('.').unwrap();
        assert!(
            signing_data.ends_with('=') && sig.ends_with('='),
            "vector is padded"
        );
        let original = verify_signed_key(&text, &pk).unwrap();
        for form in [
            text.replace('=', ""),
            format!("{}.{sig}", signing_data.trim_end_matches('=')),
            format!("{signing_data}.{}", sig.trim_end_matches('=')),
        ] {
            let k = verify_signed_key(&form, &pk).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(k, original, "{form}");
        }
    }
}

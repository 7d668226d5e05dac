//! Keygen response signatures (draft-cavage HTTP signatures), as keygen-api
//! `signature_headers.rb` emits them: a `Digest` over the exact body bytes and
//! a `Keygen-Signature` over `(request-target)`, `host`, `date` and `digest`,
//! signed with `ed25519` (Keygen's default), `rsa-pss-sha256`, `rsa-sha256` or
//! `ecdsa-p256` as `Keygen-Accept-Signature` asked (`signature_methods.rb`).

use crate::crypto::{b64_std, b64_std_decode, sha256, KeySet, SigAlg};
use crate::error::{err, Error, ErrorKind, Result};
use crate::model::SignedMaterial;
use crate::time::{parse_http_date, Millis};

/// The parameters of a `Keygen-Signature` header.
#[derive(Debug, PartialEq, Eq)]
pub struct SignatureParams {
    pub keyid: Option<String>,
    pub algorithm: String,
    pub signature: Vec<u8>,
    pub headers: String,
}

/// Parses `k="v", k="v"` pairs. Values are quoted and never contain quotes
/// (base64 and header lists don't), so a small scanner is exact.
pub fn parse_signature_header(header: &str) -> Result<SignatureParams> {
    let bad = |what: &str| {
        Error::new(
            ErrorKind::SignatureInvalid,
            format!("Keygen-Signature header is malformed: {what}"),
        )
    };
    let mut keyid = None;
    let mut algorithm = None;
    let mut signature = None;
    let mut headers = None;
    let mut rest = header.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("expected name=\"value\""))?;
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| bad("value is not quoted"))?;
        let (value, tail) = after
            .split_once('"')
            .ok_or_else(|| bad("unterminated value"))?;
        match name.trim() {
            "keyid" => keyid = Some(value.to_string()),
            "algorithm" => algorithm = Some(value.to_string()),
            "signature" => signature = Some(value.to_string()),
            "headers" => headers = Some(value.to_string()),
            _ => {}
        }
        rest = tail.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    let algorithm = algorithm.ok_or_else(|| bad("no algorithm"))?;
    let signature = signature.ok_or_else(|| bad("no signature"))?;
    let signature = b64_std_decode(&signature).ok_or_else(|| bad("signature is not base64"))?;
    Ok(SignatureParams {
        keyid,
        algorithm,
        signature,
        headers: headers.unwrap_or_default(),
    })
}

pub fn digest_header(body: &[u8]) -> String {
    format!("sha-256={}", b64_std(&sha256(body)))
}

pub fn signing_string(method: &str, target: &str, host: &str, date: &str, digest: &str) -> String {
    format!(
        "(request-target): {} {}\nhost: {}\ndate: {}\ndigest: {}",
        method.to_ascii_lowercase(),
        if target.is_empty() { "/" } else { target },
        host,
        date,
        digest
    )
}

/// What the client knows about the request it sent.
pub struct RequestInfo<'a> {
    pub method: &'a str,
    /// Path and query exactly as sent.
    pub target: &'a str,
    /// Host as sent, with the port when the URL had one.
    pub host: &'a str,
    /// `host` without its port, when it had one: keygen-api signs
    /// `request.host`, which has no port, so this is tried first; a server
    /// behind a port-preserving proxy (and lic-devserver with
    /// `--sign-host-with-port`, and keygen-go's tests) signs the Host header
    /// as received, tried second.
    pub host_without_port: Option<&'a str>,
    /// Try `host` (with its port) first: the form that verified last time
    /// for this server, so a steady state costs one verification.
    pub port_first: bool,
    pub account_id: &'a str,
}

/// Verifies a response with the account key of the algorithm its
/// `Keygen-Signature` names. Returns the signed material, the `Date` in
/// ms, and whether the host that verified had its port (see `port_first`). An algorithm lic does not know, or one whose kind of key it was not
/// given, is UNSUPPORTED_ALGORITHM naming it; a signature that does not hold
/// is SIGNATURE_INVALID.
pub fn verify_response(
    keys: &KeySet,
    req: &RequestInfo<'_>,
    body: &[u8],
    date: Option<&str>,
    digest: Option<&str>,
    signature_header: Option<&str>,
) -> Result<(SignedMaterial, Millis, bool)> {
    let missing = |h: &str| {
        Error::new(
            ErrorKind::SignatureInvalid,
            format!("response has no {h} header: it is not signed by Keygen"),
        )
    };
    let signature_header = signature_header.ok_or_else(|| missing("Keygen-Signature"))?;
    let date = date.ok_or_else(|| missing("Date"))?;
    let digest = digest.ok_or_else(|| missing("Digest"))?;
    let expected_digest = digest_header(body);
    if digest.trim() != expected_digest {
        return err(
            ErrorKind::SignatureInvalid,
            "response body does not match its Digest header: the body was altered in transit",
        );
    }
    let params = parse_signature_header(signature_header)?;
    // Keygen matches the algorithm case-insensitively (`signature_methods.rb`).
    let Some(alg) = SigAlg::from_name(&params.algorithm.to_ascii_lowercase()) else {
        return err(
            ErrorKind::UnsupportedAlgorithm,
            format!(
                "response is signed with {:.32?}, which lic does not verify (it verifies \
                 ed25519, rsa-pss-sha256, rsa-sha256 and ecdsa-p256)",
                params.algorithm
            ),
        );
    };
    if !keys.has(alg.key_kind()) {
        let e = keys.missing(alg, "the response");
        return err(ErrorKind::UnsupportedAlgorithm, e.message);
    }
    if let Some(keyid) = &params.keyid {
        if !keyid.is_empty() && keyid != req.account_id {
            return err(
                ErrorKind::SignatureInvalid,
                "response is signed for another account (keyid differs)",
            );
        }
    }
    let date_ms = parse_http_date(date).ok_or_else(|| {
        Error::new(
            ErrorKind::SignatureInvalid,
            format!("response Date header {date:?} is not an HTTP date"),
        )
    })?;
    let hosts = match req.host_without_port {
        None => [Some(req.host), None],
        Some(bare) if req.port_first => [Some(req.host), Some(bare)],
        Some(bare) => [Some(bare), Some(req.host)],
    };
    for host in hosts.into_iter().flatten() {
        let s = signing_string(req.method, req.target, host, date, &expected_digest);
        if keys.verify(alg, s.as_bytes(), &params.signature) == Some(true) {
            let material = SignedMaterial {
                body: body.to_vec(),
                date: date.to_string(),
                digest: expected_digest,
                signature_header: signature_header.to_string(),
                signing_string: s,
                signature: params.signature,
            };
            let with_port = req.host_without_port.is_some() && host == req.host;
            return Ok((material, date_ms, with_port));
        }
    }
    err(
        ErrorKind::SignatureInvalid,
        format!(
            "response signature ({}) does not verify with the configured public key",
            alg.name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keygen_header() {
        let p = parse_signature_header(
            r#"keyid="1fddcec8-8dd3-4d8d-9b16-215cac0f9b52", algorithm="ed25519", signature="AAAA", headers="(request-target) host date digest""#,
        )
        .unwrap();
        assert_eq!(p.algorithm, "ed25519");
        assert_eq!(
            p.keyid.as_deref(),
            Some("1fddcec8-8dd3-4d8d-9b16-215cac0f9b52")
        );
        assert_eq!(p.signature, vec![0, 0, 0]);
        assert_eq!(p.headers, "(request-target) host date digest");
    }

    #[test]
    fn rejects_malformed_headers() {
        for h in [
            "",
            "algorithm=ed25519",
            r#"algorithm="ed25519""#,
            r#"signature="!!!", algorithm="ed25519""#,
            r#"algorithm="ed25519, signature="x""#,
        ] {
            assert_eq!(
                parse_signature_header(h).unwrap_err().kind,
                ErrorKind::SignatureInvalid,
                "{h}"
            );
        }
    }

    #[test]
    fn digest_of_empty_body() {
        assert_eq!(
            digest_header(b""),
            "sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    /// The mocked `GET /me` response in keygen-sh/keygen-go's README, signed by
    /// Keygen's demo account: a real signature over a real signing string.
    #[test]
    fn verifies_real_keygen_response() {
        let key = KeySet::of(
            crate::crypto::PublicKey::from_hex(
                "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788",
            )
            .unwrap(),
        );
        let body = include_bytes!("testdata/keygen-go-me.body");
        let account = "1fddcec8-8dd3-4d8d-9b16-215cac0f9b52";
        let target = format!("/v1/accounts/{account}/me");
        let sig = r#"keyid="1fddcec8-8dd3-4d8d-9b16-215cac0f9b52", algorithm="ed25519", signature="IiyYX1ah2HFzbcCx+3sv+KJpOppFdMRuZ7NWlnwZMKAf5khj9c4TO4z6fr62BqNXlyROOTxZinX8UpXHJHVyAw==", headers="(request-target) host date digest""#;
        let date = "Wed, 15 Jun 2022 18:52:14 GMT";
        let digest = "sha-256=d4uZ26hjiUNqopuSkYcYwg2aBuNtr4D1/9iDhlvf0H8=";
        let req = RequestInfo {
            method: "GET",
            target: &target,
            host: "api.keygen.sh",
            host_without_port: None,
            port_first: false,
            account_id: account,
        };
        let (m, date_ms, _) =
            verify_response(&key, &req, body, Some(date), Some(digest), Some(sig)).unwrap();
        assert_eq!(date_ms, crate::time::parse_http_date(date).unwrap());
        assert!(m
            .signing_string
            .starts_with("(request-target): get /v1/accounts/"));

        // Any change to what is covered breaks it.
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify_response(&key, &req, &tampered, Some(date), Some(digest), Some(sig))
                .unwrap_err()
                .kind,
            ErrorKind::SignatureInvalid
        );
        let other_date = "Wed, 15 Jun 2022 18:52:15 GMT";
        assert!(
            verify_response(&key, &req, body, Some(other_date), Some(digest), Some(sig)).is_err()
        );
        let other_path = RequestInfo {
            target: "/v1/me",
            ..req
        };
        assert!(
            verify_response(&key, &other_path, body, Some(date), Some(digest), Some(sig)).is_err()
        );
        let port_then_plain = RequestInfo {
            host: "api.keygen.sh:443",
            host_without_port: Some("api.keygen.sh"),
            ..other_path
        };
        let port_then_plain = RequestInfo {
            target: &target,
            ..port_then_plain
        };
        // Keygen signs the host without its port: found whichever form is
        // tried first, and reported as the portless form.
        for port_first in [false, true] {
            let req = RequestInfo {
                port_first,
                ..port_then_plain
            };
            let (_, _, with_port) =
                verify_response(&key, &req, body, Some(date), Some(digest), Some(sig)).unwrap();
            assert!(!with_port, "port_first {port_first}");
        }
        // Signed with the port (a port-preserving proxy): reported as such.
        let with_port_signed = RequestInfo {
            host: "api.keygen.sh",
            host_without_port: Some("api.keygen"),
            ..port_then_plain
        };
        let (_, _, with_port) = verify_response(
            &key,
            &with_port_signed,
            body,
            Some(date),
            Some(digest),
            Some(sig),
        )
        .unwrap();
        assert!(with_port);
        assert!(verify_response(&key, &req, body, Some(date), Some(digest), None).is_err());
        let other_account = RequestInfo {
            account_id: "someone-else",
            ..port_then_plain
        };
        assert!(verify_response(
            &key,
            &other_account,
            body,
            Some(date),
            Some(digest),
            Some(sig)
        )
        .is_err());
    }
}

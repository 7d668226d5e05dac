//! `Relay-Signature: t=<unix>,v1=<hex>` (keygen-relay 1.3 `middleware.go`, README
//! "Verifying signatures"): `v1 = hex(HMAC-SHA256(secret, t + "." + raw body))`. Only `t` and
//! `v1` are read (other pairs are ignored, so no downgrade), the MAC is compared in constant
//! time, and `t` must be within the tolerance of this machine's clock.

use crate::crypto::{ct_eq, decode_hex, hmac_sha256};
use crate::error::ErrorKind;
use crate::error::{err, Result};

/// Verifies `header` over `body` with `secret`; `now` and `tolerance` in seconds. Returns the
/// signed time `t` (the relay's clock when it answered).
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<i64> {
    let Some(header) = header else {
        return err(
            ErrorKind::SignatureInvalid,
            "the relay's answer has no Relay-Signature, and a signing secret is set: it is not \
             believed (is the relay's --signing-secret set?)",
        );
    };
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse::<i64>().ok(),
            Some(("v1", v)) => v1 = decode_hex(v.trim()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return err(
            ErrorKind::SignatureInvalid,
            "the relay's Relay-Signature is malformed (no t or v1): the answer is not believed",
        );
    };
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    if !ct_eq(&hmac_sha256(secret, &message), &v1) {
        return err(
            ErrorKind::SignatureInvalid,
            "the relay's Relay-Signature does not match (another signing secret, or an altered \
             answer): the answer is not believed",
        );
    }
    let skew = (t - now).abs();
    if skew > tolerance {
        return err(
            ErrorKind::ResponseMismatch,
            format!(
                "the relay's signed time is {skew} s away from this machine's clock (allowed \
                 {tolerance} s): a replayed answer, or a clock is wrong"
            ),
        );
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"{\"error\":\"no licenses available\"}\n";
    // From Python's hmac module, as the devserver's tests.
    const V1: &str = "1696bbdf31a464855fba5375abf7252019012ce34d2ab9e421a50f2c88186c79";

    #[test]
    fn accepts_relays_signature_and_nothing_else() {
        let h = format!("t=1764949490,v1={V1}");
        assert_eq!(
            verify(b"hunter2", Some(&h), BODY, 1764949490, 300),
            Ok(1764949490)
        );
        // Unknown pairs are ignored; order does not matter.
        let h2 = format!("v0=00,v1={V1},t=1764949490");
        assert!(verify(b"hunter2", Some(&h2), BODY, 1764949490, 300).is_ok());
        let kind = |r: Result<i64>| r.unwrap_err().kind;
        assert_eq!(
            kind(verify(b"other", Some(&h), BODY, 1764949490, 300)),
            ErrorKind::SignatureInvalid
        );
        assert_eq!(
            kind(verify(b"hunter2", Some(&h), b"{}\n", 1764949490, 300)),
            ErrorKind::SignatureInvalid
        );
        assert_eq!(
            kind(verify(b"hunter2", None, BODY, 1764949490, 300)),
            ErrorKind::SignatureInvalid
        );
        assert_eq!(
            kind(verify(
                b"hunter2",
                Some("t=1764949490"),
                BODY,
                1764949490,
                300
            )),
            ErrorKind::SignatureInvalid
        );
        assert_eq!(
            kind(verify(b"hunter2", Some(&h), BODY, 1764949490 + 301, 300)),
            ErrorKind::ResponseMismatch
        );
    }
}

//! Foundations every room may use and that name no room: random ids and tokens, hex and
//! base64, SHA-256, percent-decoding, and (in `time`) Keygen's calendar and date formats.
//! Nothing here knows HTTP, Keygen records or keys.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

mod time;
pub use time::{add_calendar_duration, http_date, parse_time, rfc3339_ms};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the OS random source is unavailable");
    buf
}

pub fn uuid_v4() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Ruby's `urlsafe_encode64`, which keeps the `=` padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// base64url without padding (JWTs).
pub fn b64url_nopad(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON value's compact text, as bytes. Writes to the buffer directly (`Value::to_string`
/// goes through `fmt::Write`, several times slower), and cannot fail for a `Value`.
pub fn json_bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Decodes `%XX` escapes (invalid ones are kept literally); `+` becomes a space in query strings.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
                continue;
            }
            (None, b'+') if plus_is_space => out.push(b' '),
            (None, c) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_duration_matches_keygen_examples() {
        let t = parse_time("2023-10-31T15:32:33.468Z").unwrap();
        assert_eq!(
            rfc3339_ms(add_calendar_duration(t, 31_536_000)),
            "2024-10-30T20:12:27.468Z"
        );
        let t = parse_time("2022-10-16T14:52:48.000Z").unwrap();
        assert_eq!(
            rfc3339_ms(add_calendar_duration(t, 2_629_746)),
            "2022-11-16T14:52:48.000Z"
        );
        assert_eq!(
            rfc3339_ms(add_calendar_duration(t, 31_556_952)),
            "2023-10-16T14:52:48.000Z"
        );
        assert_eq!(add_calendar_duration(t, 2_592_000) - t, 2_592_000_000);
    }

    #[test]
    fn formats() {
        let t = parse_time("2022-10-16T14:52:48Z").unwrap();
        assert_eq!(http_date(t), "Sun, 16 Oct 2022 14:52:48 GMT");
        assert_eq!(rfc3339_ms(t + 5), "2022-10-16T14:52:48.005Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        let far = parse_time("9999-12-31T23:59:59.999Z").unwrap();
        assert_eq!(rfc3339_ms(far), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(far + 1), "10000-01-01T00:00:00.000Z");
        assert_eq!(hex(&[0x0f, 0xa0, 0xff]), "0fa0ff");
        assert_eq!(parse_time("2022-10-16T16:52:48.5+02:00"), Some(t + 500));
        assert!(is_uuid(&uuid_v4()));
        assert_eq!(percent_decode("a%2Fb+c%zz", true), "a/b c%zz");
    }
}

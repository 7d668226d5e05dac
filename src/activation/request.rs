//! The request format, version 1.
//!
//! Payload: compact JSON with the keys in this order and no whitespace,
//! `{"v":1,"k":"<license key>","f":"<fingerprint>"}` plus, when present,
//! `"h"` (host name), `"p"` (platform, `linux/x86_64`) and `"a"` (app name).
//!
//! Text: `lic1.` + base64url without padding of the payload. With a portal
//! URL the text is `<portal URL>#lic1.…`: the request rides in the URL's
//! fragment, which a browser never sends to a server, so a phone's camera
//! opens the portal directly and the license key reaches no server log or
//! proxy on the way (the portal's page reads the fragment and posts it).

use serde::{Deserialize, Serialize};

use crate::config::check_text;
use crate::crypto::{b64_url_decode, b64_url_nopad};
use crate::error::{err, ErrorKind, Result};

/// The payload version this lic writes and reads.
const VERSION: u32 = 1;
/// What every request text starts with (after the portal URL and `#`).
const PREFIX: &str = "lic1.";

/// Longest request text `parse` accepts (the largest QR code holds 2,953
/// bytes).
const MAX_TEXT: usize = 4096;
const MAX_URL: usize = 1024;

/// One activation request: what the portal needs to validate the key for
/// this machine, activate it and check a machine file out for it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationRequest {
    /// The license key the user entered.
    #[serde(rename = "k")]
    pub license_key: String,
    /// The machine's fingerprint, as `lic_client_fingerprint` gives it.
    #[serde(rename = "f")]
    pub fingerprint: String,
    /// The machine's host name (shown in the license's machine list).
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `os/arch`, as an online activation reports it.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The app's name, for the portal to say what is being activated.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

impl std::fmt::Debug for ActivationRequest {
    // Never prints the license key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationRequest")
            .field("license_key", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .field("hostname", &self.hostname)
            .field("platform", &self.platform)
            .field("app", &self.app)
            .finish()
    }
}

/// The wire form: `v` first, then the request's fields in their order.
#[derive(Serialize)]
struct Wire<'a> {
    v: u32,
    #[serde(flatten)]
    request: &'a ActivationRequest,
}

#[derive(Deserialize)]
struct Version {
    v: Option<serde_json::Value>,
}

impl ActivationRequest {
    /// Checks every field: key and fingerprint present, no control
    /// characters, bounded lengths.
    pub fn check(&self) -> Result<()> {
        check_text("license key", &self.license_key, 4096)?;
        check_text("fingerprint", &self.fingerprint, 4096)?;
        for (name, value, max) in [
            ("host name", &self.hostname, 255),
            ("platform", &self.platform, 64),
            ("app name", &self.app, 128),
        ] {
            if let Some(v) = value {
                check_text(name, v, max)?;
            }
        }
        Ok(())
    }

    /// The compact JSON payload (keys `v`, `k`, `f`, then `h`, `p`, `a` when set).
    pub fn payload(&self) -> String {
        serde_json::to_string(&Wire {
            v: VERSION,
            request: self,
        })
        .unwrap_or_default()
    }

    /// The request as text: `lic1.<base64url>`, or `<portal_url>#lic1.<base64url>`.
    /// The portal URL must be `http://` or `https://`, without a fragment.
    pub fn text(&self, portal_url: Option<&str>) -> Result<String> {
        self.check()?;
        let token = format!("{PREFIX}{}", b64_url_nopad(self.payload().as_bytes()));
        match portal_url {
            None => Ok(token),
            Some(url) => Ok(format!("{}#{token}", check_portal_url(url)?)),
        }
    }

    /// Reads a request from its text: `lic1.…` alone, or any URL whose
    /// fragment is `lic1.…` (what a phone's camera or a QR decoder gives).
    /// Surrounding whitespace is ignored. A request from a newer lic
    /// (`lic2.…`, or `"v"` other than 1) is refused with a message that says so.
    pub fn parse(text: &str) -> Result<ActivationRequest> {
        let text = text.trim();
        if text.len() > MAX_TEXT {
            return err(
                ErrorKind::InvalidArgument,
                format!("the activation request is longer than {MAX_TEXT} bytes"),
            );
        }
        let token = match text.rfind('#') {
            Some(i) => &text[i + 1..],
            None => text,
        };
        let Some(body) = token.strip_prefix(PREFIX) else {
            if let Some(v) = newer_prefix(token) {
                return err(
                    ErrorKind::InvalidArgument,
                    format!("this is a version {v} activation request, newer than this lic understands (version {VERSION}): update the portal"),
                );
            }
            return err(
                ErrorKind::InvalidArgument,
                "this is not an activation request: it should start with lic1. (or be a portal link ending in #lic1.…)",
            );
        };
        if let Some(bad) = body
            .trim_end_matches('=')
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return err(
                ErrorKind::InvalidArgument,
                format!("the activation request contains {bad:?}, which does not belong in it: was it cut or altered?"),
            );
        }
        let bytes = b64_url_decode(body).ok_or_else(|| {
            crate::error::Error::new(
                ErrorKind::InvalidArgument,
                "the activation request is not valid base64url: was it cut short?",
            )
        })?;
        let version: Version = serde_json::from_slice(&bytes).map_err(|_| {
            crate::error::Error::new(
                ErrorKind::InvalidArgument,
                "the activation request does not hold a JSON object: was it cut short?",
            )
        })?;
        match version.v.as_ref().and_then(serde_json::Value::as_u64) {
            Some(1) => {}
            Some(v) => {
                return err(
                    ErrorKind::InvalidArgument,
                    format!("this is a version {v} activation request, newer than this lic understands (version {VERSION}): update the portal"),
                )
            }
            None => {
                return err(
                    ErrorKind::InvalidArgument,
                    "the activation request has no version (\"v\")",
                )
            }
        }
        let request: ActivationRequest = serde_json::from_slice(&bytes).map_err(|e| {
            crate::error::Error::new(
                ErrorKind::InvalidArgument,
                format!("the activation request lacks a field or has one of the wrong type ({e})"),
            )
        })?;
        request.check()?;
        Ok(request)
    }
}

/// `2` for `lic2.…`: a request format from the future.
fn newer_prefix(token: &str) -> Option<u32> {
    let rest = token.strip_prefix("lic")?;
    let (n, _) = rest.split_once('.')?;
    n.parse::<u32>().ok().filter(|n| *n > VERSION)
}

/// A portal URL: `http://` or `https://`, no fragment, no whitespace.
pub(crate) fn check_portal_url(url: &str) -> Result<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return err(
            ErrorKind::InvalidArgument,
            "the portal URL must start with https:// (or http://)",
        );
    }
    if url.len() > MAX_URL {
        return err(
            ErrorKind::InvalidArgument,
            format!("the portal URL is longer than {MAX_URL} bytes"),
        );
    }
    if url.contains('#') {
        return err(
            ErrorKind::InvalidArgument,
            "the portal URL must not have a fragment (#…): the request goes there",
        );
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return err(
            ErrorKind::InvalidArgument,
            "the portal URL must not contain spaces or control characters",
        );
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ActivationRequest {
        ActivationRequest {
            license_key: "ABCD-1234".into(),
            fingerprint: "f00d".into(),
            hostname: Some("build-01".into()),
            platform: Some("linux/x86_64".into()),
            app: Some("Acme CAD".into()),
        }
    }

    #[test]
    fn payload_is_compact_json_in_key_order() {
        assert_eq!(
            sample().payload(),
            r#"{"v":1,"k":"ABCD-1234","f":"f00d","h":"build-01","p":"linux/x86_64","a":"Acme CAD"}"#
        );
        let bare = ActivationRequest {
            hostname: None,
            platform: None,
            app: None,
            ..sample()
        };
        assert_eq!(bare.payload(), r#"{"v":1,"k":"ABCD-1234","f":"f00d"}"#);
    }

    #[test]
    fn text_is_prefix_and_unpadded_base64url() {
        let bare = ActivationRequest {
            hostname: None,
            platform: None,
            app: None,
            ..sample()
        };
        // base64url of {"v":1,"k":"ABCD-1234","f":"f00d"}, without padding.
        assert_eq!(
            bare.text(None).unwrap(),
            "lic1.eyJ2IjoxLCJrIjoiQUJDRC0xMjM0IiwiZiI6ImYwMGQifQ"
        );
        assert_eq!(
            bare.text(Some("https://activate.example.com/")).unwrap(),
            "https://activate.example.com/#lic1.eyJ2IjoxLCJrIjoiQUJDRC0xMjM0IiwiZiI6ImYwMGQifQ"
        );
    }

    #[test]
    fn both_forms_parse_back() {
        let r = sample();
        for text in [
            r.text(None).unwrap(),
            r.text(Some("https://portal.example/activate?x=1")).unwrap(),
            format!("  {}\n", r.text(Some("http://127.0.0.1:8080")).unwrap()),
        ] {
            assert_eq!(ActivationRequest::parse(&text).unwrap(), r, "{text}");
        }
        // Padding added by another tool is accepted too.
        let token = r.text(None).unwrap();
        let body = token.len() - PREFIX.len();
        let padded = format!("{token}{}", "=".repeat((4 - body % 4) % 4));
        assert_ne!(padded, token);
        assert_eq!(ActivationRequest::parse(&padded).unwrap(), r);
    }

    #[test]
    fn bad_text_gets_a_clear_refusal() {
        let r = sample().text(None).unwrap();
        let cases: Vec<(String, &str)> = vec![
            ("hello".into(), "not an activation request"),
            ("lic2.e30".into(), "version 2"),
            (r[..r.len() - 9].to_string(), "cut"),
            (format!("{r}!"), "does not belong"),
            (
                format!("lic1.{}", b64_url_nopad(br#"{"v":3,"k":"a","f":"b"}"#)),
                "version 3",
            ),
            (
                format!("lic1.{}", b64_url_nopad(br#"{"k":"a","f":"b"}"#)),
                "no version",
            ),
            (
                format!("lic1.{}", b64_url_nopad(br#"{"v":1,"k":"a"}"#)),
                "lacks a field",
            ),
            (
                format!("lic1.{}", b64_url_nopad(br#"{"v":1,"k":"","f":"b"}"#)),
                "must not be empty",
            ),
            (
                format!(
                    "lic1.{}",
                    b64_url_nopad(b"{\"v\":1,\"k\":\"a\\n\",\"f\":\"b\"}")
                ),
                "control characters",
            ),
            ("x".repeat(5000), "longer than"),
        ];
        for (text, want) in cases {
            let e = ActivationRequest::parse(&text).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert!(e.message.contains(want), "{text:.40}: {}", e.message);
            assert!(!e.message.contains("ABCD-1234"), "{}", e.message);
        }
    }

    #[test]
    fn unknown_fields_are_ignored_for_later_minor_additions() {
        let text = format!(
            "lic1.{}",
            b64_url_nopad(br#"{"v":1,"k":"a","f":"b","x":"future"}"#)
        );
        let r = ActivationRequest::parse(&text).unwrap();
        assert_eq!((r.license_key.as_str(), r.fingerprint.as_str()), ("a", "b"));
    }

    #[test]
    fn portal_urls_are_checked() {
        let r = sample();
        for bad in [
            "ftp://x",
            "activate.example.com",
            "https://x/#frag",
            "https://x/ y",
        ] {
            assert_eq!(
                r.text(Some(bad)).unwrap_err().kind,
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
        assert!(r.text(Some("HTTPS://X.example")).is_ok());
    }

    #[test]
    fn debug_redacts_the_key() {
        assert!(!format!("{:?}", sample()).contains("ABCD-1234"));
    }
}

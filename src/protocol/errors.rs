//! Keygen's error documents, read into lic's error kinds. Only a signed
//! document (when a public key is configured) ever gets here.

use serde_json::Value;

use crate::error::{Error, ErrorKind};

pub(crate) fn error_suffix(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| first_error(&v).map(|(_, _, d)| format!(": {d}")))
        .unwrap_or_default()
}

/// (code, title, detail) of the first error in a Keygen error document.
pub fn first_error(json: &Value) -> Option<(Option<String>, String, String)> {
    let e = json.get("errors")?.get(0)?;
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    Some((
        s("code"),
        s("title").unwrap_or_default(),
        s("detail").unwrap_or_default(),
    ))
}

/// Maps a (signed, when a key is configured) Keygen error document.
pub fn map_error_document(status: u16, json: &Value) -> Error {
    let (code, title, detail) = first_error(json).unwrap_or((None, String::new(), String::new()));
    let kind = match (status, code.as_deref()) {
        (_, Some("LICENSE_INVALID")) => ErrorKind::LicenseInvalid,
        (_, Some("LICENSE_NOT_ALLOWED")) => ErrorKind::LicenseNotAllowed,
        (_, Some("LICENSE_SUSPENDED")) => ErrorKind::LicenseSuspended,
        (_, Some("LICENSE_EXPIRED")) => ErrorKind::LicenseExpired,
        (_, Some("LICENSE_BANNED" | "USER_BANNED")) => ErrorKind::LicenseBanned,
        (_, Some("TOKEN_INVALID" | "TOKEN_MISSING" | "TOKEN_FORMAT_INVALID" | "TOKEN_EXPIRED")) => {
            ErrorKind::TokenInvalid
        }
        (_, Some("TOKEN_NOT_ALLOWED")) => ErrorKind::TokenNotAllowed,
        (_, Some("MACHINE_LIMIT_EXCEEDED" | "GROUP_MACHINE_LIMIT_EXCEEDED")) => {
            ErrorKind::MachineLimitExceeded
        }
        (
            _,
            Some(
                "MACHINE_CORE_LIMIT_EXCEEDED"
                | "MACHINE_MEMORY_LIMIT_EXCEEDED"
                | "MACHINE_DISK_LIMIT_EXCEEDED",
            ),
        ) => ErrorKind::ResourceLimitExceeded,
        (_, Some("FINGERPRINT_TAKEN")) => ErrorKind::FingerprintTaken,
        (_, Some("MACHINE_PROCESS_LIMIT_EXCEEDED")) => ErrorKind::ProcessLimitExceeded,
        (_, Some("MACHINE_HEARTBEAT_DEAD" | "PROCESS_HEARTBEAT_DEAD")) => ErrorKind::HeartbeatDead,
        (401, _) => ErrorKind::TokenInvalid,
        (403, _) => ErrorKind::AccessDenied,
        (404, _) => ErrorKind::NotFound,
        _ => ErrorKind::ServerRejected,
    };
    let mut message = format!("server refused the request ({status}");
    if let Some(c) = &code {
        message.push(' ');
        message.push_str(c);
    }
    message.push(')');
    let text = if detail.is_empty() { title } else { detail };
    if !text.is_empty() {
        message.push_str(": ");
        message.push_str(&text);
    }
    if kind == ErrorKind::LicenseNotAllowed {
        message.push_str(
            " — the policy does not allow license-key authentication: set its authenticationStrategy to LICENSE or MIXED, or configure a license token",
        );
    }
    Error::new(kind, message).with_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn maps_keygen_error_documents() {
        let doc = |code: &str| json!({"errors": [{"title": "Access denied", "detail": "nope", "code": code}]});
        assert_eq!(
            map_error_document(403, &doc("LICENSE_NOT_ALLOWED")).kind,
            ErrorKind::LicenseNotAllowed
        );
        assert!(map_error_document(403, &doc("LICENSE_NOT_ALLOWED"))
            .message
            .contains("authenticationStrategy"));
        assert_eq!(
            map_error_document(422, &doc("MACHINE_LIMIT_EXCEEDED")).kind,
            ErrorKind::MachineLimitExceeded
        );
        assert_eq!(
            map_error_document(422, &doc("MACHINE_PROCESS_LIMIT_EXCEEDED")).kind,
            ErrorKind::ProcessLimitExceeded
        );
        assert_eq!(
            map_error_document(401, &doc("LICENSE_INVALID")).kind,
            ErrorKind::LicenseInvalid
        );
        assert_eq!(
            map_error_document(403, &doc("SOMETHING_NEW")).kind,
            ErrorKind::AccessDenied
        );
        assert_eq!(
            map_error_document(404, &json!({})).kind,
            ErrorKind::NotFound
        );
        let e = map_error_document(422, &doc("PID_TAKEN"));
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (ErrorKind::ServerRejected, Some("PID_TAKEN"))
        );
        assert!(e.message.contains("422 PID_TAKEN") && e.message.contains("nope"));
    }
}

//! Keygen-Version: which API version a request asks for. Only 1.7 and 1.8 are served; the
//! response transforms for older versions (Keygen's request migrations, 1.0 to 1.6) would be
//! applied here, between routing and rendering.

use crate::http::Request;

/// `Keygen-Version`: 1.7 or 1.8 (a leading `v` is stripped; absent means 1.8).
pub fn requested(req: &Request) -> Option<&'static str> {
    match req
        .header("keygen-version")
        .map(|v| v.trim().trim_start_matches('v'))
    {
        None | Some("1.8") => Some("1.8"),
        Some("1.7") => Some("1.7"),
        Some(_) => None,
    }
}

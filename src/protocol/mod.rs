//! The Keygen wire: the URL rules and TLS, the HTTP transport with its one
//! deadline per call, response signatures, and Keygen's error documents.
//! It knows requests and replies, never what a validation means.
//!
//! Without the `online` feature (an offline-only build) the wire is cut
//! here: the clients keep their API, and every request fails with
//! `offline_only()` before anything is sent.

pub mod deadline;
pub mod errors;
#[cfg(feature = "online")]
mod resolve;
pub mod signature;
#[cfg(feature = "online")]
mod socket;
#[cfg(feature = "online")]
pub mod tls;
pub mod transport;
pub mod url;

pub use deadline::Deadline;
pub use errors::{first_error, map_error_document};
/// lic's own connection failures (resolve, connect, TLS), for the other wire clients.
#[cfg(feature = "online")]
pub(crate) use socket::WireError;
/// The agent of a wire client (proxy, TLS, resolver), for the other wire clients.
pub(crate) use transport::Wire;
pub use transport::{
    backoff, license_authorization, offline_only, Auth, Call, Reply, Transport, MAX_BODY,
};
#[cfg(feature = "online")]
pub(crate) use transport::{read_body, read_error_kind, timed_out, wire_error};
pub use url::{is_loopback, no_proxy_matches, BaseUrl};

/// Percent-encodes a path segment (fingerprints and ids may be any string).
pub fn pct(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(pct("abc-DEF_1.2~"), "abc-DEF_1.2~");
        assert_eq!(pct("a/b c"), "a%2Fb%20c");
        assert_eq!(pct("é"), "%C3%A9");
    }
}

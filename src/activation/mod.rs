//! Air-gapped activation requests: what a machine without internet shows so
//! that a person can activate it through a portal on any online device — the
//! versioned request text (`lic1.` + base64url JSON, or a portal URL with it
//! in the fragment), its parsing on the portal's side, and its QR code as
//! SVG, PNG and a terminal rendering.
//!
//! The request carries the license key, the fingerprint and optionally the
//! host name, platform and app name: nothing secret beyond the key the user
//! typed. Encoding the QR symbol is the `qrcode` crate's work; this module
//! only draws its modules.

mod qr;
mod request;

pub use qr::Qr;
pub use request::ActivationRequest;

use crate::error::Result;

/// What an activation request carries besides the license key and the
/// fingerprint, and where it points.
#[derive(Clone, Debug)]
pub struct RequestOptions {
    /// The portal's URL: the text becomes `<portal_url>#lic1.…`.
    pub portal_url: Option<String>,
    /// The app's name, for the portal to show.
    pub app_name: Option<String>,
    /// Include this machine's host name (default yes).
    pub hostname: bool,
    /// Include this machine's platform, `os/arch` (default yes).
    pub platform: bool,
}

impl Default for RequestOptions {
    fn default() -> RequestOptions {
        RequestOptions {
            portal_url: None,
            app_name: None,
            hostname: true,
            platform: true,
        }
    }
}

/// A request ready to show: the request, its text and its QR code.
#[derive(Debug)]
pub struct RequestCode {
    request: ActivationRequest,
    qr: Qr,
}

impl RequestCode {
    /// Checks the request and encodes its text (with the portal URL, when
    /// given) as a QR code.
    pub fn new(request: ActivationRequest, portal_url: Option<&str>) -> Result<RequestCode> {
        let qr = Qr::new(&request.text(portal_url)?)?;
        Ok(RequestCode { request, qr })
    }

    pub fn request(&self) -> &ActivationRequest {
        &self.request
    }

    /// The request text (what the QR code holds).
    pub fn text(&self) -> &str {
        self.qr.text()
    }

    pub fn qr(&self) -> &Qr {
        &self.qr
    }
}

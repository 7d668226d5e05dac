//! The air-gapped side of QR-code activation: the request this machine
//! shows (license key, fingerprint and, as asked, host name, platform and
//! app name), ready as text and QR code. The file the portal hands back is
//! loaded with `load_file`, as any file delivered by hand.

use super::Client;
use crate::activation::{ActivationRequest, RequestCode, RequestOptions};
use crate::error::Result;
use crate::machine;

impl Client {
    /// The activation request for this client's license key and machine.
    /// No network. Errors: ConfigIncomplete (no license key),
    /// FingerprintUnavailable, InvalidArgument (a bad portal URL or app
    /// name, or a request too long for a QR code).
    pub fn activation_request(&self, options: &RequestOptions) -> Result<RequestCode> {
        let request = ActivationRequest {
            license_key: self.license_key()?.to_string(),
            fingerprint: self.fingerprint()?,
            hostname: options.hostname.then(machine::hostname).flatten(),
            platform: options.platform.then(machine::platform),
            app: options.app_name.clone(),
        };
        RequestCode::new(request, options.portal_url.as_deref())
    }
}

//! `lic_status`: what every fallible call returns. Values are grouped in
//! ranges and never renumbered; new codes are appended within their range.

use crate::error::ErrorKind;

/// The status of a call. `LIC_STATUS_OK` (0) is success; anything else is
/// a failure whose detail is in `lic_last_error_message()`.
///
/// Ranges: 1–19 usage, 20–39 refused by the server, 40–59 transport,
/// 60–79 offline and cryptography, 99 a bug in lic.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lic_status {
    LIC_STATUS_OK = 0,
    /// A required pointer argument was NULL.
    LIC_STATUS_NULL_ARGUMENT = 1,
    /// An argument was out of range or malformed.
    LIC_STATUS_INVALID_ARGUMENT = 2,
    /// A string argument was not valid UTF-8.
    LIC_STATUS_INVALID_UTF8 = 3,
    /// The output buffer was too small; `*out_len` holds the length needed.
    LIC_STATUS_BUFFER_TOO_SMALL = 4,
    /// The requested value is absent (for example a perpetual license's expiry).
    LIC_STATUS_NOT_FOUND = 5,
    /// A required setting (account id, license key) is missing.
    LIC_STATUS_CONFIG_INCOMPLETE = 6,
    /// Plain http:// to a host that is not loopback, without opting in.
    LIC_STATUS_INSECURE_URL = 7,
    /// A string output holds a NUL byte (U+0000), so it cannot be given as a
    /// C string: nothing was written. Keygen never sends one; lic refuses
    /// such text as malformed data rather than let C read a truncated string.
    LIC_STATUS_EMBEDDED_NUL = 8,
    /// The license key does not exist (401 LICENSE_INVALID).
    LIC_STATUS_LICENSE_INVALID = 20,
    /// The policy does not allow license-key authentication: a setup mistake.
    LIC_STATUS_LICENSE_NOT_ALLOWED = 21,
    LIC_STATUS_LICENSE_SUSPENDED = 22,
    /// Expired under a REVOKE_ACCESS policy: the key no longer authenticates.
    LIC_STATUS_LICENSE_EXPIRED = 23,
    LIC_STATUS_LICENSE_BANNED = 24,
    /// The license token is unknown, expired or malformed.
    LIC_STATUS_TOKEN_INVALID = 25,
    LIC_STATUS_TOKEN_NOT_ALLOWED = 26,
    /// Refused for lack of permission (403).
    LIC_STATUS_ACCESS_DENIED = 27,
    /// The license has no room for another machine; deactivate one to free a slot.
    LIC_STATUS_MACHINE_LIMIT_EXCEEDED = 28,
    /// The machine to deactivate (or act on) is not activated for this license.
    LIC_STATUS_MACHINE_NOT_ACTIVATED = 29,
    /// The fingerprint is activated for another license in the same uniqueness scope.
    LIC_STATUS_FINGERPRINT_TAKEN = 30,
    /// No process slot is free (MACHINE_PROCESS_LIMIT_EXCEEDED).
    LIC_STATUS_PROCESS_LIMIT_EXCEEDED = 31,
    /// The machine or process heartbeat is dead.
    LIC_STATUS_HEARTBEAT_DEAD = 32,
    /// A core, memory or disk limit would be exceeded.
    LIC_STATUS_RESOURCE_LIMIT_EXCEEDED = 33,
    /// The server refused the request for another reason (message has its code).
    LIC_STATUS_SERVER_REJECTED = 34,
    /// The Keygen Relay has no free license in the pool (410): every license
    /// is leased to another node. The message names the relay and the pool.
    LIC_STATUS_NO_LICENSE_AVAILABLE = 35,
    /// The server could not be reached (DNS, connect, reset).
    LIC_STATUS_NETWORK_ERROR = 40,
    /// No answer within the configured timeout.
    LIC_STATUS_TIMEOUT = 41,
    /// TLS failed (certificate not trusted, handshake error).
    LIC_STATUS_TLS_ERROR = 42,
    /// The server answered 5xx.
    LIC_STATUS_SERVER_ERROR = 43,
    /// The server answered 429 and its Retry-After did not fit the deadline.
    LIC_STATUS_RATE_LIMITED = 44,
    /// The answer was not a well-formed Keygen response.
    LIC_STATUS_BAD_RESPONSE = 45,
    /// A file could not be read or written.
    LIC_STATUS_IO_ERROR = 60,
    /// A license/machine file or signed key is malformed.
    LIC_STATUS_FILE_MALFORMED = 61,
    /// A signature (response, file or key) is missing, malformed or wrong.
    LIC_STATUS_SIGNATURE_INVALID = 62,
    /// A file, key or response uses an algorithm lic does not verify (named in the message).
    LIC_STATUS_UNSUPPORTED_ALGORITHM = 63,
    /// Decryption failed: wrong license key.
    LIC_STATUS_DECRYPTION_FAILED = 64,
    /// The file belongs to another machine.
    LIC_STATUS_FINGERPRINT_MISMATCH = 65,
    /// Offline evidence needs a public key and none is configured.
    LIC_STATUS_NO_PUBLIC_KEY = 66,
    /// The server could not answer and there is no usable offline file.
    LIC_STATUS_NO_OFFLINE_DATA = 67,
    /// This machine has no readable machine id; set a fingerprint.
    LIC_STATUS_FINGERPRINT_UNAVAILABLE = 68,
    /// A signed answer is not about this request (nonce, scope, license, stale Date).
    LIC_STATUS_RESPONSE_MISMATCH = 69,
    /// The license key is not a signed key of any Keygen scheme.
    LIC_STATUS_KEY_NOT_SIGNED = 70,
    /// A bug in lic was caught at the boundary; the message says where.
    LIC_STATUS_INTERNAL_PANIC = 99,
}

impl lic_status {
    pub(crate) fn from_kind(kind: ErrorKind) -> lic_status {
        use lic_status::*;
        use ErrorKind as K;
        match kind {
            K::InvalidArgument => LIC_STATUS_INVALID_ARGUMENT,
            K::BufferTooSmall => LIC_STATUS_BUFFER_TOO_SMALL,
            K::NotFound => LIC_STATUS_NOT_FOUND,
            K::ConfigIncomplete => LIC_STATUS_CONFIG_INCOMPLETE,
            K::InsecureUrl => LIC_STATUS_INSECURE_URL,
            K::LicenseInvalid => LIC_STATUS_LICENSE_INVALID,
            K::LicenseNotAllowed => LIC_STATUS_LICENSE_NOT_ALLOWED,
            K::LicenseSuspended => LIC_STATUS_LICENSE_SUSPENDED,
            K::LicenseExpired => LIC_STATUS_LICENSE_EXPIRED,
            K::LicenseBanned => LIC_STATUS_LICENSE_BANNED,
            K::TokenInvalid => LIC_STATUS_TOKEN_INVALID,
            K::TokenNotAllowed => LIC_STATUS_TOKEN_NOT_ALLOWED,
            K::AccessDenied => LIC_STATUS_ACCESS_DENIED,
            K::MachineLimitExceeded => LIC_STATUS_MACHINE_LIMIT_EXCEEDED,
            K::MachineNotActivated => LIC_STATUS_MACHINE_NOT_ACTIVATED,
            K::FingerprintTaken => LIC_STATUS_FINGERPRINT_TAKEN,
            K::ProcessLimitExceeded => LIC_STATUS_PROCESS_LIMIT_EXCEEDED,
            K::HeartbeatDead => LIC_STATUS_HEARTBEAT_DEAD,
            K::ResourceLimitExceeded => LIC_STATUS_RESOURCE_LIMIT_EXCEEDED,
            K::ServerRejected => LIC_STATUS_SERVER_REJECTED,
            K::NoLicenseAvailable => LIC_STATUS_NO_LICENSE_AVAILABLE,
            K::Network => LIC_STATUS_NETWORK_ERROR,
            K::Timeout => LIC_STATUS_TIMEOUT,
            K::Tls => LIC_STATUS_TLS_ERROR,
            K::ServerError => LIC_STATUS_SERVER_ERROR,
            K::RateLimited => LIC_STATUS_RATE_LIMITED,
            K::BadResponse => LIC_STATUS_BAD_RESPONSE,
            K::Io => LIC_STATUS_IO_ERROR,
            K::FileMalformed => LIC_STATUS_FILE_MALFORMED,
            K::SignatureInvalid => LIC_STATUS_SIGNATURE_INVALID,
            K::UnsupportedAlgorithm => LIC_STATUS_UNSUPPORTED_ALGORITHM,
            K::DecryptionFailed => LIC_STATUS_DECRYPTION_FAILED,
            K::FingerprintMismatch => LIC_STATUS_FINGERPRINT_MISMATCH,
            K::NoPublicKey => LIC_STATUS_NO_PUBLIC_KEY,
            K::NoOfflineData => LIC_STATUS_NO_OFFLINE_DATA,
            K::FingerprintUnavailable => LIC_STATUS_FINGERPRINT_UNAVAILABLE,
            K::ResponseMismatch => LIC_STATUS_RESPONSE_MISMATCH,
            K::KeyNotSigned => LIC_STATUS_KEY_NOT_SIGNED,
            K::Internal => LIC_STATUS_INTERNAL_PANIC,
        }
    }

    /// Static text for a status value; "unknown status" for other values.
    pub(crate) fn text(value: i32) -> &'static std::ffi::CStr {
        match value {
            0 => c"ok",
            1 => c"a required argument is NULL",
            2 => c"invalid argument",
            3 => c"a string argument is not valid UTF-8",
            4 => c"output buffer too small",
            5 => c"no such value",
            6 => c"configuration incomplete",
            7 => c"plain http is only allowed to loopback hosts",
            8 => c"the value contains a NUL byte",
            20 => c"license key does not exist",
            21 => c"license-key authentication is not allowed by the policy",
            22 => c"license is suspended",
            23 => c"license is expired",
            24 => c"license is banned",
            25 => c"license token is invalid",
            26 => c"token authentication is not allowed by the policy",
            27 => c"access denied",
            28 => c"machine limit exceeded",
            29 => c"machine is not activated",
            30 => c"fingerprint is taken",
            31 => c"process limit exceeded",
            32 => c"heartbeat is dead",
            33 => c"core, memory or disk limit exceeded",
            34 => c"request rejected by the server",
            35 => c"no license is free in the relay's pool",
            40 => c"network error",
            41 => c"timed out",
            42 => c"TLS error",
            43 => c"server error",
            44 => c"rate limited",
            45 => c"malformed server response",
            60 => c"I/O error",
            61 => c"malformed file",
            62 => c"signature invalid",
            63 => c"unsupported algorithm",
            64 => c"decryption failed",
            65 => c"fingerprint mismatch",
            66 => c"no public key configured",
            67 => c"no offline data",
            68 => c"machine fingerprint unavailable",
            69 => c"response does not match the request",
            70 => c"license key is not signed",
            99 => c"internal error (bug in lic)",
            _ => c"unknown status",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_text() {
        for v in (0..=99).filter(|v| lic_status::text(*v) != c"unknown status") {
            assert!(!lic_status::text(v).to_bytes().is_empty());
        }
        assert_eq!(lic_status::text(-1), c"unknown status");
        assert_eq!(
            lic_status::text(lic_status::LIC_STATUS_TIMEOUT as i32),
            c"timed out"
        );
    }
}

//! The core error type. Every failure the library can report is one `ErrorKind`
//! plus a human message; the C layer maps kinds to `lic_status` in one place
//! (`ffi::status`). Verdicts about a license (expired, suspended, not activated)
//! are never errors: they are data on a validation result.

use std::fmt;

/// What went wrong, grouped as the C statuses are (usage, refused by the server,
/// transport, offline/crypto, bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // Usage.
    InvalidArgument,
    BufferTooSmall,
    NotFound,
    ConfigIncomplete,
    InsecureUrl,
    // Refused by the server (authoritative, signed or not).
    LicenseInvalid,
    LicenseNotAllowed,
    LicenseSuspended,
    LicenseExpired,
    LicenseBanned,
    TokenInvalid,
    TokenNotAllowed,
    AccessDenied,
    MachineLimitExceeded,
    MachineNotActivated,
    FingerprintTaken,
    ProcessLimitExceeded,
    HeartbeatDead,
    ResourceLimitExceeded,
    ServerRejected,
    /// A Keygen Relay has no free license in the pool asked for (410).
    NoLicenseAvailable,
    // Transport.
    Network,
    Timeout,
    Tls,
    ServerError,
    RateLimited,
    BadResponse,
    // Offline and cryptography.
    Io,
    FileMalformed,
    SignatureInvalid,
    UnsupportedAlgorithm,
    DecryptionFailed,
    FingerprintMismatch,
    NoPublicKey,
    NoOfflineData,
    FingerprintUnavailable,
    ResponseMismatch,
    KeyNotSigned,
    // Bug.
    Internal,
}

/// A failure with its kind and a message that names what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds the server asked us to wait (429 `Retry-After`), when known.
    pub retry_after: Option<u64>,
    /// The Keygen error `code` behind a refusal, when the server gave one.
    pub code: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            retry_after: None,
            code: None,
        }
    }

    pub fn with_code(mut self, code: Option<String>) -> Error {
        self.code = code;
        self
    }

    /// True when the failure means "no trustworthy answer was obtained", so a
    /// cached or hand-delivered file may answer instead. A definite refusal by
    /// the server is never in this set.
    pub fn is_no_answer(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Network
                | ErrorKind::Timeout
                | ErrorKind::Tls
                | ErrorKind::ServerError
                | ErrorKind::RateLimited
                | ErrorKind::BadResponse
                | ErrorKind::SignatureInvalid
                | ErrorKind::UnsupportedAlgorithm
                | ErrorKind::ResponseMismatch
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand used across the core: `err(ErrorKind::Io, "…")`.
pub fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T> {
    Err(Error::new(kind, message))
}

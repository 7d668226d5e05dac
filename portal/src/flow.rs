//! What the portal does with one request, on lic's own core: read the
//! request, validate its key for its fingerprint, activate the machine when
//! the license has none for it (with the request's host name and platform),
//! check out a machine file, and say what happened in plain words.
//!
//! The portal acts with the license key from the request (Keygen's license
//! authentication): it holds no admin token and keeps nothing on disk.

use std::sync::Arc;
use std::time::Duration;

use lic::activation::ActivationRequest;
use lic::client::{VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY};
use lic::config::{LogLevel, LogSink};
use lic::crypto::PublicKey;
use lic::machine::HostFacts;
use lic::model::{LicenseInfo, Validation, ValidationCode};
use lic::{Client, Config, Error, ErrorKind};
use serde::Serialize;

/// How the portal reaches the licensing server (one per portal).
#[derive(Clone)]
pub struct Settings {
    pub api_url: String,
    pub account_id: String,
    pub public_key: PublicKey,
    pub product_id: Option<String>,
    /// TTL of the machine files it checks out; `None` asks for files that never expire.
    pub checkout_ttl: Option<i64>,
    pub timeout: Duration,
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Where lic's own warnings go (the request log).
    pub lic_log: Option<LogSink>,
}

impl Settings {
    /// The configuration of a client acting for one request's machine.
    fn config(&self, request: &ActivationRequest) -> Config {
        let key = request.license_key.clone();
        let log = self.lic_log.clone().map(|sink| {
            // lic never logs keys; this makes sure of it here too.
            let redacting: LogSink = Arc::new(move |level: LogLevel, message: &str| {
                sink(level, &message.replace(&key, "<license key>"))
            });
            (redacting, LogLevel::Warn)
        });
        Config {
            account_id: Some(self.account_id.clone()),
            base_url: self.api_url.clone(),
            product_id: self.product_id.clone(),
            license_key: Some(request.license_key.clone()),
            public_keys: lic::crypto::KeySet::of(self.public_key.clone()),
            fingerprint: Some(request.fingerprint.clone()),
            checkout_ttl: self.checkout_ttl,
            timeout: self.timeout,
            ca_bundle: self.ca_bundle.clone(),
            user_agent_suffix: Some(format!("lic-portal/{}", env!("CARGO_PKG_VERSION"))),
            no_cache: true,
            log,
            ..Config::default()
        }
    }

    /// Builds a client once with a placeholder key, so that a bad URL, CA
    /// bundle or account id fails when the portal starts, not per request.
    pub fn check(&self) -> Result<(), Error> {
        let probe = ActivationRequest {
            license_key: "probe".into(),
            fingerprint: "probe".into(),
            hostname: None,
            platform: None,
            app: None,
        };
        Client::new(self.config(&probe)).map(drop)
    }
}

/// What happened, as the page shows it and the request log records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Activated,
    AlreadyActivated,
    LockedElsewhere,
    MachineLimit,
    Suspended,
    Expired,
    Banned,
    UnknownKey,
    NotAllowed,
    InvalidRequest,
    Unavailable,
    Refused,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Activated => "activated",
            Kind::AlreadyActivated => "already_activated",
            Kind::LockedElsewhere => "locked_elsewhere",
            Kind::MachineLimit => "machine_limit",
            Kind::Suspended => "suspended",
            Kind::Expired => "expired",
            Kind::Banned => "banned",
            Kind::UnknownKey => "unknown_key",
            Kind::NotAllowed => "not_allowed",
            Kind::InvalidRequest => "invalid_request",
            Kind::Unavailable => "unavailable",
            Kind::Refused => "refused",
        }
    }
}

/// The machine a request is about, as the page shows it. The license key
/// appears only as a hint (its first and last characters).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub app: Option<String>,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub fingerprint: String,
    pub key_hint: String,
}

impl Summary {
    pub fn of(r: &ActivationRequest) -> Summary {
        Summary {
            app: r.app.clone(),
            hostname: r.hostname.clone(),
            platform: r.platform.clone(),
            fingerprint: r.fingerprint.clone(),
            key_hint: key_hint(&r.license_key),
        }
    }
}

/// `ABCD…V3` for a long key; dots only for a short one.
fn key_hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "•".repeat(chars.len().min(8));
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A machine file to offer for download.
#[derive(Clone, Debug, Serialize)]
pub struct MachineFile {
    pub name: String,
    pub text: String,
    /// When the file stops working (`YYYY-MM-DD`, UTC); `None` for a file
    /// that never expires.
    pub expires: Option<String>,
}

/// The answer to one request.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub outcome: Kind,
    pub title: String,
    pub message: String,
    /// What the server said, for support (code and detail, or lic's message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<MachineFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<Summary>,
}

impl Outcome {
    fn new(kind: Kind, title: &str, message: impl Into<String>) -> Outcome {
        Outcome {
            outcome: kind,
            title: title.to_string(),
            message: message.into(),
            detail: None,
            file: None,
            machine: None,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Outcome {
        self.detail = Some(detail.into());
        self
    }
}

/// Reads a request's text (either form) for the page to show before anything
/// is activated. No network.
pub fn inspect(text: &str) -> Result<Summary, Box<Outcome>> {
    ActivationRequest::parse(text)
        .map(|r| Summary::of(&r))
        .map_err(|e| Box::new(invalid_request(e)))
}

fn invalid_request(e: Error) -> Outcome {
    Outcome::new(
        Kind::InvalidRequest,
        "This is not an activation code lic-portal can read",
        "Scan the code again, or copy its text once more: all of it, from lic1. to the end.",
    )
    .detail(e.message)
}

/// Validates, activates when needed, and checks out a machine file for the
/// request's machine.
pub fn activate(settings: &Settings, text: &str) -> Outcome {
    let request = match ActivationRequest::parse(text) {
        Ok(r) => r,
        Err(e) => return invalid_request(e),
    };
    let mut outcome = match run(settings, &request) {
        Ok(o) => o,
        Err(e) => from_error(&e),
    };
    outcome.machine = Some(Summary::of(&request));
    if let Some(detail) = &mut outcome.detail {
        *detail = detail.replace(&request.license_key, "<license key>");
    }
    outcome
}

fn run(settings: &Settings, request: &ActivationRequest) -> Result<Outcome, Error> {
    let client = Client::new(settings.config(request))?;
    let first = client.validate(VALIDATE_ONLINE_ONLY)?;
    let floating = first.license.as_ref().and_then(|l| l.floating) == Some(true);
    let needs_machine = match first.code {
        ValidationCode::NoMachine | ValidationCode::NoMachines => true,
        // Another machine holds a floating license: there may be room for this one.
        ValidationCode::FingerprintScopeMismatch => floating,
        _ => false,
    };
    if !needs_machine {
        return Ok(match verdict(&first) {
            Some(refusal) => refusal,
            None => with_file(
                &client,
                request,
                Outcome::new(
                    Kind::AlreadyActivated,
                    "This machine was already activated",
                    "It already has its seat, so nothing new was used. Here is a fresh license file for it.",
                ),
            )?,
        });
    }
    let facts = HostFacts {
        hostname: request.hostname.clone(),
        platform: request.platform.clone(),
        cores: None,
    };
    if let Err(e) = client.activate_as(&facts) {
        return Ok(match e.kind {
            ErrorKind::MachineLimitExceeded => {
                machine_limit(first.license.as_ref()).detail(e.message)
            }
            _ => from_error(&e),
        });
    }
    // The license's verdict now that the machine is there (expiry under
    // RESTRICT_ACCESS, for one, only shows after the machine checks).
    let after = client.validate(VALIDATE_ONLINE_ONLY)?;
    if let Some(refusal) = verdict(&after) {
        return Ok(refusal);
    }
    with_file(
        &client,
        request,
        Outcome::new(
            Kind::Activated,
            "This machine is activated",
            "Its license file is ready. The file works only on this machine, and without internet.",
        ),
    )
}

/// Adds the checked-out machine file to a successful outcome. The file is
/// loaded and validated offline here first, exactly as the machine will
/// (signature, license key, fingerprint, expiry), which also gives its end date.
fn with_file(
    client: &Client,
    request: &ActivationRequest,
    mut ok: Outcome,
) -> Result<Outcome, Error> {
    let text = client.checkout_machine_file()?;
    client.load_file(&text)?;
    let offline = client.validate(VALIDATE_OFFLINE_ONLY)?;
    let expires = offline
        .file_expiry
        .map(|ms| lic::time::format_rfc3339(ms)[..10].to_string());
    ok.file = Some(MachineFile {
        name: file_name(request),
        text,
        expires,
    });
    Ok(ok)
}

/// `<host name>-<fingerprint prefix>.lic`, safe on every file system.
fn file_name(request: &ActivationRequest) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(40)
            .collect()
    };
    let host = request
        .hostname
        .as_deref()
        .map(safe)
        .filter(|h| h.chars().any(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "machine".to_string());
    let fp: String = request
        .fingerprint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    if fp.is_empty() {
        return format!("{host}.lic");
    }
    format!("{host}-{fp}.lic")
}

/// `None` when the verdict lets the machine have its file; otherwise what to
/// tell the person.
fn verdict(v: &Validation) -> Option<Outcome> {
    let detail = format!("{}: {}", v.code_text, v.detail);
    let license = v.license.as_ref();
    let o = match v.code {
        ValidationCode::Valid => return None,
        // Expired, but the policy keeps access (MAINTAIN/ALLOW_ACCESS):
        // the file is still what the machine needs.
        ValidationCode::Expired if v.valid => return None,
        ValidationCode::NotFound => unknown_key(),
        ValidationCode::Suspended => suspended(),
        ValidationCode::Banned => banned(),
        ValidationCode::Expired => expired(license),
        ValidationCode::FingerprintScopeMismatch => Outcome::new(
            Kind::LockedElsewhere,
            "This license is in use on another machine",
            "It is locked to one machine, and that is a different one. To move it here, deactivate it on the other machine first (or ask your vendor to release it), then scan this machine's code again.",
        ),
        ValidationCode::TooManyMachines => machine_limit(license),
        ValidationCode::ProductScopeMismatch => Outcome::new(
            Kind::Refused,
            "This license is for another product",
            "The key entered on the machine belongs to a different product than the one this portal activates. Check the key, or use the vendor's portal for that product.",
        ),
        _ => Outcome::new(
            Kind::Refused,
            "The license server refused this machine",
            "The license is not valid for this machine. The details below say why; your vendor can help.",
        ),
    };
    Some(o.detail(detail))
}

fn unknown_key() -> Outcome {
    Outcome::new(
        Kind::UnknownKey,
        "This license key is unknown",
        "The license server has no license with the key entered on the machine. Check the key there (it must match exactly), make a new code and scan it again.",
    )
}

fn suspended() -> Outcome {
    Outcome::new(
        Kind::Suspended,
        "This license is suspended",
        "It cannot activate machines until it is reinstated. Please contact your vendor.",
    )
}

fn banned() -> Outcome {
    Outcome::new(
        Kind::Banned,
        "This license is blocked",
        "Its owner has been banned, so it cannot activate machines. Please contact your vendor.",
    )
}

fn expired(license: Option<&LicenseInfo>) -> Outcome {
    let when = license
        .and_then(|l| l.expiry)
        .map(|ms| format!(" on {}", &lic::time::format_rfc3339(ms)[..10]))
        .unwrap_or_default();
    Outcome::new(
        Kind::Expired,
        "This license has expired",
        format!(
            "It expired{when}. Renew it with your vendor, then scan this machine's code again."
        ),
    )
}

fn machine_limit(license: Option<&LicenseInfo>) -> Outcome {
    let allowed = match license.and_then(|l| l.max_machines) {
        Some(1) => "This license allows one machine, and it is in use".to_string(),
        Some(n) => format!("This license allows {n} machines, and all of them are in use"),
        None => "This license has no room for another machine".to_string(),
    };
    Outcome::new(
        Kind::MachineLimit,
        "No room for another machine",
        format!("{allowed}. Deactivate one of them (or ask your vendor for more), then scan this machine's code again."),
    )
}

/// A failure of a call (not a verdict), in plain words.
fn from_error(e: &Error) -> Outcome {
    let o = match e.kind {
        ErrorKind::LicenseNotAllowed => Outcome::new(
            Kind::NotAllowed,
            "This portal cannot activate machines for this license",
            "The portal acts with the license key, and this license's policy does not allow license-key authentication. The vendor must set the policy's authentication strategy to LICENSE or MIXED.",
        ),
        ErrorKind::LicenseInvalid => unknown_key(),
        ErrorKind::LicenseSuspended => suspended(),
        ErrorKind::LicenseExpired => expired(None),
        ErrorKind::LicenseBanned => banned(),
        ErrorKind::MachineLimitExceeded | ErrorKind::ResourceLimitExceeded => machine_limit(None),
        ErrorKind::FingerprintTaken => Outcome::new(
            Kind::Refused,
            "This machine is activated under another license",
            "Its fingerprint is already in use by a different license of the same product. Use that license's key on the machine, or ask your vendor.",
        ),
        ErrorKind::Network
        | ErrorKind::Timeout
        | ErrorKind::Tls
        | ErrorKind::ServerError
        | ErrorKind::RateLimited
        | ErrorKind::BadResponse
        | ErrorKind::SignatureInvalid
        | ErrorKind::ResponseMismatch => Outcome::new(
            Kind::Unavailable,
            "The license server cannot be reached right now",
            "Nothing was changed. Please try again in a minute.",
        ),
        _ => Outcome::new(
            Kind::Refused,
            "The license server refused this request",
            "The details below say why; your vendor can help.",
        ),
    };
    o.detail(e.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hints_hide_the_middle() {
        assert_eq!(
            key_hint("C1B6DE-39A6E3-DE1529-8559A0-4AF593-V3"),
            "C1B6…3-V3"
        );
        assert_eq!(key_hint("short"), "•••••");
    }

    #[test]
    fn file_names_are_safe() {
        let r = ActivationRequest {
            license_key: "k".into(),
            fingerprint: "../../etc/passwd0123".into(),
            hostname: Some("lab ws/07 ünï".into()),
            platform: None,
            app: None,
        };
        let name = file_name(&r);
        assert!(
            name.starts_with("lab-ws-07-") && name.ends_with(".lic"),
            "{name}"
        );
        assert!(
            name.trim_end_matches(".lic")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{name}"
        );
        let r = ActivationRequest {
            hostname: Some("..".into()),
            fingerprint: "abcdef0123456789".into(),
            ..r
        };
        assert_eq!(file_name(&r), "machine-abcdef01.lic");
    }

    #[test]
    fn refusals_say_what_to_do() {
        let e = Error::new(
            ErrorKind::LicenseNotAllowed,
            "server refused (403 LICENSE_NOT_ALLOWED)",
        );
        let o = from_error(&e);
        assert_eq!(o.outcome, Kind::NotAllowed);
        assert!(o.message.contains("LICENSE or MIXED"));
        assert_eq!(
            from_error(&Error::new(ErrorKind::Timeout, "t")).outcome,
            Kind::Unavailable
        );
        let limit = machine_limit(Some(&LicenseInfo {
            max_machines: Some(3),
            ..LicenseInfo::default()
        }));
        assert!(
            limit.message.contains("allows 3 machines"),
            "{}",
            limit.message
        );
    }
}

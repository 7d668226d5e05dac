//! `lic_config`: a mutable settings object, copied by `lic_client_new`.
//!
//! Every setter takes `lic_config *` (exclusive access: do not call setters
//! on one config from two threads at once), copies its string argument, and
//! does no I/O. A NULL value resets an optional setting to its default.

use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::boundary::{arg_str, boundary, check_out, fail, opt_str, FfiResult};
/// The handle type this part of the API hands out (declared with the others in `handles`).
pub use super::handles::lic_config;
use super::handles::{free_handle, handle_mut, into_handle, lic_event};
use super::status::lic_status;
use crate::config::{
    check_seconds, check_text, checkout_ttl_range, Config, LogLevel, DEFAULT_API_VERSION,
    DEFAULT_BASE_URL, MAX_SECONDS, MIN_CHECKOUT_TTL,
};
use crate::crypto::{KeySet, PublicKey};
use crate::events::{Event, EventSink};

/// Creates a config with every setting at its default.
///
/// On success `*out` is a new config owned by the caller, to be freed with
/// `lic_config_free`. `out` must not be NULL.
/// Returns LIC_STATUS_OK or LIC_STATUS_NULL_ARGUMENT. No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_config_new(out: *mut *mut lic_config) -> lic_status {
    boundary(|| {
        check_out(out, "out")?;
        unsafe { out.write(into_handle::<lic_config>(Config::default())) };
        Ok(())
    })
}

/// Frees a config. NULL is a no-op. Clients built from it are unaffected
/// (they hold their own copy). Must not be called twice on one pointer.
#[no_mangle]
pub unsafe extern "C" fn lic_config_free(config: *mut lic_config) {
    super::boundary::infallible((), || unsafe { free_handle(config) })
}

unsafe fn set_with(
    config: *mut lic_config,
    apply: impl FnOnce(&mut Config) -> FfiResult<()>,
) -> lic_status {
    boundary(|| apply(unsafe { handle_mut(config)? }))
}

unsafe fn text_setting(value: *const c_char, name: &str, max: usize) -> FfiResult<Option<String>> {
    match unsafe { opt_str(value, name)? } {
        Some(v) => Ok(Some(check_text(name, v, max)?)),
        None => Ok(None),
    }
}

/// Sets the Keygen account id (UUID or slug). Required.
///
/// `config` must not be NULL; `account_id` NULL unsets it. The string is copied.
/// Returns OK, NULL_ARGUMENT, INVALID_UTF8 or INVALID_ARGUMENT (empty, too long,
/// control characters). No I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_account_id(
    config: *mut lic_config,
    account_id: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.account_id = text_setting(account_id, "account_id", 256)?;
            Ok(())
        })
    }
}

/// Sets the product id, sent as the validation's product scope so a key of
/// another product never validates. Optional (NULL unsets).
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_product_id(
    config: *mut lic_config,
    product_id: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.product_id = text_setting(product_id, "product_id", 256)?;
            Ok(())
        })
    }
}

/// Sets the API base URL. Default `https://api.keygen.sh` (requests go to
/// `/v1/accounts/{account}/…`); any other URL — a custom domain or a
/// self-hosted Keygen CE — gets `/v1/…`, as Keygen's own SDK does. Plain
/// `http://` is accepted only for loopback hosts unless
/// `lic_config_set_allow_insecure_http` is set (checked by `lic_client_new`).
/// NULL restores the default.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_api_url(
    config: *mut lic_config,
    url: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.base_url =
                text_setting(url, "url", 2048)?.unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
            Ok(())
        })
    }
}

/// Sets the license key. It is sent to the server, used to decrypt files,
/// and never logged. NULL unsets it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_license_key(
    config: *mut lic_config,
    license_key: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.license_key = text_setting(license_key, "license_key", 16384)?;
            Ok(())
        })
    }
}

/// Sets a license token (`activ-…`). When set, authenticated calls use
/// `Bearer <token>` instead of `License <key>`; needed when the policy does
/// not allow license-key authentication. NULL unsets it. Never logged.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_license_token(
    config: *mut lic_config,
    token: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.license_token = text_setting(token, "token", 4096)?;
            Ok(())
        })
    }
}

/// Sets the account's public key, replacing any set before: its Ed25519 key
/// as 64 hex characters (as Keygen's dashboard shows it) or base64 DER/SPKI,
/// or its RSA-2048 or ECDSA P-256 key as PEM or base64 DER (also the base64
/// of the PEM that the account resource's `meta.keys` holds). With a key,
/// every response, file and signed key is verified (with the key of the
/// algorithm it is signed with) and offline fallback is possible; without
/// one answers are unverified (a shipped app must set one). Add the
/// account's other keys with `lic_config_add_public_key`. NULL removes every key.
///
/// `config` must not be NULL; `public_key` may be NULL. The string is copied.
/// Returns OK, NULL_ARGUMENT, INVALID_UTF8 or INVALID_ARGUMENT (malformed, a
/// private key, or a key of a kind Keygen does not sign with; the message
/// names the forms expected), leaving the config unchanged on error. No I/O.
/// Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_public_key(
    config: *mut lic_config,
    public_key: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.public_keys = match opt_str(public_key, "public_key")? {
                Some(text) => KeySet::of(PublicKey::parse(text)?),
                None => KeySet::new(),
            };
            Ok(())
        })
    }
}

/// Adds one more of the account's public keys, in any form
/// `lic_config_set_public_key` takes, to those already set (an app that
/// may meet files, keys or responses signed with more than one of its
/// account's keys sets each). Adding a key already set changes nothing.
/// Verification picks the key by the algorithm a signature names.
///
/// `config` and `public_key` must not be NULL. The string is copied.
/// Returns OK, NULL_ARGUMENT, INVALID_UTF8 or INVALID_ARGUMENT (as
/// `lic_config_set_public_key`), leaving the config unchanged on error. No
/// I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_add_public_key(
    config: *mut lic_config,
    public_key: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            let key = PublicKey::parse(arg_str(public_key, "public_key")?)?;
            if c.public_keys.len() >= 16 {
                return fail(
                    lic_status::LIC_STATUS_INVALID_ARGUMENT,
                    "a config holds at most 16 public keys (an account has three)",
                );
            }
            c.public_keys.add(key);
            Ok(())
        })
    }
}

/// Sets the `Keygen-Version` header (default "1.7"; "1.0"–"1.8" are what
/// Keygen accepts). NULL restores the default.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_api_version(
    config: *mut lic_config,
    version: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.api_version = text_setting(version, "version", 16)?
                .unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
            Ok(())
        })
    }
}

/// Sets the overall deadline of one call, in milliseconds: name resolution,
/// connecting, retries, the response and any follow-up request all end by
/// it. Default 10000. 0 is INVALID_ARGUMENT.
///
/// `config` must not be NULL. No I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_timeout_ms(
    config: *mut lic_config,
    timeout_ms: u32,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            if timeout_ms == 0 {
                return fail(
                    lic_status::LIC_STATUS_INVALID_ARGUMENT,
                    "timeout_ms must be greater than 0",
                );
            }
            c.timeout = Duration::from_millis(timeout_ms.into());
            Ok(())
        })
    }
}

/// Sets the directory where lic keeps the machine file it checks out after
/// activation and its trusted-time mark. Default: the per-user data
/// directory + "lic" (`$XDG_DATA_HOME/lic` or `~/.local/share/lic`,
/// `~/Library/Application Support/lic`, `%LOCALAPPDATA%\lic`). NULL restores
/// the default.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_cache_dir(
    config: *mut lic_config,
    path: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.cache_dir = text_setting(path, "path", 4096)?.map(PathBuf::from);
            Ok(())
        })
    }
}

/// Overrides this machine's fingerprint (for example a stable id passed
/// into a container). NULL restores the built-in fingerprint (HMAC of the OS
/// machine id keyed per app id).
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_fingerprint(
    config: *mut lic_config,
    fingerprint: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.fingerprint = text_setting(fingerprint, "fingerprint", 4096)?;
            Ok(())
        })
    }
}

/// Sets the app id that keys the built-in fingerprint, so two apps on one
/// machine see different fingerprints. Default "lic". NULL restores it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_app_id(
    config: *mut lic_config,
    app_id: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.app_id = text_setting(app_id, "app_id", 256)?.unwrap_or_else(|| "lic".to_string());
            Ok(())
        })
    }
}

/// Appends text to the User-Agent (for example "mygame/1.2"). NULL unsets it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_user_agent_suffix(
    config: *mut lic_config,
    suffix: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.user_agent_suffix = text_setting(suffix, "suffix", 256)?;
            Ok(())
        })
    }
}

/// Allows plain `http://` to hosts that are not loopback (1) or not (0,
/// the default). Only for test rigs: without TLS anyone on the path can
/// answer, and only a configured public key still protects the answers.
///
/// `config` must not be NULL; `allow` must be 0 or 1 (else INVALID_ARGUMENT).
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_allow_insecure_http(
    config: *mut lic_config,
    allow: i32,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.allow_insecure_http = flag(allow, "allow")?;
            Ok(())
        })
    }
}

fn flag(v: i32, name: &str) -> FfiResult<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => fail(
            lic_status::LIC_STATUS_INVALID_ARGUMENT,
            format!("{name} must be 0 or 1"),
        ),
    }
}

/// Sets how far a response's signed `Date` may be from the local clock
/// before it is rejected as a replay (default 300 s). Range 1 to
/// 3155695200 (100 years); outside it INVALID_ARGUMENT, with the range in
/// the message, and the setting is unchanged.
///
/// `config` must not be NULL. No I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_max_response_age_seconds(
    config: *mut lic_config,
    seconds: i64,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.max_response_age = check_seconds("max_response_age_seconds", seconds, 1)?;
            Ok(())
        })
    }
}

/// Sets how far the system clock may be behind the latest trusted time lic
/// has seen before results report a tampered clock (default 600 s). Range 1
/// to 3155695200 (100 years); outside it INVALID_ARGUMENT, with the range in
/// the message, and the setting is unchanged.
///
/// `config` must not be NULL. No I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_clock_tolerance_seconds(
    config: *mut lic_config,
    seconds: i64,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.clock_tolerance = check_seconds("clock_tolerance_seconds", seconds, 1)?;
            Ok(())
        })
    }
}

/// Limits offline answers to files issued at most this long ago, even when
/// the file itself lasts longer. 0 removes the limit (the default); else
/// the range is 1 to 3155695200 (100 years).
///
/// `config` must not be NULL; a negative or larger value is
/// INVALID_ARGUMENT, with the range in the message, and the setting is
/// unchanged. No I/O.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_max_offline_age_seconds(
    config: *mut lic_config,
    seconds: i64,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.max_offline_age = if seconds == 0 {
                None
            } else {
                Some(check_seconds("max_offline_age_seconds", seconds, 1)?)
            };
            Ok(())
        })
    }
}

/// Sets the TTL asked for when lic checks out its cached machine file
/// (default 2629746 s, Keygen's own default). 0 asks for a file that never
/// expires; else the range is 3600 (Keygen's minimum) to 3155695200 (100
/// years: Keygen sets no maximum, but lic must be able to read the file's
/// expiry back).
///
/// `config` must not be NULL; any other value is INVALID_ARGUMENT, with the
/// range in the message, and the setting is unchanged. No I/O.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_checkout_ttl_seconds(
    config: *mut lic_config,
    seconds: i64,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.checkout_ttl = match seconds {
                0 => None,
                s if (MIN_CHECKOUT_TTL..=MAX_SECONDS).contains(&s) => Some(s),
                s => {
                    return fail(
                        lic_status::LIC_STATUS_INVALID_ARGUMENT,
                        checkout_ttl_range(s),
                    )
                }
            };
            Ok(())
        })
    }
}

/// Sets, adds or excludes one hardware component. lic collects this
/// machine's components itself (`machine_id`, `system_uuid`,
/// `board_serial`, `cpu`, `disk`, `mac:<interface>`; see
/// `lic_fingerprint_report`); with a `value`, the component `name` gets it
/// (replacing the built-in one of that name, or adding a new one), for
/// example a stable id a container's host passes in; with `value` NULL the
/// component `name` is not sent. Like every component, the value is sent
/// only as `hex(HMAC-SHA256(key = value, message = app id + "/" + kind))`,
/// where kind is the name up to its first `:`. Settings apply in order;
/// the last for a name wins.
///
/// `config` and `name` must not be NULL; both strings are copied. `name`:
/// 1–255 bytes, `value`: 1–4096 bytes, no control characters; at most 64
/// settings. Returns OK, NULL_ARGUMENT, INVALID_UTF8 or INVALID_ARGUMENT.
/// No I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_add_component(
    config: *mut lic_config,
    name: *const c_char,
    value: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            let name = check_text("name", arg_str(name, "name")?, 255)?;
            let value = text_setting(value, "value", 4096)?;
            if c.components.len() >= 64 && !c.components.iter().any(|(n, _)| *n == name) {
                return fail(
                    lic_status::LIC_STATUS_INVALID_ARGUMENT,
                    "at most 64 component settings are accepted",
                );
            }
            c.components.retain(|(n, _)| *n != name);
            c.components.push((name, value));
            Ok(())
        })
    }
}

/// Sets the offline grace: after the last verified online validation,
/// offline answers (cached or loaded file, signed key) stay valid for this
/// many seconds; after it they are LIC_CODE_GRACE_EXPIRED (valid = 0) until
/// the server answers again. Only signed evidence starts the grace: the
/// signed time (`meta.ts`) of the last verified online validation, kept
/// sealed in the cache directory across restarts (with none recorded, the
/// answering file's signed issue time). The grace's clock never runs
/// backwards: it is the latest of the system clock, the trusted-time mark
/// and the highest clock reading already seen offline, and a clock set
/// back by more than the clock tolerance during the grace ends it. Each
/// verified online answer restarts it. 0 removes the limit (the default);
/// else the range is 1 to 3155695200 (100 years).
///
/// `config` must not be NULL; a negative or larger value is
/// INVALID_ARGUMENT, with the range in the message, and the setting is
/// unchanged. No I/O. Needs exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_offline_grace_seconds(
    config: *mut lic_config,
    seconds: i64,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.offline_grace = if seconds == 0 {
                None
            } else {
                Some(check_seconds("offline_grace_seconds", seconds, 1)?)
            };
            Ok(())
        })
    }
}

/// Sets a Keygen Relay, the on-premise license server of an air-gapped
/// network (`http://relay.lan:6349`, any path prefix allowed): `lic_validate`
/// then leases a license file from it instead of asking Keygen (see
/// `lic_validate`). Plain `http://` is accepted for any host for this
/// setting alone, whatever `lic_config_set_allow_insecure_http` says: Relay
/// has no TLS, and what it hands out is a Keygen-signed file lic verifies
/// with the public key (which must be set), so a forged answer cannot make a
/// license valid; set a signing secret (`lic_config_set_relay_secret`) to
/// refuse answers from anyone but the relay. `https://` works too (a relay
/// behind a TLS proxy). The license key and token must stay unset: the relay
/// hands out the key. NULL unsets it. The URL is parsed by `lic_client_new`
/// (INVALID_ARGUMENT when malformed).
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_relay_url(
    config: *mut lic_config,
    url: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.relay_url = text_setting(url, "url", 2048)?;
            Ok(())
        })
    }
}

/// Sets the relay pool to lease from (sent as `Relay-Pool`). Without one,
/// the relay's own pool (`relay serve --pool`) or its global pool answers.
/// The node id lic claims for is then `hex(HMAC-SHA256(key = fingerprint,
/// message = pool))`, as Relay advises, so a machine is a distinct node in
/// each pool; without a pool it is the fingerprint itself (its SHA-256 when
/// the fingerprint is not URL-safe). Printable ASCII, at most 256 bytes.
/// NULL unsets it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_relay_pool(
    config: *mut lic_config,
    pool: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            let pool = text_setting(pool, "pool", 256)?;
            if pool
                .as_deref()
                .is_some_and(|p| !p.bytes().all(|b| (0x20..0x7f).contains(&b)))
            {
                return fail(
                    lic_status::LIC_STATUS_INVALID_ARGUMENT,
                    "pool must be printable ASCII (it travels in an HTTP header)",
                );
            }
            c.relay_pool = pool;
            Ok(())
        })
    }
}

/// Sets the relay's signing secret (`relay serve --signing-secret`). With it
/// every relay answer must carry a `Relay-Signature` that holds (HMAC-SHA256
/// over its time and body) and a time within
/// `lic_config_set_max_response_age_seconds` of this machine's clock; any
/// other answer is no answer, never believed (the cached file may answer, as
/// for an unreachable relay). Never logged. NULL unsets it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_relay_secret(
    config: *mut lic_config,
    secret: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.relay_secret = text_setting(secret, "secret", 4096)?;
            Ok(())
        })
    }
}

/// Adds a PEM CA bundle trusted besides the bundled web roots (for a
/// self-hosted Keygen CE with a private CA). Read by `lic_client_new`.
/// NULL unsets it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_ca_bundle(
    config: *mut lic_config,
    pem_path: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.ca_bundle = text_setting(pem_path, "pem_path", 4096)?.map(PathBuf::from);
            Ok(())
        })
    }
}

/// Sets an explicit proxy URL (`http://host:port`). Without it lic reads
/// `HTTPS_PROXY`/`ALL_PROXY` and honours `NO_PROXY`; loopback is never
/// proxied. NULL unsets it.
///
/// Ownership, statuses and threading as `lic_config_set_account_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_proxy(
    config: *mut lic_config,
    proxy_url: *const c_char,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.proxy = text_setting(proxy_url, "proxy_url", 2048)?;
            Ok(())
        })
    }
}

/// A log sink: `user_data` as registered, a level (1 error, 2 warn, 3 info,
/// 4 debug) and a NUL-terminated UTF-8 message valid only during the call.
/// Messages never contain license keys or tokens.
pub type lic_log_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

struct SendPtr(*mut c_void);
// SAFETY: the caller promises (documented below) that user_data may be used
// from any thread.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// Sets a log callback receiving messages up to `max_level` (1–4). It is
/// called on whichever thread does the work (the caller's, or lic's
/// heartbeat thread), possibly concurrently, so it and `user_data` must be
/// thread-safe; it must not call back into lic. `user_data` is not owned by
/// lic and must outlive every client built from this config. A NULL
/// callback removes it.
///
/// Returns OK, NULL_ARGUMENT or INVALID_ARGUMENT (level out of range).
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_log_callback(
    config: *mut lic_config,
    callback: lic_log_callback,
    max_level: i32,
    user_data: *mut c_void,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            let level = match max_level {
                1 => LogLevel::Error,
                2 => LogLevel::Warn,
                3 => LogLevel::Info,
                4 => LogLevel::Debug,
                _ => {
                    return fail(
                        lic_status::LIC_STATUS_INVALID_ARGUMENT,
                        "max_level must be 1 (error) to 4 (debug)",
                    )
                }
            };
            c.log = callback.map(|cb| {
                let data = SendPtr(user_data);
                let sink: crate::config::LogSink = Arc::new(move |lvl: LogLevel, msg: &str| {
                    let text = std::ffi::CString::new(msg.replace('\0', " ")).unwrap_or_default();
                    let data = &data;
                    // SAFETY: the callback and user_data are the caller's, valid as documented.
                    cb(data.0, lvl as i32, text.as_ptr())
                });
                (sink, level)
            });
            Ok(())
        })
    }
}

/// An event callback: `user_data` as registered and the event, which
/// belongs to lic and is valid only during the call (read it with the
/// `lic_event_*` accessors; never free it).
pub type lic_event_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const lic_event)>;

/// Sets a callback receiving every event of clients built from this config
/// (heartbeats, slot losses and recoveries, offline fallback, license state
/// changes) instead of their poll queue, so `lic_client_poll_event` finds
/// nothing. It is called on the thread that produced the event — lic's
/// heartbeat thread, or the thread calling `lic_validate` — possibly
/// concurrently, with no lic lock held; it must be quick, thread-safe, and
/// must not free the client. `user_data` is not owned by lic and must
/// outlive every client built from this config. A NULL callback removes it.
///
/// `config` must not be NULL. Returns OK or NULL_ARGUMENT. No I/O. Needs
/// exclusive access to `config`.
#[no_mangle]
pub unsafe extern "C" fn lic_config_set_event_callback(
    config: *mut lic_config,
    callback: lic_event_callback,
    user_data: *mut c_void,
) -> lic_status {
    unsafe {
        set_with(config, |c| {
            c.events = callback.map(|cb| {
                let data = SendPtr(user_data);
                let sink: EventSink = Arc::new(move |event: &Event| {
                    let data = &data;
                    // SAFETY: the callback and user_data are the caller's,
                    // valid as documented; the event outlives the call.
                    cb(data.0, (event as *const Event).cast::<lic_event>())
                });
                sink
            });
            Ok(())
        })
    }
}

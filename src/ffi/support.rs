//! The documents a support desk asks for: `lic_fingerprint_report` (what
//! this machine's fingerprint and components are made of, and how they
//! compare with the activated machine) and `lic_client_diagnostics` (the
//! redacted bundle for a ticket). Both are JSON, versioned, and follow the
//! buffer protocol with the document kept between the length query and the
//! call that fills the buffer.

use std::ffi::c_char;

use super::boundary::{boundary, write_document};
use super::handles::{handle_ref, lic_client};
use super::status::lic_status;
use super::version::LIC_ABI_VERSION;

/// Writes the fingerprint report: a JSON document (UTF-8, NUL-terminated)
/// that explains this machine's fingerprint without revealing it, for a
/// support desk. Schema, `"version": 1` (new fields may be added; a
/// changed meaning gets a new version):
///
/// ```text
/// { "version": 1,
///   "fingerprint": "<hex>" | null,          // what lic sends; null when unavailable
///   "fingerprint_source": "config" | "os_machine_id",
///   "fingerprint_error": "<why>" | null,
///   "app_id": "<app id>", "platform": "linux/x86_64",
///   "environment": { "kind": "bare_metal" | "vm" | "container" | "wsl",
///                    "hypervisor": "<name>" | null, "container": "docker" | "podman" |
///                    "kubernetes" | "lxc" | "containerd" | "<$container>" | null,
///                    "evidence": ["<fact>", …] },
///   "components": [ { "name": "machine_id" | "system_uuid" | "board_serial" | "system_serial" |
///                             "cpu" | "disk" | "mac:<interface>" | "<app name>",
///                     "source": "file" | "registry" | "syscall" | "command" | "app",
///                     "origin": "<path, registry value or command>",
///                     "readable": true | false,
///                     "hash": "<hex HMAC-SHA256(key = value, message = app id + \"/\" + kind)>" | null,
///                     "sent": true | false,            // sent to Keygen (readable, not excluded, ≤ 20)
///                     "note": "<why unreadable / what the app did>" | null,
///                     "activated": "match" | "differs" | "not_activated" | null } ],
///   "activated_machine": { "checked": true | false, "activated": true | false | null,
///                          "error": "<why not checked>" | null,
///                          // when activated:
///                          "machine_id": "<id>", "components": <n on the server>,
///                          "matching": <n>, "differs": ["<name>", …],
///                          "missing": [ { "name": "<name>", "hash": "<hex>" }, … ] },
///   "advice": ["<what to do>", …] }
/// ```
///
/// No raw component value, license key or token ever appears in it. To
/// compare with the activated machine it asks the server (this machine's id,
/// then `GET machines/{id}/components`); when that fails the document says
/// so in `activated_machine.error` and the call still succeeds.
///
/// Buffer protocol; the document made for a too-small buffer is kept (per
/// thread, for a minute) and written by the next call, so asking for the
/// length first gives the same document. `client` must not be NULL. Returns
/// OK, NULL_ARGUMENT or BUFFER_TOO_SMALL. Blocks on the network up to the
/// configured timeout. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_fingerprint_report(
    client: *const lic_client,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| {
        let c = unsafe { handle_ref(client)? };
        unsafe {
            write_document(
                client as usize,
                "fingerprint_report",
                || c.fingerprint_report().to_string(),
                buf,
                buf_len,
                out_len,
            )
        }
    })
}

/// Writes the diagnostics bundle: one JSON document for a support ticket,
/// with no license key, token or file content in it. Schema, `"version": 1`:
///
/// ```text
/// { "version": 1, "lic": { "version": "0.1.0", "abi": 1 },
///   "os": "linux", "arch": "x86_64", "family": "unix",
///   "config": { "api_url", "api_version", "account_id", "product_id", "app_id",
///               "license_key_set", "license_token_set", "public_key_set", "fingerprint_set",
///               "component_settings": [ { "name", "excluded" } ], "timeout_ms",
///               "offline_grace_seconds", "max_offline_age_seconds", "checkout_ttl_seconds",
///               "proxy_set", "ca_bundle_set", "relay_url", "relay_pool", "relay_secret_set" },
///   "relay": { "url", "pool", "signing_secret_set", "node", "cached_file": bool | null,
///              "lease": { "license_id", "expires", "ttl_seconds", "permanent",
///                         "relay_clock_skew_seconds" } | null } | null,
///   "fingerprint_report": { … as lic_fingerprint_report … },
///   "history": [ { "time": "<RFC 3339>", "call": "validate" | "revalidate" | "activate" | "deactivate",
///                  "status": "OK" | "LIC_STATUS_…", "code": "VALID" | … | null,
///                  "valid": bool | null, "source": "online" | "cached_file" | "relay" | … | null,
///                  "message": "<error>" } ],          // the last 32 calls, oldest first
///   "clock": { "state": "unknown" | "ok" | "tampered", "behind_seconds", "system_time",
///              "trusted_mark", "tolerance_seconds" },
///   "grace": { "grace_seconds", "last_online_validation", "last_online_code", "grace_expiry",
///              "highest_offline_clock" },
///   "cache": { "dir", "machine_file": { "name", "present", "size", "verifies", "issued",
///              "expiry", "error" }, "clock_mark": { …, "mark" }, "grace_record": { … },
///              "loaded_file": { "issued", "expiry" } | null },
///   "heartbeat": { "thread_running", "beats": [ { "kind": "slot" | "machine", "id", "state",
///                  "interval_seconds", "last_ok_seconds_ago", "next_in_seconds",
///                  "failed_attempts" } ],
///                  "revalidation": { "interval_seconds", "next_in_seconds", "running" } | null,
///                  "lease": { "state": "held" | "lost", "ttl_seconds", "expires_in_seconds",
///                             "next_in_seconds", "failed_attempts" } | null,
///                  "wakeups", "pings", "revalidations", "renewals" },
///   "slots_held": <n>, "events": { "dropped": <n>, "callback": bool } }
/// ```
///
/// Times are RFC 3339 UTC strings (null when unknown). Buffer protocol as
/// `lic_fingerprint_report` (the document is kept for the second call).
/// `client` must not be NULL. Returns OK, NULL_ARGUMENT or
/// BUFFER_TOO_SMALL. Blocks on the network as `lic_fingerprint_report`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_diagnostics(
    client: *const lic_client,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| {
        let c = unsafe { handle_ref(client)? };
        unsafe {
            write_document(
                client as usize,
                "diagnostics",
                || {
                    let mut doc =
                        c.diagnostics(&|kind| format!("{:?}", lic_status::from_kind(kind)));
                    doc["lic"]["abi"] = LIC_ABI_VERSION.into();
                    doc.to_string()
                },
                buf,
                buf_len,
                out_len,
            )
        }
    })
}

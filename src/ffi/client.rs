//! `lic_client` and the headline calls: `lic_validate`, `lic_activate`,
//! `lic_deactivate`, plus machines and the fingerprint.
//!
//! A `const lic_client *` may be used from any number of threads at once.

use std::ffi::c_char;

use super::boundary::{
    boundary, check_out, infallible, opt_str, register_exit_hook, write_opt_str, write_out,
    write_str,
};
use super::handles::{free_handle, handle_ref, into_handle, lic_config, lic_result};
/// The handle types this part of the API hands out (declared with the others in `handles`).
pub use super::handles::{lic_client, lic_machine, lic_machine_list};
use super::status::lic_status;
use crate::client::Client;
use crate::machine::machine_fingerprint;

/// `lic_validate` flag: activate this machine when the license has none
/// for it (NO_MACHINE, NO_MACHINES, or a floating license's
/// FINGERPRINT_SCOPE_MISMATCH), then validate again.
pub const LIC_VALIDATE_AUTO_ACTIVATE: u32 = 1;
/// `lic_validate` flag: answer only from the server; no offline fallback.
pub const LIC_VALIDATE_ONLINE_ONLY: u32 = 2;
/// `lic_validate` flag: answer only from offline evidence (cached or loaded
/// file, or a signed key); no network.
pub const LIC_VALIDATE_OFFLINE_ONLY: u32 = 4;

/// Builds a client from a copy of `config` (the config stays the caller's
/// and may be freed or reused at once). Checks the settings: the account id
/// must be set, the URL must be valid and https (or loopback), a CA bundle
/// must be readable; with a relay URL, the public key must be set and the
/// license key and token must not be (the relay hands out the key:
/// INVALID_ARGUMENT), and a normal process exit will release its lease as
/// it releases process slots. Does no network I/O.
///
/// On success `*out` is owned by the caller; free it with `lic_client_free`.
/// `config` and `out` must not be NULL. Returns OK, NULL_ARGUMENT,
/// CONFIG_INCOMPLETE, INVALID_ARGUMENT, INSECURE_URL or IO_ERROR.
/// Thread-safe (the config must not be mutated concurrently).
#[no_mangle]
pub unsafe extern "C" fn lic_client_new(
    config: *const lic_config,
    out: *mut *mut lic_client,
) -> lic_status {
    boundary(|| {
        let cfg = unsafe { handle_ref(config)? }.clone();
        check_out(out, "out")?;
        let relay = cfg.relay_url.is_some();
        let client = Client::new(cfg)?;
        if relay {
            // The lease is released at exit too, like process slots.
            register_exit_hook();
        }
        unsafe { out.write(into_handle::<lic_client>(client)) };
        Ok(())
    })
}

/// Frees a client. NULL is a no-op. Stops its background thread (heartbeats,
/// revalidation, the relay lease's renewals) and releases the process slots
/// and the relay lease it still holds (network, bounded to about one
/// second); no event callback runs after it returns (a request in flight on
/// that thread ends on its own within the timeout, delivering nothing). Results and machines obtained from it stay valid.
/// Must not be called twice, nor while another thread is using the client.
#[no_mangle]
pub unsafe extern "C" fn lic_client_free(client: *const lic_client) {
    infallible((), || {
        super::boundary::forget_documents(client as usize);
        // The background thread may hold the client for a moment (a
        // revalidation in flight): stop it now rather than when that ends.
        if let Ok(c) = unsafe { handle_ref(client) } {
            c.shutdown();
        }
        unsafe { free_handle(client) }
    })
}

/// Writes this machine's built-in fingerprint for `app_id` (NULL means the
/// default "lic"): hex HMAC-SHA256 keyed by the OS machine id over the app
/// id, so the raw id never leaves the machine. Buffer protocol: see the
/// header's introduction. Returns OK, BUFFER_TOO_SMALL, NULL_ARGUMENT,
/// INVALID_UTF8 or FINGERPRINT_UNAVAILABLE. Reads a local file; thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_fingerprint(
    app_id: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| {
        let app_id = unsafe { opt_str(app_id, "app_id")? }.unwrap_or("lic");
        let fp = machine_fingerprint(app_id)?;
        unsafe { write_str(&fp, buf, buf_len, out_len) }
    })
}

/// Writes the fingerprint this client uses (the configured override, or the
/// built-in one for its app id). Statuses as `lic_fingerprint`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_fingerprint(
    client: *const lic_client,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| {
        let fp = unsafe { handle_ref(client)? }.fingerprint()?;
        unsafe { write_str(&fp, buf, buf_len, out_len) }
    })
}

/// Validates the configured license key for this machine (Keygen
/// validate-key with this fingerprint, the product when set and a random
/// nonce that the signed answer must echo).
///
/// The verdict is data: whenever an answer was obtained — online, or from a
/// verified cached/loaded file when the server cannot answer — this returns
/// LIC_STATUS_OK and `*out` tells the code (`lic_result_code`), the server's
/// valid flag, the license and where the answer came from. Expired,
/// suspended or not activated are results, not errors.
///
/// `flags`: 0, or any of LIC_VALIDATE_AUTO_ACTIVATE (on NO_MACHINE /
/// NO_MACHINES, and FINGERPRINT_SCOPE_MISMATCH of a floating license,
/// activate this machine and validate again; a node-locked mismatch comes
/// back untouched for the app to handle), LIC_VALIDATE_ONLINE_ONLY (no
/// offline fallback), LIC_VALIDATE_OFFLINE_ONLY (no network). ONLINE_ONLY
/// with OFFLINE_ONLY, or an unknown bit, is LIC_STATUS_INVALID_ARGUMENT.
///
/// With a relay (`lic_config_set_relay_url`) Keygen is not asked: this
/// claims a lease for this machine from the relay (or extends the one it
/// holds), verifies the license file of a new lease with the public key and
/// decrypts it with the key that came with it, and answers from that file:
/// source LIC_SOURCE_RELAY, the lease's end in `lic_result_lease_expiry`.
/// The client's background thread then renews the lease at half its TTL
/// (LIC_EVENT_KIND_LEASE_* events) until `lic_client_free` or exit releases
/// it. No free license in the pool is LIC_STATUS_NO_LICENSE_AVAILABLE; a
/// relay that gives no trustworthy answer (unreachable, a bad or missing
/// signature with a secret set, a file that does not verify, which is
/// refused and its lease given back) makes the last leased file answer
/// offline (LIC_SOURCE_CACHED_FILE) unless ONLINE_ONLY; OFFLINE_ONLY answers
/// from that file without asking; AUTO_ACTIVATE does nothing.
///
/// On success `*out` is owned by the caller; free it with `lic_result_free`.
/// `client` and `out` must not be NULL. Returns OK, or a failure such as
/// CONFIG_INCOMPLETE, NETWORK_ERROR, TIMEOUT, SIGNATURE_INVALID,
/// RESPONSE_MISMATCH (when no offline answer exists), NO_PUBLIC_KEY,
/// NO_OFFLINE_DATA, LICENSE_NOT_ALLOWED and MACHINE_LIMIT_EXCEEDED (from
/// auto-activation), NO_LICENSE_AVAILABLE and SERVER_REJECTED (a relay's 409
/// or unknown pool). Blocks on the network up to the configured timeout in
/// all: one deadline covers the validation, auto-activation and the
/// validation after it, and the follow-ups (this machine's id, the
/// entitlements, a fresh machine file), each started only while a quarter
/// of the timeout is left; a follow-up skipped for lack of time is done by a
/// later call (a machine file stays due until one is cached). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_validate(
    client: *const lic_client,
    flags: u32,
    out: *mut *mut lic_result,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        check_out(out, "out")?;
        let v = client.validate(flags)?;
        unsafe { out.write(into_handle::<lic_result>(v)) };
        Ok(())
    })
}

/// Activates this machine for the license (fingerprint, hostname, platform
/// and core count), authenticating with the license key, or the license
/// token when one is configured. A machine that is already activated is
/// success. After activation lic checks out a signed machine file into its
/// cache for offline use (when a public key is set).
///
/// `out` may be NULL; otherwise `*out` receives the machine, owned by the
/// caller (free with `lic_machine_free`). `client` must not be NULL.
/// Returns OK, MACHINE_LIMIT_EXCEEDED (deactivate another machine first),
/// LICENSE_NOT_ALLOWED (the policy does not allow license-key auth: a setup
/// mistake), LICENSE_SUSPENDED, LICENSE_EXPIRED, LICENSE_INVALID,
/// FINGERPRINT_TAKEN, RESOURCE_LIMIT_EXCEEDED, transport failures.
/// Blocks on the network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_activate(
    client: *const lic_client,
    out: *mut *mut lic_machine,
) -> lic_status {
    boundary(|| {
        let m = unsafe { handle_ref(client)? }.activate()?;
        if !out.is_null() {
            unsafe { out.write(into_handle::<lic_machine>(m)) };
        }
        Ok(())
    })
}

/// Deactivates this machine (`machine_id` NULL) or the machine with that id
/// (to free a slot held by another machine; see `lic_client_machines`).
/// Deactivating this machine also removes its cached machine file.
///
/// `client` must not be NULL. Returns OK, MACHINE_NOT_ACTIVATED (it was not
/// activated), ACCESS_DENIED, LICENSE_NOT_ALLOWED, transport failures.
/// Blocks on the network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_deactivate(
    client: *const lic_client,
    machine_id: *const c_char,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        let id = unsafe { opt_str(machine_id, "machine_id")? };
        client.deactivate(id)?;
        Ok(())
    })
}

/// Lists the machines activated for the license (every page).
///
/// On success `*out` is owned by the caller; free it with
/// `lic_machine_list_free`. `client` and `out` must not be NULL. Returns OK
/// or a failure as `lic_activate`. Blocks on the network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_machines(
    client: *const lic_client,
    out: *mut *mut lic_machine_list,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        check_out(out, "out")?;
        let list = client.machines()?;
        unsafe { out.write(into_handle::<lic_machine_list>(list)) };
        Ok(())
    })
}

/// Number of machines in a list; 0 for NULL. Infallible. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_list_count(list: *const lic_machine_list) -> usize {
    infallible(0, || {
        unsafe { handle_ref(list) }.map(|l| l.len()).unwrap_or(0)
    })
}

/// Copies machine `index` of a list into a new handle owned by the caller
/// (free with `lic_machine_free`). Returns OK, NULL_ARGUMENT or NOT_FOUND
/// (index out of range). No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_list_get(
    list: *const lic_machine_list,
    index: usize,
    out: *mut *mut lic_machine,
) -> lic_status {
    boundary(|| {
        let list = unsafe { handle_ref(list)? };
        check_out(out, "out")?;
        let m = list.get(index).ok_or_else(|| super::boundary::FfiError {
            status: lic_status::LIC_STATUS_NOT_FOUND,
            message: format!(
                "index {index} is out of range (the list has {})",
                list.len()
            ),
        })?;
        unsafe { out.write(into_handle::<lic_machine>(m.clone())) };
        Ok(())
    })
}

/// Frees a machine list. NULL is a no-op. Must not be called twice.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_list_free(list: *mut lic_machine_list) {
    infallible((), || unsafe { free_handle(list) })
}

/// Writes the machine's id. Buffer protocol. Returns OK, NULL_ARGUMENT or
/// BUFFER_TOO_SMALL. No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_id(
    machine: *const lic_machine,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&handle_ref(machine)?.id, buf, buf_len, out_len) })
}

/// Writes the machine's fingerprint. As `lic_machine_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_fingerprint(
    machine: *const lic_machine,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&handle_ref(machine)?.fingerprint, buf, buf_len, out_len) })
}

/// Writes the machine's hostname; NOT_FOUND when it has none. As `lic_machine_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_hostname(
    machine: *const lic_machine,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            handle_ref(machine)?.hostname.as_deref(),
            "hostname",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the machine's platform; NOT_FOUND when it has none. As `lic_machine_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_platform(
    machine: *const lic_machine,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            handle_ref(machine)?.platform.as_deref(),
            "platform",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the machine's name; NOT_FOUND when it has none. As `lic_machine_id`.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_name(
    machine: *const lic_machine,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            handle_ref(machine)?.name.as_deref(),
            "name",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes when the machine was activated, in Unix seconds, to `*out`.
/// Returns OK, NULL_ARGUMENT or NOT_FOUND. No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_created(
    machine: *const lic_machine,
    out: *mut i64,
) -> lic_status {
    boundary(|| {
        let created = unsafe { handle_ref(machine)? }.created;
        match created {
            Some(ms) => unsafe { write_out(out, ms.div_euclid(1000), "out") },
            None => super::boundary::fail(
                lic_status::LIC_STATUS_NOT_FOUND,
                "creation time is not known",
            ),
        }
    })
}

/// Frees a machine. NULL is a no-op. Must not be called twice.
#[no_mangle]
pub unsafe extern "C" fn lic_machine_free(machine: *mut lic_machine) {
    infallible((), || unsafe { free_handle(machine) })
}

//! `lic_process_slot`: concurrency seats (Keygen processes) kept alive by
//! the client's heartbeat thread, and the machine heartbeat monitor.

use std::ffi::c_char;

use super::boundary::{boundary, check_out, infallible, opt_str, register_exit_hook, write_str};
/// The handle type this part of the API hands out (declared with the others in `handles`).
pub use super::handles::lic_process_slot;
use super::handles::{free_handle, handle_mut, handle_ref, into_handle, lic_client};
use super::status::lic_status;

/// Takes a process slot for this machine: spawns a Keygen process (pid: this
/// process's pid plus a random suffix; `label`, when given, goes into its
/// metadata) and keeps it alive from the client's heartbeat thread, which
/// starts with the first slot and pings at half the interval the server
/// reports. The machine must be activated (`lic_activate`, or
/// `lic_validate` with LIC_VALIDATE_AUTO_ACTIVATE). What happens to the slot
/// later arrives as events (`lic_client_poll_event`).
///
/// Slots still held when the client is freed, or when the process exits
/// normally, are released then (best effort, at most about one second). A
/// process that is killed (SIGKILL, crash, power loss) releases nothing: the
/// server culls its slots once their heartbeat window (the policy's
/// heartbeatDuration) passes, and until then they count against the limit.
///
/// On success `*out` is owned by the caller; free it with
/// `lic_process_slot_free` (after `lic_process_slot_release` to give the
/// slot back at once). `client` and `out` must not be NULL; `label` may be
/// NULL and is copied. Returns OK, PROCESS_LIMIT_EXCEEDED (the message has
/// the limit and how many processes are held), MACHINE_NOT_ACTIVATED,
/// INVALID_ARGUMENT, INVALID_UTF8, NULL_ARGUMENT, LICENSE_* refusals and
/// transport failures. Blocks on the network. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_process_slot_acquire(
    client: *const lic_client,
    label: *const c_char,
    out: *mut *mut lic_process_slot,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        let label = unsafe { opt_str(label, "label")? };
        check_out(out, "out")?;
        register_exit_hook();
        let slot = client.acquire_process_slot(label)?;
        unsafe { out.write(into_handle::<lic_process_slot>(slot)) };
        Ok(())
    })
}

/// Gives the slot back to the server (deletes its process) and stops its
/// heartbeat. Idempotent: releasing a released slot, a slot whose client
/// was freed, or one the server no longer has is OK. On a transport failure
/// the slot stays held and heartbeated, and the call may be repeated.
///
/// `slot` must not be NULL. Returns OK, NULL_ARGUMENT, LICENSE_* refusals or
/// transport failures. Blocks on the network. Needs exclusive access to `slot`.
#[no_mangle]
pub unsafe extern "C" fn lic_process_slot_release(slot: *mut lic_process_slot) -> lic_status {
    boundary(|| {
        unsafe { handle_mut(slot)? }.release()?;
        Ok(())
    })
}

/// Writes the id of the Keygen process holding the slot (it changes when a
/// lost slot is recovered with a new process). Buffer protocol. Returns OK,
/// NULL_ARGUMENT or BUFFER_TOO_SMALL. No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_process_slot_id(
    slot: *const lic_process_slot,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&handle_ref(slot)?.id(), buf, buf_len, out_len) })
}

/// 1 when the slot is held right now, 0 when it is lost (being recovered),
/// refused for good, released, or for NULL. Infallible, no I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_process_slot_is_held(slot: *const lic_process_slot) -> i32 {
    infallible(0, || {
        unsafe { handle_ref(slot) }
            .map(|s| i32::from(s.is_held()))
            .unwrap_or(0)
    })
}

/// Frees a slot handle. NULL is a no-op. Never does network I/O: a slot
/// that was not released stays held and heartbeated until its client is
/// freed, which releases it. Must not be called twice.
#[no_mangle]
pub unsafe extern "C" fn lic_process_slot_free(slot: *mut lic_process_slot) {
    infallible((), || unsafe { free_handle(slot) })
}

/// Starts the machine heartbeat monitor, for policies with
/// requireHeartbeat: pings this machine now, then from the client's
/// heartbeat thread at half its heartbeatDuration, retrying failures that
/// get no answer. If the server later declares the machine dead, the
/// monitor stops with a LIC_EVENT_KIND_MACHINE_HEARTBEAT_DEAD event
/// (`lic_validate` then reports HEARTBEAT_DEAD; deactivate and activate
/// again to recover). Already started is OK.
///
/// `client` must not be NULL. Returns OK, NULL_ARGUMENT,
/// MACHINE_NOT_ACTIVATED, HEARTBEAT_DEAD (the machine is already dead),
/// LICENSE_* refusals or transport failures. Blocks on the network for the
/// first ping. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_start_machine_heartbeat(
    client: *const lic_client,
) -> lic_status {
    boundary(|| {
        unsafe { handle_ref(client)? }.start_machine_heartbeat()?;
        Ok(())
    })
}

/// Stops the machine heartbeat monitor (the machine stays activated; the
/// server declares it dead once its heartbeat window passes). Not running
/// is OK. `client` must not be NULL. Returns OK or NULL_ARGUMENT. No I/O.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_stop_machine_heartbeat(
    client: *const lic_client,
) -> lic_status {
    boundary(|| {
        unsafe { handle_ref(client)? }.stop_machine_heartbeat();
        Ok(())
    })
}

/// Starts background revalidation: the client's background thread (the one
/// that serves heartbeats, started if needed) validates the license every
/// `interval_seconds` — never more often, plus up to a tenth of the interval
/// as jitter so a fleet does not call at once; the first run is one interval
/// from now — as `lic_validate(client, 0, …)` would (online, with offline
/// fallback; never auto-activation). What changes arrives as events:
/// LICENSE_STATE_CHANGED (`lic_event_old_code`/`_new_code`, e.g. VALID →
/// SUSPENDED), OFFLINE_ENTERED / OFFLINE_LEFT, GRACE_EXPIRING. 0 means the
/// default interval (3600 s). Starting it again changes the interval.
/// `lic_client_free` stops it (a revalidation in flight then finishes on
/// its own, within the timeout, delivering no events).
///
/// `client` must not be NULL. Returns OK, NULL_ARGUMENT, INVALID_ARGUMENT
/// (negative, or more than a year) or CONFIG_INCOMPLETE (no license key).
/// No I/O in the call. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_start_revalidation(
    client: *const lic_client,
    interval_seconds: i64,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        let secs = u64::try_from(interval_seconds).map_err(|_| super::boundary::FfiError {
            status: lic_status::LIC_STATUS_INVALID_ARGUMENT,
            message: "interval_seconds must not be negative".to_string(),
        })?;
        client.start_revalidation(std::time::Duration::from_secs(secs))?;
        Ok(())
    })
}

/// Stops background revalidation (a run in progress finishes). Not running
/// is OK. `client` must not be NULL. Returns OK or NULL_ARGUMENT. No I/O.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_stop_revalidation(client: *const lic_client) -> lic_status {
    boundary(|| {
        unsafe { handle_ref(client)? }.stop_revalidation();
        Ok(())
    })
}

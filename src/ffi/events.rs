//! `lic_event`: what the heartbeat thread and validation report, drained
//! with `lic_client_poll_event` or received by the callback set with
//! `lic_config_set_event_callback`. Accessors take `const lic_event *`, do
//! no I/O and are safe from any thread.

use std::ffi::c_char;

use super::boundary::{boundary, check_out, infallible, write_opt_str, write_str};
/// The handle type this part of the API hands out (declared with the others in `handles`).
pub use super::handles::lic_event;
use super::handles::{free_handle, handle_ref, into_handle, lic_client};
use super::status::lic_status;
use crate::events::EventKind;
use crate::model::ValidationCode;

/// What an event reports. Values are stable: new kinds are appended.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lic_event_kind {
    /// Not an event (only returned for NULL).
    LIC_EVENT_KIND_NONE = 0,
    /// A heartbeat reached the server (slot id set for slots; the message
    /// names the machine for the machine heartbeat).
    LIC_EVENT_KIND_HEARTBEAT_SENT = 1,
    /// A heartbeat got no answer; lic retries within the window. See
    /// `lic_event_attempt` and `lic_event_time_left_ms`.
    LIC_EVENT_KIND_HEARTBEAT_FAILED = 2,
    /// A slot is no longer held: the server declared it dead or removed it,
    /// or its window passed with no heartbeat. lic tries to get it back.
    LIC_EVENT_KIND_SLOT_LOST = 3,
    /// A lost slot is held again; its id may have changed (`lic_event_slot_id`).
    LIC_EVENT_KIND_SLOT_RECOVERED = 4,
    /// The machine heartbeat monitor stopped: the server declared the
    /// machine dead, or refused its ping for good (the message says why).
    LIC_EVENT_KIND_MACHINE_HEARTBEAT_DEAD = 5,
    /// `lic_validate` answered from offline evidence after online answers.
    LIC_EVENT_KIND_OFFLINE_ENTERED = 6,
    /// `lic_validate` answered online again after offline answers.
    LIC_EVENT_KIND_OFFLINE_LEFT = 7,
    /// A validation's code (from `lic_validate` or the background
    /// revalidation) differs from the previous one's: `lic_event_old_code`
    /// and `lic_event_new_code` have both (the message says "OLD -> NEW").
    LIC_EVENT_KIND_LICENSE_STATE_CHANGED = 8,
    /// Offline answers are close to the end of the offline grace
    /// (`lic_config_set_offline_grace_seconds`); `lic_event_time_left_ms`
    /// has what is left. Sent once per grace period.
    LIC_EVENT_KIND_GRACE_EXPIRING = 9,
    /// The Keygen Relay extended this machine's lease (the heartbeat thread
    /// renews it at half its TTL).
    LIC_EVENT_KIND_LEASE_RENEWED = 10,
    /// A lease renewal got no trustworthy answer (relay unreachable, bad
    /// signature); lic retries until the lease ends. See `lic_event_attempt`
    /// and `lic_event_time_left_ms`.
    LIC_EVENT_KIND_LEASE_RENEWAL_FAILED = 11,
    /// The relay lease is no longer held: it ended without a renewal reaching
    /// the relay, or the relay let it go (the message says which). lic keeps
    /// trying to claim a lease again; validations answer from the cached file
    /// meanwhile.
    LIC_EVENT_KIND_LEASE_LOST = 12,
    /// A lease is held again after LEASE_LOST; the message names the license
    /// (it may be another one of the pool).
    LIC_EVENT_KIND_LEASE_RECOVERED = 13,
}

impl From<EventKind> for lic_event_kind {
    fn from(k: EventKind) -> lic_event_kind {
        use lic_event_kind::*;
        match k {
            EventKind::HeartbeatSent => LIC_EVENT_KIND_HEARTBEAT_SENT,
            EventKind::HeartbeatFailed => LIC_EVENT_KIND_HEARTBEAT_FAILED,
            EventKind::SlotLost => LIC_EVENT_KIND_SLOT_LOST,
            EventKind::SlotRecovered => LIC_EVENT_KIND_SLOT_RECOVERED,
            EventKind::MachineHeartbeatDead => LIC_EVENT_KIND_MACHINE_HEARTBEAT_DEAD,
            EventKind::OfflineEntered => LIC_EVENT_KIND_OFFLINE_ENTERED,
            EventKind::OfflineLeft => LIC_EVENT_KIND_OFFLINE_LEFT,
            EventKind::LicenseStateChanged => LIC_EVENT_KIND_LICENSE_STATE_CHANGED,
            EventKind::GraceExpiring => LIC_EVENT_KIND_GRACE_EXPIRING,
            EventKind::LeaseRenewed => LIC_EVENT_KIND_LEASE_RENEWED,
            EventKind::LeaseRenewalFailed => LIC_EVENT_KIND_LEASE_RENEWAL_FAILED,
            EventKind::LeaseLost => LIC_EVENT_KIND_LEASE_LOST,
            EventKind::LeaseRecovered => LIC_EVENT_KIND_LEASE_RECOVERED,
        }
    }
}

/// Takes the oldest queued event of the client. On success `*out` is the
/// event, owned by the caller (free with `lic_event_free`), or NULL when the
/// queue is empty. The queue keeps the latest 1024 events (see
/// `lic_client_dropped_events`); it stays empty when an event callback is
/// configured, which receives the events instead.
///
/// `client` and `out` must not be NULL. Returns OK or NULL_ARGUMENT. No I/O,
/// never blocks. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_poll_event(
    client: *const lic_client,
    out: *mut *mut lic_event,
) -> lic_status {
    boundary(|| {
        let client = unsafe { handle_ref(client)? };
        check_out(out, "out")?;
        let event = client
            .poll_event()
            .map_or(std::ptr::null_mut(), into_handle::<lic_event>);
        unsafe { out.write(event) };
        Ok(())
    })
}

/// How many events the client's full queue has dropped (the oldest go
/// first); 0 for NULL. Infallible, no I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_client_dropped_events(client: *const lic_client) -> u64 {
    infallible(0, || {
        unsafe { handle_ref(client) }
            .map(|c| c.dropped_events())
            .unwrap_or(0)
    })
}

/// The event's kind; `LIC_EVENT_KIND_NONE` for NULL. Infallible. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_event_get_kind(event: *const lic_event) -> lic_event_kind {
    infallible(lic_event_kind::LIC_EVENT_KIND_NONE, || {
        unsafe { handle_ref(event) }
            .map(|e| e.kind.into())
            .unwrap_or(lic_event_kind::LIC_EVENT_KIND_NONE)
    })
}

/// Writes the id of the slot (its current Keygen process id) a slot event
/// is about. Buffer protocol. Returns OK, NULL_ARGUMENT, BUFFER_TOO_SMALL or
/// NOT_FOUND (not a slot event). No I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_event_slot_id(
    event: *const lic_event,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe {
        write_opt_str(
            handle_ref(event)?.slot_id.as_deref(),
            "slot id",
            buf,
            buf_len,
            out_len,
        )
    })
}

/// Writes the event's human-readable message (never contains the license
/// key). Buffer protocol. Returns OK, NULL_ARGUMENT or BUFFER_TOO_SMALL. No
/// I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_event_message(
    event: *const lic_event,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> lic_status {
    boundary(|| unsafe { write_str(&handle_ref(event)?.message, buf, buf_len, out_len) })
}

/// For HEARTBEAT_FAILED and LEASE_RENEWAL_FAILED, how many attempts in a
/// row have failed; 0 for other events and NULL. Infallible. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_event_attempt(event: *const lic_event) -> u32 {
    infallible(0, || {
        unsafe { handle_ref(event) }.map(|e| e.attempt).unwrap_or(0)
    })
}

/// For HEARTBEAT_FAILED, milliseconds left before the server's heartbeat
/// window closes (0 when it has passed); for GRACE_EXPIRING, milliseconds
/// of offline grace left; for LEASE_RENEWAL_FAILED, milliseconds until the
/// relay lease ends; -1 for other events and NULL. Infallible. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_event_time_left_ms(event: *const lic_event) -> i64 {
    infallible(-1, || {
        unsafe { handle_ref(event) }
            .ok()
            .and_then(|e| e.time_left)
            .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

/// For LICENSE_STATE_CHANGED, the code before the change (`LIC_CODE_*`;
/// `LIC_CODE_UNKNOWN` for codes newer than this library, for other events
/// and for NULL). Infallible, no I/O. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn lic_event_old_code(event: *const lic_event) -> ValidationCode {
    infallible(ValidationCode::Unknown, || {
        unsafe { handle_ref(event) }
            .ok()
            .and_then(|e| e.codes.as_ref())
            .map_or(ValidationCode::Unknown, |(old, _)| {
                ValidationCode::from_text(old)
            })
    })
}

/// For LICENSE_STATE_CHANGED, the code after the change. As
/// `lic_event_old_code`.
#[no_mangle]
pub unsafe extern "C" fn lic_event_new_code(event: *const lic_event) -> ValidationCode {
    infallible(ValidationCode::Unknown, || {
        unsafe { handle_ref(event) }
            .ok()
            .and_then(|e| e.codes.as_ref())
            .map_or(ValidationCode::Unknown, |(_, new)| {
                ValidationCode::from_text(new)
            })
    })
}

/// Frees an event from `lic_client_poll_event`. NULL is a no-op. Never call
/// it on the event passed to a callback. Must not be called twice.
#[no_mangle]
pub unsafe extern "C" fn lic_event_free(event: *mut lic_event) {
    infallible((), || unsafe { free_handle(event) })
}

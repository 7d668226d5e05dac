//! Opaque handles: every C-visible handle type, each a zero-sized marker
//! tied to the Rust value it stands for (rustls-ffi's Castable idea). Every
//! handle is a `Box` of that value, created by `into_handle` and destroyed
//! by `free_handle`. The types live here, below the modules that use them,
//! so no two of those modules need each other.

use super::boundary::{fail, FfiResult};
use super::status::lic_status;
use crate::activation::RequestCode;
use crate::client::Client;
use crate::config::Config;
use crate::events::Event;
use crate::evidence::files::SignatureCheck;
use crate::model::{MachineInfo, Validation};
use crate::slots::ProcessSlot;

pub(crate) trait Castable {
    type Rust;
    const NAME: &'static str;
}

pub(crate) fn into_handle<T: Castable>(value: T::Rust) -> *mut T {
    Box::into_raw(Box::new(value)).cast()
}

/// # Safety
/// `p` is NULL or a live handle of type `T` from `into_handle`.
pub(crate) unsafe fn handle_ref<'a, T: Castable>(p: *const T) -> FfiResult<&'a T::Rust> {
    if p.is_null() {
        return fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("{} handle is NULL", T::NAME),
        );
    }
    Ok(unsafe { &*p.cast::<T::Rust>() })
}

/// # Safety
/// As [`handle_ref`], and no other reference to it is live.
pub(crate) unsafe fn handle_mut<'a, T: Castable>(p: *mut T) -> FfiResult<&'a mut T::Rust> {
    if p.is_null() {
        return fail(
            lic_status::LIC_STATUS_NULL_ARGUMENT,
            format!("{} handle is NULL", T::NAME),
        );
    }
    Ok(unsafe { &mut *p.cast::<T::Rust>() })
}

/// # Safety
/// `p` is NULL or a live handle of type `T` that is not used afterwards.
pub(crate) unsafe fn free_handle<T: Castable>(p: *const T) {
    if !p.is_null() {
        drop(unsafe { Box::from_raw(p.cast_mut().cast::<T::Rust>()) });
    }
}

/// Ties an opaque C type to its Rust counterpart.
macro_rules! castable {
    ($name:ident => $rust:ty) => {
        impl $crate::ffi::handles::Castable for $name {
            type Rust = $rust;
            const NAME: &'static str = stringify!($name);
        }
    };
}

/// An air-gapped activation request: its text and QR code. Create with
/// `lic_client_activation_request`, free with `lic_activation_request_free`.
pub struct lic_activation_request {
    _private: [u8; 0],
}
castable!(lic_activation_request => RequestCode);

/// A licensing client: immutable settings plus connection pool, cache and
/// background work. Create with `lic_client_new`, free with `lic_client_free`.
pub struct lic_client {
    _private: [u8; 0],
}
castable!(lic_client => Client);

/// Client settings. Create with `lic_config_new`, free with `lic_config_free`.
pub struct lic_config {
    _private: [u8; 0],
}
castable!(lic_config => Config);

/// One event. Free a polled event with `lic_event_free`; an event passed to
/// the callback belongs to lic and is valid only during the call.
pub struct lic_event {
    _private: [u8; 0],
}
castable!(lic_event => Event);

/// One machine (activation) of a license. Free with `lic_machine_free`.
pub struct lic_machine {
    _private: [u8; 0],
}
castable!(lic_machine => MachineInfo);

/// The machines of a license. Free with `lic_machine_list_free`.
pub struct lic_machine_list {
    _private: [u8; 0],
}
castable!(lic_machine_list => Vec<MachineInfo>);

/// A held process slot. Create with `lic_process_slot_acquire`, give back
/// with `lic_process_slot_release`, free with `lic_process_slot_free`.
pub struct lic_process_slot {
    _private: [u8; 0],
}
castable!(lic_process_slot => ProcessSlot);

/// A file's signature check, from `lic_file_verify_signature`. Free with
/// `lic_file_signature_free`.
pub struct lic_file_signature {
    _private: [u8; 0],
}
castable!(lic_file_signature => SignatureCheck);

/// A validation result. Free with `lic_result_free`.
pub struct lic_result {
    _private: [u8; 0],
}
castable!(lic_result => Validation);

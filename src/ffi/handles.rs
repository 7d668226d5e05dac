//! Opaque handles. Each C-visible type is a zero-sized marker tied to the
//! Rust value it stands for (rustls-ffi's Castable idea); every handle is a
//! `Box` of that value, created by `into_handle` and destroyed by `free`.

use super::boundary::{fail, FfiResult};
use super::status::lic_status;

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

/// Ties an opaque C type (declared in full where it is used, so cbindgen
/// sees it) to its Rust counterpart.
macro_rules! castable {
    ($name:ident => $rust:ty) => {
        impl $crate::ffi::handles::Castable for $name {
            type Rust = $rust;
            const NAME: &'static str = stringify!($name);
        }
    };
}
pub(crate) use castable;

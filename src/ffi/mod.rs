//! The C ABI in `include/lic.h`, mirroring the core: `config`, `client`,
//! `events`, `evidence`, `activation`, `slots`, `result` (a
//! `model::Validation`), `signature` (a signature-only file check) and
//! `support` (the fingerprint report and diagnostics), over
//! shared infrastructure (`boundary`: panics, arguments, buffers and the
//! last error; `handles`: the opaque types; `status`: `lic_status`).
//! Only this module has raw pointers and `extern "C"`; it translates, and
//! every licensing decision lives in the core.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub(crate) mod boundary;
pub mod client;
pub mod config;
pub mod events;
pub mod evidence;
// After the offline entry points in the header: the air-gapped flow builds on them.
pub mod activation;
pub mod handles;
pub mod result;
pub mod signature;
pub mod slots;
pub mod status;
pub mod support;
#[cfg(test)]
mod tests;
pub mod version;

//! The C ABI. Only this module has raw pointers and `extern "C"`; it
//! translates, and every licensing decision lives in the core modules.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub(crate) mod boundary;
pub mod client;
pub mod config;
pub mod events;
pub(crate) mod handles;
pub mod offline;
pub mod result;
pub mod slots;
pub mod status;
#[cfg(test)]
mod tests;
pub mod version;

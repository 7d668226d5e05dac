//! lic: Keygen licensing for native apps, through a C ABI.
//!
//! The core is pure Rust: `client` (validate, activate, deactivate),
//! `http` and `signature` (transport and response signatures), `offline`,
//! `files`, `signed_key` and `clockmark` (signed files, signed keys, the
//! trusted-time mark), `slots` and `events` (process slots and heartbeats),
//! `cache`, `fingerprint`, `model`, `config`, `crypto`, `time`, `error`.
//! `ffi` translates it to the C API in `include/lic.h`; it is the only module
//! with raw pointers (tests/core_boundary.rs keeps it that way).

pub mod cache;
pub mod client;
pub mod clockmark;
pub mod config;
pub mod crypto;
pub mod error;
pub mod events;
pub mod ffi;
pub mod files;
pub mod fingerprint;
pub mod http;
pub mod model;
pub mod offline;
pub mod signature;
pub mod signed_key;
pub mod slots;
pub mod time;

/// The header cbindgen generated from this build's sources (for the header
/// test; not part of the API).
#[doc(hidden)]
pub const GENERATED_HEADER: &str = include_str!(concat!(env!("OUT_DIR"), "/lic.h"));

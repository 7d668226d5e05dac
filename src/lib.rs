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

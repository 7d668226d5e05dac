//! lic: Keygen licensing for native apps, through a C ABI.
//!
//! # The shape of the core
//!
//! The core is pure Rust, one folder per subsystem, layered so that every
//! dependency points down (`tests/architecture.rs` fails on an import that
//! points up or sideways where this table does not allow it):
//!
//! | layer | module | owns |
//! |---|---|---|
//! | 0 | [`error`], [`time`] | the error type; timestamps, dates and the system clock |
//! | 0 | [`fs`] | reading the files lic is pointed at: regular files only, never blocking, capped |
//! | 1 | [`crypto`] | hashes, HMAC, AES-GCM, encodings, randomness, public keys |
//! | 1 | [`model`] | the shared vocabulary: validation codes, sources, license and machine snapshots, the clock state, a [`model::Validation`] answer |
//! | 1 | [`events`] | the event model and a client's bounded event queue |
//! | 2 | [`config`] | a client's settings as plain data, and the logger |
//! | 3 | [`protocol`] | the Keygen wire: URL rules, TLS, the transport with its one deadline, response signatures, error documents |
//! | 3 | [`machine`] | what this machine is: its fingerprint, host name, platform |
//! | 3 | [`evidence`] | offline evidence: signed files and keys, the cache, the clock mark, offline verdicts |
//! | 3 | [`activation`] | air-gapped activation requests: the `lic1.` text, its parsing, its QR code (SVG, PNG, terminal) |
//! | 3 | [`relay`] | the Keygen Relay wire: claim and release of a lease, pools, `Relay-Signature`, `Relay-Clock`, the node id |
//! | 4 | [`slots`] | process slots and the heartbeat thread |
//! | 5 | [`client`] | the orchestration a `Client` does with all of the above |
//! | 6 | [`ffi`] | the C API in `include/lic.h`, mirroring the core |
//!
//! Why this cut: the things that reach the network (`protocol`), the things
//! that must work without it (`evidence`) and the things that run in the
//! background (`slots`) change for different reasons and are tested
//! differently, so each has a room. None of them knows `Client`: each gets
//! what it needs passed in (a transport, a config view, an event queue), and
//! only `client` puts them together. Data that several rooms read — a
//! validation answer, a license snapshot, an event — lives below them all
//! (`model`, `events`), so no room has to import another to talk about it.
//!
//! `ffi` is the only module with raw pointers, `extern "C"` and `unsafe`
//! (`tests/core_boundary.rs` keeps it that way).
//!
//! The types most programs need are re-exported here: [`Client`],
//! [`Config`], [`Validation`], [`Error`] and [`ErrorKind`].

pub mod error;
pub mod fs;
pub mod time;

pub mod crypto;
pub mod events;
pub mod model;

pub mod config;

pub mod evidence;
pub mod machine;
pub mod protocol;

pub mod slots;

pub mod activation;

pub mod relay;

pub mod client;

pub mod ffi;

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind};
pub use model::Validation;

/// The header cbindgen generated from this build's sources (for the header
/// test; not part of the API).
#[doc(hidden)]
pub const GENERATED_HEADER: &str = include_str!(concat!(env!("OUT_DIR"), "/lic.h"));

//! `lic-devserver`: a local server that speaks the Keygen licensing API faithfully enough that a
//! Keygen client cannot tell it apart for lic's flows. Usable as a binary or in-process; with
//! `Options::tls` it serves HTTPS (rustls), the same API and faults over TLS.
//!
//! ```no_run
//! let server = lic_devserver::DevServer::start(lic_devserver::Options::default()).unwrap();
//! let admin = server.admin();
//! let product = admin.create_product("Demo");
//! # let _ = product;
//! ```
//!
//! # The cut
//!
//! One folder per subsystem, each `mod.rs` opening with what it owns. From the bottom up; a
//! room names only rooms below it, never one above:
//!
//! | room | owns | uses |
//! |---|---|---|
//! | `util` | ids, hex/base64, SHA-256, percent-decoding, calendar time | — |
//! | `store` | the records and their shared rules; the state file | `util` |
//! | `signing` | the account's three keys; response, file and key signatures; Keygen-Accept-Signature | `util` |
//! | `http` | the hyper/tokio server, limits, TLS; Request/Response/Outcome; the `Handler` trait | `util` |
//! | `faults` | the fault queue and what each fault does to an answer | `http`, `signing`, `util` |
//! | `api` | the Keygen API: pipeline, routes per resource, views, params, errors, auth, dev extensions | all of the above |
//! | `relay` | Keygen Relay's API: pools, leases, TTL and reaper, strategies, signatures, `relay add` | `faults`, `http`, `util` |
//! | `client` | the admin and raw HTTP clients for tests and examples | — |
//! | `server` | `DevServer`: start, housekeeping, stop; wires the rooms together | all |
//!
//! `http` knows nothing of Keygen: it serves any `http::Handler`, and `api::App`
//! is the one served today. Where things are:
//!
//! - Ed25519, RSA-2048 and ECDSA P-256 signing: `signing` (response signatures, license and
//!   machine files, and signed keys in all eight schemes, `signing/keys.rs`), reached only
//!   through `signing::Signer`.
//! - Keygen-Version 1.0–1.8 and the request migrations' response shapes: `api/version.rs`,
//!   between routing and rendering (and over the datasets of files).
//! - Machine components: `api/machines.rs` beside machines, over `store` records.
//! - Keygen Relay mode (`PUT/DELETE /v1/nodes/{fingerprint}`) is the `relay` room, a second
//!   API beside `api` with its own `Handler`; `server::RelayServer` serves it (`lic-devserver
//!   relay …`), loaded with license files the Keygen side checked out.
//!
//! # Limits
//!
//! Built so that a test suite's idle or slow clients never lock out its active ones (one
//! runtime thread; a connection is a task, not a thread):
//!
//! - at most 1,024 open connections; at the cap the idlest are closed first (those waiting
//!   longest for their next request), never one whose request is being answered;
//! - 10 s from waiting for a request (after accepting, or after the previous answer) to its last
//!   header line: per request, not per read, so it is also the keep-alive idle timeout;
//! - 10 s for a body once its head has arrived (then 408), 1 MiB per body (413);
//! - 10 s for a TLS handshake; a listen backlog of 4,096.
//!
//! A `hang` fault holds no thread and ends with the server; dropping the server closes every
//! connection within a second.
#![recursion_limit = "256"]
// `Option::is_none_or` would need Rust 1.82; the workspace targets 1.75.
#![allow(clippy::unnecessary_map_or)]

mod api;
mod client;
mod faults;
mod http;
mod relay;
mod server;
mod signing;
mod store;
mod util;

pub use client::{Admin, RawResponse};
pub use http::tls::TlsOptions;
pub use relay::{LicenseRow, RelayOptions, Strategy};
pub use server::{
    checkout_license_file, relay_command, DevServer, Options, RelayRun, RelayServer, RELAY_USAGE,
};
pub use store::Bootstrap;

/// Client helpers shared by the tests, examples and benchmark (not part of the server).
pub mod raw {
    pub use crate::client::{read_response, send, send_tls, validate_throughput};
}

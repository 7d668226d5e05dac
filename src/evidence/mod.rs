//! Offline evidence: signed license and machine files, signed license keys,
//! the on-disk cache, the trusted-time mark, and the verdicts they support.
//! Nothing here reaches the network; the client hands over what it checked out.

pub mod cache;
pub mod clockmark;
pub mod files;
pub mod grace;
pub mod signed_key;
pub mod store;
pub mod verdict;

pub use store::OfflineStore;

use crate::model::Source;

/// A verified, decrypted file and where it came from.
#[derive(Clone)]
pub struct Evidence {
    /// The certificate text as verified (normalized).
    pub certificate: std::sync::Arc<str>,
    pub dataset: files::Dataset,
    pub source: Source,
}

pub mod config;
pub mod crypto;
pub mod error;
pub mod fingerprint;
pub mod http;
pub mod model;
pub mod signature;
pub mod time;

pub mod crypto;
pub mod error;
pub mod signature;
pub mod time;

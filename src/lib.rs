pub mod crypto;
pub mod error;
pub mod time;

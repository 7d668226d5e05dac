//! Nothing here: the crate is its test, `tests/keygen_rs.rs`.

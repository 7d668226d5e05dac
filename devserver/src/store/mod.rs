//! The store and its model: the records (products, policies, licenses, entitlements, machines,
//! processes, tokens), the rules derived from them that several endpoints share (effective
//! limits, heartbeat states, culling), and the state file that keeps them across restarts.

mod model;
mod state;

pub use model::*;
pub use state::{load, save, State};

use serde::{Deserialize, Serialize};

/// The demo records created by `--bootstrap`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Bootstrap {
    pub product_id: String,
    pub policy_id: String,
    pub license_id: String,
    pub license_key: String,
}

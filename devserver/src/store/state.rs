//! The state file (`--state FILE`): identity, clock offset and all data, written atomically.

use super::{Bootstrap, Store};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

const FORMAT: &str = "lic-devserver-state/1";

#[derive(Serialize, Deserialize)]
pub struct State {
    pub format: String,
    pub account_id: String,
    pub admin_token: String,
    pub signing_key_seed: String,
    pub clock_offset_ms: i64,
    pub bootstrap: Option<Bootstrap>,
    pub store: Store,
}

impl State {
    pub fn new(
        account_id: String,
        admin_token: String,
        seed: &[u8; 32],
        clock_offset_ms: i64,
        bootstrap: Option<Bootstrap>,
        store: Store,
    ) -> State {
        State {
            format: FORMAT.into(),
            account_id,
            admin_token,
            signing_key_seed: crate::util::hex(seed),
            clock_offset_ms,
            bootstrap,
            store,
        }
    }

    pub fn seed(&self) -> Option<[u8; 32]> {
        crate::util::unhex(&self.signing_key_seed)?.try_into().ok()
    }
}

fn corrupt(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("state file {} is not usable: {why}", path.display()),
    )
}

/// Loads the state file; `Ok(None)` when it does not exist yet.
pub fn load(path: &Path) -> io::Result<Option<State>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let state: State = serde_json::from_slice(&bytes).map_err(|e| corrupt(path, &e.to_string()))?;
    if state.format != FORMAT {
        return Err(corrupt(path, &format!("unknown format {:?}", state.format)));
    }
    if state.seed().is_none() {
        return Err(corrupt(path, "signing_key_seed is not 64 hex characters"));
    }
    let s = &state.store;
    let orphan = s
        .policies
        .iter()
        .any(|p| s.product(&p.product_id).is_none())
        || s.licenses.iter().any(|l| s.policy(&l.policy_id).is_none())
        || s.machines
            .iter()
            .any(|m| s.license(&m.license_id).is_none())
        || s.processes
            .iter()
            .any(|p| s.machine(&p.machine_id).is_none())
        || s.tokens.iter().any(|t| match &t.product_id {
            Some(p) => s.product(p).is_none(),
            None => s.license(&t.license_id).is_none(),
        });
    if orphan {
        return Err(corrupt(path, "it references records that do not exist"));
    }
    Ok(Some(state))
}

/// Writes to a temporary file in the same directory, syncs it, then renames it into place.
pub fn save(path: &Path, state: &State) -> io::Result<()> {
    let bytes = serde_json::to_vec(state).map_err(io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

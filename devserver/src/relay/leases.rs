//! Relay's tables and its manager's logic, as keygen-relay keeps them in SQLite
//! (`db/migrations/*.sql`, `db/queries/{licenses,nodes}.sql`, `internal/licenses/manager.go`):
//! licenses in pools, nodes by fingerprint, claims by strategy, release, and the reaper's cull.
//! Every operation is one transaction: it either applies whole or (a refused claim) not at all.

use serde::{Deserialize, Serialize};

/// How a free license is picked (`--strategy`, `licenses.sql` ClaimLicense*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// `ORDER BY created_at ASC` (the default).
    Fifo,
    /// `ORDER BY created_at DESC`.
    Lifo,
    /// `ORDER BY RANDOM()`.
    Rand,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "fifo" => Some(Strategy::Fifo),
            "lifo" => Some(Strategy::Lifo),
            "rand" => Some(Strategy::Rand),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct License {
    /// `licenses.id`, the row id (AUTOINCREMENT).
    pub id: i64,
    /// `licenses.guid`: the Keygen license id.
    pub guid: String,
    /// The exact bytes given to `relay add`.
    pub file: Vec<u8>,
    pub key: String,
    pub claims: u64,
    pub last_claimed_at: Option<i64>,
    pub last_released_at: Option<i64>,
    pub node_id: Option<i64>,
    pub pool_id: Option<i64>,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Node {
    pub id: i64,
    pub fingerprint: String,
    pub last_heartbeat_at: Option<i64>,
    pub created_at: i64,
    pub deactivated_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Pool {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

/// A license as `relay ls` / `relay stat` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LicenseRow {
    /// The Keygen license id.
    pub id: String,
    pub key: String,
    pub pool: Option<String>,
    /// The fingerprint of the node leasing it, if any.
    pub node: Option<String>,
    pub claims: u64,
    pub last_claimed_at: Option<i64>,
    pub last_released_at: Option<i64>,
    pub created_at: i64,
}

/// `ErrBadPool`: the pool named does not exist.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BadPool;

/// What a claim did (`OperationStatus`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Claimed {
    /// 201: a new lease on this license.
    Created { file: Vec<u8>, key: String },
    /// 202: the node's lease in this pool was extended.
    Extended,
    /// 409: the node holds a lease and heartbeats are off, or it holds one in another pool.
    Conflict,
    /// 410: no free license in the pool.
    NoLicenses,
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub(super) struct Tables {
    pub licenses: Vec<License>,
    pub nodes: Vec<Node>,
    pub pools: Vec<Pool>,
    next_license: i64,
    next_node: i64,
    next_pool: i64,
}

impl Tables {
    fn pool_by_name(&self, name: &str) -> Option<i64> {
        self.pools.iter().find(|p| p.name == name).map(|p| p.id)
    }

    /// `resolvePool`: no name is the global pool (`pool_id IS NULL`); an unknown name is
    /// `ErrBadPool`.
    pub fn resolve_pool(&self, name: Option<&str>) -> Result<Option<i64>, BadPool> {
        match name {
            None => Ok(None),
            Some(n) => self.pool_by_name(n).map(Some).ok_or(BadPool),
        }
    }

    /// `GetNodeByFingerprint`: only active nodes (`deactivated_at IS NULL`).
    fn active_node(&self, fingerprint: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.fingerprint == fingerprint && n.deactivated_at.is_none())
    }

    fn license_of(&self, node_id: i64, pool: Option<i64>) -> Option<usize> {
        self.licenses
            .iter()
            .position(|l| l.node_id == Some(node_id) && l.pool_id == pool)
    }

    /// `findOrCreatePool` then `InsertLicense`. Returns the new row's Keygen id. The columns
    /// guid, file and key are UNIQUE: a second insert of any of them is refused.
    pub fn insert_license(
        &mut self,
        pool: Option<&str>,
        guid: String,
        file: Vec<u8>,
        key: String,
        now: i64,
    ) -> Result<(), String> {
        if self
            .licenses
            .iter()
            .any(|l| l.guid == guid || l.file == file || l.key == key)
        {
            return Err("license with the provided key already exists".into());
        }
        let pool_id = match pool {
            None => None,
            Some(name) => Some(match self.pool_by_name(name) {
                Some(id) => id,
                None => {
                    self.next_pool += 1;
                    self.pools.push(Pool {
                        id: self.next_pool,
                        name: name.to_string(),
                        created_at: now,
                    });
                    self.next_pool
                }
            }),
        };
        self.next_license += 1;
        self.licenses.push(License {
            id: self.next_license,
            guid,
            file,
            key,
            claims: 0,
            last_claimed_at: None,
            last_released_at: None,
            node_id: None,
            pool_id,
            created_at: now,
        });
        Ok(())
    }

    /// `DeleteLicenseByGUID` (`relay del`). Whether it existed.
    pub fn delete_license(&mut self, guid: &str) -> bool {
        let before = self.licenses.len();
        self.licenses.retain(|l| l.guid != guid);
        before != self.licenses.len()
    }

    /// `ClaimLicense`, in one transaction: resolve the pool, find or activate the node, extend
    /// its lease in this pool (or refuse without heartbeats), else take a free license by
    /// strategy. A claim that takes nothing leaves no trace (the node it activated included).
    pub fn claim(
        &mut self,
        pool: Option<&str>,
        fingerprint: &str,
        strategy: Strategy,
        extend_on_heartbeat: bool,
        now: i64,
        random: u64,
    ) -> Result<Claimed, BadPool> {
        let pool = self.resolve_pool(pool)?;
        // findOrActivateNode: `INSERT … ON CONFLICT (fingerprint) DO UPDATE SET
        // deactivated_at = NULL`, so an inactive node of that fingerprint comes back with its id.
        let (node_id, activated) = match self.active_node(fingerprint) {
            Some(i) => (self.nodes[i].id, None),
            None => match self.nodes.iter().position(|n| n.fingerprint == fingerprint) {
                Some(i) => (self.nodes[i].id, Some(Activation::Reactivate(i))),
                None => (self.next_node + 1, Some(Activation::Insert)),
            },
        };
        if self.license_of(node_id, pool).is_some() {
            if !extend_on_heartbeat {
                return Ok(Claimed::Conflict);
            }
            self.ping(node_id, now);
            return Ok(Claimed::Extended);
        }
        let mut free: Vec<usize> = (0..self.licenses.len())
            .filter(|&i| self.licenses[i].node_id.is_none() && self.licenses[i].pool_id == pool)
            .collect();
        if free.is_empty() {
            return Ok(Claimed::NoLicenses); // rolled back: the node activation too
        }
        // created_at has whole seconds; rows added in one second keep their insertion order.
        free.sort_by_key(|&i| (self.licenses[i].created_at, self.licenses[i].id));
        let pick = match strategy {
            Strategy::Fifo => free[0],
            Strategy::Lifo => {
                let newest = self.licenses[free[free.len() - 1]].created_at;
                *free
                    .iter()
                    .find(|&&i| self.licenses[i].created_at == newest)
                    .unwrap_or(&free[0])
            }
            Strategy::Rand => free[(random % free.len() as u64) as usize],
        };
        // UNIQUE (licenses.node_id): a node holds at most one license, whatever the pool.
        if self.licenses.iter().any(|l| l.node_id == Some(node_id)) {
            return Ok(Claimed::Conflict);
        }
        match activated {
            Some(Activation::Insert) => {
                self.next_node += 1;
                self.nodes.push(Node {
                    id: node_id,
                    fingerprint: fingerprint.to_string(),
                    last_heartbeat_at: None,
                    created_at: now,
                    deactivated_at: None,
                });
            }
            Some(Activation::Reactivate(i)) => self.nodes[i].deactivated_at = None,
            None => {}
        }
        let l = &mut self.licenses[pick];
        l.node_id = Some(node_id);
        l.last_claimed_at = Some(now);
        l.claims += 1;
        let (file, key) = (l.file.clone(), l.key.clone());
        self.ping(node_id, now);
        Ok(Claimed::Created { file, key })
    }

    /// `PingNodeHeartbeatByFingerprint`.
    fn ping(&mut self, node_id: i64, now: i64) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.id == node_id) {
            n.last_heartbeat_at = Some(now);
        }
    }

    /// `ReleaseLicense`: an unknown (or inactive) node is not found before the pool is even
    /// looked at; then the node's license in this pool is freed and the node deactivated.
    /// `Ok(false)`: not found.
    pub fn release(
        &mut self,
        pool: Option<&str>,
        fingerprint: &str,
        now: i64,
    ) -> Result<bool, BadPool> {
        let Some(n) = self.active_node(fingerprint) else {
            return Ok(false);
        };
        let node_id = self.nodes[n].id;
        let pool = self.resolve_pool(pool)?;
        let Some(l) = self.license_of(node_id, pool) else {
            return Ok(false);
        };
        let license = &mut self.licenses[l];
        license.node_id = None;
        license.last_released_at = Some(now);
        self.nodes[n].deactivated_at = Some(now);
        Ok(true)
    }

    /// The reaper's `CullDeadNodes`: licenses of active nodes whose last heartbeat is at least
    /// `ttl` seconds old are freed, and those nodes deactivated. Returns how many nodes.
    pub fn cull(&mut self, ttl_seconds: i64, now: i64) -> usize {
        let cutoff = now - ttl_seconds;
        let dead: Vec<i64> = self
            .nodes
            .iter()
            .filter(|n| n.deactivated_at.is_none())
            .filter(|n| n.last_heartbeat_at.is_some_and(|t| t <= cutoff))
            .map(|n| n.id)
            .collect();
        for l in &mut self.licenses {
            if l.node_id.is_some_and(|id| dead.contains(&id)) {
                l.node_id = None;
                l.last_released_at = Some(now);
            }
        }
        for n in &mut self.nodes {
            if dead.contains(&n.id) {
                n.deactivated_at = Some(now);
            }
        }
        dead.len()
    }

    /// Every license with its pool and node, in row order (`relay ls`).
    pub fn rows(&self) -> Vec<LicenseRow> {
        self.licenses
            .iter()
            .map(|l| LicenseRow {
                id: l.guid.clone(),
                key: l.key.clone(),
                pool: l
                    .pool_id
                    .and_then(|p| self.pools.iter().find(|x| x.id == p))
                    .map(|p| p.name.clone()),
                node: l
                    .node_id
                    .and_then(|id| self.nodes.iter().find(|n| n.id == id))
                    .map(|n| n.fingerprint.clone()),
                claims: l.claims,
                last_claimed_at: l.last_claimed_at,
                last_released_at: l.last_released_at,
                created_at: l.created_at,
            })
            .collect()
    }
}

enum Activation {
    Insert,
    Reactivate(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(pools: &[Option<&str>]) -> Tables {
        let mut t = Tables::default();
        for (i, p) in pools.iter().enumerate() {
            t.insert_license(
                *p,
                format!("l{i}"),
                vec![i as u8],
                format!("k{i}"),
                100 + i as i64,
            )
            .unwrap();
        }
        t
    }

    #[test]
    fn claim_extend_release_and_refusals() {
        let mut t = tables(&[None, None]);
        let claim = |t: &mut Tables, fp: &str| t.claim(None, fp, Strategy::Fifo, true, 200, 0);
        assert!(matches!(claim(&mut t, "a"), Ok(Claimed::Created { key, .. }) if key == "k0"));
        assert_eq!(claim(&mut t, "a"), Ok(Claimed::Extended));
        assert!(matches!(claim(&mut t, "b"), Ok(Claimed::Created { key, .. }) if key == "k1"));
        assert_eq!(claim(&mut t, "c"), Ok(Claimed::NoLicenses));
        assert_eq!(t.nodes.len(), 2, "a refused claim leaves no node behind");
        assert_eq!(t.release(None, "a", 201), Ok(true));
        assert_eq!(t.release(None, "a", 201), Ok(false));
        assert!(matches!(claim(&mut t, "c"), Ok(Claimed::Created { key, .. }) if key == "k0"));
        assert_eq!(t.licenses[0].claims, 2);
    }

    #[test]
    fn no_heartbeats_conflicts_and_pools_are_separate() {
        let mut t = tables(&[None, Some("p"), Some("q")]);
        assert!(matches!(
            t.claim(Some("p"), "n", Strategy::Fifo, false, 1, 0),
            Ok(Claimed::Created { .. })
        ));
        assert_eq!(
            t.claim(Some("p"), "n", Strategy::Fifo, false, 2, 0),
            Ok(Claimed::Conflict)
        );
        // Another pool with a free license: the UNIQUE node_id collision.
        assert_eq!(
            t.claim(Some("q"), "n", Strategy::Fifo, true, 3, 0),
            Ok(Claimed::Conflict)
        );
        assert_eq!(
            t.claim(Some("nope"), "n", Strategy::Fifo, true, 3, 0),
            Err(BadPool)
        );
        assert_eq!(t.release(Some("nope"), "unknown", 3), Ok(false));
        assert_eq!(t.release(Some("nope"), "n", 3), Err(BadPool));
        assert_eq!(t.release(None, "n", 3), Ok(false), "wrong pool");
    }

    #[test]
    fn the_reaper_frees_leases_a_ttl_after_the_last_heartbeat() {
        let mut t = tables(&[None]);
        t.claim(None, "a", Strategy::Fifo, true, 1000, 0).unwrap();
        assert_eq!(t.cull(30, 1029), 0);
        assert_eq!(t.cull(30, 1030), 1);
        assert_eq!(t.rows()[0].node, None);
        assert_eq!(t.release(None, "a", 1031), Ok(false));
        assert!(matches!(
            t.claim(None, "a", Strategy::Fifo, true, 1032, 0),
            Ok(Claimed::Created { .. })
        ));
        assert_eq!(t.nodes.len(), 1, "the node is reactivated, not duplicated");
    }

    #[test]
    fn strategies_pick_by_age() {
        let mut t = tables(&[None, None, None]);
        assert!(matches!(
            t.claim(None, "a", Strategy::Lifo, true, 1, 0),
            Ok(Claimed::Created { key, .. }) if key == "k2"
        ));
        assert!(matches!(
            t.claim(None, "b", Strategy::Rand, true, 1, 7),
            Ok(Claimed::Created { key, .. }) if key == "k1"
        ));
    }
}

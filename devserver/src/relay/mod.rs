//! Keygen Relay mode: a second API beside `api`, as keygen-sh/keygen-relay 1.3.0-beta.1 serves
//! it (`GET /v1/health`, `PUT`/`DELETE /v1/nodes/{fingerprint}`): license files in pools leased
//! to nodes, the TTL and its reaper, strategies, `Relay-Clock`, HMAC `Relay-Signature`, faults.
//!
//! `leases` is Relay's SQLite tables and its manager's claim, release and cull; `add` is the
//! check `relay add` makes of a license file; `routes` is the `http::Handler`: gorilla/mux's
//! routing (404 and 405 answers, path cleaning), the exact bodies Go's `json.Encoder` writes,
//! the signing middleware, the faults of `faults`, and dev extensions under `/v1/dev/`.
//! Reference: `/work/shared/relay-api.md`, and keygen-relay's `internal/server/handler.go`,
//! `middleware.go`, `internal/licenses/manager.go`, `db/queries/*.sql`.

mod add;
mod leases;
mod routes;

pub use leases::{LicenseRow, Strategy};

use crate::faults::Faults;
use leases::Tables;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Relay's `serve` flags (`internal/cmd/serve.go`), plus what a test needs.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// `--bind` (Relay: 0.0.0.0; here loopback, as tests want).
    pub host: String,
    /// `--port` (Relay: 6349; here 0 = any free port).
    pub port: u16,
    /// `--ttl`: how long a lease lives after its last claim (default 60 s).
    pub ttl: Duration,
    /// `--cull-interval`: how often the reaper runs (default 15 s).
    pub cull_interval: Duration,
    /// `--strategy` (default fifo).
    pub strategy: Strategy,
    /// `--no-heartbeats`: no reaper, leases never expire, a re-claim is 409.
    pub no_heartbeats: bool,
    /// `--pool`: serve only this pool.
    pub pool: Option<String>,
    /// `--signing-secret`: sign every routed answer (HMAC-SHA256).
    pub signing_secret: Option<String>,
    /// `relay add --public-key`: the account's Ed25519 public key (hex) license files must be
    /// signed with. Adding needs it.
    pub public_key_hex: Option<String>,
    /// The smallest TTL accepted (Relay: 30 s; lower only for tests).
    pub min_ttl: Duration,
    /// Bearer token of the dev extensions under `/v1/dev/` (random when `None`).
    pub admin_token: Option<String>,
    /// `--database`: keep licenses, pools and nodes (leases) across restarts, in a JSON file
    /// written atomically (Relay uses SQLite). `None` keeps them in memory.
    pub database: Option<PathBuf>,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            host: "127.0.0.1".into(),
            port: 0,
            ttl: Duration::from_secs(60),
            cull_interval: Duration::from_secs(15),
            strategy: Strategy::Fifo,
            no_heartbeats: false,
            pool: None,
            signing_secret: None,
            public_key_hex: None,
            min_ttl: Duration::from_secs(30),
            admin_token: None,
            database: None,
        }
    }
}

const FORMAT: &str = "lic-devserver-relay/1";

#[derive(Serialize, Deserialize)]
struct Saved {
    format: String,
    clock_offset_ms: i64,
    tables: Tables,
}

/// The relay: its settings, tables, faults and clock. Locks are held only while computing an
/// answer.
pub struct Relay {
    ttl: Duration,
    strategy: Strategy,
    heartbeats: bool,
    pool: Option<String>,
    secret: Option<String>,
    public_key_hex: Option<String>,
    pub(crate) admin_token: String,
    tables: Mutex<Tables>,
    faults: Mutex<Faults>,
    clock_offset_ms: AtomicI64,
    database: Option<PathBuf>,
    dirty: AtomicBool,
}

impl Relay {
    /// A relay with `opts`, its tables loaded from the database file when there is one.
    /// A TTL below the minimum is refused with Relay's own message.
    pub fn new(opts: &RelayOptions) -> io::Result<Relay> {
        if opts.ttl < opts.min_ttl {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "time-to-live value must be at least {}",
                    go_duration(opts.min_ttl)
                ),
            ));
        }
        let (tables, offset) = match &opts.database {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let saved: Saved = serde_json::from_slice(&bytes)
                        .ok()
                        .filter(|s: &Saved| s.format == FORMAT)
                        .ok_or_else(|| {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("relay database {} is not usable", path.display()),
                            )
                        })?;
                    (saved.tables, saved.clock_offset_ms)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => (Tables::default(), 0),
                Err(e) => return Err(e),
            },
            None => (Tables::default(), 0),
        };
        Ok(Relay {
            ttl: opts.ttl,
            strategy: opts.strategy,
            heartbeats: !opts.no_heartbeats,
            pool: opts.pool.clone().filter(|p| !p.is_empty()),
            secret: opts.signing_secret.clone().filter(|s| !s.is_empty()),
            public_key_hex: opts.public_key_hex.clone(),
            admin_token: opts.admin_token.clone().unwrap_or_else(|| {
                format!(
                    "relay-admin-{}",
                    crate::util::hex(&crate::util::random_bytes::<16>())
                )
            }),
            tables: Mutex::new(tables),
            faults: Mutex::new(Faults::default()),
            clock_offset_ms: AtomicI64::new(offset),
            database: opts.database.clone(),
            dirty: AtomicBool::new(false),
        })
    }

    /// The relay's clock, Unix ms: real time plus what the dev clock advanced it by.
    pub fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        real.saturating_add(self.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// Whole Unix seconds, as Relay's `time.Now().Unix()` and SQLite's `unixepoch()`.
    fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Whole seconds of TTL (Go's `int64(ttl.Seconds())`).
    fn ttl_s(&self) -> i64 {
        self.ttl.as_secs() as i64
    }

    pub fn heartbeats(&self) -> bool {
        self.heartbeats
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// `relay add`: verifies and decrypts the file with `key`, checks its dates, and stores
    /// its exact bytes in `pool` (created if new). Returns the Keygen license id.
    pub fn add(&self, file: &[u8], key: &str, pool: Option<&str>) -> Result<String, String> {
        let public_key = self
            .public_key_hex
            .as_deref()
            .ok_or("a public key is needed to add licenses (relay add --public-key)")?;
        let accepted = add::check(file, key.trim(), public_key.trim(), self.now_ms())?;
        let guid = accepted.guid.clone();
        self.tables.lock().insert_license(
            pool,
            accepted.guid,
            file.to_vec(),
            accepted.key,
            self.now_s(),
        )?;
        self.changed();
        Ok(guid)
    }

    /// Stores a file without any check, as if Relay's database had been edited (`serve`
    /// never checks a file again): for tests of clients that must refuse what they get.
    pub fn add_unchecked(
        &self,
        guid: &str,
        file: &[u8],
        key: &str,
        pool: Option<&str>,
    ) -> Result<(), String> {
        self.tables.lock().insert_license(
            pool,
            guid.to_string(),
            file.to_vec(),
            key.to_string(),
            self.now_s(),
        )?;
        self.changed();
        Ok(())
    }

    /// `relay del --license ID`: whether it existed.
    pub fn remove(&self, guid: &str) -> bool {
        let removed = self.tables.lock().delete_license(guid);
        self.changed();
        removed
    }

    /// `relay ls`.
    pub fn licenses(&self) -> Vec<LicenseRow> {
        self.tables.lock().rows()
    }

    /// One run of the reaper (no-op without heartbeats): frees the leases whose last claim is
    /// a TTL old. Returns how many nodes it culled.
    pub fn cull(&self) -> usize {
        if !self.heartbeats {
            return 0;
        }
        let n = self.tables.lock().cull(self.ttl_s(), self.now_s());
        if n > 0 {
            self.changed();
        }
        n
    }

    /// Moves the relay's clock by `seconds` (leases and file dates follow it).
    pub fn advance_clock(&self, seconds: i64) {
        self.clock_offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
        self.changed();
    }

    /// Queues a fault (the JSON of `/v1/dev/faults`).
    pub fn push_fault(&self, fault: &serde_json::Value) -> Result<(), String> {
        let f = crate::faults::Fault::parse(fault)?;
        self.faults.lock().push(f);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.faults.lock().clear();
    }

    fn changed(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Writes the database file when something changed since the last save.
    pub fn save_if_changed(&self) -> io::Result<()> {
        let Some(path) = &self.database else {
            return Ok(());
        };
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let saved = Saved {
            format: FORMAT.into(),
            clock_offset_ms: self.clock_offset_ms.load(Ordering::Relaxed),
            tables: self.tables.lock().clone(),
        };
        let bytes = serde_json::to_vec(&saved).map_err(io::Error::other)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}

/// A duration as Go's `time.Duration.String` prints whole seconds and minutes ("30s", "1m0s").
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// Go's `time.ParseDuration` for what Relay's flags take ("30s", "1m", "1h30m", "1.5s",
/// "500ms"); a bare number other than 0 is refused, as Go does ("missing unit").
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let err = |why: &str| format!("time: {why} in duration \"{s}\"");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(err("invalid duration"));
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().map_err(|_| err("invalid duration"))?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(err("missing unit")),
            other => {
                return Err(format!(
                    "time: unknown unit \"{other}\" in duration \"{s}\""
                ))
            }
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Duration::try_from_secs_f64(total).map_err(|_| err("invalid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_go_duration("10")
            .unwrap_err()
            .contains("missing unit"));
        assert!(parse_go_duration("10x")
            .unwrap_err()
            .contains("unknown unit"));
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
    }

    #[test]
    fn a_ttl_below_the_minimum_is_refused_with_relays_words() {
        let e = Relay::new(&RelayOptions {
            ttl: Duration::from_secs(10),
            ..RelayOptions::default()
        })
        .err()
        .unwrap();
        assert_eq!(e.to_string(), "time-to-live value must be at least 30s");
    }
}

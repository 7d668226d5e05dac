//! The evidence behind the offline grace, kept in a small sealed file beside
//! the cache (like the clock mark): the signed time, code and valid flag of
//! the last verified online validation, and the highest local clock
//! reading seen in offline answers since. The HMAC is keyed by the license
//! key and fingerprint, so an edited or transplanted file reads as no
//! record — which starts the grace at the answering file's issue time, never
//! later.
//!
//! Rules the store applies with it (see `OfflineStore::validate`): the grace
//! runs from the last verified online validation; its clock is the latest of
//! the system clock, the trusted-time mark and the highest local reading
//! already seen, so setting the clock back never gives time back; a clock
//! set back beyond the tolerance during the grace ends it.

use std::path::PathBuf;

use parking_lot::Mutex;

use super::cache;
use super::clockmark::PERSIST_STEP;
use crate::crypto::{ct_eq, decode_hex, encode_hex, hmac_sha256, sha256};
use crate::error::Result;
use crate::time::Millis;

const TAG: &str = "lic-grace-v1";
const MAX_FILE: usize = 512;

/// What the grace rests on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraceRecord {
    /// The signed time (`meta.ts`) of the last verified online validation.
    pub last_online: Option<Millis>,
    /// That answer's code text (`-` when none) and valid flag.
    pub code: String,
    pub valid: bool,
    /// The highest local clock reading seen in offline answers since.
    pub highest_local: Option<Millis>,
}

impl GraceRecord {
    fn body(&self) -> String {
        let opt = |v: Option<Millis>| v.map_or("-".to_string(), |t| t.to_string());
        let code = if self.code.is_empty() {
            "-"
        } else {
            &self.code
        };
        format!(
            "{} {} {} {}",
            opt(self.last_online),
            code,
            u8::from(self.valid),
            opt(self.highest_local)
        )
    }

    fn parse(fields: &[&str]) -> Option<GraceRecord> {
        let opt = |s: &str| -> Option<Option<Millis>> {
            if s == "-" {
                Some(None)
            } else {
                s.parse().ok().map(Some)
            }
        };
        let [last, code, valid, highest] = fields else {
            return None;
        };
        if !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c == '-')
        {
            return None;
        }
        Some(GraceRecord {
            last_online: opt(last)?,
            code: if *code == "-" {
                String::new()
            } else {
                code.to_string()
            },
            valid: match *valid {
                "0" => false,
                "1" => true,
                _ => return None,
            },
            highest_local: opt(highest)?,
        })
    }
}

pub struct GraceMark {
    path: PathBuf,
    key: [u8; 32],
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// `None` until the file was first read.
    record: Option<GraceRecord>,
    loaded: bool,
    persisted: Option<GraceRecord>,
}

impl GraceMark {
    pub fn new(path: PathBuf, license_key: &str, fingerprint: &str) -> GraceMark {
        GraceMark {
            path,
            key: sha256(format!("{TAG}\0{license_key}\0{fingerprint}").as_bytes()),
            known: Mutex::new(Known::default()),
        }
    }

    fn mac(&self, body: &str) -> [u8; 32] {
        hmac_sha256(&self.key, body.as_bytes())
    }

    /// The record on disk; `None` when absent, malformed or not sealed by
    /// this license key and fingerprint.
    pub fn load(&self) -> Option<GraceRecord> {
        let data = cache::read_capped(&self.path, MAX_FILE).ok()??;
        let text = std::str::from_utf8(&data).ok()?;
        let fields: Vec<&str> = text.split_ascii_whitespace().collect();
        if fields.len() != 6 || fields[0] != TAG {
            return None;
        }
        let record = GraceRecord::parse(&fields[1..5])?;
        ct_eq(&decode_hex(fields[5])?, &self.mac(&record.body())).then_some(record)
    }

    fn current(&self, k: &mut Known) -> Option<GraceRecord> {
        if !k.loaded {
            k.loaded = true;
            let loaded = self.load();
            k.record = loaded.clone();
            k.persisted = loaded;
        }
        k.record.clone()
    }

    /// What the record says now (the file is read once per process).
    pub fn get(&self) -> Option<GraceRecord> {
        self.current(&mut self.known.lock())
    }

    fn write(&self, k: &mut Known, record: GraceRecord) -> Result<()> {
        let body = record.body();
        let line = format!("{TAG} {body} {}\n", encode_hex(&self.mac(&body)));
        k.record = Some(record.clone());
        cache::write_atomic(&self.path, line.as_bytes())?;
        k.persisted = Some(record);
        Ok(())
    }

    /// A verified online validation signed at `ts`: the grace starts again
    /// from it (an older answer than the one recorded changes nothing).
    /// Written when the code or flag changed, the time rose by
    /// `PERSIST_STEP`, or offline readings are to be forgotten.
    pub fn online(&self, ts: Millis, code: &str, valid: bool) -> Result<()> {
        let mut k = self.known.lock();
        let before = self.current(&mut k);
        if before
            .as_ref()
            .and_then(|r| r.last_online)
            .is_some_and(|t| ts < t)
        {
            return Ok(());
        }
        let record = GraceRecord {
            last_online: Some(ts),
            code: code.to_string(),
            valid,
            highest_local: None,
        };
        let quiet = k.persisted.as_ref().is_some_and(|p| {
            p.code == record.code
                && p.valid == record.valid
                && p.highest_local.is_none()
                && p.last_online.is_some_and(|t| ts < t + PERSIST_STEP)
        });
        if quiet {
            k.record = Some(record);
            return Ok(());
        }
        self.write(&mut k, record)
    }

    /// An offline answer made when the local clock read `local`. Written
    /// when the highest reading rose by `PERSIST_STEP`.
    pub fn offline_seen(&self, local: Millis) -> Result<()> {
        let mut k = self.known.lock();
        let mut record = self.current(&mut k).unwrap_or_default();
        if record.highest_local.is_some_and(|h| h >= local) {
            return Ok(());
        }
        record.highest_local = Some(local);
        let quiet = k.persisted.as_ref().is_some_and(|p| {
            p.last_online == record.last_online
                && p.highest_local.is_some_and(|h| local < h + PERSIST_STEP)
        });
        if quiet {
            k.record = Some(record);
            return Ok(());
        }
        self.write(&mut k, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::cache::tests::TempDir;

    fn mark(t: &TempDir) -> GraceMark {
        GraceMark::new(t.0.join("grace"), "KEY", "fp")
    }

    #[test]
    fn online_then_offline_round_trips_sealed() {
        let t = TempDir::new("grace-rt");
        let m = mark(&t);
        assert_eq!(m.get(), None);
        m.online(1_000_000, "VALID", true).unwrap();
        m.offline_seen(1_500_000).unwrap();
        let fresh = mark(&t).get().unwrap();
        assert_eq!(fresh.last_online, Some(1_000_000));
        assert_eq!((fresh.code.as_str(), fresh.valid), ("VALID", true));
        assert_eq!(fresh.highest_local, Some(1_500_000));
        // Small rises stay in memory; a later online answer resets the readings.
        m.offline_seen(1_500_500).unwrap();
        assert_eq!(mark(&t).get().unwrap().highest_local, Some(1_500_000));
        assert_eq!(m.get().unwrap().highest_local, Some(1_500_500));
        m.online(2_000_000, "VALID", true).unwrap();
        assert_eq!(mark(&t).get().unwrap().highest_local, None);
        // An older answer does not move the start back.
        m.online(1_900_000, "SUSPENDED", false).unwrap();
        assert_eq!(m.get().unwrap().last_online, Some(2_000_000));
        // A change of code is written at once.
        m.online(2_000_001, "SUSPENDED", false).unwrap();
        assert_eq!(mark(&t).get().unwrap().code, "SUSPENDED");
    }

    #[test]
    fn edited_or_foreign_records_count_as_none() {
        let t = TempDir::new("grace-tamper");
        let m = mark(&t);
        m.online(1_700_000_000_000, "VALID", true).unwrap();
        let good = std::fs::read_to_string(t.0.join("grace")).unwrap();
        let later = good.replace("1700000000000", "1800000000000");
        std::fs::write(t.0.join("grace"), later).unwrap();
        assert_eq!(mark(&t).get(), None);
        std::fs::write(t.0.join("grace"), &good).unwrap();
        assert!(mark(&t).get().is_some());
        assert_eq!(
            GraceMark::new(t.0.join("grace"), "KEY", "other").get(),
            None
        );
        for bad in ["", "lic-grace-v1 1 VALID 1 - 00", "garbage"] {
            std::fs::write(t.0.join("grace"), bad).unwrap();
            assert_eq!(mark(&t).get(), None, "{bad:?}");
        }
    }
}

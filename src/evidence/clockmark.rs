//! A high-water mark of trusted time (server `Date` headers, file `issued`
//! times), kept in a small file beside the cache. A local clock earlier than
//! the mark means the clock was turned back. The file carries an HMAC keyed by
//! the license key and fingerprint, so an edited or transplanted mark reads as
//! no mark at all rather than as a different time.

use std::path::PathBuf;

use parking_lot::Mutex;

use super::cache;
use crate::crypto::{ct_eq, decode_hex, encode_hex, hmac_sha256, sha256};
use crate::error::Result;
use crate::model::ClockState;
use crate::time::Millis;

const TAG: &str = "lic-clockmark-v1";
const MAX_FILE: usize = 256;

pub struct ClockMark {
    path: PathBuf,
    key: [u8; 32],
    known: Mutex<Known>,
}

/// What this process knows of the mark. Never lowered, so deleting or
/// editing the file while we run does not reset it.
#[derive(Default)]
struct Known {
    /// `None` until the file was first read.
    mark: Option<Option<Millis>>,
    /// What the file holds, as last read or written.
    persisted: Option<Millis>,
}

/// The file is rewritten once the mark has risen this much since the last
/// write: a busy app does not write on every validation, and at most this
/// much of the mark is lost if the process dies.
pub(crate) const PERSIST_STEP: Millis = 60_000;

impl ClockMark {
    pub fn new(path: PathBuf, license_key: &str, fingerprint: &str) -> ClockMark {
        let key = sha256(format!("{TAG}\0{license_key}\0{fingerprint}").as_bytes());
        ClockMark {
            path,
            key,
            known: Mutex::new(Known::default()),
        }
    }

    fn mac(&self, mark: Millis) -> [u8; 32] {
        hmac_sha256(&self.key, mark.to_string().as_bytes())
    }

    /// The mark stored on disk; `None` when absent, unreadable, malformed or
    /// not authenticated by this license key and fingerprint.
    pub fn load(&self) -> Option<Millis> {
        let data = cache::read_capped(&self.path, MAX_FILE).ok()??;
        let text = std::str::from_utf8(&data).ok()?;
        let mut parts = text.split_ascii_whitespace();
        let (tag, field, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if tag != TAG || parts.next().is_some() {
            return None;
        }
        let mark: Millis = field.parse().ok()?;
        ct_eq(&decode_hex(mac)?, &self.mac(mark)).then_some(mark)
    }

    fn known_mark(&self, st: &mut Known) -> Option<Millis> {
        match st.mark {
            Some(m) => m,
            None => {
                let loaded = self.load();
                st.mark = Some(loaded);
                st.persisted = loaded;
                loaded
            }
        }
    }

    /// Raises the mark to `trusted` when that is newer (the file is read
    /// once per process). The file is written when it has no mark yet or the
    /// mark has risen by `PERSIST_STEP` since the last write; each write puts
    /// back the newest mark, so a deleted or edited file is restored then.
    pub fn observe(&self, trusted: Millis) -> Result<()> {
        let mut st = self.known.lock();
        let newest = self.known_mark(&mut st).map_or(trusted, |m| m.max(trusted));
        st.mark = Some(Some(newest));
        if st.persisted.is_some_and(|p| newest < p + PERSIST_STEP) {
            return Ok(());
        }
        let line = format!("{TAG} {newest} {}\n", encode_hex(&self.mac(newest)));
        cache::write_atomic(&self.path, line.as_bytes())?;
        st.persisted = Some(newest);
        Ok(())
    }

    /// The mark as this process knows it (the file is read on first use).
    pub fn mark(&self) -> Option<Millis> {
        let mut st = self.known.lock();
        self.known_mark(&mut st)
    }

    /// Compares `now` with the mark: `Tampered` when `now` is more than
    /// `tolerance_ms` before it. Reads the file only on first use.
    pub fn check(&self, now: Millis, tolerance_ms: i64) -> ClockState {
        let mut st = self.known.lock();
        match self.known_mark(&mut st) {
            None => ClockState::Unknown,
            Some(m) if now < m.saturating_sub(tolerance_ms) => ClockState::Tampered {
                behind_ms: m.saturating_sub(now),
            },
            Some(_) => ClockState::Ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::cache::tests::TempDir;

    const KEY: &str = "B10760-1B177D-656D1F-C03298-9AF89E-V3";
    const FP: &str = "198e9fe586114844f6a4eaca5069b41a7ed43fb5a2df84892b69826d64573e39";

    fn mark_in(t: &TempDir) -> ClockMark {
        ClockMark::new(t.0.join("clock.mark"), KEY, FP)
    }

    #[test]
    fn absent_is_unknown() {
        let t = TempDir::new("cm-absent");
        let m = mark_in(&t);
        assert_eq!(m.load(), None);
        assert_eq!(m.check(1_000, 0), ClockState::Unknown);
    }

    #[test]
    fn raise_only() {
        let t = TempDir::new("cm-raise");
        let m = mark_in(&t);
        m.observe(5_000).unwrap();
        assert_eq!(m.load(), Some(5_000));
        let written = file_id(&m);

        m.observe(4_000).unwrap();
        m.observe(5_000).unwrap();
        assert_eq!(m.load(), Some(5_000));
        assert_eq!(
            file_id(&m),
            written,
            "a lower or equal time must not rewrite the file"
        );

        // A small rise is kept in memory; the file is rewritten only once
        // the mark has risen by PERSIST_STEP.
        m.observe(9_000).unwrap();
        assert_eq!(m.load(), Some(5_000));
        assert_eq!(m.check(8_000, 0), ClockState::Tampered { behind_ms: 1_000 });
        let high = 5_000 + PERSIST_STEP;
        m.observe(high).unwrap();
        assert_eq!(m.load(), Some(high));
        assert_ne!(file_id(&m), written);
        // Another handle on the same file sees the raised mark.
        assert_eq!(
            mark_in(&t).check(high - 1_000, 0),
            ClockState::Tampered { behind_ms: 1_000 }
        );
        // ...and never lowers it, even though it has seen less.
        let other = mark_in(&t);
        other.observe(7_000).unwrap();
        assert_eq!(m.load(), Some(high));
        assert_eq!(
            other.check(high - 1_000, 0),
            ClockState::Tampered { behind_ms: 1_000 }
        );
    }

    /// Identifies the file version: every write replaces the file.
    fn file_id(m: &ClockMark) -> impl PartialEq + std::fmt::Debug {
        let meta = std::fs::metadata(&m.path).unwrap();
        #[cfg(unix)]
        return std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        return meta.modified().unwrap();
    }

    #[test]
    fn tolerance_edges() {
        let t = TempDir::new("cm-tol");
        let m = mark_in(&t);
        m.observe(100_000).unwrap();
        assert_eq!(m.check(100_000, 0), ClockState::Ok);
        assert_eq!(m.check(200_000, 0), ClockState::Ok);
        assert_eq!(m.check(99_999, 0), ClockState::Tampered { behind_ms: 1 });
        assert_eq!(m.check(90_000, 10_000), ClockState::Ok);
        assert_eq!(
            m.check(89_999, 10_000),
            ClockState::Tampered { behind_ms: 10_001 }
        );
        assert_eq!(m.check(0, i64::MAX), ClockState::Ok);
        assert_eq!(
            m.check(i64::MIN, 0),
            ClockState::Tampered {
                behind_ms: i64::MAX
            }
        );
    }

    #[test]
    fn edited_or_foreign_file_counts_as_no_mark() {
        let t = TempDir::new("cm-tamper");
        let m = mark_in(&t);
        m.observe(1_700_000_000_000).unwrap();
        let good = std::fs::read_to_string(&m.path).unwrap();

        // Lowering the time (the point of tampering) breaks the HMAC.
        let edited = good.replace("1700000000000", "1600000000000");
        assert_ne!(edited, good);
        std::fs::write(&m.path, &edited).unwrap();
        assert_eq!(m.load(), None);
        assert_eq!(mark_in(&t).check(0, 0), ClockState::Unknown);

        for bad in [
            String::new(),
            "garbage".to_string(),
            good.replace(TAG, "lic-clockmark-v2"),
            format!("{} extra", good.trim()),
            good[..good.len() - 3].to_string(),
        ] {
            std::fs::write(&m.path, &bad).unwrap();
            assert_eq!(m.load(), None, "{bad:?}");
        }

        // A genuine mark from another license key or machine does not count.
        std::fs::write(&m.path, &good).unwrap();
        assert_eq!(m.load(), Some(1_700_000_000_000));
        let other_fp = ClockMark::new(m.path.clone(), KEY, "another-machine");
        assert_eq!(other_fp.load(), None);
        let other_key = ClockMark::new(m.path.clone(), "OTHER-KEY", FP);
        assert_eq!(other_key.load(), None);
    }

    #[test]
    fn memory_copy_survives_file_loss() {
        let t = TempDir::new("cm-mem");
        let m = mark_in(&t);
        m.observe(50_000).unwrap();
        std::fs::remove_file(&m.path).unwrap();
        assert_eq!(m.load(), None);
        assert_eq!(
            m.check(40_000, 0),
            ClockState::Tampered { behind_ms: 10_000 }
        );
        // An older observation does not lower the mark; the next write
        // (after a rise of PERSIST_STEP) restores the file.
        m.observe(45_000).unwrap();
        assert_eq!(
            m.check(46_000, 0),
            ClockState::Tampered { behind_ms: 4_000 }
        );
        m.observe(50_000 + PERSIST_STEP).unwrap();
        assert_eq!(m.load(), Some(50_000 + PERSIST_STEP));
    }

    #[test]
    fn check_reads_disk_once() {
        let t = TempDir::new("cm-once");
        let m = mark_in(&t);
        mark_in(&t).observe(10_000).unwrap();
        assert_eq!(m.check(5_000, 0), ClockState::Tampered { behind_ms: 5_000 });
        std::fs::remove_file(&m.path).unwrap();
        assert_eq!(m.check(5_000, 0), ClockState::Tampered { behind_ms: 5_000 });
    }

    #[test]
    fn shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ClockMark>();
        let t = TempDir::new("cm-threads");
        let m = std::sync::Arc::new(mark_in(&t));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for j in 0..20 {
                        m.observe(1_000 + j * 10 + i).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            m.check(0, 0),
            ClockState::Tampered {
                behind_ms: 1_000 + 19 * 10 + 3
            }
        );
        assert!(
            m.load().is_some_and(|p| (1_000..=1_003).contains(&p)),
            "the first observation is written, later small rises are not"
        );
    }
}

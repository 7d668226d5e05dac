//! The on-disk store for offline evidence (checked-out files, signed
//! responses, the clock mark): whole-file atomic replacement, owner-only
//! permissions on unix, bounded reads, and file names that never contain a
//! license key.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::crypto::{encode_hex, random_bytes, sha256};
use crate::error::{Error, ErrorKind, Result};

fn io_error(action: &str, path: &Path, e: io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot {action} {}: {e}", path.display()),
    )
}

/// Replaces `path` with `data` so that readers see either the old or the new
/// content, never a mix: the data goes to a unique temporary file in the same
/// directory (`.<name>.<pid>.<16 hex>.tmp`), is flushed to disk, then renamed
/// over the target. Missing parent directories are created (0700 on unix);
/// the file is 0600 on unix. Temporary files a killed writer left behind for
/// the same target, and old files moved aside on Windows, are removed first
/// (see [`remove_stale_temps`]).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("cache path {} does not name a file", path.display()),
        ));
    };
    create_private_dir(dir).map_err(|e| io_error("create directory", dir, e))?;
    remove_stale_temps(dir, &name.to_string_lossy());

    let mut nonce = [0u8; 8];
    random_bytes(&mut nonce)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        encode_hex(&nonce)
    ));

    let written = write_new_file(&tmp, data)
        .map_err(|e| io_error("write", &tmp, e))
        .and_then(|()| replace(&tmp, path).map_err(|e| io_error("replace", path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    // Make the rename itself durable. Best effort: some file systems refuse
    // to fsync a directory, and the data is already safely in place.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Moves `tmp` over `path`. Windows refuses to replace a file that another
/// handle has open unless POSIX rename semantics are available (NTFS on
/// Windows 10 1607 and later; not FAT32/exFAT, older Windows or Wine 8):
/// there the old file is first moved aside under a name of lic's own
/// (`.<name>.<pid>.<nonce>.old`, which open handles keep reading), the new
/// one moved in, and the aside file deleted (or left for the next write to
/// remove, while a reader still has it open).
fn replace(tmp: &Path, path: &Path) -> io::Result<()> {
    match fs::rename(tmp, path) {
        Err(e) if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied => {
            let mut nonce = [0u8; 8];
            random_bytes(&mut nonce).map_err(|_| e)?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let aside = path.with_file_name(format!(
                ".{name}.{}.{}.old",
                std::process::id(),
                encode_hex(&nonce)
            ));
            fs::rename(path, &aside)?;
            if let Err(e) = fs::rename(tmp, path) {
                let _ = fs::rename(&aside, path);
                return Err(e);
            }
            let _ = fs::remove_file(&aside);
            Ok(())
        }
        other => other,
    }
}

/// A temporary file older than this is stale whoever wrote it: a write
/// takes milliseconds, even of a megabyte on a slow disk.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// The pid in a temporary file name of ours for the target `name`: a new
/// file being written (`.<name>.<pid>.<16 hex>.tmp`) or an old one moved
/// aside on Windows (`.<name>.<pid>.<16 hex>.old`, see [`replace`]); `None`
/// for any other name.
fn temp_pid(file_name: &str, name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let rest = rest
        .strip_suffix(".tmp")
        .or_else(|| rest.strip_suffix(".old"))?;
    let (pid, nonce) = rest.split_once('.')?;
    let is_hex = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex(nonce) || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` runs (on this machine, in this pid namespace).
/// Where that cannot be told, it is taken to run, so only age decides.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        // kill(pid, 0): ESRCH means no such process; EPERM means one that
        // belongs to someone else.
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(e) if e == rustix::io::Errno::SRCH
        )
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes the temporary files of lic's own naming for the target `name` in
/// `dir` that no writer will finish: those whose writing process is gone,
/// and any older than [`STALE_TEMP_AGE`]. A temporary file of a writer that
/// still runs (another thread or process writing the same target right now)
/// is left alone, as is every file of another name. Best effort: a failure
/// here never fails the write. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path, name: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = temp_pid(&file_name.to_string_lossy(), name) else {
            continue;
        };
        // Not following links: only a plain file of ours is removed.
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if (old || !process_alive(pid)) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn write_new_file(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(data)?;
    file.sync_all()
}

/// Reads a whole file of at most `max` bytes. `Ok(None)` when it does not
/// exist; a larger file is `FileMalformed` (nothing we write is that big).
/// Anything but a regular file (a FIFO, a directory, a device) is refused
/// with `Io` at once, without blocking on it (see [`crate::fs`]).
pub fn read_capped(path: &Path, max: usize) -> Result<Option<Vec<u8>>> {
    crate::fs::read_regular_file(path, max)
}

/// Deletes a file. `Ok(true)` if one was removed, `Ok(false)` if there was none.
pub fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("remove", path, e)),
    }
}

/// The per-user data directory plus `lic`: `$XDG_DATA_HOME` or
/// `~/.local/share` on Linux and other unix, `~/Library/Application Support`
/// on macOS, `%LOCALAPPDATA%` on Windows. `None` when the environment names
/// no usable (absolute) directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    data_dir_from(|name| std::env::var_os(name).map(PathBuf::from))
}

fn data_dir_from(env: impl Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    let absolute = |name: &str| env(name).filter(|p| p.is_absolute());
    let base = if cfg!(windows) {
        absolute("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        absolute("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        absolute("XDG_DATA_HOME")
            .or_else(|| absolute("HOME").map(|h| h.join(".local").join("share")))
    };
    base.map(|b| b.join("lic"))
}

/// A cache file name for one (account, license key, fingerprint), e.g.
/// `machine-<32 hex>.lic`. The key only enters through a hash, so a directory
/// listing reveals nothing. `kind` is a fixed label chosen by the library
/// (`license`, `machine`, …) and must be a plain file-name fragment.
pub fn entry_name(kind: &str, account: &str, license_key: &str, fingerprint: &str) -> String {
    entry_file(kind, &entry_id(account, license_key, fingerprint))
}

/// The part of [`entry_name`] that hashes: the same for every kind of one
/// (account, license key, fingerprint).
pub fn entry_id(account: &str, license_key: &str, fingerprint: &str) -> String {
    let id = sha256(format!("{account}\0{license_key}\0{fingerprint}").as_bytes());
    encode_hex(&id[..16])
}

/// [`entry_name`] from its [`entry_id`].
pub fn entry_file(kind: &str, id: &str) -> String {
    format!("{kind}-{id}.lic")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            let mut r = [0u8; 8];
            random_bytes(&mut r).unwrap();
            let p = std::env::temp_dir().join(format!(
                "lic-test-{tag}-{}-{}",
                std::process::id(),
                encode_hex(&r)
            ));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_read_replace_remove() {
        let t = TempDir::new("cache-rw");
        let p = t.0.join("a").join("b").join("entry.lic");
        assert_eq!(read_capped(&p, 100).unwrap(), None);
        write_atomic(&p, b"first").unwrap();
        assert_eq!(read_capped(&p, 100).unwrap().unwrap(), b"first");
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(read_capped(&p, 100).unwrap().unwrap(), b"second, longer");
        assert_eq!(names_in(p.parent().unwrap()), vec!["entry.lic"]);
        assert!(remove(&p).unwrap());
        assert!(!remove(&p).unwrap());
        assert_eq!(read_capped(&p, 100).unwrap(), None);
    }

    #[test]
    fn read_cap_is_exact() {
        let t = TempDir::new("cache-cap");
        let p = t.0.join("f");
        write_atomic(&p, &[1u8; 10]).unwrap();
        assert_eq!(read_capped(&p, 10).unwrap().unwrap().len(), 10);
        assert_eq!(
            read_capped(&p, 9).unwrap_err().kind,
            ErrorKind::FileMalformed
        );
    }

    #[test]
    fn failed_write_reports_io_with_path_and_leaves_no_temp() {
        let t = TempDir::new("cache-fail");
        // The target is an existing non-empty directory: rename must fail.
        let p = t.0.join("occupied");
        fs::create_dir_all(p.join("inside")).unwrap();
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Io);
        assert!(e.message.contains("occupied"), "{}", e.message);
        assert_eq!(names_in(&t.0), vec!["occupied"]);

        // A parent that is a regular file cannot become a directory.
        let f = t.0.join("plain");
        fs::write(&f, b"").unwrap();
        assert_eq!(
            write_atomic(&f.join("x"), b"x").unwrap_err().kind,
            ErrorKind::Io
        );
    }

    #[cfg(unix)]
    #[test]
    fn owner_only_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let t = TempDir::new("cache-perm");
        let dir = t.0.join("new");
        let p = dir.join("f");
        // An existing world-readable file is replaced by an owner-only one.
        fs::create_dir_all(&dir).unwrap();
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&p, b"new").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);

        let deep = t.0.join("x").join("y");
        write_atomic(&deep.join("f"), b"z").unwrap();
        assert_eq!(mode(&deep), 0o700);
        assert_eq!(mode(&t.0.join("x")), 0o700);
        assert_eq!(mode(&deep.join("f")), 0o600);
    }

    #[test]
    fn concurrent_writers_never_tear() {
        const LEN: usize = 64 * 1024;
        let t = TempDir::new("cache-race");
        let p = Arc::new(t.0.join("shared.lic"));
        write_atomic(&p, &[0u8; LEN]).unwrap();
        let done = Arc::new(AtomicBool::new(false));

        let writers: Vec<_> = (1u8..=4)
            .map(|id| {
                let p = Arc::clone(&p);
                std::thread::spawn(move || {
                    for _ in 0..40 {
                        write_atomic(&p, &vec![id; LEN]).unwrap();
                    }
                })
            })
            .collect();
        let reader = {
            let (p, done) = (Arc::clone(&p), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let data = read_capped(&p, LEN).unwrap().expect("file vanished");
                    assert_eq!(data.len(), LEN, "short read");
                    assert!(data.iter().all(|&b| b == data[0]), "torn read");
                    reads += 1;
                }
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        assert_eq!(names_in(&t.0), vec!["shared.lic"]);
    }

    /// The pid of a process that has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .or_else(|_| {
                std::process::Command::new("cmd")
                    .args(["/C", "exit"])
                    .spawn()
            })
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn stale_temps_of_the_target_are_removed_on_the_next_write() {
        let t = TempDir::new("cache-stale");
        let target = "machine-0123abcd.lic";
        let p = t.0.join(target);
        let (dead, alive) = (dead_pid(), std::process::id());
        let name = |pid: u32, nonce: &str| format!(".{target}.{pid}.{nonce}.tmp");
        let killed = name(dead, "0123456789abcdef");
        let aside = format!(".{target}.{dead}.0123456789abcdef.old");
        let in_flight = name(alive, "fedcba9876543210");
        let abandoned = name(alive, "00112233445566aa");
        let other_target = format!(".clock-0123abcd.lic.{dead}.0123456789abcdef.tmp");
        let not_ours = [
            format!(".{target}.tmp"),
            format!(".{target}.x1.0123456789abcdef.tmp"),
            format!("{target}.{dead}.0123456789abcdef.tmp"),
            format!(".{target}.{dead}.0123.tmp"),
            format!(".{target}.{dead}.0123456789abcdef.tmp.keep"),
        ];
        for n in [&killed, &aside, &in_flight, &abandoned, &other_target]
            .into_iter()
            .chain(&not_ours)
        {
            fs::write(t.0.join(n), b"partial").unwrap();
        }
        let two_minutes_ago = SystemTime::now() - Duration::from_secs(120);
        fs::File::options()
            .write(true)
            .open(t.0.join(&abandoned))
            .unwrap()
            .set_modified(two_minutes_ago)
            .unwrap();

        write_atomic(&p, b"data").unwrap();

        let mut expected: Vec<String> = not_ours.to_vec();
        expected.extend([in_flight, other_target, target.to_string()]);
        expected.sort();
        assert_eq!(names_in(&t.0), expected);
        assert_eq!(read_capped(&p, 100).unwrap().unwrap(), b"data");
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        let t = "machine-ab.lic";
        assert_eq!(
            temp_pid(".machine-ab.lic.42.0123456789abcdef.tmp", t),
            Some(42)
        );
        assert_eq!(
            temp_pid(".machine-ab.lic.42.0123456789ABCDEF.tmp", t),
            Some(42)
        );
        for other in [
            ".machine-ab.lic.42.0123456789abcde.tmp",
            ".machine-ab.lic..0123456789abcdef.tmp",
            ".machine-ab.lic.-4.0123456789abcdef.tmp",
            ".machine-ab.lic.42.0123456789abcdeg.tmp",
            ".machine-ab.lic.42.0123456789abcdef.bak",
            ".machine-abc.lic.42.0123456789abcdef.tmp",
            "machine-ab.lic",
        ] {
            assert_eq!(temp_pid(other, t), None, "{other}");
        }
    }

    #[test]
    fn data_dir_rules() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| PathBuf::from(*v))
            }
        };
        assert_eq!(data_dir_from(env(&[])), None);
        if cfg!(windows) {
            assert_eq!(
                data_dir_from(env(&[("LOCALAPPDATA", r"C:\Users\u\AppData\Local")])),
                Some(PathBuf::from(r"C:\Users\u\AppData\Local\lic"))
            );
        } else if cfg!(target_os = "macos") {
            assert_eq!(
                data_dir_from(env(&[("HOME", "/Users/u")])),
                Some(PathBuf::from("/Users/u/Library/Application Support/lic"))
            );
        } else {
            assert_eq!(
                data_dir_from(env(&[("HOME", "/home/u")])),
                Some(PathBuf::from("/home/u/.local/share/lic"))
            );
            assert_eq!(
                data_dir_from(env(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "/data")])),
                Some(PathBuf::from("/data/lic"))
            );
            // Relative values are ignored, as the XDG spec requires.
            assert_eq!(
                data_dir_from(env(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "rel")])),
                Some(PathBuf::from("/home/u/.local/share/lic"))
            );
            assert_eq!(data_dir_from(env(&[("HOME", "")])), None);
        }
    }

    #[test]
    fn entry_names_hide_the_key_and_separate_inputs() {
        let key = "B10760-1B177D-656D1F-C03298-9AF89E-V3";
        let n = entry_name("machine", "acct", key, "fp");
        assert!(n.starts_with("machine-") && n.ends_with(".lic"), "{n}");
        assert_eq!(n.len(), "machine-".len() + 32 + ".lic".len());
        assert!(!n.contains(key) && !n.contains("acct"));
        assert_eq!(n, entry_name("machine", "acct", key, "fp"));
        assert_ne!(n, entry_name("machine", "acct", key, "fp2"));
        assert_ne!(n, entry_name("machine", "acc", &format!("t{key}"), "fp"));
        assert_ne!(n, entry_name("license", "acct", key, "fp"));
        // The names of caches already on disk: they never change.
        assert_eq!(n, "machine-4fae0790b2b33b7f5f8a813fa9a53315.lic");
        assert_eq!(
            entry_file("clock", &entry_id("acct", key, "fp")),
            "clock-4fae0790b2b33b7f5f8a813fa9a53315.lic"
        );
    }
}

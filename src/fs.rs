//! Reading the files lic is pointed at (a file delivered by hand, the cached
//! machine file, the clock mark, a CA bundle): regular files only, opened so
//! that a FIFO or a device in their place can never block the caller, and
//! read with a size cap.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Opens `path` for reading without blocking: on unix with `O_NONBLOCK`, so
/// that opening a FIFO with no writer returns at once instead of waiting
/// for one (the flag has no effect on reading a regular file).
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    options.open(path)
}

/// What a file system object is, for messages.
fn describe(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// Reads the whole regular file at `path`, at most `max` bytes.
///
/// `Ok(None)` when nothing exists there. Anything but a regular file (a
/// FIFO, a directory, a device, a socket; symbolic links are followed) is
/// refused with `Io` without reading from it, and a file larger than `max`
/// is `FileMalformed`. Never blocks on the kind of object it finds: the
/// check is made on the opened handle, so nothing can be swapped in between.
pub fn read_regular_file(path: &Path, max: usize) -> Result<Option<Vec<u8>>> {
    let io_error = |action: &str, e: io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot {action} {}: {e}", path.display()),
        )
    };
    let file = match open_nonblocking(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", e)),
    };
    let meta = file.metadata().map_err(|e| io_error("inspect", e))?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "cannot read {}: it is {}; lic reads only regular files",
                path.display(),
                describe(meta.file_type())
            ),
        ));
    }
    // Sized from the metadata: one allocation, and for a file that did not
    // change since, one read (a short read that reaches the size fstat gave
    // is the end of the file); a file that grows meanwhile is read on.
    let known = usize::try_from(meta.len())
        .unwrap_or(usize::MAX)
        .min(max + 1);
    let mut data = vec![0u8; known + 1];
    let mut filled = 0;
    let mut file = file.take(max as u64 + 1);
    loop {
        if filled == data.len() {
            let grown = (data.len() * 2).max(64).min(max + 2);
            if grown <= data.len() {
                break;
            }
            data.resize(grown, 0);
        }
        let asked = data.len() - filled;
        match file.read(&mut data[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == known && n < asked {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("read", e)),
        }
    }
    data.truncate(filled);
    if data.len() > max {
        return Err(Error::new(
            ErrorKind::FileMalformed,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    Ok(Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("lic-fs-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn regular_files_missing_files_and_the_cap() {
        let d = temp_dir("regular");
        let p = d.join("f");
        assert_eq!(read_regular_file(&p, 10).unwrap(), None);
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_regular_file(&p, 10).unwrap().unwrap(), b"0123456789");
        let e = read_regular_file(&p, 9).unwrap_err();
        assert_eq!(e.kind, ErrorKind::FileMalformed);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_is_refused() {
        let d = temp_dir("dir");
        let e = read_regular_file(&d, 10).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Io);
        assert!(e.message.contains("directory"), "{}", e.message);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_device_is_refused_without_blocking() {
        use std::sync::mpsc;
        use std::time::Duration;
        let d = temp_dir("fifo");
        let fifo = d.join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let (tx, rx) = mpsc::channel();
        let p = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_regular_file(&p, 10));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reading a FIFO must not block")
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Io);
        assert!(e.message.contains("FIFO"), "{}", e.message);

        let e = read_regular_file(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.message.contains("device"), "{}", e.message);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

//! The house rule that keeps the C boundary in one place: the core (every
//! file under src/ outside src/ffi/) has no raw pointers, no `unsafe`, no
//! `extern "C"` and no `std::ffi`/`libc`; only src/ffi/ does.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "ffi") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_modules_have_no_ffi_or_unsafe() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "unsafe",
        "extern \"C\"",
        "*const ",
        "*mut ",
        "no_mangle",
        "std::ffi",
        "libc::",
    ];
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                assert!(
                    !code.contains(f),
                    "{}:{}: `{f}` belongs in src/ffi/: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
    }
    assert!(
        files.len() >= 20,
        "expected the core modules under src/, found {}",
        files.len()
    );
}

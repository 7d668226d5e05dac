//! The house rule that keeps the C boundary in one place: the core modules
//! (src/*.rs) have no raw pointers, no `unsafe`, no `extern "C"` and no
//! `std::ffi`/`libc`; only src/ffi/ does.

#[test]
fn core_modules_have_no_ffi_or_unsafe() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "unsafe",
        "extern \"C\"",
        "*const ",
        "*mut ",
        "no_mangle",
        "std::ffi",
        "libc::",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
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
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "expected the core modules under src/, found {checked}"
    );
}

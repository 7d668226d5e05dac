//! The committed `include/lic.h` must be exactly what cbindgen generates
//! from the sources, and its version macros must match Cargo.toml.
//! `LIC_BLESS=1 cargo test --test header` rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/lic.h");
    let generated = lic::GENERATED_HEADER;
    assert!(
        !generated.starts_with("#error"),
        "cbindgen failed: {generated}"
    );
    if std::env::var_os("LIC_BLESS").is_some() {
        std::fs::write(&path, generated).expect("write include/lic.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/lic.h is stale: run `LIC_BLESS=1 cargo test --test header` and commit it"
    );
}

#[test]
fn version_macros_match_cargo() {
    let h = lic::GENERATED_HEADER;
    for (name, value) in [
        ("LIC_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("LIC_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("LIC_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            h.contains(&format!("#define {name} {value}\n")),
            "{name} is not {value} in the header"
        );
    }
}

#[test]
fn every_function_is_documented() {
    let h = lic::GENERATED_HEADER;
    let lines: Vec<&str> = h.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let is_decl = line.contains(" lic_")
            && line.contains('(')
            && !line.starts_with(' ')
            && !line.starts_with("typedef")
            && !line.starts_with(" *");
        if is_decl {
            let prev = lines[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .copied()
                .unwrap_or("");
            assert!(
                prev.trim_start().starts_with("*/"),
                "undocumented function in lic.h: {line}"
            );
        }
    }
}

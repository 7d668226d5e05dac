//! Generates the C header from the Rust sources with cbindgen into OUT_DIR.
//! `tests/header.rs` compares it with the committed `include/lic.h` (and
//! rewrites that file when LIC_BLESS=1), so the header never drifts.

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("lic.h");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    match cbindgen::generate_with_config(&dir, config) {
        Ok(bindings) => {
            bindings.write_to_file(&out);
        }
        Err(e) => {
            // A half-written source tree should still build; the header test
            // reports the failure.
            println!("cargo:warning=cbindgen could not generate lic.h: {e}");
            std::fs::write(&out, format!("#error \"cbindgen failed: {e}\"\n"))
                .expect("OUT_DIR is writable");
        }
    }
}

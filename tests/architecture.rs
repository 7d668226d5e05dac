//! The shape of the source tree, as `src/lib.rs` describes it: one folder
//! per subsystem with a `mod.rs` that says what it owns, and imports that
//! only point down the layers. An import that points up or sideways fails
//! here with the file and line, before it can grow into a cycle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module of the core and the modules it may import
/// (`crate::<name>`). Layers, low to high: error, fs, time; crypto, model,
/// events; config; protocol, machine, evidence, activation; relay (a wire
/// client beside protocol, which it uses); slots; client; ffi.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("fs", &["error"]),
    ("time", &[]),
    ("crypto", &["error"]),
    ("model", &["time"]),
    ("events", &[]),
    ("config", &["crypto", "error", "events"]),
    (
        "protocol",
        &["config", "crypto", "error", "fs", "model", "time"],
    ),
    ("machine", &["crypto", "error", "fs"]),
    (
        "evidence",
        &["config", "crypto", "error", "fs", "model", "time"],
    ),
    (
        "slots",
        &["config", "crypto", "error", "events", "protocol"],
    ),
    ("activation", &["config", "crypto", "error"]),
    ("relay", &["config", "crypto", "error", "protocol", "time"]),
    (
        "client",
        &[
            "activation",
            "config",
            "crypto",
            "error",
            "events",
            "evidence",
            "machine",
            "model",
            "protocol",
            "relay",
            "slots",
            "time",
        ],
    ),
];

/// Subsystems that are folders, each with a `mod.rs`.
const FOLDERS: &[&str] = &[
    "crypto",
    "protocol",
    "machine",
    "evidence",
    "activation",
    "relay",
    "slots",
    "client",
    "ffi",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/protocol/tls.rs` → protocol).
fn owner(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::name` a line of code names (comments left out).
fn imports(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in a macro, or part of a longer name
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

#[test]
fn imports_point_down_the_layers() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut uses: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut violations = Vec::new();
    for path in &files {
        let module = owner(path);
        if module == "lib" || module == "ffi" {
            continue; // the root re-exports; the C API may use any part of the core
        }
        let Some(ok) = allowed.get(module.as_str()) else {
            violations.push(format!(
                "{}: module `{module}` is not in tests/architecture.rs's layer table; add it where it belongs",
                path.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for target in imports(code) {
                if target == module {
                    continue;
                }
                *uses
                    .entry(module.clone())
                    .or_default()
                    .entry(target.clone())
                    .or_default() += 1;
                if !ok.contains(&target.as_str()) {
                    violations.push(format!(
                        "{}:{}: `{module}` may not import `{target}` (allowed: {ok:?}): {}",
                        path.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // The table is not wider than the code needs: a permission nobody uses
    // is a layer boundary nobody checks.
    for (module, ok) in ALLOWED {
        for target in *ok {
            assert!(
                uses.get(*module).is_some_and(|u| u.contains_key(*target)),
                "`{module}` is allowed to import `{target}` but does not: narrow the table"
            );
        }
    }
}

#[test]
fn ffi_modules_share_only_the_boundary_handles_and_statuses() {
    // The C API mirrors the core; its modules may share the infrastructure
    // (boundary, handles, status, and the version constants, a leaf that
    // imports only boundary and status) but not each other, so they form
    // no cycle.
    let shared = ["boundary", "handles", "status", "version"];
    let mut files = Vec::new();
    rust_files(&src().join("ffi"), &mut files);
    for path in &files {
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue; // the unit tests drive the whole API
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // `use super::*` in a unit-test module is its own file's items.
            if let Some(rest) = code.trim_start().strip_prefix("use super::") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    name.is_empty() || shared.contains(&name.as_str()),
                    "{}:{}: ffi modules may share only {shared:?}, not `{name}`: {}",
                    path.display(),
                    n + 1,
                    line.trim()
                );
            }
        }
    }
}

#[test]
fn every_subsystem_folder_says_what_it_owns() {
    for folder in FOLDERS {
        let path = src().join(folder).join("mod.rs");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
        assert!(
            doc.len() >= 3 && doc[0].len() > 20,
            "{} must open with at least three lines of `//!` saying what the subsystem owns",
            path.display()
        );
    }
    // Only the shared foundations stand as single files at the root.
    let mut roots: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    roots.sort();
    assert_eq!(
        roots,
        [
            "config.rs",
            "error.rs",
            "events.rs",
            "fs.rs",
            "lib.rs",
            "model.rs",
            "time.rs"
        ],
        "a new subsystem gets a folder of its own (and a row in ALLOWED)"
    );
}

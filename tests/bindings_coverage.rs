//! Every function declared in include/lic.h must be bound by both language
//! bindings: listed in the Python symbol table (bindings/python/lic/_native.py)
//! and imported in bindings/csharp/src/Native.cs. Names bound there but no
//! longer in the header fail too (a stale binding would break at load time).

use std::collections::BTreeSet;
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `lic_*` identifiers immediately followed by `(`, outside comment lines.
fn calls(text: &str, skip_line: impl Fn(&str) -> bool) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines().filter(|l| !skip_line(l.trim_start())) {
        let mut rest = line;
        while let Some(i) = rest.find("lic_") {
            let boundary = rest[..i].chars().last().is_none_or(|c| !is_ident(c));
            let tail = &rest[i..];
            let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
            if boundary && tail[end..].starts_with('(') {
                names.insert(tail[..end].to_string());
            }
            rest = &tail[end..];
        }
    }
    names
}

fn header_functions() -> BTreeSet<String> {
    let names = calls(&read("include/lic.h"), |l| {
        l.starts_with('*') || l.starts_with("/*") || l.starts_with("//") || l.starts_with('#')
    });
    assert!(
        names.len() >= 70,
        "parsed only {} functions from lic.h",
        names.len()
    );
    names
}

/// Keys of the `_SIGNATURES` table: `"lic_name": (`.
fn python_bound() -> BTreeSet<String> {
    read("bindings/python/lic/_native.py")
        .lines()
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix("\"lic_")?;
            let end = l.find('"')?;
            l[end..]
                .starts_with("\": (")
                .then(|| format!("lic_{}", &l[..end]))
        })
        .collect()
}

/// `static extern <type> lic_name(` declarations.
fn csharp_bound() -> BTreeSet<String> {
    let text = read("bindings/csharp/src/Native.cs");
    calls(&text, |l| !l.contains("static extern"))
}

fn check(lang: &str, bound: BTreeSet<String>) {
    let declared = header_functions();
    let missing: Vec<_> = declared.difference(&bound).collect();
    let stale: Vec<_> = bound.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "{lang} binding out of date with include/lic.h\n  not bound: {missing:?}\n  bound but not in lic.h: {stale:?}"
    );
}

#[test]
fn python_binds_every_header_function() {
    check("Python (bindings/python/lic/_native.py)", python_bound());
}

#[test]
fn csharp_binds_every_header_function() {
    check("C# (bindings/csharp/src/Native.cs)", csharp_bound());
}

#[test]
fn the_parsers_see_what_they_should() {
    let h = header_functions();
    assert!(h.contains("lic_validate") && h.contains("lic_last_error_message"));
    assert!(
        !h.contains("lic_log_callback"),
        "a typedef is not a function"
    );
    assert_eq!(
        calls("  x = lic_a(1); mylic_b(2); lic_c (3)", |_| false).len(),
        1
    );
}

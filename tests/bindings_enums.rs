//! One source of truth for the values the bindings share with C: every enum
//! of `include/lic.h` (names, values, doc comments), the `LIC_VALIDATE_*`
//! flags and the log levels are generated into
//! `bindings/python/lic/_enums.py` and `bindings/csharp/src/Enums.cs`.
//! This test regenerates both from the committed header and fails when a
//! committed file differs; `LIC_BLESS=1 cargo test --test bindings_enums`
//! rewrites them. It also checks that each binding's ABI version is the
//! header's, so an ABI bump makes someone look at the bindings.

use std::path::Path;

#[derive(Debug)]
struct Variant {
    name: String,
    value: i64,
    doc: Vec<String>,
}

#[derive(Debug)]
struct CEnum {
    name: String,
    doc: Vec<String>,
    variants: Vec<Variant>,
}

#[derive(Debug)]
struct Define {
    name: String,
    value: i64,
    doc: Vec<String>,
}

struct Header {
    enums: Vec<CEnum>,
    defines: Vec<Define>,
    log_levels: Vec<(i64, String)>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The text of a `/** … */` block, one entry per line, without the stars.
fn doc_lines(block: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = block
        .iter()
        .map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("/**").unwrap_or(l);
            let l = l.strip_suffix("*/").unwrap_or(l);
            let l = l.trim_start();
            let l = l.strip_prefix('*').unwrap_or(l);
            l.trim().to_string()
        })
        .collect();
    while out.first().is_some_and(String::is_empty) {
        out.remove(0);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

fn parse_header(text: &str) -> Header {
    let lines: Vec<&str> = text.lines().collect();
    let mut enums = Vec::new();
    let mut defines = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("/**") {
            let start = i;
            while !lines[i].contains("*/") {
                i += 1;
            }
            doc = doc_lines(&lines[start..=i]);
            i += 1;
            continue;
        }
        if let Some(name) = line.strip_prefix("enum ").filter(|n| n.starts_with("lic_")) {
            let mut e = CEnum {
                name: name.trim().to_string(),
                doc: std::mem::take(&mut doc),
                variants: Vec::new(),
            };
            let mut vdoc: Vec<String> = Vec::new();
            while !lines[i].trim().starts_with("};") {
                let l = lines[i].trim();
                if l.starts_with("/**") {
                    let start = i;
                    while !lines[i].contains("*/") {
                        i += 1;
                    }
                    vdoc = doc_lines(&lines[start..=i]);
                } else if let Some((n, v)) = l.strip_suffix(',').and_then(|l| l.split_once(" = ")) {
                    if n.starts_with("LIC_") {
                        e.variants.push(Variant {
                            name: n.to_string(),
                            value: v.parse().expect("enum values are integers"),
                            doc: std::mem::take(&mut vdoc),
                        });
                    }
                }
                i += 1;
            }
            enums.push(e);
        } else if let Some(rest) = line.strip_prefix("#define LIC_") {
            if let Some((n, v)) = rest.split_once(' ') {
                if let Ok(value) = v.trim().parse() {
                    defines.push(Define {
                        name: format!("LIC_{n}"),
                        value,
                        doc: std::mem::take(&mut doc),
                    });
                }
            }
        } else if !line.is_empty() {
            if line.starts_with("typedef void (*lic_log_callback)") {
                // Handled below from its doc text.
            } else {
                doc.clear();
            }
        }
        i += 1;
    }
    // "a level (1 error, 2 warn, 3 info, 4 debug)" in lic_log_callback's doc.
    let at = text
        .find("typedef void (*lic_log_callback)")
        .expect("lic.h declares lic_log_callback");
    let before = &text[..at];
    let doc_start = before.rfind("/**").unwrap();
    let cb_doc = before[doc_start..].replace(['\n', '*'], " ");
    let open = cb_doc
        .find("a level (")
        .expect("the log callback documents its levels")
        + 9;
    let close = open + cb_doc[open..].find(')').unwrap();
    let log_levels = cb_doc[open..close]
        .split(',')
        .map(|p| {
            let mut words = p.split_whitespace();
            let n = words.next().unwrap().parse().unwrap();
            (n, words.next().unwrap().to_string())
        })
        .collect();
    Header {
        enums,
        defines,
        log_levels,
    }
}

/// How each binding names a C enum: (Python class, C# enum, prefix of its values).
fn names(c: &str) -> (&'static str, &'static str, &'static str) {
    match c {
        "lic_status" => ("Status", "LicStatus", "LIC_STATUS_"),
        "lic_code" => ("Code", "ValidationCode", "LIC_CODE_"),
        "lic_source" => ("Source", "LicenseSource", "LIC_SOURCE_"),
        "lic_clock_state" => ("ClockState", "ClockState", "LIC_CLOCK_STATE_"),
        "lic_signed_part" => ("SignedPart", "SignedPart", "LIC_SIGNED_PART_"),
        "lic_event_kind" => ("EventKind", "LicenseEventKind", "LIC_EVENT_KIND_"),
        "lic_file_kind" => ("FileKind", "FileKind", "LIC_FILE_KIND_"),
        other => panic!(
            "lic.h has a new enum `{other}`: name it for the bindings in tests/bindings_enums.rs"
        ),
    }
}

fn pascal(screaming: &str) -> String {
    screaming
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

/// A doc block as one paragraph per blank-line-separated run.
fn paragraphs(doc: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for l in doc {
        if l.is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(l);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && indent.len() + cur.len() + 1 + word.len() > width {
            lines.push(format!("{indent}{cur}"));
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(format!("{indent}{cur}"));
    }
    lines
}

const NOTE: &str = "Generated from include/lic.h by tests/bindings_enums.rs; do not edit. \
Run `LIC_BLESS=1 cargo test --test bindings_enums` after changing the header. \
Numbers are stable ABI: lic appends, never renumbers.";

fn python(h: &Header) -> String {
    let mut s = String::new();
    s.push_str("\"\"\"Enums and constants of lic.h.\n\n");
    for l in wrap(NOTE, 79, "") {
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str("\"\"\"\n\nfrom __future__ import annotations\n\nimport enum\n");
    for e in &h.enums {
        let (py, _, prefix) = names(&e.name);
        s.push_str(&format!("\n\nclass {py}(enum.IntEnum):\n"));
        let summary = paragraphs(&e.doc).join(" ");
        let head = format!("``enum {}``: {}", e.name, summary);
        let body = wrap(&head, 72, "    ");
        s.push_str(&format!("    \"\"\"{}", body.join("\n").trim_start()));
        s.push_str(if body.len() > 1 {
            "\n    \"\"\"\n"
        } else {
            "\"\"\"\n"
        });
        let mut spaced = true;
        for v in &e.variants {
            // A documented value stands apart; plain runs stay together.
            if spaced || !v.doc.is_empty() {
                s.push('\n');
            }
            spaced = !v.doc.is_empty();
            for p in paragraphs(&v.doc) {
                for l in wrap(&p, 79, "    #: ") {
                    s.push_str(&l);
                    s.push('\n');
                }
            }
            let name = v
                .name
                .strip_prefix(prefix)
                .expect("values carry their enum's prefix");
            s.push_str(&format!("    {name} = {}\n", v.value));
        }
        if e.name == "lic_status" {
            s.push_str(
                "\n    @property\n    def text(self) -> str:\n        \"\"\"lic's English text for the status (``lic_status_str``).\"\"\"\n        from . import _native\n\n        return _native.lib.lic_status_str(int(self)).decode(\"utf-8\")\n",
            );
        }
    }
    s.push_str("\n\nclass LogLevel(enum.IntEnum):\n    \"\"\"Levels of the log callback (``lic_log_callback``).\"\"\"\n\n");
    for (n, name) in &h.log_levels {
        s.push_str(&format!("    {} = {n}\n", name.to_ascii_uppercase()));
    }
    s.push('\n');
    for d in h
        .defines
        .iter()
        .filter(|d| d.name.starts_with("LIC_VALIDATE_"))
    {
        s.push('\n');
        for p in paragraphs(&d.doc) {
            for l in wrap(&p, 79, "#: ") {
                s.push_str(&l);
                s.push('\n');
            }
        }
        s.push_str(&format!("{} = {}\n", &d.name[4..], d.value));
    }
    s
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn csharp_doc(s: &mut String, doc: &[String], indent: &str) {
    let text = paragraphs(doc).join(" ");
    if text.is_empty() {
        return;
    }
    let one = format!("{indent}/// <summary>{}</summary>", xml(&text));
    if one.len() <= 100 {
        s.push_str(&one);
        s.push('\n');
        return;
    }
    s.push_str(&format!("{indent}/// <summary>\n"));
    for l in wrap(&xml(&text), 100, &format!("{indent}/// ")) {
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str(&format!("{indent}/// </summary>\n"));
}

fn csharp(h: &Header) -> String {
    let mut s = String::new();
    for l in wrap(NOTE, 100, "// ") {
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str("using System;\n\nnamespace Lic\n{\n");
    for e in &h.enums {
        let (_, cs, prefix) = names(&e.name);
        let mut doc = vec![format!("enum {}:", e.name)];
        doc.extend(e.doc.iter().cloned());
        csharp_doc(&mut s, &doc, "    ");
        s.push_str(&format!("    public enum {cs}\n    {{\n"));
        for v in &e.variants {
            csharp_doc(&mut s, &v.doc, "        ");
            let name = v
                .name
                .strip_prefix(prefix)
                .expect("values carry their enum's prefix");
            s.push_str(&format!("        {} = {},\n", pascal(name), v.value));
        }
        s.push_str("    }\n\n");
    }
    s.push_str("    /// <summary>Levels of the log callback (lic_log_callback).</summary>\n    public enum LogLevel\n    {\n");
    for (n, name) in &h.log_levels {
        s.push_str(&format!("        {} = {n},\n", pascal(name)));
    }
    s.push_str("    }\n\n    /// <summary>lic_validate flags (LIC_VALIDATE_*).</summary>\n    [Flags]\n    public enum ValidateOptions\n    {\n        None = 0,\n");
    for d in h
        .defines
        .iter()
        .filter(|d| d.name.starts_with("LIC_VALIDATE_"))
    {
        csharp_doc(&mut s, &d.doc, "        ");
        s.push_str(&format!(
            "        {} = {},\n",
            pascal(&d.name["LIC_VALIDATE_".len()..]),
            d.value
        ));
    }
    s.push_str("    }\n}\n");
    s
}

fn check(path: &str, want: &str, stale: &mut Vec<String>) {
    let full = root().join(path);
    if std::env::var_os("LIC_BLESS").is_some() {
        std::fs::write(&full, want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&full).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or(have.lines().count().min(want.lines().count()) + 1, |n| {
                n + 1
            });
        stale.push(format!(
            "{path} differs from lic.h's enums from line {line}"
        ));
    }
}

fn header() -> Header {
    let text = std::fs::read_to_string(root().join("include/lic.h")).unwrap();
    parse_header(&text)
}

#[test]
fn binding_enums_are_generated_from_the_header() {
    let h = header();
    assert!(
        h.enums.len() >= 6 && h.enums.iter().all(|e| !e.variants.is_empty()),
        "parsed too little of lic.h: {:?}",
        h.enums.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    let mut stale = Vec::new();
    check("bindings/python/lic/_enums.py", &python(&h), &mut stale);
    check("bindings/csharp/src/Enums.cs", &csharp(&h), &mut stale);
    assert!(
        stale.is_empty(),
        "{}\nrun `LIC_BLESS=1 cargo test --test bindings_enums` and commit the result",
        stale.join("\n")
    );
}

#[test]
fn the_parser_reads_what_the_header_says() {
    // A check on the parser itself, against values written out here.
    let h = header();
    let status = h.enums.iter().find(|e| e.name == "lic_status").unwrap();
    let ok = &status.variants[0];
    assert_eq!((ok.name.as_str(), ok.value), ("LIC_STATUS_OK", 0));
    let panic = status
        .variants
        .iter()
        .find(|v| v.name == "LIC_STATUS_INTERNAL_PANIC");
    assert_eq!(panic.map(|v| v.value), Some(99));
    let code = h.enums.iter().find(|e| e.name == "lic_code").unwrap();
    let tampered = code
        .variants
        .iter()
        .find(|v| v.name == "LIC_CODE_CLOCK_TAMPERED");
    assert_eq!(tampered.map(|v| v.value), Some(101));
    assert_eq!(
        h.log_levels,
        [
            (1, "error".to_string()),
            (2, "warn".to_string()),
            (3, "info".to_string()),
            (4, "debug".to_string())
        ]
    );
    let flags: Vec<_> = h
        .defines
        .iter()
        .filter(|d| d.name.starts_with("LIC_VALIDATE_"))
        .map(|d| (d.name.as_str(), d.value))
        .collect();
    assert_eq!(
        flags,
        [
            ("LIC_VALIDATE_AUTO_ACTIVATE", 1),
            ("LIC_VALIDATE_ONLINE_ONLY", 2),
            ("LIC_VALIDATE_OFFLINE_ONLY", 4)
        ]
    );
}

#[test]
fn bindings_speak_the_headers_abi() {
    let h = header();
    let abi = h
        .defines
        .iter()
        .find(|d| d.name == "LIC_ABI_VERSION")
        .expect("lic.h defines LIC_ABI_VERSION")
        .value;
    let py = std::fs::read_to_string(root().join("bindings/python/lic/_native.py")).unwrap();
    assert!(
        py.contains(&format!("\nABI_VERSION = {abi}\n")),
        "bindings/python/lic/_native.py's ABI_VERSION is not lic.h's {abi}: review the binding for the ABI change, then bump it"
    );
    let cs = std::fs::read_to_string(root().join("bindings/csharp/src/Native.cs")).unwrap();
    assert!(
        cs.contains(&format!("AbiVersion = {abi};")),
        "bindings/csharp/src/Native.cs's AbiVersion is not lic.h's {abi}: review the binding for the ABI change, then bump it"
    );
}

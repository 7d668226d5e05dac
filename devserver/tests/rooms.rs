//! The devserver's rooms (src/<room>/, see the crate docs in src/lib.rs): each has a `mod.rs`
//! whose first lines say what it owns, and a room names only the rooms below it, so there are
//! no import cycles between subsystems.

use std::path::Path;

/// Each room and the rooms it may name.
const ROOMS: [(&str, &[&str]); 9] = [
    ("util", &[]),
    ("store", &["util"]),
    ("signing", &["util"]),
    ("http", &["util"]),
    ("faults", &["http", "signing", "util"]),
    ("api", &["faults", "http", "signing", "store", "util"]),
    ("relay", &["faults", "http", "util"]),
    ("client", &[]),
    (
        "server",
        &[
            "api", "client", "faults", "http", "relay", "signing", "store", "util",
        ],
    ),
];

/// The rooms a line of code names: `crate::room` paths, and `use crate::{room, ...}` lists.
fn named(code: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (room, _) in ROOMS {
        let path = format!("crate::{room}");
        let listed = code.find("crate::{").is_some_and(|at| {
            code[at + 8..]
                .split(['}', ','])
                .map(|s| s.trim().split("::").next().unwrap_or(""))
                .any(|s| s == room)
        });
        let by_path = code.match_indices(&path).any(|(at, _)| {
            !code[at + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        if listed || by_path {
            found.push(room);
        }
    }
    found
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_room_names_only_the_rooms_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (room, allowed) in ROOMS {
        let dir = src.join(room);
        let head = std::fs::read_to_string(dir.join("mod.rs"))
            .unwrap_or_else(|e| panic!("src/{room}/mod.rs: {e}"));
        assert!(
            head.lines().take(3).all(|l| l.starts_with("//! ")),
            "src/{room}/mod.rs must open with three lines saying what the room owns"
        );
        let mut files = Vec::new();
        sources(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for other in named(code) {
                    assert!(
                        other == room || allowed.contains(&other),
                        "{}:{}: the {room} room names {other}, which is not below it: {line}",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
    }
}

#[test]
fn the_rooms_are_all_the_folders() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut rooms: Vec<&str> = ROOMS.iter().map(|(r, _)| *r).collect();
    rooms.sort();
    assert_eq!(
        folders, rooms,
        "a new folder under src/ is a room: add it to ROOMS"
    );
}

//! The linux-x64 release archive (scripts/dist) used as its users use it,
//! against an in-process lic-devserver on loopback:
//!
//! - a CMake project (tests/consumer) finds it with
//!   `find_package(lic CONFIG REQUIRED)` and links `lic::lic` and
//!   `lic::lic_static`; the programs it builds validate for real;
//! - `cc $(pkg-config --cflags --libs lic)` builds the C example, which
//!   validates for real;
//! - the C++ game loop (examples/cpp, built by the CMake project) holds a
//!   process slot and reacts to SLOT_LOST and OFFLINE_ENTERED.
//!
//! They need the archive and cmake/pkg-config, which `scripts/test` makes and
//! installs before it runs them with `cargo test --test packages --
//! --ignored`. The archives are read from dist/ unless LIC_DIST_DIR names
//! another directory.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Env, TempDir};
use serde_json::json;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The linux-x64 archive unpacked into `dir`; returns its top directory.
fn unpack_linux_x64(dir: &Path) -> PathBuf {
    let dist = std::env::var_os("LIC_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("dist"));
    let name = format!("lic-{}-linux-x64", version());
    let archive = dist.join(format!("{name}.tar.gz"));
    assert!(
        archive.exists(),
        "{} is missing: make it with scripts/dist linux-x64 (scripts/test does)",
        archive.display()
    );
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir));
    let top = dir.join(&name);
    for file in [
        "include/lic.h",
        "include/lic.hpp",
        "lib/liblic.so",
        "lib/liblic.a",
        "lib/pkgconfig/lic.pc",
        "lib/cmake/lic/licConfig.cmake",
        "lib/cmake/lic/licConfigVersion.cmake",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
    ] {
        assert!(top.join(file).is_file(), "{name} has no {file}");
    }
    top
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The dynamic section's NEEDED entries of an ELF file.
fn needed(elf: &Path) -> Vec<String> {
    run(Command::new("readelf").arg("-d").arg(elf))
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.trim_end_matches(']').to_string()))
        .collect()
}

/// Runs examples/c/node_locked.c as built by a consumer: first start
/// activates, second is VALID online, and with the server down the cached
/// machine file answers.
fn node_locked_flow(exe: &Path, env: &Env, fingerprint: &str, cache: &Path) {
    let (_, key) = env.license(&env.node_locked());
    let start = |label: &str| {
        let out = Command::new(exe)
            .env("LIC_ACCOUNT_ID", env.server.account_id())
            .env("LIC_API_URL", env.server.base_url())
            .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
            .env("LIC_LICENSE_KEY", &key)
            .env("LIC_FINGERPRINT", fingerprint)
            .env("LIC_CACHE_DIR", cache)
            .env_remove("LD_LIBRARY_PATH")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        println!("{label}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{label} failed: {stdout}");
        stdout
    };
    assert!(start("first start").contains("activated"));
    assert!(start("second start").contains("verdict: VALID, valid=1"));
    env.admin.set_fault(json!({ "mode": "offline" }));
    let offline = start("server down");
    env.admin.clear_faults();
    assert!(offline.contains("cached machine file"), "{offline}");
}

fn cmake_build(prefix: &Path, build: &Path) {
    run(Command::new("cmake")
        .arg("-S")
        .arg(root().join("tests/consumer"))
        .arg("-B")
        .arg(build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
        .arg("-DCMAKE_BUILD_TYPE=Release"));
    run(Command::new("cmake").arg("--build").arg(build).arg("-j2"));
}

#[test]
#[ignore = "needs dist/lic-<version>-linux-x64.tar.gz and cmake: scripts/test runs it"]
fn cmake_consumer_links_the_archive_shared_and_static() {
    let dir = TempDir::new();
    let prefix = unpack_linux_x64(&dir.path);
    let build = dir.path.join("build");
    cmake_build(&prefix, &build);

    // lic::lic: linked by SONAME (relocatable), found through the rpath CMake sets.
    let shared = build.join("node_locked");
    assert!(
        needed(&shared).contains(&"liblic.so".to_string()),
        "{:?}",
        needed(&shared)
    );
    // lic::lic_static: no liblic.so at run time.
    let fixed = build.join("node_locked_static");
    assert!(
        !needed(&fixed).iter().any(|n| n.contains("liblic")),
        "{:?}",
        needed(&fixed)
    );

    let env = Env::new();
    node_locked_flow(
        &shared,
        &env,
        "cmake-shared",
        &dir.path.join("cache-shared"),
    );
    node_locked_flow(&fixed, &env, "cmake-static", &dir.path.join("cache-static"));

    // find_package refuses a version this package does not provide.
    let bad = dir.path.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.16)\nproject(bad C)\nfind_package(lic 9.0 CONFIG REQUIRED)\n",
    )
    .unwrap();
    let out = Command::new("cmake")
        .arg("-S")
        .arg(&bad)
        .arg("-B")
        .arg(bad.join("build"))
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
        .output()
        .unwrap();
    assert!(!out.status.success(), "find_package(lic 9.0) was satisfied");
}

#[test]
#[ignore = "needs dist/lic-<version>-linux-x64.tar.gz and pkg-config: scripts/test runs it"]
fn pkg_config_consumer_builds_and_validates() {
    let dir = TempDir::new();
    let prefix = unpack_linux_x64(&dir.path);
    let pc = prefix.join("lib/pkgconfig");
    let pkg = |args: &[&str]| -> Vec<String> {
        run(Command::new("pkg-config")
            .args(args)
            .arg("lic")
            .env("PKG_CONFIG_PATH", &pc))
        .split_whitespace()
        .map(str::to_string)
        .collect()
    };
    assert_eq!(pkg(&["--modversion"]), vec![version().to_string()]);
    let libdir = pkg(&["--variable=libdir"]).join("");
    // cc $(pkg-config --cflags --libs lic), plus an rpath to find liblic.so.
    let exe = dir.path.join("node_locked");
    run(Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror"])
        .arg(root().join("examples/c/node_locked.c"))
        .arg("-o")
        .arg(&exe)
        .args(pkg(&["--cflags", "--libs"]))
        .arg(format!("-Wl,-rpath,{libdir}")));
    let env = Env::new();
    node_locked_flow(&exe, &env, "pkg-config", &dir.path.join("cache"));

    // --static gives what linking liblic.a needs.
    let static_exe = dir.path.join("node_locked_static");
    let mut libs = pkg(&["--libs", "--static"]);
    let at = libs
        .iter()
        .position(|l| l == "-llic")
        .expect("-llic in --libs");
    libs[at] = format!("{libdir}/liblic.a");
    run(Command::new("cc")
        .arg("-std=c99")
        .arg(root().join("examples/c/node_locked.c"))
        .arg("-o")
        .arg(&static_exe)
        .args(pkg(&["--cflags"]))
        .args(libs));
    assert!(!needed(&static_exe).iter().any(|n| n.contains("liblic")));
    node_locked_flow(
        &static_exe,
        &env,
        "pkg-config-static",
        &dir.path.join("cache-static"),
    );
}

#[test]
#[ignore = "needs dist/lic-<version>-linux-x64.tar.gz and cmake: scripts/test runs it"]
fn cpp_game_loop_reacts_to_slot_lost_and_offline_entered() {
    let dir = TempDir::new();
    let prefix = unpack_linux_x64(&dir.path);
    let build = dir.path.join("build");
    cmake_build(&prefix, &build);

    let env = Env::with_min_heartbeat(1);
    let policy = env.policy(json!({
        "floating": true, "maxMachines": 5, "maxProcesses": 1, "heartbeatDuration": 2
    }));
    let (_, key) = env.license(&policy);
    let mut child = Command::new(build.join("game_loop"))
        .env("LIC_ACCOUNT_ID", env.server.account_id())
        .env("LIC_API_URL", env.server.base_url())
        .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_LICENSE_KEY", &key)
        .env("LIC_FINGERPRINT", "game-machine")
        .env("LIC_CACHE_DIR", dir.path.join("cache"))
        .env("GAME_FRAMES", "1500") // 24 s at most
        .env("GAME_REVALIDATE_MS", "500")
        .env("GAME_QUIT_FILE", dir.path.join("quit"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run game_loop");
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("game: {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |what: &str, limit: Duration| -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(_) => panic!("the game never printed {what:?}"),
            }
        }
    };

    assert!(wait_for("licence: ", Duration::from_secs(10)).contains("VALID"));
    let held = wait_for("slot ", Duration::from_secs(10));
    let slot_id = held
        .strip_prefix("slot ")
        .and_then(|s| s.strip_suffix(" held"))
        .expect("slot <id> held")
        .to_string();
    // The license's only seat is taken: a second copy is refused.
    let second = Command::new(build.join("game_loop"))
        .env("LIC_ACCOUNT_ID", env.server.account_id())
        .env("LIC_API_URL", env.server.base_url())
        .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_LICENSE_KEY", &key)
        .env("LIC_FINGERPRINT", "game-machine")
        .env("LIC_CACHE_DIR", dir.path.join("cache2"))
        .env("GAME_FRAMES", "1")
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("every seat"));

    // The server drops the process: the next heartbeat finds it gone.
    let (status, body) = env
        .admin
        .request("DELETE", &format!("/v1/processes/{slot_id}"), None)
        .unwrap();
    assert!(status == 204 || status == 200, "{status} {body}");
    wait_for("SLOT_LOST", Duration::from_secs(8));
    wait_for("SLOT_RECOVERED", Duration::from_secs(8));

    // The server becomes unreachable: the periodic validation answers from
    // the cached machine file.
    env.admin
        .set_fault(json!({ "mode": "offline", "path": "validate-key" }));
    wait_for("OFFLINE_ENTERED", Duration::from_secs(8));
    env.admin.clear_faults();
    wait_for("OFFLINE_LEFT", Duration::from_secs(8));

    // The player quits: the game ends normally, its destructors release the seat.
    std::fs::write(dir.path.join("quit"), b"").unwrap();
    let last = wait_for("quit after", Duration::from_secs(5));
    assert!(
        last.contains("slot lost 1 time(s), offline 1 time(s), online at exit"),
        "{last}"
    );
    assert!(child.wait().unwrap().success());
    let (status, body) = env.admin.request("GET", "/v1/processes", None).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"].as_array().map(Vec::len),
        Some(0),
        "a seat is still held: {body}"
    );
}

//! The C test programs on the other platforms lic ships for, run for real
//! against an in-process lic-devserver on loopback:
//!
//! - Windows x86_64: tests/c/test_api.c, tests/c/test_windows.c and the C
//!   examples, built with MinGW against the `x86_64-pc-windows-gnu` lic.dll
//!   and run under Wine;
//! - Linux aarch64: tests/c/test_api.c built with `aarch64-linux-gnu-gcc`
//!   against the `aarch64-unknown-linux-gnu` liblic.so and run under
//!   `qemu-aarch64`.
//!
//! They need the cross-built libraries and the emulators, which
//! `scripts/test` installs and builds (`scripts/cross-build`) before it runs
//! them with `cargo test --test cross -- --ignored`; a plain `cargo test`
//! leaves them out. The libraries are taken from
//! `target/<triple>/release/` unless LIC_CROSS_TARGET_DIR names another
//! target directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{Env, TempDir};

const WINDOWS: &str = "x86_64-pc-windows-gnu";
const ARM64: &str = "aarch64-unknown-linux-gnu";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cross_lib_dir(triple: &str) -> PathBuf {
    let target = std::env::var_os("LIC_CROSS_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dir = target.join(triple).join("release");
    let lib = dir.join(if triple == WINDOWS {
        "lic.dll"
    } else {
        "liblic.so"
    });
    assert!(
        lib.exists(),
        "{} is missing: build it first with scripts/cross-build (scripts/test does)",
        lib.display()
    );
    dir
}

fn run_tool(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------- Windows

const MINGW_CC: &str = "x86_64-w64-mingw32-gcc";

/// A Windows path for a Unix one, as Wine maps the root file system (Z:).
fn win_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// One Wine prefix for this test binary, made once (wineboot takes seconds).
fn wine_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lic-wine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut boot = Command::new("wine");
        boot.args(["wineboot", "--init"]);
        wine_env(&mut boot, &dir);
        run_tool(&mut boot);
        dir
    })
}

fn wine_env(cmd: &mut Command, prefix: &Path) {
    cmd.env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        // No Gecko or Mono installers, no display needed.
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY");
}

/// A directory with a MinGW-built program and the DLLs it loads: lic.dll,
/// MinGW's libwinpthread-1.dll, and (Wine 8 only) the test-only stand-in
/// bcryptprimitives.dll (see tests/windows/bcryptprimitives.c).
struct WindowsBuild {
    dir: TempDir,
}

impl WindowsBuild {
    fn new() -> WindowsBuild {
        let dir = TempDir::new();
        let lib = cross_lib_dir(WINDOWS);
        std::fs::copy(lib.join("lic.dll"), dir.path.join("lic.dll")).unwrap();
        let out = Command::new(MINGW_CC)
            .arg("-print-file-name=libwinpthread-1.dll")
            .output()
            .expect("MinGW-w64 (x86_64-w64-mingw32-gcc) is needed");
        let winpthread = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(winpthread.is_absolute(), "MinGW has no libwinpthread-1.dll");
        std::fs::copy(&winpthread, dir.path.join("libwinpthread-1.dll")).unwrap();
        if !wine_has_process_prng() {
            let def = dir.path.join("bcryptprimitives.def");
            std::fs::write(
                &def,
                "LIBRARY bcryptprimitives.dll\nEXPORTS\n  ProcessPrng\n",
            )
            .unwrap();
            run_tool(
                Command::new(MINGW_CC)
                    .args(["-O2", "-shared", "-o"])
                    .arg(dir.path.join("bcryptprimitives.dll"))
                    .arg(root().join("tests/windows/bcryptprimitives.c"))
                    .arg(&def)
                    .arg("-lbcrypt"),
            );
        }
        WindowsBuild { dir }
    }

    fn compile(&self, source: &str, name: &str) -> PathBuf {
        let exe = self.dir.path.join(format!("{name}.exe"));
        run_tool(
            Command::new(MINGW_CC)
                .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-I"])
                .arg(root().join("include"))
                .arg(root().join(source))
                .arg("-o")
                .arg(&exe)
                .arg("-L")
                .arg(cross_lib_dir(WINDOWS))
                .args(["-llic", "-lpthread", "-lbcrypt", "-ladvapi32"]),
        );
        exe
    }

    fn wine(&self, exe: &Path) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg(exe).current_dir(&self.dir.path);
        wine_env(&mut cmd, wine_prefix());
        cmd
    }
}

/// Whether this Wine has bcryptprimitives.dll (Wine 9 and later do); Wine 8,
/// Debian 12's, does not, and Rust's std imports ProcessPrng from it.
fn wine_has_process_prng() -> bool {
    let out = Command::new("wine")
        .arg("--version")
        .output()
        .expect("wine is needed");
    let version = String::from_utf8_lossy(&out.stdout);
    let major: u32 = version
        .trim()
        .trim_start_matches("wine-")
        .split(['.', ' '])
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    major >= 9
}

fn slot_env() -> (Env, String, String) {
    let env = Env::with_min_heartbeat(1);
    let (_, key) = env.license(&env.node_locked());
    let slots = env.policy(serde_json::json!({
        "floating": true, "maxMachines": 5, "maxProcesses": 2, "heartbeatDuration": 2
    }));
    let (_, slot_key) = env.license(&slots);
    (env, key, slot_key)
}

#[test]
#[ignore = "needs the Windows lic.dll, MinGW and Wine: scripts/test runs it"]
fn windows_c_program_drives_the_whole_api_under_wine() {
    let (env, key, slot_key) = slot_env();
    let build = WindowsBuild::new();
    let exe = build.compile("tests/c/test_api.c", "test_api");
    let cache = TempDir::new();
    let out = build
        .wine(&exe)
        .env("LIC_TEST_URL", env.server.base_url())
        .env("LIC_TEST_ACCOUNT", env.server.account_id())
        .env("LIC_TEST_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_TEST_KEY", &key)
        .env("LIC_TEST_SLOT_KEY", &slot_key)
        .env("LIC_TEST_CACHE", win_path(&cache.path.join("cache")))
        .output()
        .expect("run test_api.exe under wine");
    let (stdout, stderr) = text(&out);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "test_api.exe failed under Wine:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
#[ignore = "needs the Windows lic.dll, MinGW and Wine: scripts/test runs it"]
fn windows_code_paths_under_wine() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let build = WindowsBuild::new();
    let exe = build.compile("tests/c/test_windows.c", "test_windows");
    let scratch = TempDir::new();
    let out = build
        .wine(&exe)
        .env("LIC_TEST_URL", env.server.base_url())
        .env("LIC_TEST_ACCOUNT", env.server.account_id())
        .env("LIC_TEST_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_TEST_KEY", &key)
        .env("LIC_TEST_CACHE", win_path(&scratch.path.join("cache")))
        .env(
            "LIC_TEST_LOCALAPPDATA",
            win_path(&scratch.path.join("LocalAppData")),
        )
        .output()
        .expect("run test_windows.exe under wine");
    let (stdout, stderr) = text(&out);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "test_windows.exe failed under Wine:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    // The cache really went to %LOCALAPPDATA%\lic, seen from the Unix side.
    assert!(scratch.path.join("LocalAppData/lic").is_dir());
}

#[test]
#[ignore = "needs the Windows lic.dll, MinGW and Wine: scripts/test runs it"]
fn windows_examples_under_wine() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let build = WindowsBuild::new();
    let node_locked = build.compile("examples/c/node_locked.c", "node_locked");
    let offline = build.compile("examples/c/offline.c", "offline");
    let scratch = TempDir::new();

    let run = |fingerprint: &str, args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = build
            .wine(&node_locked)
            .args(args)
            .env("LIC_ACCOUNT_ID", env.server.account_id())
            .env("LIC_API_URL", env.server.base_url())
            .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
            .env("LIC_LICENSE_KEY", &key)
            .env("LIC_FINGERPRINT", fingerprint)
            .env("LIC_CACHE_DIR", win_path(&scratch.path.join("cache")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node_locked.exe under wine");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = text(&out);
        println!("node_locked {fingerprint} {args:?}:\n{stdout}{stderr}");
        (out.status.success(), stdout)
    };
    // The quickstart's steps, as the Linux run takes them.
    let (ok, out) = run("win-a", &[], "");
    assert!(ok && out.contains("activated"), "{out}");
    let (ok, out) = run("win-a", &[], "");
    assert!(ok && out.contains("verdict: VALID, valid=1"), "{out}");
    let (ok, out) = run("win-b", &[], "n\n");
    assert!(!ok && out.contains("FINGERPRINT_SCOPE_MISMATCH"), "{out}");
    env.admin
        .set_fault(serde_json::json!({ "mode": "offline" }));
    let (ok, out) = run("win-a", &[], "");
    env.admin.clear_faults();
    assert!(ok && out.contains("cached machine file"), "{out}");
    let (ok, out) = run("win-b", &[], "y\n");
    assert!(ok && out.contains("moved"), "{out}");
    let (ok, out) = run("win-b", &["--deactivate"], "");
    assert!(ok && out.contains("deactivated"), "{out}");

    // offline.c with a machine file checked out by hand.
    let machine = env.client(&key, "airgap-win").activate().unwrap();
    let (status, body) = env
        .admin
        .request(
            "POST",
            &format!("/v1/machines/{}/actions/check-out", machine.id),
            Some(&serde_json::json!({"meta": {"include": ["license"], "encrypt": true}})),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let file = scratch.path.join("machine.lic");
    std::fs::write(
        &file,
        body["data"]["attributes"]["certificate"].as_str().unwrap(),
    )
    .unwrap();
    let offline_run = |fingerprint: &str| {
        build
            .wine(&offline)
            .arg(win_path(&file))
            .env("LIC_ACCOUNT_ID", env.server.account_id())
            .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
            .env("LIC_LICENSE_KEY", &key)
            .env("LIC_FINGERPRINT", fingerprint)
            .output()
            .unwrap()
    };
    let out = offline_run("airgap-win");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("verdict: VALID, valid=1"), "{stdout}");
    let out = offline_run("another-machine");
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("fingerprint mismatch"), "{stderr}");
}

// ---------------------------------------------------------------- aarch64

#[test]
#[ignore = "needs the aarch64 liblic.so, gcc-aarch64-linux-gnu and qemu-user: scripts/test runs it"]
fn arm64_c_program_drives_the_whole_api_under_qemu() {
    let (env, key, slot_key) = slot_env();
    let lib = cross_lib_dir(ARM64);
    let dir = TempDir::new();
    let exe = dir.path.join("test_api");
    run_tool(
        Command::new("aarch64-linux-gnu-gcc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-I"])
            .arg(root().join("include"))
            .arg(root().join("tests/c/test_api.c"))
            .arg("-o")
            .arg(&exe)
            .arg("-L")
            .arg(&lib)
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .args(["-llic", "-lpthread"]),
    );
    // Really an aarch64 program: the host cannot run it directly.
    let elf = std::fs::read(&exe).unwrap();
    assert_eq!(
        u16::from_le_bytes([elf[18], elf[19]]),
        183,
        "not an EM_AARCH64 executable"
    );
    let out = Command::new("qemu-aarch64")
        .arg("-L")
        .arg("/usr/aarch64-linux-gnu")
        .arg(&exe)
        .env("LIC_TEST_URL", env.server.base_url())
        .env("LIC_TEST_ACCOUNT", env.server.account_id())
        .env("LIC_TEST_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_TEST_KEY", &key)
        .env("LIC_TEST_SLOT_KEY", &slot_key)
        .env("LIC_TEST_CACHE", dir.path.join("cache"))
        .output()
        .expect("qemu-aarch64 (Debian's qemu-user) is needed");
    let (stdout, stderr) = text(&out);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "test_api failed under qemu-aarch64:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

/// The win-x64 archive's import libraries really link against its lic.dll:
/// lic.lib (llvm-dlltool, for MSVC; MinGW's ld reads the same COFF import
/// format, and no MSVC linker runs here) and liblic.dll.a (MinGW).
#[test]
#[ignore = "needs dist/lic-<version>-win-x64.zip, MinGW and Wine: scripts/test runs it"]
fn windows_archive_import_libraries_link_and_run_under_wine() {
    let dist = std::env::var_os("LIC_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("dist"));
    let name = format!("lic-{}-win-x64", env!("CARGO_PKG_VERSION"));
    let zip = dist.join(format!("{name}.zip"));
    assert!(
        zip.exists(),
        "{} is missing: run scripts/dist",
        zip.display()
    );
    let unpacked = TempDir::new();
    run_tool(
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&zip)
            .arg(&unpacked.path),
    );
    let pkg = unpacked.path.join(&name);
    let build = WindowsBuild::new();
    // The archive's DLL, not the build tree's.
    std::fs::copy(pkg.join("bin/lic.dll"), build.dir.path.join("lic.dll")).unwrap();
    let env = Env::new();
    for implib in ["lib/lic.lib", "lib/liblic.dll.a"] {
        let (_, key) = env.license(&env.node_locked());
        let exe = build.dir.path.join("node_locked_implib.exe");
        run_tool(
            Command::new(MINGW_CC)
                .args(["-std=c99", "-Wall", "-Werror", "-I"])
                .arg(pkg.join("include"))
                .arg(root().join("examples/c/node_locked.c"))
                .arg("-o")
                .arg(&exe)
                .arg(pkg.join(implib)),
        );
        let out = build
            .wine(&exe)
            .env("LIC_ACCOUNT_ID", env.server.account_id())
            .env("LIC_API_URL", env.server.base_url())
            .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
            .env("LIC_LICENSE_KEY", &key)
            .env("LIC_FINGERPRINT", "implib")
            .env(
                "LIC_CACHE_DIR",
                win_path(&unpacked.path.join(implib.replace('/', "-"))),
            )
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        println!("{implib}: {stdout}{stderr}");
        assert!(
            out.status.success(),
            "node_locked linked with {implib}: {stdout}{stderr}"
        );
        assert!(stdout.contains("verdict: VALID, valid=1"), "{stdout}");
    }
}

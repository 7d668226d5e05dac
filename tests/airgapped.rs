//! QR-code activation of an air-gapped machine, end to end against the
//! in-process lic-devserver: the request the machine shows (text and the
//! three QR renderings, read back by an independent decoder), the portal's
//! side done with lic's own API (validate, activate with the request's host
//! facts, check out a machine file, keep nothing on disk), and
//! examples/c/airgapped.c, which prints the QR, reads the file path on stdin
//! and validates offline.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{build_c, Env, TempDir};
use lic::activation::{ActivationRequest, RequestOptions};
use lic::client::{VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY};
use lic::machine::HostFacts;
use lic::model::{Source, ValidationCode};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Decodes a greyscale bitmap (0 = black) with rqrr: (text, QR version).
fn decode(w: usize, h: usize, pixel: impl Fn(usize, usize) -> u8) -> (String, usize) {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, pixel);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code in the image");
    let (meta, text) = grids[0].decode().expect("the QR code decodes");
    (text, meta.version.0)
}

/// A module grid (true = dark) drawn 4 px per module.
fn decode_grid(side: usize, dark: &[bool]) -> (String, usize) {
    decode(side * 4, side * 4, |x, y| {
        if dark[(y / 4) * side + x / 4] {
            0
        } else {
            255
        }
    })
}

fn decode_png(bytes: &[u8]) -> (String, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::One);
    let (w, h, row) = (info.width as usize, info.height as usize, info.line_size);
    decode(w, h, |x, y| {
        if buf[y * row + x / 8] & (0x80 >> (x % 8)) != 0 {
            255
        } else {
            0
        }
    })
}

/// The terminal rendering back to modules: blocks are light modules.
fn decode_terminal(text: &str) -> (String, usize) {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let side = lines[0].len();
    let mut dark = vec![true; side * side];
    for (row, line) in lines.iter().enumerate() {
        assert_eq!(line.len(), side, "every line is as wide as the code");
        for (x, c) in line.iter().enumerate() {
            let (top, bottom) = match c {
                '█' => (false, false),
                '▀' => (false, true),
                '▄' => (true, false),
                ' ' => (true, true),
                other => panic!("unexpected {other:?} in the terminal rendering"),
            };
            dark[2 * row * side + x] = top;
            if 2 * row + 1 < side {
                dark[(2 * row + 1) * side + x] = bottom;
            }
        }
    }
    decode_grid(side, &dark)
}

/// The SVG's path (runs `M{x} {y}h{w}v1H{x}z`) back to modules.
fn decode_svg(svg: &str) -> (String, usize) {
    let view = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
    let side: usize = view.split(' ').next().unwrap().parse().unwrap();
    let d = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; side * side];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let w: usize = rest.split('v').next().unwrap().parse().unwrap();
        for i in x..x + w {
            dark[y * side + i] = true;
        }
    }
    decode_grid(side, &dark)
}

#[test]
fn every_rendering_of_the_qr_code_reads_back_as_the_request_text() {
    let env = Env::new();
    let key = "B3F1C2-8A4D9E-5F6071-2C3D4E-9A8B7C-V3";
    let client = env.client(key, "air-fp-0123456789abcdef");
    for portal in [None, Some("https://activate.example.com/")] {
        let code = client
            .activation_request(&RequestOptions {
                portal_url: portal.map(str::to_string),
                app_name: Some("Acme CAD".into()),
                ..RequestOptions::default()
            })
            .unwrap();
        let text = code.text().to_string();
        let version = code.qr().version() as usize;
        assert_eq!(
            decode_png(code.qr().png().unwrap()),
            (text.clone(), version)
        );
        assert_eq!(decode_svg(code.qr().svg()), (text.clone(), version));
        assert_eq!(
            decode_terminal(code.qr().terminal()),
            (text.clone(), version)
        );
        let parsed = ActivationRequest::parse(&text).unwrap();
        assert_eq!(parsed.license_key, key);
        assert_eq!(parsed.fingerprint, "air-fp-0123456789abcdef");
        assert_eq!(parsed.app.as_deref(), Some("Acme CAD"));
        assert_eq!(
            parsed.platform.as_deref(),
            Some(lic::machine::platform().as_str())
        );
        assert_eq!(parsed.hostname, lic::machine::hostname());
        match portal {
            Some(url) => assert!(text.starts_with(&format!("{url}#lic1."))),
            None => assert!(text.starts_with("lic1.")),
        }
    }
}

/// What lic-portal does for a request, with lic's own API: validate the key
/// for the request's fingerprint, activate it (with the request's host
/// facts) when it has no machine, check out a machine file. Nothing on disk.
fn portal_checkout(env: &Env, text: &str, cache: &Path) -> Result<(String, bool), lic::Error> {
    let request = ActivationRequest::parse(text)?;
    let portal = lic::Client::new(lic::Config {
        cache_dir: Some(cache.to_path_buf()),
        no_cache: true,
        ..env.config(&request.license_key, &request.fingerprint)
    })?;
    let v = portal.validate(VALIDATE_ONLINE_ONLY)?;
    let activated = match v.code {
        ValidationCode::Valid => false,
        ValidationCode::NoMachine | ValidationCode::NoMachines => {
            let m = portal.activate_as(&HostFacts {
                hostname: request.hostname.clone(),
                platform: request.platform.clone(),
                cores: None,
            })?;
            assert_eq!(m.fingerprint, request.fingerprint);
            assert_eq!(m.hostname, request.hostname);
            assert_eq!(m.platform, request.platform);
            true
        }
        other => panic!("unexpected verdict {other:?}"),
    };
    Ok((portal.checkout_machine_file()?, activated))
}

#[test]
fn the_portal_side_activates_with_the_request_facts_and_keeps_nothing() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let device = env.client(&key, "air-device-1");
    let text = device
        .activation_request(&RequestOptions {
            portal_url: Some("http://127.0.0.1:1/".into()),
            ..RequestOptions::default()
        })
        .unwrap()
        .text()
        .to_string();
    let cache = TempDir::new();
    let (file, activated) = portal_checkout(&env, &text, &cache.path).unwrap();
    assert!(activated, "the first request activates the machine");
    assert!(
        file.starts_with("-----BEGIN MACHINE FILE-----"),
        "{file:.40}"
    );
    // The same request again: already activated, a fresh file.
    let (again, activated) = portal_checkout(&env, &text, &cache.path).unwrap();
    assert!(!activated);
    assert!(again.starts_with("-----BEGIN MACHINE FILE-----"));
    // The portal's client kept nothing: no machine file, no clock mark.
    assert_eq!(
        std::fs::read_dir(&cache.path).unwrap().count(),
        0,
        "no_cache writes nothing to the cache directory"
    );

    // The device, with no network at all, loads the file and validates.
    device.load_file(&file).unwrap();
    let v = device.validate(VALIDATE_OFFLINE_ONLY).unwrap();
    assert_eq!(v.code, ValidationCode::Valid);
    assert!(v.valid);
    assert_eq!(v.source, Source::LoadedFile);

    // The file is for that machine only.
    let other = env.client(&key, "air-device-2");
    let e = other.load_file(&file).unwrap_err();
    assert_eq!(e.kind, lic::ErrorKind::FingerprintMismatch);
}

#[test]
fn checkout_needs_an_activated_machine() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let portal = lic::Client::new(lic::Config {
        no_cache: true,
        ..env.config(&key, "never-activated")
    })
    .unwrap();
    let e = portal.checkout_machine_file().unwrap_err();
    assert_eq!(e.kind, lic::ErrorKind::MachineNotActivated, "{e}");
}

#[test]
fn c_example_shows_the_qr_then_validates_the_file_it_is_given() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let dir = TempDir::new();
    let exe = build_c(
        &root().join("examples/c/airgapped.c"),
        &dir.path.join("airgapped"),
    );
    let png_path = dir.path.join("qr.png");
    let mut child = Command::new(&exe)
        .arg(&png_path)
        .env("LIC_ACCOUNT_ID", env.server.account_id())
        .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_LICENSE_KEY", &key)
        .env("LIC_FINGERPRINT", "air-c-example")
        .env("LIC_PORTAL_URL", "https://activate.example.com/")
        .env("LIC_APP_NAME", "Airgapped Example")
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .env_remove("LD_LIBRARY_PATH") // cargo's puts a stale target/debug/liblic.so first
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Everything up to the prompt: the QR code, then the text.
    let mut shown = Vec::new();
    loop {
        let mut byte = [0u8];
        if stdout.read(&mut byte).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!(
                "the example ended before asking for the file:\n{}\n{err}",
                String::from_utf8_lossy(&shown)
            );
        }
        shown.push(byte[0]);
        if shown.ends_with(b"(.lic): ") {
            break;
        }
    }
    let shown = String::from_utf8(shown).unwrap();
    let text = shown
        .lines()
        .find(|l| l.starts_with("https://activate.example.com/#lic1."))
        .unwrap_or_else(|| panic!("no request text in:\n{shown}"))
        .to_string();
    // The QR code it printed holds that text, and so does the PNG it wrote.
    let qr: String = shown
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| " ▀▄█".contains(c)))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(decode_terminal(&qr).0, text);
    assert_eq!(decode_png(&std::fs::read(&png_path).unwrap()).0, text);
    assert!(shown.contains(&format!("(The code is also in {}.)", png_path.display())));

    // The portal's work, then the file goes back to the machine.
    let cache = TempDir::new();
    let (file, activated) = portal_checkout(&env, &text, &cache.path).unwrap();
    assert!(activated);
    let lic_path = dir.path.join("air-c-example.lic");
    std::fs::write(&lic_path, file).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", lic_path.display()).unwrap();
    drop(stdin);
    let mut rest = String::new();
    for line in stdout.lines() {
        rest.push_str(&line.unwrap());
        rest.push('\n');
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{rest}{err}");
    assert!(rest.contains("verdict: VALID, valid=1"), "{rest}");
}

#[test]
fn c_example_refuses_a_file_for_another_machine() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    // A file checked out for another fingerprint of the same license.
    let other = env
        .client(&key, "some-other-machine")
        .activation_request(&RequestOptions::default())
        .unwrap()
        .text()
        .to_string();
    let cache = TempDir::new();
    let (file, _) = portal_checkout(&env, &other, &cache.path).unwrap();
    let dir = TempDir::new();
    let lic_path = dir.path.join("other.lic");
    std::fs::write(&lic_path, file).unwrap();
    let exe = build_c(
        &root().join("examples/c/airgapped.c"),
        &dir.path.join("airgapped"),
    );
    let mut child = Command::new(&exe)
        .env("LIC_ACCOUNT_ID", env.server.account_id())
        .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_LICENSE_KEY", &key)
        .env("LIC_FINGERPRINT", "this-machine")
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", lic_path.display()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loading the license file failed"), "{err}");
    assert!(err.contains("fingerprint mismatch"), "{err}");
    // lic's own message, read before any other call clears it.
    assert!(!err.contains("()"), "the message is lost: {err}");
}

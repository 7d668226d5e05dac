//! `lic-devserver [--host 127.0.0.1] [--port 0] [--account-id UUID] [--admin-token TOKEN]
//! [--signing-key-seed 64HEX] [--min-heartbeat-duration SECONDS] [--state FILE] [--bootstrap]
//! [--tls-cert FILE --tls-key FILE] [--sign-host-with-port]`
//!
//! With `--tls-cert` (PEM chain, leaf first) and `--tls-key` (PEM private key) it serves HTTPS,
//! and `base_url` names a host the certificate is valid for (`localhost` when it can).
//!
//! Prints one JSON line describing the server on stdout, logs to stderr, and runs until SIGINT
//! or SIGTERM.
//!
//! `lic-devserver relay …` runs Keygen Relay mode instead (`lic_devserver::RELAY_USAGE`): Relay's
//! API, loaded with license files from a directory, from a running devserver, or (with
//! `--bootstrap N`) from a devserver it starts beside it.

use lic_devserver::{DevServer, Options, TlsOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

const USAGE: &str =
    "usage: lic-devserver [--host 127.0.0.1] [--port 0] [--account-id UUID] [--admin-token TOKEN] \
[--signing-key-seed 64HEX] [--min-heartbeat-duration SECONDS] [--state FILE] [--bootstrap] \
[--tls-cert FILE --tls-key FILE] [--sign-host-with-port]";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut opts = Options::default();
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if name == "--bootstrap" {
            opts.bootstrap = true;
            continue;
        }
        if name == "--sign-host-with-port" {
            opts.sign_host_with_port = true;
            continue;
        }
        if name == "--help" || name == "-h" {
            return Err(USAGE.into());
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
        };
        match name {
            "--host" => opts.host = value,
            "--port" => {
                opts.port = value
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {value}"))?
            }
            "--account-id" => opts.account_id = Some(value),
            "--admin-token" => opts.admin_token = Some(value),
            "--signing-key-seed" => {
                let bytes = (value.len() == 64)
                    .then(|| {
                        (0..64)
                            .step_by(2)
                            .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
                            .collect::<Option<Vec<u8>>>()
                    })
                    .flatten()
                    .ok_or("--signing-key-seed: expected 64 hex characters")?;
                let mut seed = [0u8; 32];
                seed.copy_from_slice(&bytes);
                opts.signing_key_seed = Some(seed);
            }
            "--min-heartbeat-duration" => {
                opts.min_heartbeat_duration = Some(value.parse().map_err(|_| {
                    format!("--min-heartbeat-duration: not a number of seconds: {value}")
                })?)
            }
            "--state" => opts.state_file = Some(value.into()),
            "--tls-cert" => tls_cert = Some(read_pem("--tls-cert", &value)?),
            "--tls-key" => tls_key = Some(read_pem("--tls-key", &value)?),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    opts.tls = match (tls_cert, tls_key) {
        (Some(cert_chain_pem), Some(private_key_pem)) => Some(TlsOptions {
            cert_chain_pem,
            private_key_pem,
        }),
        (None, None) => None,
        _ => return Err(format!("--tls-cert and --tls-key go together\n{USAGE}")),
    };
    Ok(opts)
}

fn read_pem(flag: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag}: cannot read {path}: {e}"))
}

/// `lic-devserver relay …`: prints the relay's JSON line and serves until SIGINT or SIGTERM.
fn relay_main(args: &[String]) {
    let run = match lic_devserver::relay_command(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(if e.starts_with("usage:") { 2 } else { 1 });
        }
    };
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    println!("{}", run.line);
    eprintln!("lic-devserver relay: listening on {}", run.relay.url());
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("lic-devserver relay: stopping");
    drop(run);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("relay") {
        return relay_main(&args[1..]);
    }
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let server = match DevServer::start(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lic-devserver: {e}");
            std::process::exit(1);
        }
    };
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    let mut line = serde_json::json!({
        "base_url": server.base_url(),
        "account_id": server.account_id(),
        "public_key": server.public_key_hex(),
        "admin_token": server.admin_token(),
        "rsa_public_key": server.rsa_public_key_pem(),
        "ecdsa_public_key": server.ecdsa_public_key_pem(),
    });
    if let Some(b) = server.bootstrap() {
        line["product_id"] = b.product_id.into();
        line["policy_id"] = b.policy_id.into();
        line["license_id"] = b.license_id.into();
        line["license_key"] = b.license_key.into();
    }
    println!("{line}");
    eprintln!("lic-devserver: listening on {}", server.base_url());
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("lic-devserver: stopping");
    server.stop();
}

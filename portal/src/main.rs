//! `lic-portal`: serve the activation portal for air-gapped machines.
//!
//! The first line on stdout is one JSON object, `{"url": …, "port": …,
//! "tls": …}`; the request log goes to stderr (or `--log FILE`). Stops on
//! SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use lic_portal::{LogTo, Options, Portal};

const USAGE: &str = "\
lic-portal: the activation portal for air-gapped machines (lic's QR codes)

usage: lic-portal --account-id ID --public-key HEX [options]

  --api-url URL          the Keygen API (default https://api.keygen.sh; a
                         Keygen CE URL, or lic-devserver's)
  --account-id ID        the Keygen account
  --public-key HEX       the account's Ed25519 public key (64 hex characters)
  --product-id ID        only licenses of this product
  --checkout-ttl SECONDS TTL of the machine files handed out (3600..31556952,
                         default 2629746 = one month), or `never`
  --timeout-ms N         per call to the licensing server (default 10000)
  --ca-bundle PEM        extra CA certificates for the licensing server
  --bind ADDR            address to listen on (default 127.0.0.1; 0.0.0.0 for
                         the LAN: then use TLS, or phones cannot use the camera)
  --port N               port (default 8080; 0 picks a free one)
  --tls-cert PEM         serve HTTPS with this certificate chain ...
  --tls-key PEM          ... and this private key
  --log FILE             append the request log here instead of stderr
  --help                 this text

The portal acts with the license key in each request, so the licenses'
policies must allow license-key authentication (authenticationStrategy
LICENSE or MIXED). It needs no admin token, keeps nothing on disk but its
request log, and never writes a license key to it.

Every option can also be given in the environment as LIC_PORTAL_<NAME>
(LIC_PORTAL_ACCOUNT_ID, LIC_PORTAL_PUBLIC_KEY, ...); flags win.
";

fn fail(message: &str) -> ! {
    eprintln!("lic-portal: {message}\n(see lic-portal --help)");
    std::process::exit(2)
}

fn parse() -> Options {
    let mut opts = Options {
        port: 8080,
        ..Options::default()
    };
    let mut tls_cert: Option<PathBuf> = None;
    let mut tls_key: Option<PathBuf> = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    // The environment first, then the flags (which win).
    for name in [
        "api-url",
        "account-id",
        "public-key",
        "product-id",
        "checkout-ttl",
        "timeout-ms",
        "ca-bundle",
        "bind",
        "port",
        "tls-cert",
        "tls-key",
        "log",
    ] {
        let var = format!("LIC_PORTAL_{}", name.to_uppercase().replace('-', "_"));
        if let Ok(v) = std::env::var(&var) {
            pairs.push((name.to_string(), v));
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            fail(&format!("unexpected argument {arg:?}"));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => match args.next() {
                Some(v) => (flag.to_string(), v),
                None => fail(&format!("--{flag} needs a value")),
            },
        };
        pairs.push((name, value));
    }
    for (name, value) in pairs {
        match name.as_str() {
            "api-url" => opts.api_url = value,
            "account-id" => opts.account_id = value,
            "public-key" => opts.public_key = value,
            "product-id" => opts.product_id = Some(value),
            "checkout-ttl" if value == "never" => opts.checkout_ttl = None,
            "checkout-ttl" => {
                opts.checkout_ttl = Some(
                    value
                        .parse()
                        .unwrap_or_else(|_| fail("--checkout-ttl takes seconds or `never`")),
                )
            }
            "timeout-ms" => {
                let ms: u64 = value
                    .parse()
                    .ok()
                    .filter(|ms| (1..=600_000).contains(ms))
                    .unwrap_or_else(|| fail("--timeout-ms takes 1..600000"));
                opts.timeout = Duration::from_millis(ms);
            }
            "ca-bundle" => opts.ca_bundle = Some(value.into()),
            "bind" => opts.bind = value,
            "port" => {
                opts.port = value
                    .parse()
                    .unwrap_or_else(|_| fail("--port takes a number 0..65535"))
            }
            "tls-cert" => tls_cert = Some(value.into()),
            "tls-key" => tls_key = Some(value.into()),
            "log" => opts.log = LogTo::File(value.into()),
            other => fail(&format!("unknown option --{other}")),
        }
    }
    opts.tls = match (tls_cert, tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => fail("--tls-cert and --tls-key go together"),
    };
    opts
}

fn main() {
    let opts = parse();
    let tls = opts.tls.is_some();
    let portal = match Portal::start(opts) {
        Ok(p) => p,
        Err(e) => fail(&e.to_string()),
    };
    println!(
        "{}",
        serde_json::json!({
            "url": portal.url(),
            "port": portal.local_addr().port(),
            "tls": tls,
        })
    );
    portal.wait_for_signal();
}

//! lic_validate against lic-devserver on loopback, beside a bare HTTP POST of
//! the same request with the same kind of keep-alive client, so lic's own
//! overhead (signature verification, nonce and scope checks, parsing, the C
//! boundary) shows as a ratio.
//!
//!     cargo run --release --example bench_overhead

use std::ffi::CString;
use std::ptr::null_mut;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lic::ffi::client::{
    lic_client, lic_client_free, lic_client_new, lic_validate, LIC_VALIDATE_AUTO_ACTIVATE,
};
use lic::ffi::config::*;
use lic::ffi::result::{lic_result_code, lic_result_free};
use lic::ffi::status::lic_status;
use lic::model::ValidationCode;
use lic_devserver::{DevServer, Options};
use serde_json::json;

const SECONDS: f64 = 3.0;

struct Shared(*mut lic_client);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn main() {
    let server = DevServer::start(Options {
        bootstrap: true,
        ..Options::default()
    })
    .unwrap();
    let demo = server.bootstrap().unwrap();
    let cache = std::env::temp_dir().join(format!("lic-bench-{}", std::process::id()));
    let client = unsafe { make_client(&server, &demo.license_key, &cache) };
    unsafe {
        let mut r = null_mut();
        assert_eq!(
            lic_validate(client.0, LIC_VALIDATE_AUTO_ACTIVATE, &mut r),
            lic_status::LIC_STATUS_OK
        );
        assert_eq!(lic_result_code(r), ValidationCode::Valid);
        lic_result_free(r);
    }
    let client = Arc::new(client);

    let url = format!("{}/v1/licenses/actions/validate-key", server.base_url());
    let agent = ureq::AgentBuilder::new().build();
    let key = demo.license_key.clone();
    let bare = move || {
        let body =
            json!({"meta": {"key": key, "nonce": 1, "scope": {"fingerprint": "bench-machine"}}})
                .to_string();
        let resp = agent
            .post(&url)
            .set("Content-Type", "application/vnd.api+json")
            .set("Keygen-Version", "1.7")
            .send_string(&body)
            .unwrap();
        let text = resp.into_string().unwrap();
        assert!(text.contains("\"VALID\""));
    };
    let lic_call = {
        let client = client.clone();
        move || unsafe {
            let mut r = null_mut();
            assert_eq!(lic_validate(client.0, 0, &mut r), lic_status::LIC_STATUS_OK);
            assert_eq!(lic_result_code(r), ValidationCode::Valid);
            lic_result_free(r);
        }
    };

    println!("lic_validate vs bare keep-alive POST of the same request, lic-devserver on loopback, {SECONDS} s each");
    println!(
        "{:<26} {:>8} {:>12} {:>10}",
        "", "threads", "calls/s", "us/call"
    );
    for threads in [1, 8] {
        let b = run(threads, bare.clone());
        let l = run(threads, lic_call.clone());
        println!(
            "{:<26} {:>8} {:>12.0} {:>10.1}",
            "bare HTTP POST",
            threads,
            b,
            1e6 * threads as f64 / b
        );
        println!(
            "{:<26} {:>8} {:>12.0} {:>10.1}",
            "lic_validate (C ABI)",
            threads,
            l,
            1e6 * threads as f64 / l
        );
        println!(
            "{:<26} {:>8} {:>12.2}x",
            "time per call, lic / bare",
            threads,
            b / l
        );
    }
    drop(lic_call);
    if let Ok(client) = Arc::try_unwrap(client) {
        unsafe { lic_client_free(client.0) };
    }
    let _ = std::fs::remove_dir_all(cache);
}

fn run(threads: usize, f: impl Fn() + Clone + Send + 'static) -> f64 {
    // Warm up connections.
    for _ in 0..20 {
        f();
    }
    let deadline = Instant::now() + Duration::from_secs_f64(SECONDS);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    f();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

unsafe fn make_client(server: &DevServer, key: &str, cache: &std::path::Path) -> Shared {
    let s = |v: &str| CString::new(v).unwrap();
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), lic_status::LIC_STATUS_OK);
        lic_config_set_account_id(cfg, s(&server.account_id()).as_ptr());
        lic_config_set_api_url(cfg, s(&server.base_url()).as_ptr());
        lic_config_set_public_key(cfg, s(&server.public_key_hex()).as_ptr());
        lic_config_set_license_key(cfg, s(key).as_ptr());
        lic_config_set_fingerprint(cfg, s("bench-machine").as_ptr());
        lic_config_set_cache_dir(cfg, s(cache.to_str().unwrap()).as_ptr());
        let mut client = null_mut();
        assert_eq!(lic_client_new(cfg, &mut client), lic_status::LIC_STATUS_OK);
        lic_config_free(cfg);
        Shared(client)
    }
}

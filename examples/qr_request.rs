//! The size of an air-gapped activation request and its QR code, for a
//! typical request (a Keygen-style license key, a 64-hex fingerprint, host
//! name, platform and app name) and for the smallest one (key and
//! fingerprint only), each without and with a portal URL.
//!
//!     cargo run --release --example qr_request
//!
//! Prints the payload and text lengths, the QR version and width, the sizes
//! of the three renderings and the time to draw them.

use std::time::Instant;

use lic::activation::{ActivationRequest, RequestCode};

fn main() {
    let typical = ActivationRequest {
        license_key: "C1B6DE-39A6E3-DE1529-8559A0-4AF593-V3".into(),
        fingerprint: "4f6c2f0e9b1d47a8c3e5f7a9b2d4c6e8f0a1b3c5d7e9f2a4c6e8b0d2f4a6c8e0".into(),
        hostname: Some("lab-workstation-07".into()),
        platform: Some("linux/x86_64".into()),
        app: Some("Acme CAD".into()),
    };
    let minimal = ActivationRequest {
        hostname: None,
        platform: None,
        app: None,
        ..typical.clone()
    };
    println!(
        "{:<9} {:<35} {:>7} {:>5} {:>7} {:>7} {:>8} {:>7} {:>9} {:>8}",
        "request",
        "portal URL",
        "payload",
        "text",
        "version",
        "modules",
        "SVG",
        "PNG",
        "terminal",
        "draw"
    );
    for (name, request) in [("typical", &typical), ("minimal", &minimal)] {
        for portal in [None, Some("https://activate.example.com/")] {
            let start = Instant::now();
            let code = RequestCode::new(request.clone(), portal).unwrap();
            let (svg, png, term) = (
                code.qr().svg().len(),
                code.qr().png().unwrap().len(),
                code.qr().terminal().len(),
            );
            let took = start.elapsed();
            let cols = code.qr().terminal().lines().next().unwrap().chars().count();
            println!(
                "{:<9} {:<35} {:>5} B {:>3} B {:>7} {:>7} {:>6} B {:>5} B {:>3}x{:<3} {:>5} µs",
                name,
                portal.unwrap_or("(none)"),
                request.payload().len(),
                code.text().len(),
                code.qr().version(),
                code.qr().modules(),
                svg,
                png,
                cols,
                code.qr().terminal().lines().count(),
                took.as_micros()
            );
            let _ = term;
        }
    }
    println!("\nterminal columns x lines include the 4-module quiet zone; error correction M.");
}

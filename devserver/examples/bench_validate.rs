//! validate-key throughput: 8 concurrent keep-alive clients on loopback for a few seconds.
//!
//! `cargo run --release -p lic-devserver --example bench_validate [-- SECONDS]`

use std::time::Duration;

const CLIENTS: usize = 8;

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let (n, elapsed) =
        lic_devserver::raw::validate_throughput(CLIENTS, Duration::from_secs(seconds));
    println!(
        "{n} validations in {elapsed:.2} s with {CLIENTS} keep-alive clients: {:.0} validations/s",
        n as f64 / elapsed
    );
}

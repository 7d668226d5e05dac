//! What this machine is: its fingerprint (the protected OS machine id, or
//! the app's override), and the facts an activation reports (host name,
//! platform, cores). Later: hardware components and the fingerprint report.

pub mod fingerprint;

pub use fingerprint::{machine_fingerprint, protected_id};

/// This machine's host name, when it has a usable one.
pub fn hostname() -> Option<String> {
    let from_file = |p: &str| {
        let bytes = crate::fs::read_regular_file(std::path::Path::new(p), 4096).ok()??;
        String::from_utf8(bytes).ok().map(|s| s.trim().to_string())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty() && h.len() <= 255)
}

/// `os/arch`, as an activation reports it (`linux/x86_64`).
pub fn platform() -> String {
    format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The number of CPUs this process may use (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

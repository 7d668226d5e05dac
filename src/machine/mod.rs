//! What this machine is: its fingerprint (the protected OS machine id, or
//! the app's override), its hardware components (each hashed with the app
//! id), the environment it runs in (bare metal, VM, container, WSL), the
//! explainable fingerprint report, and the facts an activation reports
//! (host name, platform, cores).

pub mod components;
pub mod environment;
pub mod fingerprint;
pub mod report;

pub use components::{Component, ComponentSource};
pub use environment::{EnvKind, Environment};
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

/// What an activation tells the server about the machine besides its
/// fingerprint. Normally this machine's ([`HostFacts::this_machine`]); a
/// portal activating an air-gapped machine passes the facts from its request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub hostname: Option<String>,
    /// `os/arch`, as [`platform`] gives it.
    pub platform: Option<String>,
    pub cores: Option<usize>,
}

impl HostFacts {
    /// This machine's host name, platform and cores.
    pub fn this_machine() -> HostFacts {
        HostFacts {
            hostname: hostname(),
            platform: Some(platform()),
            cores: Some(cores()),
        }
    }
}

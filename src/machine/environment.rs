//! What this machine runs on: bare metal, a virtual machine (hypervisor
//! named where the firmware or kernel says), a container (Docker, Podman,
//! Kubernetes, LXC), or WSL — with the evidence for the verdict, so the
//! fingerprint report can say why a fingerprint may not be stable here.

use std::path::Path;

/// The broad kind of environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvKind {
    BareMetal,
    VirtualMachine,
    Container,
    Wsl,
}

impl EnvKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvKind::BareMetal => "bare_metal",
            EnvKind::VirtualMachine => "vm",
            EnvKind::Container => "container",
            EnvKind::Wsl => "wsl",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// WSL before container before VM: a container in a VM is a container
    /// (with `hypervisor` set too).
    pub kind: EnvKind,
    pub hypervisor: Option<String>,
    /// `docker`, `podman`, `kubernetes`, `lxc`, `containerd`, or `container`.
    pub container: Option<String>,
    /// What the verdict rests on, one fact per line.
    pub evidence: Vec<String>,
}

/// Detects the environment of this machine.
pub fn detect() -> Environment {
    platform::detect()
}

/// The hypervisor a DMI `sys_vendor` / `product_name` pair names.
pub(crate) fn hypervisor_from_dmi(vendor: &str, product: &str) -> Option<String> {
    let v = vendor.trim();
    let p = product.trim();
    let name = match (v, p) {
        (_, p) if p.starts_with("VirtualBox") => "VirtualBox",
        ("QEMU", _) => "QEMU/KVM",
        (_, "KVM")
        | (_, "Standard PC (i440FX + PIIX, 1996)")
        | (_, "Standard PC (Q35 + ICH9, 2009)") => "KVM",
        ("VMware, Inc.", _) => "VMware",
        ("Microsoft Corporation", "Virtual Machine") => "Hyper-V",
        ("Xen", _) => "Xen",
        ("Amazon EC2", _) => "Amazon EC2",
        ("Google", "Google Compute Engine") => "Google Compute Engine",
        (v, _) if v.starts_with("Parallels") => "Parallels",
        ("Bochs", _) => "Bochs",
        ("DigitalOcean", _) => "DigitalOcean",
        ("Hetzner", _) => "Hetzner Cloud",
        ("OpenStack Foundation", _) | (_, "OpenStack Nova") => "OpenStack",
        ("Apple Inc.", p) if p.contains("Virtual") => "Apple Virtualization",
        _ => return None,
    };
    Some(name.to_string())
}

/// What a Linux machine's files say, below `root` (`/`, or a fake tree in
/// tests), with `env` standing in for the process environment.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn detect_linux(root: &Path, env: &dyn Fn(&str) -> Option<String>) -> Environment {
    let read = |p: &str| std::fs::read_to_string(root.join(p.trim_start_matches('/'))).ok();
    let mut evidence = Vec::new();

    let osrelease = read("/proc/sys/kernel/osrelease").unwrap_or_default();
    let wsl = osrelease.to_ascii_lowercase().contains("microsoft");
    if wsl {
        evidence.push(format!(
            "/proc/sys/kernel/osrelease is {:?} (a WSL kernel)",
            osrelease.trim()
        ));
    }

    let mut container = None;
    let mut found = |name: &str, why: String, evidence: &mut Vec<String>| {
        evidence.push(why);
        if container.is_none() {
            container = Some(name.to_string());
        }
    };
    if env("KUBERNETES_SERVICE_HOST").is_some() {
        found(
            "kubernetes",
            "KUBERNETES_SERVICE_HOST is set".into(),
            &mut evidence,
        );
    }
    if root.join(".dockerenv").exists() {
        found("docker", "/.dockerenv exists".into(), &mut evidence);
    }
    if root.join("run/.containerenv").exists() {
        found("podman", "/run/.containerenv exists".into(), &mut evidence);
    }
    if let Some(c) = env("container").filter(|c| !c.is_empty()) {
        found(&c.clone(), format!("$container is {c:?}"), &mut evidence);
    }
    let cgroup = read("/proc/1/cgroup")
        .or_else(|| read("/proc/self/cgroup"))
        .unwrap_or_default();
    for (needle, name) in [
        ("kubepods", "kubernetes"),
        ("docker", "docker"),
        ("libpod", "podman"),
        ("lxc", "lxc"),
        ("containerd", "containerd"),
    ] {
        if cgroup.contains(needle) {
            found(
                name,
                format!("the init process's cgroup names {needle}"),
                &mut evidence,
            );
            break;
        }
    }

    let mut hypervisor = None;
    let vendor = read("/sys/class/dmi/id/sys_vendor").unwrap_or_default();
    let product = read("/sys/class/dmi/id/product_name").unwrap_or_default();
    if let Some(h) = hypervisor_from_dmi(&vendor, &product) {
        evidence.push(format!(
            "DMI sys_vendor {:?}, product_name {:?}",
            vendor.trim(),
            product.trim()
        ));
        hypervisor = Some(h);
    }
    if let Some(t) = read("/sys/hypervisor/type").filter(|t| !t.trim().is_empty()) {
        evidence.push(format!("/sys/hypervisor/type is {:?}", t.trim()));
        if hypervisor.is_none() {
            hypervisor = Some(match t.trim() {
                "xen" => "Xen".to_string(),
                other => other.to_string(),
            });
        }
    }
    let cpu_flag = read("/proc/cpuinfo").is_some_and(|c| {
        c.lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "hypervisor"))
    });
    if cpu_flag {
        evidence.push("the CPU reports the hypervisor flag".into());
        if hypervisor.is_none() {
            hypervisor = Some(if wsl {
                "Hyper-V".to_string()
            } else {
                "unknown (the CPU reports a hypervisor)".to_string()
            });
        }
    }
    let kind = if wsl {
        EnvKind::Wsl
    } else if container.is_some() {
        EnvKind::Container
    } else if hypervisor.is_some() {
        EnvKind::VirtualMachine
    } else {
        evidence.push("no container, hypervisor or WSL marker found".into());
        EnvKind::BareMetal
    };
    Environment {
        kind,
        hypervisor,
        container,
        evidence,
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    pub fn detect() -> Environment {
        detect_linux(Path::new("/"), &|k| std::env::var(k).ok())
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    pub fn detect() -> Environment {
        let bios = windows_registry::LOCAL_MACHINE.open("HARDWARE\\DESCRIPTION\\System\\BIOS");
        let get = |v: &str| {
            bios.as_ref()
                .ok()
                .and_then(|k| k.get_string(v).ok())
                .unwrap_or_default()
        };
        let (vendor, product) = (get("SystemManufacturer"), get("SystemProductName"));
        let mut evidence = vec![format!(
            "BIOS SystemManufacturer {vendor:?}, SystemProductName {product:?}"
        )];
        let container = std::env::var("KUBERNETES_SERVICE_HOST").ok().map(|_| {
            evidence.push("KUBERNETES_SERVICE_HOST is set".into());
            "kubernetes".to_string()
        });
        let hypervisor = hypervisor_from_dmi(&vendor, &product);
        let kind = match (&container, &hypervisor) {
            (Some(_), _) => EnvKind::Container,
            (None, Some(_)) => EnvKind::VirtualMachine,
            _ => EnvKind::BareMetal,
        };
        Environment {
            kind,
            hypervisor,
            container,
            evidence,
        }
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub fn detect() -> Environment {
        let vm = std::process::Command::new("sysctl")
            .args(["-n", "kern.hv_vmm_present"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "1");
        let mut evidence = vec![format!("sysctl kern.hv_vmm_present: {vm:?}")];
        let kind = if vm == Some(true) {
            EnvKind::VirtualMachine
        } else {
            evidence.push("no hypervisor reported".into());
            EnvKind::BareMetal
        };
        Environment {
            kind,
            hypervisor: (kind == EnvKind::VirtualMachine).then(|| "unknown (macOS guest)".into()),
            container: None,
            evidence,
        }
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
mod platform {
    use super::*;

    pub fn detect() -> Environment {
        Environment {
            kind: EnvKind::BareMetal,
            hypervisor: None,
            container: None,
            evidence: vec!["no detection on this platform".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Tree(PathBuf);
    impl Tree {
        fn new(tag: &str) -> Tree {
            let p = std::env::temp_dir().join(format!(
                "lic-env-{tag}-{}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Tree(p)
        }
        fn put(&self, path: &str, text: &str) -> &Tree {
            let p = self.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
            self
        }
    }
    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn bare_metal_vm_container_and_wsl() {
        let t = Tree::new("bare");
        t.put("proc/cpuinfo", "flags : fpu sse\n")
            .put("proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
            .put("sys/class/dmi/id/sys_vendor", "Dell Inc.\n")
            .put("sys/class/dmi/id/product_name", "OptiPlex 7090\n");
        let e = detect_linux(&t.0, &no_env);
        assert_eq!(
            (e.kind, e.hypervisor.as_deref()),
            (EnvKind::BareMetal, None)
        );

        let t = Tree::new("vm");
        t.put("proc/cpuinfo", "flags : fpu hypervisor sse\n")
            .put("sys/class/dmi/id/sys_vendor", "QEMU\n")
            .put(
                "sys/class/dmi/id/product_name",
                "Standard PC (Q35 + ICH9, 2009)\n",
            );
        let e = detect_linux(&t.0, &no_env);
        assert_eq!(e.kind, EnvKind::VirtualMachine);
        assert_eq!(e.hypervisor.as_deref(), Some("QEMU/KVM"));
        assert!(e.evidence.iter().any(|l| l.contains("hypervisor flag")));

        let t = Tree::new("xen");
        t.put("sys/hypervisor/type", "xen\n");
        assert_eq!(
            detect_linux(&t.0, &no_env).hypervisor.as_deref(),
            Some("Xen")
        );

        let t = Tree::new("docker");
        t.put(".dockerenv", "")
            .put("proc/cpuinfo", "flags : hypervisor\n");
        let e = detect_linux(&t.0, &no_env);
        assert_eq!(
            (e.kind, e.container.as_deref()),
            (EnvKind::Container, Some("docker"))
        );
        assert!(e.hypervisor.is_some(), "a container in a VM keeps the VM");

        let t = Tree::new("podman");
        t.put("run/.containerenv", "engine=\"podman\"\n");
        assert_eq!(
            detect_linux(&t.0, &no_env).container.as_deref(),
            Some("podman")
        );

        let t = Tree::new("k8s");
        t.put(
            "proc/1/cgroup",
            "0::/kubepods.slice/kubepods-burstable.slice/x\n",
        );
        assert_eq!(
            detect_linux(&t.0, &no_env).container.as_deref(),
            Some("kubernetes")
        );
        let t = Tree::new("k8s-env");
        let env = |k: &str| (k == "KUBERNETES_SERVICE_HOST").then(|| "10.0.0.1".to_string());
        assert_eq!(
            detect_linux(&t.0, &env).container.as_deref(),
            Some("kubernetes")
        );

        let t = Tree::new("wsl");
        t.put(
            "proc/sys/kernel/osrelease",
            "5.15.153.1-microsoft-standard-WSL2\n",
        )
        .put("proc/cpuinfo", "flags : hypervisor\n");
        let e = detect_linux(&t.0, &no_env);
        assert_eq!(
            (e.kind, e.hypervisor.as_deref()),
            (EnvKind::Wsl, Some("Hyper-V"))
        );
    }

    #[test]
    fn dmi_names() {
        for (v, p, h) in [
            ("VMware, Inc.", "VMware Virtual Platform", "VMware"),
            ("innotek GmbH", "VirtualBox", "VirtualBox"),
            ("Microsoft Corporation", "Virtual Machine", "Hyper-V"),
            ("Amazon EC2", "m5.large", "Amazon EC2"),
            ("Google", "Google Compute Engine", "Google Compute Engine"),
        ] {
            assert_eq!(hypervisor_from_dmi(v, p).as_deref(), Some(h));
        }
        assert_eq!(
            hypervisor_from_dmi("Microsoft Corporation", "Surface Pro"),
            None
        );
        assert_eq!(hypervisor_from_dmi("LENOVO", "20XW"), None);
    }

    #[test]
    fn this_machine_is_detected() {
        let e = detect();
        assert!(!e.evidence.is_empty());
    }
}

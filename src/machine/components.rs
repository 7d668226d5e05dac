//! Hardware components of this machine (Keygen machine components): the OS
//! machine id, the system UUID and board serial where readable, the CPU
//! model, the primary disk's serial, and the MACs of physical NICs — each
//! sent as `hex(HMAC-SHA256(key = raw value, message = app id + "/" + kind))`
//! so no raw value ever leaves the machine, plus what the app adds or
//! overrides (`lic_config_add_component`).
//!
//! Collection never fails: a component that cannot be read is kept with
//! `hash = None` and a note saying why, so the fingerprint report can
//! explain it. Only readable components are sent, at most
//! [`MAX_COMPONENTS`] (Keygen's limit per machine).

use crate::crypto::{encode_hex, hmac_sha256};

/// Keygen refuses a machine with more components than this.
pub const MAX_COMPONENTS: usize = 20;
/// Physical NICs reported at most (sorted by interface name).
const MAX_NICS: usize = 4;

/// Where a component's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentSource {
    /// A file (`/etc/machine-id`, sysfs, procfs).
    File,
    /// The Windows registry.
    Registry,
    /// An OS call (network interfaces on Windows and macOS).
    Syscall,
    /// An OS tool's output (`ioreg`, `sysctl` on macOS).
    Command,
    /// The app (`lic_config_add_component`).
    App,
}

impl ComponentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentSource::File => "file",
            ComponentSource::Registry => "registry",
            ComponentSource::Syscall => "syscall",
            ComponentSource::Command => "command",
            ComponentSource::App => "app",
        }
    }
}

/// One component as lic collected it (never its raw value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// The name sent to Keygen: `machine_id`, `system_uuid`, `board_serial`,
    /// `cpu`, `disk`, `mac:<interface>`, or the app's name.
    pub name: String,
    pub source: ComponentSource,
    /// Where it was read (a path, a registry value, a command), or "app".
    pub origin: String,
    /// The component fingerprint; `None` when the value could not be read.
    pub hash: Option<String>,
    /// Why it could not be read, or what the app did with it.
    pub note: Option<String>,
    /// The app asked for it not to be sent.
    pub excluded: bool,
}

impl Component {
    pub fn readable(&self) -> bool {
        self.hash.is_some()
    }

    /// Readable and not excluded by the app.
    pub fn sendable(&self) -> bool {
        self.readable() && !self.excluded
    }
}

/// The app's settings, in order: `(name, Some(value))` sets or adds a
/// component, `(name, None)` keeps it from being sent.
pub type Overrides = [(String, Option<String>)];

/// The hash kind of a component name: the part before the first `:`
/// (`mac:eth0` → `mac`, so renaming an interface keeps its hash).
pub fn kind_of(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// `hex(HMAC-SHA256(key = raw value, message = app id + "/" + kind))`.
pub fn component_hash(raw: &str, app_id: &str, kind: &str) -> String {
    encode_hex(&hmac_sha256(
        raw.as_bytes(),
        format!("{app_id}/{kind}").as_bytes(),
    ))
}

/// A raw probe result, before hashing.
pub(crate) struct Probe {
    pub name: String,
    pub source: ComponentSource,
    pub origin: String,
    /// The raw value, or why there is none.
    pub value: Result<String, String>,
}

impl Probe {
    pub(crate) fn new(
        name: &str,
        source: ComponentSource,
        origin: impl Into<String>,
        value: Result<String, String>,
    ) -> Probe {
        Probe {
            name: name.to_string(),
            source,
            origin: origin.into(),
            value: value.and_then(usable),
        }
    }

    fn into_component(self, app_id: &str) -> Component {
        let (hash, note) = match self.value {
            Ok(raw) => (
                Some(component_hash(&raw, app_id, kind_of(&self.name))),
                None,
            ),
            Err(why) => (None, Some(why)),
        };
        Component {
            name: self.name,
            source: self.source,
            origin: self.origin,
            hash,
            note,
            excluded: false,
        }
    }
}

/// Placeholders firmware puts where a serial or UUID should be: the same on
/// every machine, so worse than nothing for telling machines apart.
const PLACEHOLDERS: &[&str] = &[
    "",
    "0",
    "none",
    "null",
    "n/a",
    "na",
    "default string",
    "not specified",
    "not applicable",
    "not available",
    "to be filled by o.e.m.",
    "to be filled by oem",
    "system serial number",
    "system product name",
    "chassis serial number",
    "base board serial number",
    "0123456789",
    "123456789",
    "serial",
    "oem",
    "invalid",
    "unknown",
];

/// Trims a raw value and refuses placeholders and all-zero/all-F ids.
fn usable(raw: String) -> Result<String, String> {
    let v = raw.trim().trim_matches(char::from(0)).trim().to_string();
    let lower = v.to_ascii_lowercase();
    if PLACEHOLDERS.contains(&lower.as_str()) {
        return Err(if v.is_empty() {
            "empty".to_string()
        } else {
            format!("a firmware placeholder ({v:?}), the same on many machines")
        });
    }
    let digits: String = lower.chars().filter(char::is_ascii_hexdigit).collect();
    if !digits.is_empty()
        && lower
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-' || c == ':')
        && (digits.chars().all(|c| c == '0') || digits.chars().all(|c| c == 'f'))
    {
        return Err("all zeros or all ones (not set)".to_string());
    }
    Ok(v)
}

/// This machine's components for `app_id`, with the app's overrides
/// applied: a value replaces the built-in component of that name (or adds
/// one), an exclusion keeps it from being sent. Unreadable ones are kept
/// for the report.
pub fn collect(app_id: &str, overrides: &Overrides) -> Vec<Component> {
    let probes = platform::probes();
    apply(probes, app_id, overrides)
}

pub(crate) fn apply(probes: Vec<Probe>, app_id: &str, overrides: &Overrides) -> Vec<Component> {
    let mut out: Vec<Component> = probes
        .into_iter()
        .map(|p| p.into_component(app_id))
        .collect();
    for (name, value) in overrides {
        let at = out.iter().position(|c| c.name == *name);
        match value {
            Some(v) => {
                let c = Component {
                    name: name.clone(),
                    source: ComponentSource::App,
                    origin: "app".to_string(),
                    hash: Some(component_hash(v.trim(), app_id, kind_of(name))),
                    note: Some(if at.is_some() {
                        "value set by the app (replaces the built-in one)".to_string()
                    } else {
                        "added by the app".to_string()
                    }),
                    excluded: false,
                };
                match at {
                    Some(i) => out[i] = c,
                    None => out.push(c),
                }
            }
            None => match at {
                Some(i) => {
                    out[i].excluded = true;
                    out[i].note = Some(match out[i].note.take() {
                        Some(n) => format!("excluded by the app; {n}"),
                        None => "excluded by the app".to_string(),
                    });
                }
                None => out.push(Component {
                    name: name.clone(),
                    source: ComponentSource::App,
                    origin: "app".to_string(),
                    hash: None,
                    note: Some("excluded by the app".to_string()),
                    excluded: true,
                }),
            },
        }
    }
    out
}

/// The components that are sent to Keygen: readable, not excluded, at most
/// [`MAX_COMPONENTS`], each hash once.
pub fn to_send(components: &[Component]) -> Vec<&Component> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for c in components.iter().filter(|c| c.sendable()) {
        let h = c.hash.as_deref().unwrap_or_default();
        if !seen.contains(&h) && out.len() < MAX_COMPONENTS {
            seen.push(h);
            out.push(c);
        }
    }
    out
}

#[cfg(target_os = "linux")]
mod platform {
    //! Linux: everything comes from files in /etc, /proc and /sys, readable
    //! without privileges except the DMI serials and UUID (root only).

    use std::path::{Path, PathBuf};

    use super::{ComponentSource, Probe, MAX_NICS};

    pub fn probes() -> Vec<Probe> {
        probes_in(Path::new("/"))
    }

    /// Reads a file below `root` (the real root, or a fake tree in tests).
    pub(crate) fn read(root: &Path, path: &str) -> Result<String, String> {
        let full = root.join(path.trim_start_matches('/'));
        match std::fs::read(&full) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => Err(match e.kind() {
                std::io::ErrorKind::NotFound => "not present".to_string(),
                std::io::ErrorKind::PermissionDenied => {
                    "readable only with privileges (root)".to_string()
                }
                _ => format!("cannot be read: {e}"),
            }),
        }
    }

    pub(crate) fn probes_in(root: &Path) -> Vec<Probe> {
        let mut out = vec![machine_id(root)];
        for (name, file) in [
            ("system_uuid", "/sys/class/dmi/id/product_uuid"),
            ("board_serial", "/sys/class/dmi/id/board_serial"),
        ] {
            let value = read(root, file).map_err(|e| {
                if e == "not present" && !root.join("sys/class/dmi/id").exists() {
                    "not present (no DMI firmware tables: a container, a VM without SMBIOS, or not a PC)".to_string()
                } else {
                    e
                }
            });
            out.push(Probe::new(name, ComponentSource::File, file, value));
        }
        out.push(Probe::new(
            "cpu",
            ComponentSource::File,
            "/proc/cpuinfo",
            read(root, "/proc/cpuinfo").and_then(|t| cpu_model(&t)),
        ));
        out.push(disk(root));
        out.extend(nics(root));
        out
    }

    fn machine_id(root: &Path) -> Probe {
        let mut why = Vec::new();
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            match read(root, path) {
                Ok(v) if !v.trim().is_empty() => {
                    return Probe::new("machine_id", ComponentSource::File, path, Ok(v))
                }
                Ok(_) => why.push(format!("{path} is empty")),
                Err(e) => why.push(format!("{path} is {e}")),
            }
        }
        Probe::new(
            "machine_id",
            ComponentSource::File,
            "/etc/machine-id",
            Err(why.join("; ")),
        )
    }

    /// The CPU's model name from /proc/cpuinfo (x86 `model name`; ARM
    /// `Hardware`/`Model` or implementer and part).
    pub(crate) fn cpu_model(text: &str) -> Result<String, String> {
        let field = |key: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        };
        if let Some(v) = ["model name", "Hardware", "Model", "cpu model", "cpu"]
            .iter()
            .find_map(|k| field(k))
        {
            return Ok(v);
        }
        match (field("CPU implementer"), field("CPU part")) {
            (Some(i), Some(p)) => Ok(format!("implementer {i} part {p}")),
            _ => Err("no model in /proc/cpuinfo".to_string()),
        }
    }

    /// The device number of the file system mounted at `/` (the last such
    /// mount in mountinfo wins).
    pub(crate) fn root_device(mountinfo: &str) -> Option<(u32, u32)> {
        mountinfo
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() > 4 && f[4] == "/").then(|| f[2])
            })
            .next_back()
            .and_then(|dev| {
                let (a, b) = dev.split_once(':')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
    }

    /// The serial of the disk holding `/`: sysfs `serial`, the SCSI unit
    /// serial VPD page, or the WWID, following device-mapper and partitions
    /// down to the whole disk.
    fn disk(root: &Path) -> Probe {
        let origin = "/sys/dev/block";
        let Some((major, minor)) = read(root, "/proc/self/mountinfo")
            .ok()
            .and_then(|m| root_device(&m))
        else {
            return Probe::new(
                "disk",
                ComponentSource::File,
                origin,
                Err("the root mount is not in /proc/self/mountinfo".to_string()),
            );
        };
        if major == 0 {
            return Probe::new(
                "disk",
                ComponentSource::File,
                origin,
                Err("the root file system is not on a block device (a container's overlay, tmpfs or a network root)".to_string()),
            );
        }
        let dev = root.join(format!("sys/dev/block/{major}:{minor}"));
        let Ok(mut disk) = std::fs::canonicalize(&dev) else {
            return Probe::new(
                "disk",
                ComponentSource::File,
                origin,
                Err(format!("{major}:{minor} is not in /sys/dev/block")),
            );
        };
        for _ in 0..4 {
            if disk.join("partition").exists() {
                if let Some(parent) = disk.parent() {
                    disk = parent.to_path_buf();
                }
            }
            // device-mapper (LVM, LUKS): follow the first underlying device.
            let slave = std::fs::read_dir(disk.join("slaves"))
                .ok()
                .and_then(|mut d| d.next())
                .and_then(|e| e.ok())
                .and_then(|e| std::fs::canonicalize(e.path()).ok());
            match slave {
                Some(s) => disk = s,
                None => break,
            }
        }
        let name = disk
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = format!("/sys/block/{name}");
        match disk_serial(&disk) {
            Ok((file, v)) => Probe::new(
                "disk",
                ComponentSource::File,
                format!("{shown}/{file}"),
                Ok(v),
            ),
            Err(e) => Probe::new("disk", ComponentSource::File, shown, Err(e)),
        }
    }

    fn disk_serial(disk: &Path) -> Result<(&'static str, String), String> {
        let text = |p: PathBuf| {
            std::fs::read(p)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .filter(|s| !s.is_empty())
        };
        for file in ["device/serial", "serial"] {
            if let Some(v) = text(disk.join(file)) {
                return Ok((file, v));
            }
        }
        if let Some(v) = std::fs::read(disk.join("device/vpd_pg80"))
            .ok()
            .and_then(|b| vpd_serial(&b))
        {
            return Ok(("device/vpd_pg80", v));
        }
        for file in ["wwid", "device/wwid"] {
            if let Some(v) = text(disk.join(file)) {
                return Ok((file, v));
            }
        }
        Err("the disk exposes no serial or WWID readable without privileges".to_string())
    }

    /// The unit serial number in a SCSI VPD page 0x80.
    pub(crate) fn vpd_serial(page: &[u8]) -> Option<String> {
        if page.len() < 4 || page[1] != 0x80 {
            return None;
        }
        let len = usize::from(page[3]).min(page.len() - 4);
        let s = String::from_utf8_lossy(&page[4..4 + len])
            .trim()
            .to_string();
        (!s.is_empty()).then_some(s)
    }

    /// Interface name prefixes of virtual and container interfaces.
    const VIRTUAL: &[&str] = &[
        "lo",
        "veth",
        "docker",
        "br-",
        "virbr",
        "vnet",
        "tun",
        "tap",
        "cni",
        "flannel",
        "cali",
        "weave",
        "vxlan",
        "kube",
        "podman",
        "lxc",
        "lxd",
        "wg",
        "zt",
        "tailscale",
        "ifb",
        "dummy",
        "bond",
        "team",
        "macvtap",
        "ipvlan",
    ];

    /// The MACs of physical NICs: interfaces with a `device` link in sysfs
    /// (a bus device: PCI, USB, virtio), Ethernet type, a permanent address,
    /// and no bridge, tun/tap or virtual name.
    fn nics(root: &Path) -> Vec<Probe> {
        let dir = root.join("sys/class/net");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !VIRTUAL.iter().any(|v| n.starts_with(v)))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let nic = dir.join(&name);
            let attr = |a: &str| {
                std::fs::read_to_string(nic.join(a))
                    .ok()
                    .map(|s| s.trim().to_string())
            };
            let physical = nic.join("device").exists()
                && !nic.join("bridge").exists()
                && !nic.join("tun_flags").exists()
                && attr("type").as_deref().is_none_or(|t| t == "1")
                // 0: permanent; 1: random, 2: stolen, 3: set by user space.
                && attr("addr_assign_type").as_deref().is_none_or(|t| t == "0");
            if !physical {
                continue;
            }
            let origin = format!("/sys/class/net/{name}/address");
            let mac = attr("bonding_slave/perm_hwaddr")
                .or_else(|| attr("address"))
                .map(|m| m.to_ascii_lowercase())
                .ok_or_else(|| "no address".to_string());
            out.push(Probe::new(
                &format!("mac:{name}"),
                ComponentSource::File,
                origin,
                mac,
            ));
            if out.len() == MAX_NICS {
                break;
            }
        }
        out
    }
}

#[cfg(windows)]
mod platform {
    //! Windows: the registry (readable by every user) and the adapter list.

    use super::{ComponentSource, Probe, MAX_NICS};

    fn reg(path: &str, value: &str) -> Result<String, String> {
        windows_registry::LOCAL_MACHINE
            .open(path)
            .and_then(|k| k.get_string(value))
            .map_err(|e| format!("cannot be read: {e}"))
    }

    fn reg_probe(name: &str, path: &str, value: &str) -> Probe {
        Probe::new(
            name,
            ComponentSource::Registry,
            format!("HKLM\\{path}\\{value}"),
            reg(path, value),
        )
    }

    pub fn probes() -> Vec<Probe> {
        let mut out = vec![
            reg_probe(
                "machine_id",
                "SOFTWARE\\Microsoft\\Cryptography",
                "MachineGuid",
            ),
            // The SMBIOS system UUID, as Windows records its hardware profile.
            {
                let mut p = reg_probe("system_uuid", "SYSTEM\\HardwareConfig", "LastConfig");
                p.value = p
                    .value
                    .map(|v| v.trim_matches(|c| c == '{' || c == '}').to_string());
                p
            },
            reg_probe(
                "cpu",
                "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                "ProcessorNameString",
            ),
            reg_probe(
                "disk",
                "HARDWARE\\DEVICEMAP\\Scsi\\Scsi Port 0\\Scsi Bus 0\\Target Id 0\\Logical Unit Id 0",
                "SerialNumber",
            ),
        ];
        out.extend(nics());
        out
    }

    const NET_CLASS: &str =
        "SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e972-e325-11ce-bfc1-08002be10318}";
    /// NCF_VIRTUAL and NCF_PHYSICAL in an adapter's `Characteristics`.
    const NCF_VIRTUAL: u32 = 0x1;
    const NCF_PHYSICAL: u32 = 0x4;

    /// Physical adapters from the network class key (their
    /// `Characteristics` say physical, not virtual), each looked up by its
    /// adapter GUID in the OS adapter list for its MAC.
    fn nics() -> Vec<Probe> {
        let Ok(class) = windows_registry::LOCAL_MACHINE.open(NET_CLASS) else {
            return Vec::new();
        };
        let Ok(keys) = class.keys() else {
            return Vec::new();
        };
        let mut adapters: Vec<(String, String)> = keys
            .filter_map(|sub| {
                let k = class.open(&sub).ok()?;
                let flags = k.get_u32("Characteristics").ok()?;
                if flags & NCF_PHYSICAL == 0 || flags & NCF_VIRTUAL != 0 {
                    return None;
                }
                let guid = k.get_string("NetCfgInstanceId").ok()?;
                Some((sub, guid))
            })
            .collect();
        adapters.sort();
        adapters
            .into_iter()
            .take(MAX_NICS)
            .map(|(sub, guid)| {
                let mac = match mac_address::mac_address_by_name(&guid) {
                    Ok(Some(m)) => Ok(m.to_string().to_ascii_lowercase()),
                    Ok(None) => Err("the adapter is not present".to_string()),
                    Err(e) => Err(format!("cannot be read: {e}")),
                };
                Probe::new(
                    &format!("mac:{sub}"),
                    ComponentSource::Syscall,
                    format!("GetAdaptersAddresses {guid}"),
                    mac,
                )
            })
            .collect()
    }
}

#[cfg(target_os = "macos")]
mod platform {
    //! macOS: IOKit's platform device through `ioreg`, `sysctl`, and the
    //! built-in `en` interfaces.

    use super::{ComponentSource, Probe, MAX_NICS};

    fn command(program: &str, args: &[&str]) -> Result<String, String> {
        let out = std::process::Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program} cannot be run: {e}"))?;
        if !out.status.success() {
            return Err(format!("{program} failed ({})", out.status));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `"Key" = "value"` in ioreg's output.
    fn ioreg_value(text: &str, key: &str) -> Result<String, String> {
        let quoted = format!("\"{key}\"");
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == quoted).then(|| v.trim().trim_matches('"').to_string())
            })
            .ok_or_else(|| format!("ioreg has no {key}"))
    }

    pub fn probes() -> Vec<Probe> {
        let ioreg = command("ioreg", &["-rd1", "-c", "IOPlatformExpertDevice"]);
        let origin = "ioreg -rd1 -c IOPlatformExpertDevice";
        let from_ioreg = |key: &str| ioreg.clone().and_then(|t| ioreg_value(&t, key));
        let mut out = vec![
            Probe::new(
                "machine_id",
                ComponentSource::Command,
                format!("{origin} IOPlatformUUID"),
                from_ioreg("IOPlatformUUID"),
            ),
            Probe::new(
                "system_serial",
                ComponentSource::Command,
                format!("{origin} IOPlatformSerialNumber"),
                from_ioreg("IOPlatformSerialNumber"),
            ),
            Probe::new(
                "cpu",
                ComponentSource::Command,
                "sysctl -n machdep.cpu.brand_string",
                command("sysctl", &["-n", "machdep.cpu.brand_string"]),
            ),
        ];
        for i in 0..8 {
            if out.len() >= 3 + MAX_NICS {
                break;
            }
            let name = format!("en{i}");
            if let Ok(Some(m)) = mac_address::mac_address_by_name(&name) {
                out.push(Probe::new(
                    &format!("mac:{name}"),
                    ComponentSource::Syscall,
                    format!("getifaddrs {name}"),
                    Ok(m.to_string().to_ascii_lowercase()),
                ));
            }
        }
        out
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
mod platform {
    //! Other systems: the OS machine id only.

    use super::{ComponentSource, Probe};

    pub fn probes() -> Vec<Probe> {
        vec![Probe::new(
            "machine_id",
            ComponentSource::Syscall,
            "machine-uid",
            machine_uid::get().map_err(|e| e.to_string()),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str, v: Result<&str, &str>) -> Probe {
        Probe::new(
            name,
            ComponentSource::File,
            "/x",
            v.map(str::to_string).map_err(str::to_string),
        )
    }

    #[test]
    fn hashes_are_keyed_by_value_app_and_kind_and_never_raw() {
        let cs = apply(
            vec![
                probe("machine_id", Ok("abc123\n")),
                probe("mac:eth0", Ok("02:42:ac:11:00:02")),
            ],
            "my-app",
            &[],
        );
        assert_eq!(
            cs[0].hash.as_deref(),
            Some(encode_hex(&hmac_sha256(b"abc123", b"my-app/machine_id")).as_str())
        );
        // The machine-id component is not the fingerprint itself.
        assert_ne!(
            cs[0].hash,
            Some(super::super::protected_id("abc123", "my-app"))
        );
        assert_eq!(
            cs[1].hash,
            Some(component_hash("02:42:ac:11:00:02", "my-app", "mac"))
        );
        let other = apply(vec![probe("machine_id", Ok("abc123"))], "other-app", &[]);
        assert_ne!(other[0].hash, cs[0].hash);
        for c in &cs {
            assert!(!c.hash.as_ref().unwrap().contains("abc123"));
            assert_eq!(c.hash.as_ref().unwrap().len(), 64);
        }
    }

    #[test]
    fn placeholders_and_empty_values_are_unreadable() {
        for bad in [
            "",
            "  \n",
            "To be filled by O.E.M.",
            "Default string",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "00:00:00:00:00:00",
        ] {
            let c = &apply(vec![probe("system_uuid", Ok(bad))], "a", &[])[0];
            assert!(!c.readable(), "{bad:?}");
            assert!(c.note.is_some());
        }
        let c = &apply(vec![probe("system_uuid", Ok("4C4C4544-0042"))], "a", &[])[0];
        assert!(c.readable());
    }

    #[test]
    fn overrides_replace_add_and_exclude() {
        let cs = apply(
            vec![
                probe("machine_id", Err("not present")),
                probe("cpu", Ok("Xeon")),
                probe("disk", Ok("S3Z9NB0K")),
            ],
            "app",
            &[
                ("machine_id".into(), Some("host-id-42".into())),
                ("pod_uid".into(), Some("abc".into())),
                ("disk".into(), None),
                ("pod_uid".into(), Some("def".into())),
            ],
        );
        let get = |n: &str| cs.iter().find(|c| c.name == n).unwrap();
        assert_eq!(get("machine_id").source, ComponentSource::App);
        assert_eq!(
            get("machine_id").hash,
            Some(component_hash("host-id-42", "app", "machine_id"))
        );
        assert_eq!(
            get("pod_uid").hash,
            Some(component_hash("def", "app", "pod_uid"))
        );
        assert!(get("disk").excluded && get("disk").readable());
        let sent: Vec<&str> = to_send(&cs).iter().map(|c| c.name.as_str()).collect();
        assert_eq!(sent, ["machine_id", "cpu", "pod_uid"]);
    }

    #[test]
    fn at_most_twenty_distinct_are_sent() {
        let probes = (0..30)
            .map(|i| probe(&format!("c{i}"), Ok(if i % 2 == 0 { "same" } else { "x" })))
            .collect();
        let cs = apply(probes, "a", &[]);
        // Each name is its own kind, so all 30 hashes differ; 20 are sent.
        assert_eq!(to_send(&cs).len(), MAX_COMPONENTS);
        let dup = apply(
            vec![probe("mac:a", Ok("same")), probe("mac:b", Ok("same"))],
            "a",
            &[],
        );
        assert_eq!(to_send(&dup).len(), 1, "one hash is sent once");
    }

    #[test]
    fn this_machine_collects_without_failing() {
        let cs = collect("lic-test", &[]);
        assert!(cs.iter().any(|c| c.name == "machine_id"));
        assert!(cs.iter().any(|c| c.name == "cpu"));
        for c in &cs {
            assert_eq!(
                c.readable(),
                c.note.is_none() || c.source == ComponentSource::App
            );
        }
        assert_eq!(cs, collect("lic-test", &[]), "stable between calls");
    }

    #[cfg(target_os = "linux")]
    mod linux {
        use super::super::platform::*;
        use std::path::Path;

        fn write(root: &Path, path: &str, text: &str) {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }

        fn link(root: &Path, path: &str, target: &str) {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, p).unwrap();
        }

        #[test]
        fn cpu_model_on_x86_and_arm() {
            assert_eq!(
                cpu_model("processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t: fpu\n")
                    .unwrap(),
                "Intel(R) Xeon(R)"
            );
            assert_eq!(
                cpu_model("processor : 0\nCPU implementer : 0x41\nCPU part : 0xd0c\n").unwrap(),
                "implementer 0x41 part 0xd0c"
            );
            assert!(cpu_model("processor : 0\n").is_err());
        }

        #[test]
        fn root_device_and_vpd_serial() {
            let mi = "22 1 0:21 / /proc rw - proc proc rw\n\
                      25 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw\n\
                      30 25 0:40 / /tmp rw - tmpfs tmpfs rw\n";
            assert_eq!(root_device(mi), Some((259, 2)));
            assert_eq!(
                root_device("25 1 0:52 / / rw - overlay overlay rw\n"),
                Some((0, 52))
            );
            assert_eq!(root_device(""), None);
            let mut page = vec![0u8, 0x80, 0, 8];
            page.extend_from_slice(b"  WD-1234");
            assert_eq!(vpd_serial(&page).as_deref(), Some("WD-123"));
            assert_eq!(vpd_serial(&[0, 0x83, 0, 1, b'x']), None);
        }

        #[test]
        fn physical_nics_only_and_the_root_disk_serial() {
            let dir = std::env::temp_dir().join(format!(
                "lic-components-{}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            let root = dir.as_path();
            write(root, "etc/machine-id", "\n");
            write(root, "var/lib/dbus/machine-id", "0123abcd\n");
            write(root, "proc/cpuinfo", "model name : Test CPU\n");
            for (nic, mac, extra) in [
                ("eth0", "02:00:00:00:00:01", "device"),
                ("enp3s0", "0A:00:00:00:00:02", "device"),
                ("wlan0", "02:00:00:00:00:03", "random"),
                ("docker0", "02:00:00:00:00:04", "device"),
                ("br0", "02:00:00:00:00:05", "bridge"),
                ("tap1", "02:00:00:00:00:06", "tun"),
                ("ifb0", "02:00:00:00:00:07", ""),
            ] {
                write(root, &format!("sys/class/net/{nic}/address"), mac);
                write(root, &format!("sys/class/net/{nic}/type"), "1");
                let assign = if extra == "random" { "1" } else { "0" };
                write(
                    root,
                    &format!("sys/class/net/{nic}/addr_assign_type"),
                    assign,
                );
                if !extra.is_empty() {
                    std::fs::create_dir_all(root.join(format!("sys/devices/pci/{nic}"))).unwrap();
                    link(
                        root,
                        &format!("sys/class/net/{nic}/device"),
                        root.join(format!("sys/devices/pci/{nic}"))
                            .to_str()
                            .unwrap(),
                    );
                }
                if extra == "bridge" {
                    std::fs::create_dir_all(root.join(format!("sys/class/net/{nic}/bridge")))
                        .unwrap();
                }
                if extra == "tun" {
                    write(root, &format!("sys/class/net/{nic}/tun_flags"), "0x1002");
                }
            }
            // `/` on 8:2, a partition of sda whose VPD page has the serial.
            write(
                root,
                "proc/self/mountinfo",
                "25 1 8:2 / / rw - ext4 /dev/sda2 rw\n",
            );
            let sda = root.join("sys/devices/pci/ata1/block/sda");
            write(root, "sys/devices/pci/ata1/block/sda/sda2/partition", "2");
            let mut page = vec![0u8, 0x80, 0, 6];
            page.extend_from_slice(b"ZA1B2C");
            std::fs::create_dir_all(sda.join("device")).unwrap();
            std::fs::write(sda.join("device/vpd_pg80"), page).unwrap();
            link(
                root,
                "sys/dev/block/8:2",
                sda.join("sda2").to_str().unwrap(),
            );

            let probes = probes_in(root);
            let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "machine_id",
                    "system_uuid",
                    "board_serial",
                    "cpu",
                    "disk",
                    "mac:enp3s0",
                    "mac:eth0"
                ]
            );
            let get = |n: &str| probes.iter().find(|p| p.name == n).unwrap();
            assert_eq!(get("machine_id").value.as_deref(), Ok("0123abcd"));
            assert_eq!(get("machine_id").origin, "/var/lib/dbus/machine-id");
            assert_eq!(get("cpu").value.as_deref(), Ok("Test CPU"));
            assert_eq!(get("disk").value.as_deref(), Ok("ZA1B2C"));
            assert!(get("disk").origin.ends_with("/sda/device/vpd_pg80"));
            assert_eq!(get("mac:enp3s0").value.as_deref(), Ok("0a:00:00:00:00:02"));
            assert!(get("system_uuid")
                .value
                .as_ref()
                .unwrap_err()
                .contains("no DMI"));

            // No machine id at all: the reason names both files.
            std::fs::write(root.join("var/lib/dbus/machine-id"), "").unwrap();
            let why = probes_in(root).remove(0).value.unwrap_err();
            assert!(
                why.contains("/etc/machine-id is empty") && why.contains("dbus"),
                "{why}"
            );
            // An overlay root has no disk.
            write(
                root,
                "proc/self/mountinfo",
                "25 1 0:52 / / rw - overlay overlay rw\n",
            );
            let why = probes_in(root)
                .into_iter()
                .find(|p| p.name == "disk")
                .unwrap()
                .value
                .unwrap_err();
            assert!(why.contains("not on a block device"), "{why}");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

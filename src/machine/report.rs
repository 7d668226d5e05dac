//! The explainable fingerprint: one JSON document (schema version 1, see
//! `lic_fingerprint_report` in lic.h) with the fingerprint, every
//! component (name, source, readable, hash — never a raw value), the
//! detected environment, how this machine compares with the activated
//! machine's components, and advice for the cases that break fingerprints.

use serde_json::{json, Value};

use super::components::{to_send, Component};
use super::environment::{EnvKind, Environment};

/// The report's schema version (the `"version"` field).
pub const REPORT_VERSION: u32 = 1;

/// Where the fingerprint came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FingerprintSource {
    /// `lic_config_set_fingerprint`.
    Config,
    /// The protected OS machine id.
    MachineId,
}

/// What the server says about this machine, as the client found out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Not asked (no fingerprint, no license key, or not wanted).
    NotChecked(String),
    /// The license has no machine with this fingerprint.
    NotActivated,
    /// The activated machine and its components (name, fingerprint).
    Activated {
        machine_id: String,
        components: Vec<(String, String)>,
    },
    /// The server could not be asked (the error).
    Failed(String),
}

/// The inputs of a report.
pub struct ReportInput<'a> {
    pub fingerprint: Result<String, String>,
    pub fingerprint_source: FingerprintSource,
    pub app_id: &'a str,
    pub components: &'a [Component],
    pub environment: &'a Environment,
    pub activation: Activation,
}

/// Builds the report document.
pub fn build(input: &ReportInput<'_>) -> Value {
    let sent: Vec<&str> = to_send(input.components)
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let server: Option<&[(String, String)]> = match &input.activation {
        Activation::Activated { components, .. } => Some(components),
        _ => None,
    };
    let comparison = |c: &Component| -> Value {
        let (Some(server), Some(hash)) = (server, c.hash.as_deref()) else {
            return Value::Null;
        };
        if server.iter().any(|(_, fp)| fp == hash) {
            json!("match")
        } else if server.iter().any(|(name, _)| *name == c.name) {
            json!("differs")
        } else {
            json!("not_activated")
        }
    };
    let components: Vec<Value> = input
        .components
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "source": c.source.as_str(),
                "origin": c.origin,
                "readable": c.readable(),
                "hash": c.hash,
                "sent": sent.contains(&c.name.as_str()),
                "note": c.note,
                "activated": comparison(c),
            })
        })
        .collect();
    let activated = match &input.activation {
        Activation::NotChecked(why) => json!({ "checked": false, "activated": null, "error": why }),
        Activation::NotActivated => json!({ "checked": true, "activated": false, "error": null }),
        Activation::Failed(e) => json!({ "checked": false, "activated": null, "error": e }),
        Activation::Activated {
            machine_id,
            components: server,
        } => {
            let local: Vec<&str> = input
                .components
                .iter()
                .filter_map(|c| c.hash.as_deref())
                .collect();
            let mine = |fp: &str| local.contains(&fp);
            let differs: Vec<&str> = input
                .components
                .iter()
                .filter(|c| comparison(c) == json!("differs"))
                .map(|c| c.name.as_str())
                .collect();
            let missing: Vec<Value> = server
                .iter()
                .filter(|(name, fp)| {
                    !mine(fp)
                        && !input
                            .components
                            .iter()
                            .any(|c| c.name == *name && c.readable())
                })
                .map(|(name, fp)| json!({ "name": name, "hash": fp }))
                .collect();
            json!({
                "checked": true,
                "activated": true,
                "machine_id": machine_id,
                "components": server.len(),
                "matching": server.iter().filter(|(_, fp)| mine(fp)).count(),
                "differs": differs,
                "missing": missing,
                "error": null,
            })
        }
    };
    let env = input.environment;
    json!({
        "version": REPORT_VERSION,
        "fingerprint": input.fingerprint.as_ref().ok(),
        "fingerprint_source": match input.fingerprint_source {
            FingerprintSource::Config => "config",
            FingerprintSource::MachineId => "os_machine_id",
        },
        "fingerprint_error": input.fingerprint.as_ref().err(),
        "app_id": input.app_id,
        "platform": super::platform(),
        "environment": {
            "kind": env.kind.as_str(),
            "hypervisor": env.hypervisor,
            "container": env.container,
            "evidence": env.evidence,
        },
        "components": components,
        "activated_machine": activated,
        "advice": advice(input, sent.len()),
    })
}

/// What the support desk (or the app) should do about this machine.
fn advice(input: &ReportInput<'_>, sent: usize) -> Vec<String> {
    let mut out = Vec::new();
    let env = input.environment;
    let from_machine_id = input.fingerprint_source == FingerprintSource::MachineId;
    if input.fingerprint.is_err() {
        out.push(
            "This machine has no readable OS machine id (/etc/machine-id, /var/lib/dbus/machine-id), so lic has no fingerprint. \
             Pass a stable id in from the host: lic_config_set_fingerprint(cfg, id) for the fingerprint, and \
             lic_config_add_component(cfg, \"machine_id\", id) so the components scope has it too (for example the host's \
             /etc/machine-id mounted read-only, or a UUID the orchestrator keeps per node)."
                .to_string(),
        );
    }
    if env.kind == EnvKind::Container && from_machine_id && input.fingerprint.is_ok() {
        out.push(format!(
            "This is a container ({}): its machine id comes from the image or is made per container, so every container of \
             the image shares one fingerprint, or each new container gets a new one. Pass a stable id from the host with \
             lic_config_set_fingerprint and lic_config_add_component.",
            env.container.as_deref().unwrap_or("unknown engine")
        ));
    }
    if env.kind == EnvKind::VirtualMachine && from_machine_id {
        out.push(
            "This is a virtual machine: a cloned VM keeps the OS machine id (and so the fingerprint) but gets a new system \
             UUID and MAC. A policy with requireComponentsScope and componentMatchingStrategy MATCH_ALL or MATCH_MOST \
             tells the clone apart."
                .to_string(),
        );
    }
    if env.kind == EnvKind::Wsl {
        out.push(
            "This is WSL: its machine id belongs to the WSL distribution, not to Windows, and changes when the \
             distribution is reinstalled."
                .to_string(),
        );
    }
    if sent < 2 {
        out.push(format!(
            "Only {sent} component(s) can be sent from here: a policy with componentMatchingStrategy MATCH_TWO refuses this \
             machine; add components with lic_config_add_component."
        ));
    }
    if let Activation::Activated { components, .. } = &input.activation {
        if components.is_empty() {
            out.push(
                "The activated machine has no components on the server (activated by an older lic or another client): \
                 a validation with the components scope cannot match; deactivate and activate again to record them."
                    .to_string(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::components::{component_hash, ComponentSource};
    use super::*;

    fn comp(name: &str, raw: Option<&str>) -> Component {
        Component {
            name: name.into(),
            source: ComponentSource::File,
            origin: "/x".into(),
            hash: raw.map(|r| component_hash(r, "app", name)),
            note: raw.is_none().then(|| "not present".into()),
            excluded: false,
        }
    }

    fn env(kind: EnvKind) -> Environment {
        Environment {
            kind,
            hypervisor: None,
            container: (kind == EnvKind::Container).then(|| "docker".into()),
            evidence: vec!["test".into()],
        }
    }

    #[test]
    fn diff_against_the_activated_machine() {
        let comps = vec![
            comp("machine_id", Some("m1")),
            comp("disk", Some("new-disk")),
            comp("cpu", Some("xeon")),
            comp("system_uuid", None),
        ];
        let server = vec![
            (
                "machine_id".to_string(),
                component_hash("m1", "app", "machine_id"),
            ),
            (
                "disk".to_string(),
                component_hash("old-disk", "app", "disk"),
            ),
            (
                "mac:eth0".to_string(),
                component_hash("02:00", "app", "mac"),
            ),
        ];
        let doc = build(&ReportInput {
            fingerprint: Ok("fp".into()),
            fingerprint_source: FingerprintSource::MachineId,
            app_id: "app",
            components: &comps,
            environment: &env(EnvKind::BareMetal),
            activation: Activation::Activated {
                machine_id: "mach-1".into(),
                components: server,
            },
        });
        assert_eq!(doc["version"], 1);
        let c = &doc["components"];
        assert_eq!(c[0]["activated"], "match");
        assert_eq!(c[1]["activated"], "differs");
        assert_eq!(c[2]["activated"], "not_activated");
        assert_eq!(c[3]["activated"], Value::Null);
        assert_eq!(c[3]["readable"], false);
        assert_eq!(c[3]["sent"], false);
        let a = &doc["activated_machine"];
        assert_eq!(
            (a["matching"].as_u64(), a["components"].as_u64()),
            (Some(1), Some(3))
        );
        assert_eq!(a["differs"], json!(["disk"]));
        assert_eq!(a["missing"][0]["name"], "mac:eth0");
        assert!(!doc.to_string().contains("new-disk"), "no raw value");
    }

    #[test]
    fn a_container_without_machine_id_is_told_what_to_pass() {
        let comps = vec![comp("machine_id", None), comp("cpu", Some("x"))];
        let doc = build(&ReportInput {
            fingerprint: Err("no machine id".into()),
            fingerprint_source: FingerprintSource::MachineId,
            app_id: "app",
            components: &comps,
            environment: &env(EnvKind::Container),
            activation: Activation::NotChecked("no fingerprint".into()),
        });
        assert_eq!(doc["fingerprint"], Value::Null);
        assert_eq!(doc["fingerprint_error"], "no machine id");
        let advice = doc["advice"].to_string();
        assert!(advice.contains("lic_config_set_fingerprint"), "{advice}");
        assert!(advice.contains("lic_config_add_component"), "{advice}");
        assert!(advice.contains("MATCH_TWO"), "one component only: {advice}");
    }
}

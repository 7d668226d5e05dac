//! The records and the store that holds them, with the derived rules (effective limits,
//! heartbeat states, culling) that several endpoints share.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub type Attrs = Map<String, Value>;

#[derive(Serialize, Deserialize, Clone)]
pub struct Product {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub attrs: Attrs,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Policy {
    pub id: String,
    pub product_id: String,
    pub created: i64,
    pub updated: i64,
    pub attrs: Attrs,
    pub entitlements: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct License {
    pub id: String,
    pub policy_id: String,
    pub key: String,
    pub created: i64,
    pub updated: i64,
    /// name, metadata and the per-license limit overrides.
    pub attrs: Attrs,
    pub expiry: Option<i64>,
    pub suspended: bool,
    pub last_validated: Option<i64>,
    pub last_check_out: Option<i64>,
    pub last_check_in: Option<i64>,
    pub entitlements: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Entitlement {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub attrs: Attrs,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Component {
    pub id: String,
    pub fingerprint: String,
    pub created: i64,
    pub updated: i64,
    pub attrs: Attrs,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Machine {
    pub id: String,
    pub license_id: String,
    pub fingerprint: String,
    pub created: i64,
    pub updated: i64,
    /// name, ip, hostname, platform, cores, memory, disk, maxProcesses, metadata.
    pub attrs: Attrs,
    pub last_heartbeat: Option<i64>,
    pub last_check_out: Option<i64>,
    pub components: Vec<Component>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Process {
    pub id: String,
    pub machine_id: String,
    pub pid: String,
    pub created: i64,
    pub updated: i64,
    pub last_heartbeat: i64,
    pub metadata: Value,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Token {
    pub id: String,
    pub token: String,
    /// The bearer of an activation token (empty for a product token).
    pub license_id: String,
    /// The bearer of a product token.
    #[serde(default)]
    pub product_id: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub attrs: Attrs,
    pub activations: i64,
    pub deactivations: i64,
}

#[derive(Serialize, Deserialize, Clone, Default)]
pub struct Store {
    pub products: Vec<Product>,
    pub policies: Vec<Policy>,
    pub licenses: Vec<License>,
    pub entitlements: Vec<Entitlement>,
    pub machines: Vec<Machine>,
    pub processes: Vec<Process>,
    pub tokens: Vec<Token>,
}

pub fn int(attrs: &Attrs, key: &str) -> Option<i64> {
    attrs.get(key).and_then(Value::as_i64)
}

pub fn flag(attrs: &Attrs, key: &str) -> bool {
    attrs.get(key).and_then(Value::as_bool).unwrap_or(false)
}

pub fn text<'a>(attrs: &'a Attrs, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

pub const DEFAULT_HEARTBEAT: i64 = 600;

/// The sum of an integer attribute over machines (saturating: memory and disk are 64-bit).
pub fn total<'a>(machines: impl IntoIterator<Item = &'a Machine>, attr: &str) -> i64 {
    machines
        .into_iter()
        .filter_map(|m| int(&m.attrs, attr))
        .fold(0, i64::saturating_add)
}

pub fn policy_defaults() -> Attrs {
    let v = json!({
        "name": null, "duration": null, "strict": false, "floating": false, "scheme": null,
        "requireProductScope": false, "requirePolicyScope": false, "requireMachineScope": false,
        "requireFingerprintScope": false, "requireComponentsScope": false, "requireUserScope": false,
        "requireChecksumScope": false, "requireVersionScope": false,
        "requireCheckIn": false, "checkInInterval": null, "checkInIntervalCount": null,
        "usePool": false, "maxMachines": null, "maxProcesses": null, "maxUsers": null, "maxCores": null,
        "maxMemory": null, "maxDisk": null, "maxUses": null, "encrypted": false, "protected": false,
        "requireHeartbeat": false, "heartbeatDuration": null, "heartbeatCullStrategy": "DEACTIVATE_DEAD",
        "heartbeatResurrectionStrategy": "NO_REVIVE", "heartbeatBasis": "FROM_FIRST_PING",
        "machineUniquenessStrategy": "UNIQUE_PER_LICENSE", "machineMatchingStrategy": "MATCH_ANY",
        "componentUniquenessStrategy": "UNIQUE_PER_MACHINE", "componentMatchingStrategy": "MATCH_ANY",
        "machineLeasingStrategy": "PER_LICENSE", "processLeasingStrategy": "PER_MACHINE",
        "overageStrategy": "NO_OVERAGE", "transferStrategy": "KEEP_EXPIRY",
        "authenticationStrategy": "TOKEN", "expirationStrategy": "RESTRICT_ACCESS",
        "expirationBasis": "FROM_CREATION", "renewalBasis": "FROM_EXPIRY", "metadata": {}
    });
    v.as_object().cloned().unwrap_or_default()
}

impl Policy {
    pub fn flag(&self, key: &str) -> bool {
        flag(&self.attrs, key)
    }
    pub fn int(&self, key: &str) -> Option<i64> {
        int(&self.attrs, key)
    }
    pub fn text(&self, key: &str) -> Option<&str> {
        text(&self.attrs, key)
    }
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.text(key) == Some(value)
    }
    pub fn floating(&self) -> bool {
        self.flag("floating")
    }
    pub fn heartbeat_duration(&self) -> i64 {
        self.int("heartbeatDuration").unwrap_or(DEFAULT_HEARTBEAT)
    }
    /// Seconds after `nextHeartbeat` during which a ping revives a dead machine or process;
    /// `None` when it never does, `Some(i64::MAX)` for ALWAYS_REVIVE.
    pub fn resurrection_window(&self) -> Option<i64> {
        match self.text("heartbeatResurrectionStrategy")? {
            "ALWAYS_REVIVE" => Some(i64::MAX),
            "15_MINUTE_REVIVE" => Some(900),
            "10_MINUTE_REVIVE" => Some(600),
            "5_MINUTE_REVIVE" => Some(300),
            "2_MINUTE_REVIVE" => Some(120),
            "1_MINUTE_REVIVE" => Some(60),
            _ => None,
        }
    }
    pub fn supports_license_auth(&self) -> bool {
        matches!(
            self.text("authenticationStrategy"),
            Some("LICENSE" | "MIXED")
        )
    }
    pub fn supports_token_auth(&self) -> bool {
        matches!(
            self.text("authenticationStrategy"),
            Some("TOKEN" | "MIXED") | None
        )
    }
    /// Null is treated as REVOKE_ACCESS, as Keygen does for legacy policies.
    pub fn revokes_on_expiry(&self) -> bool {
        matches!(
            self.text("expirationStrategy"),
            Some("REVOKE_ACCESS") | None
        )
    }
    pub fn keeps_access_on_expiry(&self) -> bool {
        matches!(
            self.text("expirationStrategy"),
            Some("MAINTAIN_ACCESS" | "ALLOW_ACCESS")
        )
    }
    /// The overage factor allowed by the policy (`None` = unlimited).
    pub fn overage_factor(&self) -> Option<f64> {
        match self.text("overageStrategy") {
            Some("ALWAYS_ALLOW_OVERAGE") => None,
            Some("ALLOW_1_25X_OVERAGE") => Some(1.25),
            Some("ALLOW_1_5X_OVERAGE") => Some(1.5),
            Some("ALLOW_2X_OVERAGE") => Some(2.0),
            _ => Some(1.0),
        }
    }
    /// Whether `count` is within `limit` once the overage allowance is applied.
    pub fn within_overage(&self, count: i64, limit: i64) -> bool {
        self.overage_factor()
            .map_or(true, |f| count as f64 <= limit as f64 * f)
    }
}

impl License {
    pub fn expired(&self, now: i64) -> bool {
        self.expiry.is_some_and(|e| e <= now)
    }
    /// A license override, else the policy value.
    pub fn limit(&self, policy: &Policy, key: &str) -> Option<i64> {
        int(&self.attrs, key).or_else(|| policy.int(key))
    }
    fn check_in_due(policy: &Policy, from: i64) -> Option<i64> {
        if !policy.flag("requireCheckIn") {
            return None;
        }
        let unit = match policy.text("checkInInterval")? {
            "day" => 86_400,
            "week" => 604_800,
            "month" => 2_629_746,
            "year" => 31_556_952,
            _ => return None,
        };
        Some(crate::util::add_calendar_duration(
            from,
            unit * policy.int("checkInIntervalCount").unwrap_or(1),
        ))
    }
    pub fn check_in_overdue(&self, policy: &Policy, now: i64) -> bool {
        Self::check_in_due(policy, self.last_check_in.unwrap_or(self.created))
            .is_some_and(|due| now > due)
    }
    pub fn next_check_in(&self, policy: &Policy) -> Option<i64> {
        Self::check_in_due(policy, self.last_check_in?)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Heart {
    NotStarted,
    Alive,
    Dead,
}

impl Heart {
    pub fn as_str(self) -> &'static str {
        match self {
            Heart::NotStarted => "NOT_STARTED",
            Heart::Alive => "ALIVE",
            Heart::Dead => "DEAD",
        }
    }
}

impl Machine {
    pub fn requires_heartbeat(&self, policy: &Policy) -> bool {
        policy.flag("requireHeartbeat") || self.last_heartbeat.is_some()
    }
    pub fn next_heartbeat(&self, policy: &Policy) -> Option<i64> {
        self.last_heartbeat
            .map(|t| t + policy.heartbeat_duration() * 1000)
    }
    pub fn heartbeat(&self, policy: &Policy, now: i64) -> Heart {
        let duration = policy.heartbeat_duration() * 1000;
        match self.last_heartbeat {
            None if !self.requires_heartbeat(policy) || self.created + duration >= now => {
                Heart::NotStarted
            }
            None => Heart::Dead,
            Some(t) if t + duration >= now => Heart::Alive,
            Some(_) => Heart::Dead,
        }
    }
    /// When the machine died (or would die), for resurrection windows and culling.
    pub fn death_time(&self, policy: &Policy) -> i64 {
        self.last_heartbeat.unwrap_or(self.created) + policy.heartbeat_duration() * 1000
    }
    pub fn max_processes(&self, license: &License, policy: &Policy) -> Option<i64> {
        int(&self.attrs, "maxProcesses").or_else(|| license.limit(policy, "maxProcesses"))
    }
}

impl Process {
    pub fn alive(&self, policy: &Policy, now: i64) -> bool {
        self.last_heartbeat + policy.heartbeat_duration() * 1000 >= now
    }
}

/// Whether a resurrection window starting at `death` is still open at `now`.
pub fn can_resurrect(policy: &Policy, death: i64, now: i64) -> bool {
    match policy.resurrection_window() {
        Some(i64::MAX) => true,
        Some(w) => now <= death + w * 1000,
        None => false,
    }
}

impl Store {
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }
    pub fn license(&self, id: &str) -> Option<&License> {
        self.licenses.iter().find(|l| l.id == id)
    }
    pub fn license_mut(&mut self, id: &str) -> Option<&mut License> {
        self.licenses.iter_mut().find(|l| l.id == id)
    }
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
    pub fn machine(&self, id: &str) -> Option<&Machine> {
        self.machines.iter().find(|m| m.id == id)
    }
    pub fn machine_mut(&mut self, id: &str) -> Option<&mut Machine> {
        self.machines.iter_mut().find(|m| m.id == id)
    }
    pub fn entitlement(&self, id: &str) -> Option<&Entitlement> {
        self.entitlements.iter().find(|e| e.id == id)
    }
    /// The policy of a license. Every license has one: policies with licenses cannot be deleted.
    pub fn policy_of(&self, license: &License) -> &Policy {
        self.policy(&license.policy_id)
            .expect("license without policy")
    }
    pub fn license_by_key(&self, key: &str) -> Option<&License> {
        self.licenses.iter().find(|l| l.key == key)
    }
    /// A license by UUID or by key, as Keygen's alias lookup.
    pub fn find_license(&self, id_or_key: &str) -> Option<&License> {
        if crate::util::is_uuid(id_or_key) {
            if let Some(l) = self.license(id_or_key) {
                return Some(l);
            }
        }
        self.license_by_key(id_or_key)
    }
    pub fn machines_of<'a>(
        &'a self,
        license_id: &'a str,
    ) -> impl Iterator<Item = &'a Machine> + 'a {
        self.machines
            .iter()
            .filter(move |m| m.license_id == license_id)
    }
    pub fn processes_of_machine<'a>(
        &'a self,
        machine_id: &'a str,
    ) -> impl Iterator<Item = &'a Process> + 'a {
        self.processes
            .iter()
            .filter(move |p| p.machine_id == machine_id)
    }
    pub fn processes_of_license<'a>(
        &'a self,
        license_id: &'a str,
    ) -> impl Iterator<Item = &'a Process> + 'a {
        self.processes.iter().filter(move |p| {
            self.machine(&p.machine_id)
                .is_some_and(|m| m.license_id == license_id)
        })
    }
    /// The license's entitlement codes: its own plus its policy's.
    pub fn entitlement_codes(&self, license: &License) -> Vec<String> {
        let policy = self.policy_of(license);
        license
            .entitlements
            .iter()
            .chain(policy.entitlements.iter())
            .filter_map(|id| self.entitlement(id))
            .filter_map(|e| text(&e.attrs, "code").map(str::to_owned))
            .collect()
    }
    pub fn license_entitlement_ids(&self, license: &License) -> Vec<String> {
        let mut ids = license.entitlements.clone();
        for id in &self.policy_of(license).entitlements {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }

    /// Deletes a machine with its processes.
    pub fn remove_machine(&mut self, id: &str) {
        self.machines.retain(|m| m.id != id);
        self.processes.retain(|p| p.machine_id != id);
    }

    /// Keygen's heartbeat cron: under DEACTIVATE_DEAD, dead machines and processes whose
    /// resurrection window (if any) has passed are deleted. Returns whether anything changed.
    pub fn cull(&mut self, now: i64) -> bool {
        let culls = |policy: &Policy, death: i64| {
            policy.is("heartbeatCullStrategy", "DEACTIVATE_DEAD")
                && !can_resurrect(policy, death, now)
        };
        let dead_machines: Vec<String> = self
            .machines
            .iter()
            .filter(|m| {
                let Some(policy) = self.license(&m.license_id).map(|l| self.policy_of(l)) else {
                    return false;
                };
                m.heartbeat(policy, now) == Heart::Dead && culls(policy, m.death_time(policy))
            })
            .map(|m| m.id.clone())
            .collect();
        let dead_processes: Vec<String> = self
            .processes
            .iter()
            .filter(|p| {
                let policy = self
                    .machine(&p.machine_id)
                    .and_then(|m| self.license(&m.license_id))
                    .map(|l| self.policy_of(l));
                policy.is_some_and(|policy| {
                    !p.alive(policy, now)
                        && culls(
                            policy,
                            p.last_heartbeat + policy.heartbeat_duration() * 1000,
                        )
                })
            })
            .map(|p| p.id.clone())
            .collect();
        let changed = !dead_machines.is_empty() || !dead_processes.is_empty();
        for id in dead_machines {
            self.remove_machine(&id);
        }
        self.processes.retain(|p| !dead_processes.contains(&p.id));
        changed
    }
}

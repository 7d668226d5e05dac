//! JSON:API renderings of the resources, shaped like Keygen's serializers.

use crate::store::*;
use crate::util::rfc3339_ms;
use serde_json::{json, Map, Value};

pub fn ts(ms: i64) -> Value {
    Value::String(rfc3339_ms(ms))
}

pub fn opt_ts(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, ts)
}

pub struct View<'a> {
    pub store: &'a Store,
    pub account: &'a str,
    pub now: i64,
}

impl<'a> View<'a> {
    fn link(&self, path: &str) -> String {
        format!("/v1/accounts/{}/{}", self.account, path)
    }

    fn one(&self, ty: &str, id: Option<&str>, related: &str) -> Value {
        json!({ "links": { "related": self.link(related) }, "data": id.map(|id| json!({ "type": ty, "id": id })) })
    }

    fn many(&self, related: &str) -> Value {
        json!({ "links": { "related": self.link(related) } })
    }

    fn account_rel(&self) -> Value {
        json!({ "links": { "related": format!("/v1/accounts/{}", self.account) }, "data": { "type": "accounts", "id": self.account } })
    }

    fn resource(
        &self,
        ty: &str,
        id: &str,
        path: &str,
        attributes: Map<String, Value>,
        relationships: Value,
    ) -> Value {
        json!({ "id": id, "type": ty, "attributes": attributes, "relationships": relationships, "links": { "self": self.link(path) } })
    }

    fn with_times(mut attrs: Map<String, Value>, created: i64, updated: i64) -> Map<String, Value> {
        attrs.insert("created".into(), ts(created));
        attrs.insert("updated".into(), ts(updated));
        attrs
    }

    pub fn product(&self, p: &Product) -> Value {
        let path = format!("products/{}", p.id);
        let rels = json!({
            "account": self.account_rel(),
            "policies": self.many(&format!("{path}/policies")),
            "licenses": self.many(&format!("{path}/licenses")),
            "machines": self.many(&format!("{path}/machines")),
            "tokens": self.many(&format!("{path}/tokens")),
        });
        self.resource(
            "products",
            &p.id,
            &path,
            Self::with_times(p.attrs.clone(), p.created, p.updated),
            rels,
        )
    }

    pub fn policy(&self, p: &Policy) -> Value {
        let path = format!("policies/{}", p.id);
        let rels = json!({
            "account": self.account_rel(),
            "product": self.one("products", Some(&p.product_id), &format!("{path}/product")),
            "pool": self.many(&format!("{path}/pool")),
            "licenses": self.many(&format!("{path}/licenses")),
            "entitlements": self.many(&format!("{path}/entitlements")),
        });
        self.resource(
            "policies",
            &p.id,
            &path,
            Self::with_times(p.attrs.clone(), p.created, p.updated),
            rels,
        )
    }

    pub fn entitlement(&self, e: &Entitlement) -> Value {
        let path = format!("entitlements/{}", e.id);
        let rels = json!({ "account": self.account_rel() });
        self.resource(
            "entitlements",
            &e.id,
            &path,
            Self::with_times(e.attrs.clone(), e.created, e.updated),
            rels,
        )
    }

    pub fn license_status(&self, l: &License) -> &'static str {
        const DAY: i64 = 86_400_000;
        let last_activity = [
            Some(l.created),
            l.last_validated,
            l.last_check_out,
            l.last_check_in,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(l.created);
        match l.expiry {
            _ if l.suspended => "SUSPENDED",
            Some(e) if e <= self.now => "EXPIRED",
            Some(e) if e <= self.now + 3 * DAY => "EXPIRING",
            _ if last_activity < self.now - 90 * DAY => "INACTIVE",
            _ => "ACTIVE",
        }
    }

    pub fn license(&self, l: &License) -> Value {
        let policy = self.store.policy_of(l);
        let machines: Vec<&Machine> = self.store.machines_of(&l.id).collect();
        let sum = |k: &str| total(machines.iter().copied(), k);
        let limit = |k: &str| l.limit(policy, k).map_or(Value::Null, Value::from);
        let mut a = Map::new();
        a.insert(
            "name".into(),
            l.attrs.get("name").cloned().unwrap_or(Value::Null),
        );
        a.insert("key".into(), l.key.clone().into());
        a.insert("expiry".into(), opt_ts(l.expiry));
        a.insert("status".into(), self.license_status(l).into());
        a.insert("uses".into(), 0.into());
        a.insert("suspended".into(), l.suspended.into());
        a.insert(
            "scheme".into(),
            policy.attrs.get("scheme").cloned().unwrap_or(Value::Null),
        );
        for k in ["encrypted", "strict", "floating"] {
            a.insert(k.into(), policy.flag(k).into());
        }
        a.insert(
            "protected".into(),
            l.attrs
                .get("protected")
                .cloned()
                .unwrap_or_else(|| policy.flag("protected").into()),
        );
        a.insert("version".into(), Value::Null);
        for k in [
            "maxMachines",
            "maxProcesses",
            "maxUsers",
            "maxCores",
            "maxMemory",
            "maxDisk",
            "maxUses",
        ] {
            a.insert(k.into(), limit(k));
        }
        a.insert(
            "requireHeartbeat".into(),
            policy.flag("requireHeartbeat").into(),
        );
        a.insert(
            "requireCheckIn".into(),
            policy.flag("requireCheckIn").into(),
        );
        a.insert("lastValidated".into(), opt_ts(l.last_validated));
        a.insert("lastCheckIn".into(), opt_ts(l.last_check_in));
        a.insert("nextCheckIn".into(), opt_ts(l.next_check_in(policy)));
        a.insert("lastCheckOut".into(), opt_ts(l.last_check_out));
        a.insert(
            "metadata".into(),
            l.attrs
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({})),
        );
        let path = format!("licenses/{}", l.id);
        let rels = json!({
            "account": self.account_rel(),
            "product": self.one("products", Some(&policy.product_id), &format!("{path}/product")),
            "policy": self.one("policies", Some(&policy.id), &format!("{path}/policy")),
            "group": self.one("groups", None, &format!("{path}/group")),
            "owner": self.one("users", None, &format!("{path}/owner")),
            "users": { "links": { "related": self.link(&format!("{path}/users")) }, "meta": { "count": 0 } },
            "machines": {
                "links": { "related": self.link(&format!("{path}/machines")) },
                "meta": { "cores": sum("cores"), "memory": sum("memory"), "disk": sum("disk"), "count": machines.len() }
            },
            "tokens": self.many(&format!("{path}/tokens")),
            "entitlements": self.many(&format!("{path}/entitlements")),
        });
        self.resource(
            "licenses",
            &l.id,
            &path,
            Self::with_times(a, l.created, l.updated),
            rels,
        )
    }

    /// `status` overrides the computed heartbeat status (for RESURRECTED).
    pub fn machine(&self, m: &Machine, status: Option<&str>) -> Value {
        let license = self.store.license(&m.license_id);
        let policy = license.map(|l| self.store.policy_of(l));
        let mut a = Map::new();
        a.insert("fingerprint".into(), m.fingerprint.clone().into());
        for k in [
            "cores", "memory", "disk", "ip", "hostname", "platform", "name",
        ] {
            a.insert(k.into(), m.attrs.get(k).cloned().unwrap_or(Value::Null));
        }
        if let (Some(policy), Some(license)) = (policy, license) {
            a.insert(
                "requireHeartbeat".into(),
                m.requires_heartbeat(policy).into(),
            );
            let computed = m.heartbeat(policy, self.now).as_str();
            a.insert("heartbeatStatus".into(), status.unwrap_or(computed).into());
            a.insert(
                "heartbeatDuration".into(),
                policy.heartbeat_duration().into(),
            );
            a.insert(
                "maxProcesses".into(),
                m.max_processes(license, policy)
                    .map_or(Value::Null, Value::from),
            );
            a.insert("nextHeartbeat".into(), opt_ts(m.next_heartbeat(policy)));
        }
        a.insert("lastCheckOut".into(), opt_ts(m.last_check_out));
        a.insert("lastHeartbeat".into(), opt_ts(m.last_heartbeat));
        a.insert(
            "metadata".into(),
            m.attrs
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({})),
        );
        let path = format!("machines/{}", m.id);
        let rels = json!({
            "account": self.account_rel(),
            "product": self.one("products", policy.map(|p| p.product_id.as_str()), &format!("{path}/product")),
            "group": self.one("groups", None, &format!("{path}/group")),
            "license": self.one("licenses", Some(&m.license_id), &format!("{path}/license")),
            "owner": self.one("users", None, &format!("{path}/owner")),
            "components": self.many(&format!("{path}/components")),
            "processes": self.many(&format!("{path}/processes")),
        });
        self.resource(
            "machines",
            &m.id,
            &path,
            Self::with_times(a, m.created, m.updated),
            rels,
        )
    }

    pub fn component(&self, m: &Machine, c: &Component) -> Value {
        let mut a = c.attrs.clone();
        a.insert("fingerprint".into(), c.fingerprint.clone().into());
        let path = format!("components/{}", c.id);
        let rels = json!({
            "account": self.account_rel(),
            "machine": self.one("machines", Some(&m.id), &format!("{path}/machine")),
        });
        self.resource(
            "components",
            &c.id,
            &path,
            Self::with_times(a, c.created, c.updated),
            rels,
        )
    }

    pub fn process(&self, p: &Process, status: Option<&str>) -> Value {
        let machine = self.store.machine(&p.machine_id);
        let license = machine.and_then(|m| self.store.license(&m.license_id));
        let policy = license.map(|l| self.store.policy_of(l));
        let interval = policy.map_or(DEFAULT_HEARTBEAT, |p| p.heartbeat_duration());
        let computed = if p.last_heartbeat + interval * 1000 >= self.now {
            "ALIVE"
        } else {
            "DEAD"
        };
        let a = json!({
            "pid": p.pid,
            "status": status.unwrap_or(computed),
            "interval": interval,
            "lastHeartbeat": ts(p.last_heartbeat),
            "nextHeartbeat": ts(p.last_heartbeat + interval * 1000),
            "metadata": p.metadata,
        });
        let path = format!("processes/{}", p.id);
        let rels = json!({
            "account": self.account_rel(),
            "product": self.one("products", policy.map(|p| p.product_id.as_str()), &format!("{path}/product")),
            "license": self.one("licenses", license.map(|l| l.id.as_str()), &format!("{path}/license")),
            "machine": self.one("machines", Some(&p.machine_id), &format!("{path}/machine")),
        });
        let attrs = a.as_object().cloned().unwrap_or_default();
        self.resource(
            "processes",
            &p.id,
            &path,
            Self::with_times(attrs, p.created, p.updated),
            rels,
        )
    }

    /// The token value is only shown when it was just generated, as Keygen does.
    pub fn token(&self, t: &Token, secret: bool) -> Value {
        let mut a = t.attrs.clone();
        a.insert("kind".into(), "activation-token".into());
        a.insert(
            "token".into(),
            if secret {
                t.token.clone().into()
            } else {
                Value::Null
            },
        );
        a.insert("activations".into(), t.activations.into());
        a.insert("deactivations".into(), t.deactivations.into());
        let path = format!("tokens/{}", t.id);
        let rels = json!({
            "account": self.account_rel(),
            "bearer": self.one("licenses", Some(&t.license_id), &format!("licenses/{}", t.license_id)),
        });
        self.resource(
            "tokens",
            &t.id,
            &path,
            Self::with_times(a, t.created, t.updated),
            rels,
        )
    }
}

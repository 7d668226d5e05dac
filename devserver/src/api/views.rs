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

    fn related(&self, path: &str) -> Map<String, Value> {
        let mut links = Map::new();
        links.insert("related".into(), self.link(path).into());
        let mut rel = Map::new();
        rel.insert("links".into(), Value::Object(links));
        rel
    }

    /// A to-one relationship: its link, and the related resource's identifier (or null).
    fn one(&self, ty: &str, id: Option<&str>, related: &str) -> Value {
        let mut rel = self.related(related);
        let data = id.map_or(Value::Null, |id| json!({ "type": ty, "id": id }));
        rel.insert("data".into(), data);
        Value::Object(rel)
    }

    /// A to-many relationship: its link, and `meta` when it has counts.
    fn many(&self, related: &str) -> Value {
        Value::Object(self.related(related))
    }

    fn counted(&self, related: &str, meta: Value) -> Value {
        let mut rel = self.related(related);
        rel.insert("meta".into(), meta);
        Value::Object(rel)
    }

    /// A JSON:API resource: `attributes` plus `created`/`updated`, the account relationship
    /// plus `relationships`, and its self link. Everything is moved in: `json!` would copy
    /// every `Value` interpolated into it.
    fn resource<const N: usize>(
        &self,
        (ty, id, path): (&str, &str, &str),
        mut attributes: Map<String, Value>,
        (created, updated): (i64, i64),
        relationships: [(&str, Value); N],
    ) -> Value {
        attributes.insert("created".into(), ts(created));
        attributes.insert("updated".into(), ts(updated));
        let mut rels = Map::new();
        let account = json!({ "type": "accounts", "id": self.account });
        let account_link = format!("/v1/accounts/{}", self.account);
        rels.insert(
            "account".into(),
            json!({ "links": { "related": account_link }, "data": account }),
        );
        for (k, v) in relationships {
            rels.insert(k.into(), v);
        }
        let mut r = Map::new();
        r.insert("id".into(), id.into());
        r.insert("type".into(), ty.into());
        r.insert("attributes".into(), Value::Object(attributes));
        r.insert("relationships".into(), Value::Object(rels));
        r.insert("links".into(), json!({ "self": self.link(path) }));
        Value::Object(r)
    }

    pub fn product(&self, p: &Product) -> Value {
        let path = format!("products/{}", p.id);
        self.resource(
            ("products", &p.id, &path),
            p.attrs.clone(),
            (p.created, p.updated),
            [
                ("policies", self.many(&format!("{path}/policies"))),
                ("licenses", self.many(&format!("{path}/licenses"))),
                ("machines", self.many(&format!("{path}/machines"))),
                ("tokens", self.many(&format!("{path}/tokens"))),
            ],
        )
    }

    pub fn policy(&self, p: &Policy) -> Value {
        let path = format!("policies/{}", p.id);
        let product = self.one("products", Some(&p.product_id), &format!("{path}/product"));
        self.resource(
            ("policies", &p.id, &path),
            p.attrs.clone(),
            (p.created, p.updated),
            [
                ("product", product),
                ("pool", self.many(&format!("{path}/pool"))),
                ("licenses", self.many(&format!("{path}/licenses"))),
                ("entitlements", self.many(&format!("{path}/entitlements"))),
            ],
        )
    }

    pub fn entitlement(&self, e: &Entitlement) -> Value {
        let path = format!("entitlements/{}", e.id);
        self.resource(
            ("entitlements", &e.id, &path),
            e.attrs.clone(),
            (e.created, e.updated),
            [],
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
        let machine_totals = json!({ "cores": sum("cores"), "memory": sum("memory"), "disk": sum("disk"), "count": machines.len() });
        self.resource(
            ("licenses", &l.id, &path),
            a,
            (l.created, l.updated),
            [
                (
                    "product",
                    self.one(
                        "products",
                        Some(&policy.product_id),
                        &format!("{path}/product"),
                    ),
                ),
                (
                    "policy",
                    self.one("policies", Some(&policy.id), &format!("{path}/policy")),
                ),
                ("group", self.one("groups", None, &format!("{path}/group"))),
                ("owner", self.one("users", None, &format!("{path}/owner"))),
                (
                    "users",
                    self.counted(&format!("{path}/users"), json!({ "count": 0 })),
                ),
                (
                    "machines",
                    self.counted(&format!("{path}/machines"), machine_totals),
                ),
                ("tokens", self.many(&format!("{path}/tokens"))),
                ("entitlements", self.many(&format!("{path}/entitlements"))),
            ],
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
        let product = policy.map(|p| p.product_id.as_str());
        self.resource(
            ("machines", &m.id, &path),
            a,
            (m.created, m.updated),
            [
                (
                    "product",
                    self.one("products", product, &format!("{path}/product")),
                ),
                ("group", self.one("groups", None, &format!("{path}/group"))),
                (
                    "license",
                    self.one("licenses", Some(&m.license_id), &format!("{path}/license")),
                ),
                ("owner", self.one("users", None, &format!("{path}/owner"))),
                ("components", self.many(&format!("{path}/components"))),
                ("processes", self.many(&format!("{path}/processes"))),
            ],
        )
    }

    /// `machine_component_serializer.rb`: fingerprint, name, metadata; account, product,
    /// license and machine.
    pub fn component(&self, m: &Machine, c: &Component) -> Value {
        let mut a = Map::new();
        a.insert("fingerprint".into(), c.fingerprint.clone().into());
        a.insert(
            "name".into(),
            c.attrs.get("name").cloned().unwrap_or(Value::Null),
        );
        a.insert(
            "metadata".into(),
            c.attrs
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({})),
        );
        let path = format!("components/{}", c.id);
        let product = self
            .store
            .license(&m.license_id)
            .map(|l| self.store.policy_of(l).product_id.as_str());
        self.resource(
            ("components", &c.id, &path),
            a,
            (c.created, c.updated),
            [
                (
                    "product",
                    self.one("products", product, &format!("{path}/product")),
                ),
                (
                    "license",
                    self.one("licenses", Some(&m.license_id), &format!("{path}/license")),
                ),
                (
                    "machine",
                    self.one("machines", Some(&m.id), &format!("{path}/machine")),
                ),
            ],
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
        let (product, license) = (
            policy.map(|p| p.product_id.as_str()),
            license.map(|l| l.id.as_str()),
        );
        let Value::Object(attrs) = a else {
            unreachable!("json! of an object literal is an object")
        };
        self.resource(
            ("processes", &p.id, &path),
            attrs,
            (p.created, p.updated),
            [
                (
                    "product",
                    self.one("products", product, &format!("{path}/product")),
                ),
                (
                    "license",
                    self.one("licenses", license, &format!("{path}/license")),
                ),
                (
                    "machine",
                    self.one("machines", Some(&p.machine_id), &format!("{path}/machine")),
                ),
            ],
        )
    }

    /// The token value is only shown when it was just generated, as Keygen does; the
    /// activation counters only on activation tokens (`token_serializer.rb`).
    pub fn token(&self, t: &Token, secret: bool) -> Value {
        let mut a = t.attrs.clone();
        let product = t.product_id.is_some();
        a.insert(
            "kind".into(),
            if product {
                "product-token"
            } else {
                "activation-token"
            }
            .into(),
        );
        a.insert(
            "token".into(),
            if secret {
                t.token.clone().into()
            } else {
                Value::Null
            },
        );
        for k in ["expiry", "name"] {
            a.entry(k).or_insert(Value::Null);
        }
        if !product {
            for k in ["maxActivations", "maxDeactivations"] {
                a.entry(k).or_insert(Value::Null);
            }
            a.insert("activations".into(), t.activations.into());
            a.insert("deactivations".into(), t.deactivations.into());
        }
        let path = format!("tokens/{}", t.id);
        let bearer = match &t.product_id {
            Some(p) => self.one("products", Some(p), &format!("products/{p}")),
            None => self.one(
                "licenses",
                Some(&t.license_id),
                &format!("licenses/{}", t.license_id),
            ),
        };
        self.resource(
            ("tokens", &t.id, &path),
            a,
            (t.created, t.updated),
            [("bearer", bearer)],
        )
    }
}

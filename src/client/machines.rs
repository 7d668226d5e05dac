//! Machines: activation (already activated is success), deactivation of
//! this machine or another, the license's machine list, and the lookups
//! behind them (license id, this machine's id, paged lists).

use serde_json::{json, Value};

use super::Client;
use crate::config::LogLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::machine::HostFacts;
use crate::model::MachineInfo;
use crate::protocol::{pct, Call, Deadline};

impl Client {
    /// The id of this machine: remembered from activation, else looked up.
    /// `MachineNotActivated` when the license has no such machine.
    pub(crate) fn this_machine_id(&self, deadline: &Deadline) -> Result<String> {
        let fingerprint = self.fingerprint()?;
        if let Some((fp, id)) = &self.inner.state.lock().machine {
            if *fp == fingerprint {
                return Ok(id.clone());
            }
        }
        let m = match self.machine_by(&fingerprint, deadline) {
            Ok(m) => m,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::MachineNotActivated,
                    "this machine is not activated for the license: activate it first",
                )
                .with_code(e.code))
            }
            Err(e) => return Err(e),
        };
        self.inner.state.lock().machine = Some((fingerprint, m.id.clone()));
        Ok(m.id)
    }

    /// Every page of a list endpoint (page size 100).
    pub(crate) fn list(&self, path: &str, deadline: &Deadline) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for page in 1.. {
            let reply = self.send(
                Call {
                    method: "GET",
                    path: path.to_string(),
                    query: Some(format!("page%5Bsize%5D=100&page%5Bnumber%5D={page}")),
                    body: None,
                    auth: self.auth()?,
                    retry_safe: true,
                },
                deadline,
            )?;
            let items = reply
                .json()?
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            out.extend(items);
            if n < 100 || page >= 100 {
                break;
            }
        }
        Ok(out)
    }

    /// The license id, from the last answer or from `GET me`.
    pub(crate) fn license_id(&self, deadline: &Deadline) -> Result<String> {
        if let Some(id) = self.inner.state.lock().license_id.clone() {
            return Ok(id);
        }
        let reply = self.send(
            Call {
                method: "GET",
                path: "me".into(),
                query: None,
                body: None,
                auth: self.auth()?,
                retry_safe: true,
            },
            deadline,
        )?;
        let doc = reply.json()?;
        let id = doc
            .pointer("/data/id")
            .and_then(Value::as_str)
            .filter(|_| doc.pointer("/data/type").and_then(Value::as_str) == Some("licenses"))
            .ok_or_else(|| Error::new(ErrorKind::BadResponse, "GET me did not return a license"))?
            .to_string();
        self.inner.state.lock().license_id = Some(id.clone());
        Ok(id)
    }

    /// Activates this machine (fingerprint, host facts and hardware
    /// components). Already activated is success.
    pub fn activate(&self) -> Result<MachineInfo> {
        let res = self.activate_by(&HostFacts::this_machine(), &self.deadline());
        self.record_call("activate", res.as_ref().map(|_| None));
        res
    }

    /// Activates the client's fingerprint, telling the server `facts` (host
    /// name, platform, cores; each only when known) instead of this
    /// machine's: for a portal that activates an air-gapped machine from its
    /// request. Already activated is success. With the cache on, the machine
    /// file is cached as after `activate`.
    pub fn activate_as(&self, facts: &HostFacts) -> Result<MachineInfo> {
        let res = self.activate_by(facts, &self.deadline());
        self.record_call("activate", res.as_ref().map(|_| None));
        res
    }

    /// `activate_as` within a call's deadline. The machine-file check-out
    /// behind it is skipped when too little time is left; the next online
    /// validation checks the file out instead.
    pub(crate) fn activate_by(
        &self,
        facts: &HostFacts,
        deadline: &Deadline,
    ) -> Result<MachineInfo> {
        let fingerprint = self.fingerprint()?;
        let license_id = self.license_id(deadline)?;
        let mut attributes = json!({ "fingerprint": fingerprint });
        if let Some(p) = &facts.platform {
            attributes["platform"] = json!(p);
        }
        if let Some(c) = facts.cores {
            attributes["cores"] = json!(c);
        }
        if let Some(h) = &facts.hostname {
            attributes["hostname"] = json!(h);
        }
        let mut relationships =
            json!({ "license": { "data": { "type": "licenses", "id": license_id } } });
        // The hardware components, for the components validation scope.
        if let Some(components) = self.components_relationship() {
            relationships["components"] = components;
        }
        let body = json!({ "data": {
            "type": "machines",
            "attributes": attributes,
            "relationships": relationships
        }});
        let machine = match self.send(
            Call {
                method: "POST",
                path: "machines".into(),
                query: None,
                body: Some(body),
                auth: self.auth()?,
                retry_safe: true,
            },
            deadline,
        ) {
            Ok(reply) => {
                MachineInfo::from_resource(reply.json()?.get("data").unwrap_or(&Value::Null))
                    .ok_or_else(|| {
                        Error::new(ErrorKind::BadResponse, "activation answer has no machine")
                    })?
            }
            // Taken within this license means this machine is already activated.
            Err(e)
                if e.kind == ErrorKind::FingerprintTaken
                    && e.message.ends_with("has already been taken") =>
            {
                self.machine_by(&fingerprint, deadline)?
            }
            Err(e) => return Err(e),
        };
        self.log(LogLevel::Info, || {
            format!("machine {} is activated", machine.id)
        });
        self.inner.state.lock().machine = Some((fingerprint.clone(), machine.id.clone()));
        self.after_activation(&machine, deadline);
        Ok(machine)
    }

    /// Reads one machine of this license by id or fingerprint.
    pub fn machine(&self, id_or_fingerprint: &str) -> Result<MachineInfo> {
        self.machine_by(id_or_fingerprint, &self.deadline())
    }

    fn machine_by(&self, id_or_fingerprint: &str, deadline: &Deadline) -> Result<MachineInfo> {
        let reply = self.send(
            Call {
                method: "GET",
                path: format!("machines/{}", pct(id_or_fingerprint)),
                query: None,
                body: None,
                auth: self.auth()?,
                retry_safe: true,
            },
            deadline,
        )?;
        MachineInfo::from_resource(reply.json()?.get("data").unwrap_or(&Value::Null))
            .ok_or_else(|| Error::new(ErrorKind::BadResponse, "answer has no machine"))
    }

    /// Deactivates this machine (`None`) or the machine with the given id.
    pub fn deactivate(&self, machine_id: Option<&str>) -> Result<()> {
        let res = self.deactivate_inner(machine_id);
        self.record_call("deactivate", res.as_ref().map(|_| None));
        res
    }

    fn deactivate_inner(&self, machine_id: Option<&str>) -> Result<()> {
        let fingerprint = self.fingerprint()?;
        let target = machine_id.unwrap_or(&fingerprint).to_string();
        let res = self.send(
            Call {
                method: "DELETE",
                path: format!("machines/{}", pct(&target)),
                query: None,
                body: None,
                auth: self.auth()?,
                retry_safe: true,
            },
            &self.deadline(),
        );
        match res {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {
                let what = if machine_id.is_some() {
                    format!("machine {target}")
                } else {
                    "this machine".to_string()
                };
                return Err(Error::new(
                    ErrorKind::MachineNotActivated,
                    format!("{what} is not activated for this license"),
                )
                .with_code(e.code));
            }
            Err(e) => return Err(e),
        }
        let mine = {
            let mut st = self.inner.state.lock();
            let mine =
                machine_id.is_none() || st.machine.as_ref().is_some_and(|(_, id)| id == &target);
            if mine {
                st.machine = None;
            }
            mine
        };
        if mine {
            self.after_deactivation(&fingerprint);
        }
        self.log(LogLevel::Info, || {
            format!("machine {target} is deactivated")
        });
        Ok(())
    }

    /// Every machine activated for this license.
    pub fn machines(&self) -> Result<Vec<MachineInfo>> {
        let deadline = self.deadline();
        let license_id = self.license_id(&deadline)?;
        let items = self.list(
            &format!("licenses/{}/machines", pct(&license_id)),
            &deadline,
        )?;
        items
            .iter()
            .map(|m| {
                MachineInfo::from_resource(m).ok_or_else(|| {
                    Error::new(
                        ErrorKind::BadResponse,
                        "machine list has a malformed machine",
                    )
                })
            })
            .collect()
    }
}

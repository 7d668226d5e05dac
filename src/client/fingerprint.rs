//! The client's side of this machine: its hardware components (collected
//! once, sent with activation and, when the policy requires it, in the
//! validation's components scope) and the explainable fingerprint report,
//! which compares them with the activated machine's on the server.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::Client;
use crate::config::check_text;
use crate::error::{err, ErrorKind, Result};
use crate::machine::components::{self, to_send, Component, MAX_COMPONENTS};
use crate::machine::environment;
use crate::machine::report::{self, Activation, FingerprintSource, ReportInput};
use crate::protocol::{pct, Deadline};

/// Checks the app's component settings: names 1–255 bytes, values up to
/// 4096, no control characters, at most 64 settings.
pub(crate) fn check_overrides(list: &[(String, Option<String>)]) -> Result<()> {
    if list.len() > 64 {
        return err(
            ErrorKind::InvalidArgument,
            "at most 64 component settings are accepted",
        );
    }
    for (name, value) in list {
        check_text("component name", name, 255)?;
        if let Some(v) = value {
            check_text("component value", v, 4096)?;
        }
    }
    Ok(())
}

const SCOPE_UNKNOWN: u8 = 0;
const SCOPE_NO: u8 = 1;
const SCOPE_YES: u8 = 2;

impl Client {
    /// This machine's components, the app's settings applied (collected on
    /// first use; unreadable ones are kept with a note, for the report).
    pub fn components(&self) -> &[Component] {
        self.inner
            .components
            .get_or_init(|| components::collect(&self.inner.cfg.app_id, &self.inner.cfg.components))
    }

    /// `(name, fingerprint)` of every component sent to Keygen.
    pub(crate) fn components_to_send(&self) -> Vec<(String, String)> {
        to_send(self.components())
            .into_iter()
            .map(|c| (c.name.clone(), c.hash.clone().unwrap_or_default()))
            .collect()
    }

    /// The machine's `components` relationship for activation, if there are
    /// components to send.
    pub(crate) fn components_relationship(&self) -> Option<Value> {
        let list = self.components_to_send();
        (!list.is_empty()).then(|| {
            let data: Vec<Value> = list
                .iter()
                .take(MAX_COMPONENTS)
                .map(|(name, fp)| {
                    json!({ "type": "components", "attributes": { "fingerprint": fp, "name": name } })
                })
                .collect();
            json!({ "data": data })
        })
    }

    /// Whether validations send the components scope: once the server
    /// answered COMPONENTS_SCOPE_REQUIRED, or when the cached machine file's
    /// policy says `requireComponentsScope`.
    pub(crate) fn wants_components_scope(&self, fingerprint: &str) -> bool {
        match self.inner.components_scope.load(Ordering::Relaxed) {
            SCOPE_YES => true,
            SCOPE_NO => false,
            _ => {
                let required = self
                    .inner
                    .offline
                    .policy_flag(fingerprint, "requireComponentsScope")
                    == Some(true);
                let _ = self.inner.components_scope.compare_exchange(
                    SCOPE_UNKNOWN,
                    if required { SCOPE_YES } else { SCOPE_NO },
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                required
            }
        }
    }

    /// The server said the policy requires the components scope.
    pub(crate) fn components_scope_required(&self) {
        self.inner
            .components_scope
            .store(SCOPE_YES, Ordering::Relaxed);
    }

    /// The fingerprint report (schema version 1, documented in lic.h): the
    /// fingerprint, every component, the environment, and the comparison
    /// with the activated machine's components, which asks the server
    /// (within one deadline; a failure is reported in the document, not
    /// returned).
    pub fn fingerprint_report(&self) -> Value {
        self.report_by(&self.deadline())
    }

    pub(crate) fn report_by(&self, deadline: &Deadline) -> Value {
        let fingerprint = self.fingerprint().map_err(|e| e.message);
        let activation = match (&fingerprint, self.license_key()) {
            (Err(_), _) => Activation::NotChecked("this machine has no fingerprint".into()),
            (_, Err(_)) => Activation::NotChecked("no license key is configured".into()),
            (Ok(_), Ok(_)) => self.activation_state(deadline),
        };
        let environment = environment::detect();
        report::build(&ReportInput {
            fingerprint,
            fingerprint_source: if self.inner.cfg.fingerprint.is_some() {
                FingerprintSource::Config
            } else {
                FingerprintSource::MachineId
            },
            app_id: &self.inner.cfg.app_id,
            components: self.components(),
            environment: &environment,
            activation,
        })
    }

    /// This machine's activation and its components, from the server.
    fn activation_state(&self, deadline: &Deadline) -> Activation {
        let id = match self.this_machine_id(deadline) {
            Ok(id) => id,
            Err(e) if e.kind == ErrorKind::MachineNotActivated => return Activation::NotActivated,
            Err(e) => return Activation::Failed(e.message),
        };
        match self.list(&format!("machines/{}/components", pct(&id)), deadline) {
            Ok(items) => Activation::Activated {
                machine_id: id,
                components: items
                    .iter()
                    .filter_map(|c| {
                        let a = c.get("attributes")?;
                        Some((
                            a.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            a.get("fingerprint")?.as_str()?.to_string(),
                        ))
                    })
                    .collect(),
            },
            Err(e) => Activation::Failed(format!(
                "could not read machine {id}'s components: {}",
                e.message
            )),
        }
    }
}

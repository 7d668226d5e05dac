//! The diagnostics bundle for support tickets: one redacted JSON document
//! with the library and platform, the configuration without secrets, the
//! fingerprint report, the last calls and their outcomes, the clock and
//! grace, the cache, and the heartbeat thread's work. No license key,
//! token or file content goes in (the document is scrubbed of the key and
//! token once more before it is returned).

use serde_json::{json, Value};

use super::Client;
use crate::error::{Error, ErrorKind};
use crate::model::{ClockState, Source, Validation};
use crate::time::{format_rfc3339, now_ms, Millis};

/// How many calls the history keeps (the oldest go first).
pub const HISTORY_LEN: usize = 32;

/// The diagnostics document's schema version.
pub const DIAGNOSTICS_VERSION: u32 = 1;

/// One call in the history.
pub(crate) struct Entry {
    at: Millis,
    call: &'static str,
    outcome: std::result::Result<Option<Verdict>, (ErrorKind, String)>,
}

struct Verdict {
    code: String,
    valid: bool,
    source: Source,
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Unknown => "unknown",
        Source::Online => "online",
        Source::CachedFile => "cached_file",
        Source::LoadedFile => "loaded_file",
        Source::SignedKey => "signed_key",
        Source::Relay => "relay",
    }
}

impl Client {
    /// Records a call and its outcome (a verdict, nothing, or an error).
    pub(crate) fn record_call(
        &self,
        call: &'static str,
        outcome: std::result::Result<Option<&Validation>, &Error>,
    ) {
        let outcome = match outcome {
            Ok(v) => Ok(v.map(|v| Verdict {
                code: v.code_text.clone(),
                valid: v.valid,
                source: v.source,
            })),
            Err(e) => Err((e.kind, e.message.clone())),
        };
        let mut h = self.inner.history.lock();
        if h.len() >= HISTORY_LEN {
            h.pop_front();
        }
        h.push_back(Entry {
            at: now_ms(),
            call,
            outcome,
        });
    }

    /// The diagnostics document (schema version 1). `status` names an
    /// error kind as the caller's API does (the C API passes its
    /// `LIC_STATUS_*` names). Blocks on the network as
    /// `fingerprint_report` does.
    pub fn diagnostics(&self, status: &dyn Fn(ErrorKind) -> String) -> Value {
        let cfg = &self.inner.cfg;
        let history: Vec<Value> = self
            .inner
            .history
            .lock()
            .iter()
            .map(|e| match &e.outcome {
                Ok(v) => json!({
                    "time": format_rfc3339(e.at),
                    "call": e.call,
                    "status": "OK",
                    "code": v.as_ref().map(|v| v.code.clone()),
                    "valid": v.as_ref().map(|v| v.valid),
                    "source": v.as_ref().map(|v| source_name(v.source)),
                }),
                Err((kind, message)) => json!({
                    "time": format_rfc3339(e.at),
                    "call": e.call,
                    "status": status(*kind),
                    "message": message,
                }),
            })
            .collect();
        let fingerprint = self.fingerprint().ok();
        let (clock, grace, cache) = match &fingerprint {
            Some(fp) => {
                let offline = &self.inner.offline;
                let mark = offline.clock_mark(fp);
                let state = offline.observe_and_check(fp, None);
                let record = offline.grace_record(fp);
                let grace_ms = offline.grace_ms();
                let start = record.as_ref().and_then(|r| r.last_online);
                (
                    json!({
                        "state": match state {
                            ClockState::Unknown => "unknown",
                            ClockState::Ok => "ok",
                            ClockState::Tampered { .. } => "tampered",
                        },
                        "behind_seconds": match state {
                            ClockState::Tampered { behind_ms } => Some(behind_ms / 1000),
                            _ => None,
                        },
                        "system_time": format_rfc3339(now_ms()),
                        "trusted_mark": mark.map(format_rfc3339),
                        "tolerance_seconds": cfg.clock_tolerance.as_secs(),
                    }),
                    json!({
                        "grace_seconds": grace_ms.map(|g| g / 1000),
                        "last_online_validation": start.map(format_rfc3339),
                        "last_online_code": record.as_ref().map(|r| r.code.clone()),
                        "grace_expiry": start.zip(grace_ms).map(|(s, g)| format_rfc3339(s + g)),
                        "highest_offline_clock": record.and_then(|r| r.highest_local).map(format_rfc3339),
                    }),
                    offline.describe(fp),
                )
            }
            None => (Value::Null, Value::Null, Value::Null),
        };
        let monitor = self.inner.monitor.get().map(|m| m.state());
        let heartbeat = match monitor {
            None => json!({ "thread_running": false, "beats": [], "revalidation": null }),
            Some(m) => json!({
                "thread_running": m.thread_running,
                "beats": m.beats.iter().map(|b| json!({
                    "kind": b.kind,
                    "id": b.id,
                    "state": b.state,
                    "interval_seconds": b.interval_secs,
                    "last_ok_seconds_ago": b.last_ok_secs_ago,
                    "next_in_seconds": b.next_in_secs,
                    "failed_attempts": b.attempt,
                })).collect::<Vec<_>>(),
                "revalidation": m.revalidation.map(|(interval, next, running)| json!({
                    "interval_seconds": interval,
                    "next_in_seconds": next,
                    "running": running,
                })),
                "lease": m.lease.map(|l| json!({
                    "state": l.state,
                    "ttl_seconds": l.ttl_secs,
                    "expires_in_seconds": l.expires_in_secs,
                    "next_in_seconds": l.next_in_secs,
                    "failed_attempts": l.attempt,
                })),
                "wakeups": m.stats.wakeups,
                "pings": m.stats.pings,
                "revalidations": m.stats.revalidations,
                "renewals": m.stats.renewals,
            }),
        };
        let doc = json!({
            "version": DIAGNOSTICS_VERSION,
            "lic": {
                "version": env!("CARGO_PKG_VERSION"),
            },
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "family": std::env::consts::FAMILY,
            "config": {
                "api_url": cfg.base_url,
                "api_version": cfg.api_version,
                "account_id": self.inner.account,
                "product_id": cfg.product_id,
                "license_key_set": cfg.license_key.is_some(),
                "license_token_set": cfg.license_token.is_some(),
                "public_key_set": !cfg.public_keys.is_empty(),
                "fingerprint_set": cfg.fingerprint.is_some(),
                "app_id": cfg.app_id,
                "component_settings": cfg.components.iter().map(|(n, v)| json!({
                    "name": n, "excluded": v.is_none(),
                })).collect::<Vec<_>>(),
                "timeout_ms": cfg.timeout.as_millis() as u64,
                "offline_grace_seconds": cfg.offline_grace.map(|d| d.as_secs()),
                "max_offline_age_seconds": cfg.max_offline_age.map(|d| d.as_secs()),
                "checkout_ttl_seconds": cfg.checkout_ttl,
                "proxy_set": cfg.proxy.is_some(),
                "ca_bundle_set": cfg.ca_bundle.is_some(),
                "relay_url": cfg.relay_url,
                "relay_pool": cfg.relay_pool,
                "relay_secret_set": cfg.relay_secret.is_some(),
            },
            "relay": self.inner.relay.as_ref().map(|r| r.diagnostics()),
            "fingerprint_report": self.fingerprint_report(),
            "history": history,
            "clock": clock,
            "grace": grace,
            "cache": cache,
            "heartbeat": heartbeat,
            "slots_held": self.process_slots(),
            "events": {
                "dropped": self.dropped_events(),
                "callback": cfg.events.is_some(),
            },
        });
        self.redact(doc)
    }

    /// The document with every occurrence of the license key or token in
    /// its strings replaced (a server message could quote them).
    fn redact(&self, mut doc: Value) -> Value {
        let relay_key = self.inner.relay.as_ref().and_then(|r| r.license_key());
        let relay_secret = self.inner.cfg.relay_secret.clone();
        let secrets: Vec<(&str, &str)> = [
            (&self.inner.cfg.license_key, "<license key>"),
            (&self.inner.cfg.license_token, "<license token>"),
            (&relay_key, "<license key>"),
            (&relay_secret, "<relay secret>"),
        ]
        .into_iter()
        .filter_map(|(s, name)| s.as_deref().filter(|s| !s.is_empty()).map(|s| (s, name)))
        .collect();
        fn walk(v: &mut Value, secrets: &[(&str, &str)]) {
            match v {
                Value::String(s) => {
                    for (secret, name) in secrets {
                        if s.contains(secret) {
                            *s = s.replace(secret, name);
                        }
                    }
                }
                Value::Array(a) => a.iter_mut().for_each(|x| walk(x, secrets)),
                Value::Object(o) => o.values_mut().for_each(|x| walk(x, secrets)),
                _ => {}
            }
        }
        walk(&mut doc, &secrets);
        doc
    }
}

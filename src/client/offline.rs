//! The client's side of offline evidence: keeping a fresh machine file in
//! the cache after activation and online validations (the check-out is a
//! network call; the evidence store verifies and keeps the file), files
//! loaded by hand, and the offline answers.

use serde_json::{json, Value};

use super::Client;
use crate::config::LogLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::evidence::files::Algorithm;
use crate::model::{MachineInfo, Validation};
use crate::protocol::{pct, Call, Deadline};

impl Client {
    /// After a verified online answer: the clock mark, then a fresh machine
    /// file when the cached one is missing or past half its life and the
    /// call has time left for it (else the next validation tries again).
    pub(crate) fn after_online_validation(&self, v: &mut Validation, deadline: &Deadline) {
        self.inner.offline.check_online_answer(v);
        if self.config().public_keys.is_empty() || !v.verified || self.config().no_cache {
            return;
        }
        let Some(machine_id) = v.machine_id.clone() else {
            return;
        };
        if self.inner.offline.needs_refresh(&v.fingerprint) {
            if !deadline.room_for_follow_up() {
                self.log(LogLevel::Info, || {
                    "the machine-file check-out is deferred to the next validation: this call has too little time left".to_string()
                });
                return;
            }
            if let Err(e) = self.refresh_cached_file(&machine_id, &v.fingerprint, deadline) {
                self.log(LogLevel::Warn, || {
                    format!("could not refresh the cached machine file: {e}")
                });
            }
        }
    }

    pub(crate) fn after_activation(&self, machine: &MachineInfo, deadline: &Deadline) {
        if self.config().public_keys.is_empty() || self.config().no_cache {
            return;
        }
        if !deadline.room_for_follow_up() {
            self.log(LogLevel::Info, || {
                "activated; the machine-file check-out is deferred to the next validation: this call has too little time left".to_string()
            });
            return;
        }
        if let Err(e) = self.refresh_cached_file(&machine.id, &machine.fingerprint, deadline) {
            self.log(LogLevel::Warn, || {
                format!("activated, but could not cache a machine file for offline use: {e}")
            });
        }
    }

    pub(crate) fn after_deactivation(&self, fingerprint: &str) {
        self.inner.offline.forget_cached(fingerprint);
    }

    pub(crate) fn offline_entitlements(&self, license_id: &str) -> Option<Vec<String>> {
        self.inner.offline.entitlements(license_id)
    }

    /// Checks out a machine file (encrypted, with the license, its policy and
    /// entitlements) and hands it to the evidence store, which verifies it
    /// and keeps it in the cache.
    fn refresh_cached_file(
        &self,
        machine_id: &str,
        fingerprint: &str,
        deadline: &Deadline,
    ) -> Result<()> {
        if !self.inner.offline.can_cache() {
            return Err(Error::new(ErrorKind::Io, "no cache directory is available"));
        }
        let certificate = self.checkout_certificate(machine_id, deadline)?;
        self.inner.offline.keep_checkout(&certificate, fingerprint)
    }

    /// Checks out a machine file for the client's fingerprint (activated
    /// already) and returns its certificate text, the `.lic` file a person
    /// carries to an air-gapped machine. The TTL is the configured check-out
    /// TTL. With a public key the file is verified and decrypted first
    /// (signature, license key, fingerprint), so a file this returns loads
    /// on that machine. Nothing is cached. Errors: MachineNotActivated when
    /// the fingerprint is not activated, and the server's refusals.
    pub fn checkout_machine_file(&self) -> Result<String> {
        let deadline = self.deadline();
        let fingerprint = self.fingerprint()?;
        let machine_id = self.this_machine_id(&deadline)?;
        let certificate = self.checkout_certificate(&machine_id, &deadline)?;
        if !self.config().public_keys.is_empty() {
            self.inner.offline.verify(&certificate, &fingerprint)?;
        }
        Ok(certificate)
    }

    /// The check-out call: the certificate text of a fresh machine file.
    fn checkout_certificate(&self, machine_id: &str, deadline: &Deadline) -> Result<String> {
        // Ask for a signature lic can verify with the keys it was given
        // (Keygen's default follows the license's scheme, which may need a
        // key the app did not configure): Ed25519 first, else RSA-PSS, else
        // ECDSA.
        let signing = self.config().public_keys.preferred().ok_or_else(|| {
            Error::new(
                ErrorKind::NoPublicKey,
                "checking out a file needs a public key",
            )
        })?;
        let algorithm = Algorithm {
            encrypted: true,
            signing,
        };
        let body = json!({ "meta": {
            "algorithm": algorithm.name(),
            "include": ["license", "license.entitlements", "license.policy"],
            "ttl": self.config().checkout_ttl,
        }});
        let reply = self.send(
            Call {
                method: "POST",
                path: format!("machines/{}/actions/check-out", pct(machine_id)),
                query: None,
                body: Some(body),
                auth: self.auth()?,
                retry_safe: true,
            },
            deadline,
        )?;
        let doc = reply.json()?;
        let certificate = doc
            .pointer("/data/attributes/certificate")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::BadResponse,
                    "check-out answer has no certificate",
                )
            })?;
        Ok(certificate.to_string())
    }

    /// Hands lic a license or machine file delivered by hand (air-gapped
    /// machines). It is verified and decrypted now; `validate` answers from
    /// it when the server cannot be reached (or with OFFLINE_ONLY).
    pub fn load_file(&self, text: &str) -> Result<()> {
        self.inner.offline.load(text, &|| self.fingerprint())
    }

    pub(crate) fn validate_offline(
        &self,
        fingerprint: &str,
        cause: Option<Error>,
    ) -> Result<Validation> {
        self.inner.offline.validate(fingerprint, cause)
    }

    /// Checks the configured license key as a signed key of any scheme Keygen
    /// makes, with no server.
    pub fn signed_key_validation(&self, fingerprint: &str) -> Result<Validation> {
        self.inner.offline.signed_key_validation(fingerprint)
    }
}

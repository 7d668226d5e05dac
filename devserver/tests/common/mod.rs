//! Test client: drives the server over HTTP like a Keygen client and verifies every response
//! signature independently of the server's code (ed25519-dalek, sha2 and base64 directly).
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use lic_devserver::{raw, Admin, DevServer, Options};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct Env {
    pub server: DevServer,
    pub admin: Admin,
    pub addr: String,
    pub key: VerifyingKey,
}

#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Admin,
    License(&'a str),
    Bearer(&'a str),
    Basic(&'a str),
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn code(&self) -> &str {
        self.json["errors"][0]["code"].as_str().unwrap_or("")
    }
    pub fn detail(&self) -> &str {
        self.json["errors"][0]["detail"].as_str().unwrap_or("")
    }
    pub fn pointer(&self) -> &str {
        self.json["errors"][0]["source"]["pointer"]
            .as_str()
            .unwrap_or("")
    }
    pub fn id(&self) -> String {
        self.json["data"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    pub fn attr(&self, name: &str) -> &Value {
        &self.json["data"]["attributes"][name]
    }
}

pub fn env() -> Env {
    env_with(Options {
        min_heartbeat_duration: Some(1),
        ..Options::default()
    })
}

pub fn env_with(opts: Options) -> Env {
    let server = DevServer::start(opts).expect("server starts");
    let admin = server.admin();
    let addr = server.base_url().trim_start_matches("http://").to_string();
    let bytes: [u8; 32] = hex(&server.public_key_hex())
        .try_into()
        .expect("32-byte key");
    let key = VerifyingKey::from_bytes(&bytes).expect("valid public key");
    Env {
        server,
        admin,
        addr,
        key,
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Parses `k="v", k2="v2"` (values may contain `=` and `,`-free base64).
pub fn sig_params(header: &str) -> Vec<(String, String)> {
    header
        .split("\", ")
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// Verifies Digest and Keygen-Signature as a client would (§7), with this request's host and target.
pub fn verify_signature(
    key: &VerifyingKey,
    resp: &Resp,
    method: &str,
    target: &str,
    host: &str,
) -> Result<(), String> {
    let digest = resp.header("digest").ok_or("no Digest")?;
    let expected = format!("sha-256={}", b64(&Sha256::digest(&resp.raw)));
    if digest != expected {
        return Err(format!("digest mismatch: {digest} != {expected}"));
    }
    let date = resp.header("date").ok_or("no Date")?;
    let header = resp
        .header("keygen-signature")
        .ok_or("no Keygen-Signature")?;
    let params = sig_params(header);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .ok_or(format!("no {k} in signature"))
    };
    if get("algorithm")? != "ed25519" || get("headers")? != "(request-target) host date digest" {
        return Err(format!("unexpected signature parameters: {header}"));
    }
    let sig = STANDARD
        .decode(get("signature")?)
        .map_err(|e| e.to_string())?;
    let sig = Signature::from_slice(&sig).map_err(|e| e.to_string())?;
    let signing = format!(
        "(request-target): {} {target}\nhost: {host}\ndate: {date}\ndigest: {digest}",
        method.to_lowercase()
    );
    key.verify_strict(signing.as_bytes(), &sig)
        .map_err(|e| format!("bad signature: {e}"))
}

impl Env {
    /// The host Keygen signs: Rails' `request.host`, the Host header without its port.
    pub fn host(&self) -> &str {
        self.addr.rsplit_once(':').map_or(&self.addr, |(h, _)| h)
    }

    pub fn account(&self) -> String {
        self.server.account_id()
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        auth: Auth,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let token = self.server.admin_token();
        let authz = match auth {
            Auth::None => None,
            Auth::Admin => Some(format!("Bearer {token}")),
            Auth::License(k) => Some(format!("License {k}")),
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
            Auth::Basic(up) => Some(format!("Basic {}", b64(up.as_bytes()))),
        };
        let mut headers: Vec<(&str, &str)> = vec![
            ("Accept", "application/vnd.api+json"),
            ("Content-Type", "application/vnd.api+json"),
        ];
        if let Some(a) = &authz {
            headers.push(("Authorization", a));
        }
        headers.extend_from_slice(extra);
        let payload = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let r = raw::send(&self.addr, method, path, &headers, &payload).expect("request");
        let json = if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&r.body).unwrap_or(Value::Null)
        };
        Resp {
            status: r.status,
            headers: r.headers,
            raw: r.body,
            json,
        }
    }

    /// A request whose response must carry a valid signature.
    pub fn call(&self, method: &str, path: &str, auth: Auth, body: Option<Value>) -> Resp {
        let resp = self.send(method, path, auth, body.as_ref(), &[]);
        if let Err(e) = verify_signature(&self.key, &resp, method, path, self.host()) {
            panic!("{method} {path} -> {}: {e}\n{}", resp.status, resp.json);
        }
        resp
    }

    pub fn product(&self) -> String {
        self.admin.create_product("Test App")
    }

    /// A fresh product, policy (with `attrs`) and license (with `lattrs`).
    pub fn license_with(&self, attrs: Value, lattrs: Value) -> Lic {
        let product = self.product();
        let policy = self.admin.create_policy(&product, attrs);
        let (id, key) = self.admin.create_license(&policy, lattrs);
        Lic {
            id,
            key,
            policy,
            product,
        }
    }

    pub fn license(&self, attrs: Value) -> Lic {
        self.license_with(attrs, json!({}))
    }

    pub fn activate_with(&self, lic: &Lic, fp: &str, attrs: Value) -> Resp {
        let mut a = attrs;
        a["fingerprint"] = fp.into();
        let body = json!({ "data": { "type": "machines", "attributes": a,
            "relationships": { "license": { "data": { "type": "licenses", "id": lic.id } } } } });
        self.call("POST", "/v1/machines", Auth::Admin, Some(body))
    }

    pub fn activate(&self, lic: &Lic, fp: &str) -> Resp {
        self.activate_with(lic, fp, json!({}))
    }

    /// POST validate by id as admin; returns (valid, code, detail, full response).
    pub fn validate(&self, lic: &Lic, scope: Value) -> (bool, String, String) {
        let r = self.call(
            "POST",
            &format!("/v1/licenses/{}/actions/validate", lic.id),
            Auth::Admin,
            Some(json!({ "meta": { "scope": scope } })),
        );
        assert_eq!(r.status, 200, "{}", r.json);
        let m = &r.json["meta"];
        (
            m["valid"].as_bool().unwrap(),
            m["code"].as_str().unwrap().to_string(),
            m["detail"].as_str().unwrap().to_string(),
        )
    }

    pub fn spawn(&self, machine: &str, pid: &str) -> Resp {
        let body = json!({ "data": { "type": "processes", "attributes": { "pid": pid },
            "relationships": { "machine": { "data": { "type": "machines", "id": machine } } } } });
        self.call("POST", "/v1/processes", Auth::Admin, Some(body))
    }
}

pub struct Lic {
    pub id: String,
    pub key: String,
    pub policy: String,
    pub product: String,
}

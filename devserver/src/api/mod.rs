//! The Keygen API: the request pipeline and route table, one module per resource, Keygen's
//! documents (JSON:API views, typed params, error documents), authentication, signing every
//! answer, and the dev extensions. It is the `http::Handler` the server serves.
//!
//! `routes` runs a request through Keygen's checks and the route table; `ctx` is what a route
//! sees; `admin` (products, policies, licenses, entitlements, tokens), `licensing` (validation
//! and license actions), `machines` (machines, heartbeats, processes, components) and `checkout`
//! (license and machine files) are the resources; `dev` is `/v1/dev/`. A second API (Keygen
//! Relay's `/v1/nodes/{fingerprint}`) would be a sibling room of this one, serving the same
//! store through its own `Handler`.

mod admin;
mod checkout;
mod ctx;
mod dev;
mod errors;
mod licensing;
mod machines;
mod params;
mod routes;
mod version;
mod views;

pub use admin::bootstrap;
pub use ctx::{Bearer, Body, Ctx, Reply};

use crate::faults::{Before, Faults};
use crate::http::{self, Outcome, Request, Response};
use crate::signing::{self, Signer};
use crate::store::Store;
use crate::util::http_date;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Identity {
    pub account_id: String,
    pub admin_token: String,
    pub signer: Signer,
}

/// Everything a request handler can reach. Locks are only held while computing a response,
/// never across socket I/O or a wait.
pub struct App {
    pub identity: Identity,
    pub store: Mutex<Store>,
    pub clock_offset_ms: AtomicI64,
    pub faults: Mutex<Faults>,
    pub dirty: AtomicBool,
    pub min_heartbeat: i64,
    /// Sign over `host:port` as the client sent it instead of Keygen's port-less host.
    pub sign_host_with_port: bool,
}

impl http::Handler for App {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Outcome> + Send {
        self.answer(req)
    }
}

impl App {
    pub fn new(identity: Identity, store: Store, clock_offset_ms: i64, min_heartbeat: i64) -> App {
        App {
            identity,
            store: Mutex::new(store),
            clock_offset_ms: AtomicI64::new(clock_offset_ms),
            faults: Mutex::new(Faults::default()),
            dirty: AtomicBool::new(false),
            min_heartbeat,
            sign_host_with_port: false,
        }
    }

    /// The server's clock: real time plus the offset `/v1/dev/clock` has advanced it by.
    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        real.saturating_add(self.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// One request: dev extensions as they are; Keygen requests through the first matching
    /// fault (if any), the API, and signing.
    pub async fn answer(&self, req: Request) -> Outcome {
        if dev::is_dev(&req.path) {
            let mut resp = dev::handle(self, &req);
            self.sign(&mut resp, &req, self.now(), &self.identity.signer);
            return Outcome::Reply(resp);
        }
        let fault = self.faults.lock().take(&req.method, &req.path);
        if let Some(fault) = &fault {
            match fault.before(self.now()) {
                Before::Answer => {}
                Before::Reset => return Outcome::Reset,
                Before::Hang(duration) => http::pause(duration).await,
                Before::Instead(resp) => return Outcome::Reply(resp),
                Before::Replay => {
                    if let Some(resp) = self.faults.lock().replayed(&req) {
                        return Outcome::Reply(resp);
                    }
                }
            }
        }
        let (mut resp, signed) = self.keygen(&req);
        let now = self.now();
        if signed {
            let date = fault.as_ref().map_or(now, |f| f.claimed_date(now));
            match &fault {
                Some(f) if f.wrong_key() => {
                    self.sign(&mut resp, &req, date, &self.identity.signer.impostor())
                }
                _ => self.sign(&mut resp, &req, date, &self.identity.signer),
            }
        } else {
            resp.set_header("Date", http_date(now));
        }
        match fault {
            None => {
                self.faults.lock().remember(&req, &resp);
                Outcome::Reply(resp)
            }
            Some(fault) => fault.after(resp),
        }
    }

    /// Adds `Date`, `Digest` and `Keygen-Signature` (and the Keygen-* copies) as §7, over the
    /// exact body, the method and target as received, and the Host header without its port
    /// (Rails' `request.host`; with `sign_host_with_port`, as sent), with the algorithm
    /// `Keygen-Accept-Signature` asks for. A malformed or unsupported one gets no signature
    /// headers, and one with another account's keyid no `Keygen-Signature` (`signature_headers.rb`).
    pub fn sign(&self, resp: &mut Response, req: &Request, date_ms: i64, signer: &Signer) {
        let date = http_date(date_ms);
        let Ok(accepted) = signing::accept(req.header("keygen-accept-signature"), signer) else {
            resp.set_header("Date", date);
            return;
        };
        let sent = req.header("host").unwrap_or("");
        let host = if self.sign_host_with_port {
            sent
        } else {
            host_without_port(sent)
        };
        let signed = signer.response(&accepted, &req.method, &req.target, host, date, &resp.body);
        resp.set_header("Date", signed.date.clone());
        resp.set_header("Keygen-Date", signed.date);
        resp.set_header("Digest", signed.digest.clone());
        resp.set_header("Keygen-Digest", signed.digest);
        if let Some(signature) = signed.signature {
            resp.set_header("Keygen-Signature", signature);
        }
    }
}

/// Rails' `request.host`: the Host header less a trailing `:<digits>` (`[::1]:3000` is `[::1]`).
pub fn host_without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || (name.starts_with('[') && name.ends_with(']'))) =>
        {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_without_port_is_rails_request_host() {
        for (sent, host) in [
            ("127.0.0.1:3000", "127.0.0.1"),
            ("localhost", "localhost"),
            ("[::1]:8080", "[::1]"),
            ("[::1]", "[::1]"),
            ("api.keygen.sh:443", "api.keygen.sh"),
            ("odd:port", "odd:port"),
        ] {
            assert_eq!(super::host_without_port(sent), host, "{sent}");
        }
    }
}

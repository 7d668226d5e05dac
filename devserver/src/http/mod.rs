//! HTTP: the hyper/tokio server (accept loop, connection cap with an idle reaper, per-request
//! timeouts, TLS) and the wire-neutral Request, Response and Outcome that a handler sees.
//! It knows nothing of Keygen: it serves whatever implements [`Handler`].

mod conns;
mod server;
#[cfg(test)]
mod tests;
pub(crate) mod tls;
mod wire;

pub use server::Server;
pub use wire::{reason, Outcome, Request, Response};

use std::future::Future;
use std::time::Duration;

/// What the server serves: one call per request, with its whole body. The future may wait (a
/// fault that hangs) without holding a thread; the server drops it when the client or the
/// server goes away.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: Request) -> impl Future<Output = Outcome> + Send;
}

/// Waits without holding a thread, for handlers (the `hang` fault).
pub async fn pause(duration: Duration) {
    tokio::time::sleep(duration).await
}

/// The server's limits; every one is per connection or per request, never per read.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections at most; at the cap a new one closes the idlest (see `conns`).
    pub max_connections: usize,
    /// From waiting for a request (accept, or the previous answer) to its last header line.
    /// Also closes keep-alive connections idle this long.
    pub header_read: Duration,
    /// From the end of the head to the end of the body.
    pub body: Duration,
    /// TLS handshake, from accept.
    pub handshake: Duration,
    /// Largest request body (a larger one is a 413 and the connection closes).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_read: Duration::from_secs(10),
            body: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            max_body: 1 << 20,
        }
    }
}

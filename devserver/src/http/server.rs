//! The server: a single-threaded tokio runtime on its own thread, the accept loop, and one task
//! per connection serving HTTP/1.1 (keep-alive, pipelining) with hyper, plain or over rustls.

use super::conns::{Conns, Slot};
use super::wire::{simple, wants_keep_alive, Outcome, Request, Response};
use super::{Handler, Limits};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::{poll_fn, Future};
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

/// The accept queue asked for (the kernel caps it at net.core.somaxconn).
const BACKLOG: libc::c_int = 4096;

/// A running server; dropping it stops it: the listener closes, and every connection closes
/// with its request, hung ones included, within a second.
pub struct Server {
    stop: Arc<Notify>,
    thread: Option<JoinHandle<()>>,
}

struct Shared<H> {
    handler: Arc<H>,
    tls: Option<TlsAcceptor>,
    conns: Conns,
    http1: http1::Builder,
    limits: Limits,
}

impl Server {
    /// Serves `handler` on `listener` (HTTPS with `tls`) until dropped.
    pub fn start<H: Handler>(
        listener: std::net::TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Arc<H>,
        limits: Limits,
    ) -> io::Result<Server> {
        // std listens with a backlog of 128: a burst of connects beyond that waits a second
        // for the SYN to be sent again. Listening again on Linux and the BSDs resizes it.
        // SAFETY: a plain call on the listener's open socket.
        unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) };
        listener.set_nonblocking(true)?;
        // One thread serves every connection: requests are short computations (the only waits
        // are timers), so a second worker would only add cross-thread wake-ups and the spinning
        // of idle workers on a machine whose cores the clients share.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            // From the moment the server waits for a request (after accepting, or after the
            // previous answer) to its last header line: per request, not per read, so a client
            // that trickles bytes is cut off as surely as a silent one.
            .header_read_timeout(limits.header_read)
            .keep_alive(true)
            // A client may shut down its sending side and still wait for the answer.
            .half_close(true)
            .title_case_headers(true)
            // Date is the handler's (signed, and on the server's adjustable clock).
            .auto_date_header(false);
        let shared = Arc::new(Shared {
            handler,
            tls: tls.map(TlsAcceptor::from),
            conns: Conns::new(limits.max_connections),
            http1,
            limits,
        });
        let stop = Arc::new(Notify::new());
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("devserver-http".into())
                .spawn(move || {
                    runtime.block_on(accept_loop(listener, shared, &stop));
                    // Drops every connection task, hung requests included.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                })?
        };
        Ok(Server {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A stored permit: the accept loop sees it even if it is busy right now.
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `work`'s output, or `None` when `stop` fires first.
async fn unless<F: Future>(work: F, stop: impl Future<Output = ()>) -> Option<F::Output> {
    let (mut work, mut stop) = (pin!(work), pin!(stop));
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        stop.as_mut().poll(cx).map(|()| None)
    })
    .await
}

async fn accept_loop<H: Handler>(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared<H>>,
    stop: &Notify,
) {
    while let Some(accepted) = unless(listener.accept(), stop.notified()).await {
        match accepted {
            Ok((tcp, _)) => {
                // At the cap with every connection answering a request: closed at once.
                if let Some(slot) = shared.conns.admit() {
                    tokio::spawn(connection(shared.clone(), tcp, slot));
                }
            }
            Err(e) => {
                // Out of file descriptors (or kernel buffers): make room and retry in a moment
                // rather than spinning; anything else is one failed connection.
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) {
                    shared.conns.reap_idlest();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

async fn connection<H: Handler>(shared: Arc<Shared<H>>, tcp: TcpStream, slot: Arc<Slot>) {
    let _ = tcp.set_nodelay(true);
    let fd = tcp.as_raw_fd();
    let work = async {
        match &shared.tls {
            None => shared.serve(TokioIo::new(tcp), fd, &slot).await,
            Some(acceptor) => {
                let peer = tcp
                    .peer_addr()
                    .map_or_else(|_| "a client".to_string(), |a| a.to_string());
                match tokio::time::timeout(shared.limits.handshake, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => shared.serve(TokioIo::new(tls), fd, &slot).await,
                    Ok(Err(e)) => eprintln!("lic-devserver: TLS handshake with {peer} failed: {e}"),
                    Err(_) => eprintln!("lic-devserver: TLS handshake with {peer} timed out"),
                }
            }
        }
    };
    unless(work, slot.close.notified()).await;
    shared.conns.leave(&slot);
}

/// The service error that makes hyper drop the connection without answering.
#[derive(Debug)]
struct Abandon;

impl std::fmt::Display for Abandon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset on purpose")
    }
}

impl std::error::Error for Abandon {}

impl<H: Handler> Shared<H> {
    async fn serve<IO>(&self, io: IO, fd: RawFd, slot: &Slot)
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin,
    {
        let service = service_fn(|req| self.answer(req, fd, slot));
        // Errors are the client's (bad input it was answered for, a closed socket) or ours
        // on purpose (reset, cut mid-body): the connection is over either way.
        let _ = self.http1.serve_connection(io, service).await;
    }

    async fn answer(
        &self,
        req: hyper::Request<Incoming>,
        fd: RawFd,
        slot: &Slot,
    ) -> Result<hyper::Response<Answer>, Abandon> {
        let (head, mut body) = req.into_parts();
        let keep_alive = wants_keep_alive(&head);
        let max = self.limits.max_body;
        let declared = body.size_hint().exact();
        if declared.is_some_and(|n| n > max as u64) {
            return Ok(closing(simple(413, &too_large(max))));
        }
        let body = match tokio::time::timeout(self.limits.body, read_body(&mut body, max)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(BodyError::TooLarge)) => return Ok(closing(simple(413, &too_large(max)))),
            Ok(Err(BodyError::Broken)) => return Ok(closing(malformed("bad body framing"))),
            Err(_) => {
                let message = "The request body did not arrive in time";
                return Ok(closing(simple(408, message)));
            }
        };
        let req = match Request::new(head, body) {
            Ok(req) => req,
            Err(why) => return Ok(closing(malformed(&why))),
        };
        // Busy from here: a client still sending its body can be closed for room like one
        // still sending its head, so neither can hold a place at the cap.
        let _busy = slot.busy();
        match self.handler.handle(req).await {
            Outcome::Reply(resp) => Ok(whole(resp, !keep_alive)),
            Outcome::Reset => {
                reset_on_close(fd);
                Err(Abandon)
            }
            Outcome::CutMidBody(mut resp) => {
                let body = std::mem::take(&mut resp.body);
                let len = body.len() as u64;
                let mut half = Bytes::from(body);
                half.truncate(len as usize / 2);
                Ok(resp.into_hyper(
                    Answer::Cut {
                        half: Some(half),
                        len,
                        pause: None,
                    },
                    true,
                ))
            }
        }
    }
}

fn malformed(why: &str) -> Response {
    let message = format!("The request could not be completed because it was malformed ({why})");
    simple(400, &message)
}

fn too_large(max: usize) -> String {
    format!("The request body is too large (maximum {} MiB)", max >> 20)
}

fn whole(mut resp: Response, close: bool) -> hyper::Response<Answer> {
    let body = std::mem::take(&mut resp.body);
    let body = (!body.is_empty()).then(|| Bytes::from(body));
    resp.into_hyper(Answer::Whole(body), close)
}

fn closing(resp: Response) -> hyper::Response<Answer> {
    whole(resp, true)
}

enum BodyError {
    TooLarge,
    /// A malformed chunked encoding, or the client broke off.
    Broken,
}

async fn read_body(body: &mut Incoming, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if data.len() > max - bytes.len() {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// Sets SO_LINGER 0, so that closing the socket sends a reset instead of a FIN.
fn reset_on_close(fd: RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `fd` is the connection's socket, open until hyper drops the connection after this
    // request; `linger` is a valid `struct linger` whose size is passed alongside it.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// A response body: whole, or cut after its first half (the `drop` fault).
enum Answer {
    Whole(Option<Bytes>),
    Cut {
        half: Option<Bytes>,
        /// The full length, announced as Content-Length.
        len: u64,
        /// Holds the cut back until hyper has flushed the half (it flushes whenever the body
        /// is pending).
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Abandon;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Abandon>>> {
        match self.get_mut() {
            Answer::Whole(body) => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
            Answer::Cut { half, pause, .. } => {
                if let Some(half) = half.take() {
                    return Poll::Ready(Some(Ok(Frame::data(half))));
                }
                let pause = pause
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
                pause.as_mut().poll(cx).map(|()| Some(Err(Abandon)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Answer::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Answer::Whole(body) => {
                SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
            Answer::Cut { len, .. } => SizeHint::with_exact(*len),
        }
    }
}

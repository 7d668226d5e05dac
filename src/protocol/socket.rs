//! lic's TCP connector and transport for ureq 3 (its `unversioned::transport`
//! API): a connect bounded by what is left of the call, socket timeouts armed
//! only when the armed one would end too late, and each request sent in one
//! write.
//!
//! ureq's own TCP transport re-arms `SO_RCVTIMEO`/`SO_SNDTIMEO` whenever the
//! remaining time changes, and with a per-call deadline it changes before
//! every read and write. This one keeps an armed timeout while it ends no
//! more than [`SLACK`] after the call's deadline, and when an armed timeout
//! ends before the deadline and fires, it re-arms for what is left and
//! resumes: a kept-alive connection arms about once per call, or never.
//!
//! Output is held until the transport is asked for input (or the buffer is
//! half full), so the request head and its body leave in one `sendto`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, ShutdownHandle, Transport,
};
use ureq::{Error, Timeout};

/// How far past a call's deadline an armed socket timeout may end before it
/// is armed again: 10 ms. A read or write that blocks until its timeout
/// therefore returns at most this late (the deadline tests allow the budget
/// plus 10% plus 50 ms), and calls on a kept-alive connection, whose deadlines
/// move by much less than this from one read to the next, keep the timeout
/// armed.
pub(crate) const SLACK: Duration = Duration::from_millis(10);

/// A failure of lic's own connectors, resolver and TLS, kept apart so the
/// transports can word it (ureq carries it as `Error::Other`).
#[derive(Debug)]
pub(crate) enum WireError {
    /// The host name did not resolve.
    Resolve(io::Error),
    /// No address accepted a TCP connection (refused, unreachable, …).
    Connect(io::Error),
    /// The TLS handshake failed on its transport (a reset, an early end):
    /// before the request was sent.
    Handshake(io::Error),
    /// TLS refused the server: its certificate, or the protocol.
    Tls(rustls::Error),
    /// A proxy lic cannot use (SOCKS), or a TLS setup failure.
    Setup(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Resolve(e) | WireError::Connect(e) => e.fmt(f),
            WireError::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
            WireError::Tls(e) => e.fmt(f),
            WireError::Setup(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for WireError {}

impl WireError {
    pub(crate) fn into_ureq(self) -> Error {
        Error::Other(Box::new(self))
    }
}

/// The time a `NextTimeout` gives, `None` for none; a spent one is a timeout.
pub(crate) fn limit(timeout: &NextTimeout) -> Result<Option<Duration>, Error> {
    if timeout.after.is_not_happening() {
        Ok(None)
    } else if timeout.after.is_zero() {
        Err(Error::Timeout(timeout.reason))
    } else {
        Ok(Some(*timeout.after))
    }
}

/// Opens a plain TCP connection to the resolved addresses, unless an earlier
/// connector in the chain (a CONNECT proxy's tunnel) already made one.
#[derive(Debug, Default)]
pub(crate) struct TcpConnector;

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(t) = chained {
            return Ok(Some(Either::A(t)));
        }
        if let Some(p) = details.config.proxy() {
            // The CONNECT connector before this one handles http(s) proxies
            // and hands the proxy's own connection a config without one.
            use ureq::ProxyProtocol as P;
            if matches!(
                p.protocol(),
                P::Socks4 | P::Socks4A | P::Socks5 | P::Socks5h
            ) {
                return Err(WireError::Setup(format!(
                    "the proxy {}:{} is a SOCKS proxy; lic supports HTTP (CONNECT) proxies only",
                    p.host(),
                    p.port()
                ))
                .into_ureq());
            }
        }
        let deadline = limit(&details.timeout)?.map(|d| Instant::now() + d);
        let stream = connect(&details.addrs, deadline, details.timeout.reason)?;
        stream.set_nodelay(true).map_err(Error::Io)?;
        let transport = TcpTransport::new(
            stream,
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        (details.register_shutdown)(transport.shutdown_handle())?;
        Ok(Some(Either::B(transport)))
    }
}

/// The first address that accepts a connection before `deadline`. Each
/// address gets an equal share of what is left, so a black hole first in
/// the list leaves time for the rest.
fn connect(
    addrs: &[SocketAddr],
    deadline: Option<Instant>,
    reason: Timeout,
) -> Result<TcpStream, Error> {
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        let attempt = match deadline {
            None => TcpStream::connect(addr),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let share = (left / (addrs.len() - i) as u32).max(Duration::from_millis(10));
                TcpStream::connect_timeout(addr, share.min(left))
            }
        };
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if !is_timeout(&e) => Err(WireError::Connect(e).into_ureq()),
        _ => Err(Error::Timeout(reason)),
    }
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Input and output buffers whose output holds what was transmitted until
/// the next wait for input: `output()` hands out the room after what is
/// held, and input does not count as usable while output is held, so that
/// ureq's `maybe_await_input` always reaches `await_input`, which sends first.
#[derive(Debug)]
pub(crate) struct HeldBuffers {
    input: Vec<u8>,
    input_size: usize,
    start: usize,
    end: usize,
    progress: bool,
    output: Vec<u8>,
    output_size: usize,
    held: usize,
}

impl HeldBuffers {
    pub(crate) fn new(input_size: usize, output_size: usize) -> HeldBuffers {
        HeldBuffers {
            input: Vec::new(),
            input_size: input_size.max(1024),
            start: 0,
            end: 0,
            progress: false,
            output: Vec::new(),
            output_size: output_size.max(1024),
            held: 0,
        }
    }

    /// The output held for sending.
    pub(crate) fn held(&self) -> &[u8] {
        &self.output[..self.held]
    }

    /// Records `amount` more bytes written to `output()`; whether the held
    /// output should go now (less than half the buffer is left).
    pub(crate) fn hold(&mut self, amount: usize) -> bool {
        self.held = (self.held + amount).min(self.output.len());
        self.output.len() - self.held < self.output_size / 2
    }

    pub(crate) fn sent(&mut self) {
        self.held = 0;
    }

    /// Whether unconsumed input can be used once the held output is sent.
    pub(crate) fn has_input(&self) -> bool {
        self.start < self.end && self.progress
    }

    fn alloc(&mut self) {
        if self.output.is_empty() {
            self.output = vec![0; self.output_size];
        }
        if self.input.is_empty() {
            self.input = vec![0; self.input_size];
        }
    }
}

impl Buffers for HeldBuffers {
    fn output(&mut self) -> &mut [u8] {
        self.alloc();
        &mut self.output[self.held..]
    }

    fn input(&self) -> &[u8] {
        &self.input[self.start..self.end]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.alloc();
        if self.start > 0 && self.input.len() - self.end < self.input.len() / 2 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.input[self.end..]
    }

    fn input_appended(&mut self, amount: usize) {
        self.end = (self.end + amount).min(self.input.len());
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.start = (self.start + amount).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.alloc();
        // The request body is read into the free input room: keep 10 KiB.
        const MIN_TMP: usize = 10 * 1024;
        if self.input.len() - self.end < MIN_TMP {
            let more = MIN_TMP - (self.input.len() - self.end);
            self.input.resize(self.input.len() + more, 0);
        }
        (&mut self.input[self.end..], &mut self.output[self.held..])
    }

    fn can_use_input(&self) -> bool {
        self.held == 0 && self.has_input()
    }
}

/// A socket timeout as armed, and whether to arm it again for an operation
/// that must end within `want`: when none is armed, or the armed one would
/// end more than [`SLACK`] after the deadline. One that ends before it is
/// kept: if it fires, the operation is resumed with what is left.
fn must_arm(armed: Option<Duration>, want: Option<Duration>) -> bool {
    match (armed, want) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(w)) => a > w + SLACK,
    }
}

/// A plain TCP connection: [`HeldBuffers`] and lazily armed timeouts.
pub(crate) struct TcpTransport {
    stream: Arc<TcpStream>,
    buffers: HeldBuffers,
    read_armed: Option<Duration>,
    write_armed: Option<Duration>,
    /// I/O happened since the last liveness probe (see `is_open`).
    used: bool,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

impl TcpTransport {
    fn new(stream: TcpStream, input_size: usize, output_size: usize) -> TcpTransport {
        TcpTransport {
            stream: Arc::new(stream),
            buffers: HeldBuffers::new(input_size, output_size),
            read_armed: None,
            write_armed: None,
            used: false,
        }
    }

    fn shutdown_handle(&self) -> Weak<dyn ShutdownHandle> {
        Arc::downgrade(&self.stream) as Weak<dyn ShutdownHandle>
    }

    fn arm(&mut self, read: bool, want: Option<Duration>) -> Result<(), Error> {
        let armed = if read {
            &mut self.read_armed
        } else {
            &mut self.write_armed
        };
        let set = if read {
            self.stream.set_read_timeout(want)
        } else {
            self.stream.set_write_timeout(want)
        };
        match set {
            Ok(()) => *armed = want,
            // macOS refuses to change a timeout after the peer closed with
            // unread data; the I/O itself then says what happened.
            Err(e) if cfg!(target_os = "macos") && e.kind() == io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(Error::Io(e)),
        }
        Ok(())
    }

    /// After a socket timeout fired: re-armed for what is left before
    /// `deadline`, or the operation's timeout when nothing is.
    fn resume(
        &mut self,
        read: bool,
        deadline: Option<Instant>,
        reason: Timeout,
    ) -> Result<(), Error> {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(Error::Timeout(reason));
        }
        self.arm(read, left)
    }

    /// Sends the held output, within `timeout`.
    fn send_held(&mut self, timeout: NextTimeout) -> Result<(), Error> {
        if self.buffers.held == 0 {
            return Ok(());
        }
        self.used = true;
        let timeout = timeout.for_write();
        let want = limit(&timeout)?;
        if must_arm(self.write_armed, want) {
            self.arm(false, want)?;
        }
        let deadline = want.map(|w| Instant::now() + w);
        let mut off = 0;
        while off < self.buffers.held {
            match (&*self.stream).write(&self.buffers.output[off..self.buffers.held]) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => self.resume(false, deadline, timeout.reason)?,
                Err(e) => return Err(Error::Io(e)),
            }
        }
        self.buffers.sent();
        Ok(())
    }
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        if self.buffers.hold(amount) {
            self.send_held(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        if self.buffers.held > 0 {
            self.send_held(timeout)?;
            if self.buffers.has_input() {
                return Ok(true);
            }
        }
        self.used = true;
        let timeout = timeout.for_read();
        let want = limit(&timeout)?;
        if must_arm(self.read_armed, want) {
            self.arm(true, want)?;
        }
        let deadline = want.map(|w| Instant::now() + w);
        loop {
            let buf = self.buffers.input_append_buf();
            match (&*self.stream).read(buf) {
                Ok(n) => {
                    self.buffers.input_appended(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => self.resume(true, deadline, timeout.reason)?,
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// Whether the connection still works. The pool asks when it takes the
    /// connection back, right after its last read, and again before it hands
    /// it out; only the second probe can see what changed while it was idle
    /// (a close, stray bytes), so the first one is answered without a probe.
    fn is_open(&mut self) -> bool {
        if std::mem::take(&mut self.used) {
            return true;
        }
        probe(&self.stream).unwrap_or(false)
    }
}

/// A non-blocking read of one byte: nothing to read (`WouldBlock`) is the
/// only answer of a connection that still works.
fn probe(mut stream: &TcpStream) -> io::Result<bool> {
    stream.set_nonblocking(true)?;
    let open = matches!(stream.read(&mut [0]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false)?;
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_armed_only_when_they_would_end_too_late() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert!(must_arm(None, Some(s(5))), "nothing armed");
        assert!(
            !must_arm(Some(s(5)), None),
            "no deadline: a kept one resumes"
        );
        assert!(!must_arm(Some(s(5)), Some(s(5))));
        assert!(
            !must_arm(Some(s(5)), Some(s(5) - ms(9))),
            "within the slack"
        );
        assert!(must_arm(Some(s(5)), Some(s(5) - ms(11))), "too late");
        assert!(!must_arm(Some(s(1)), Some(s(5))), "ends early: kept");
    }

    #[test]
    fn held_output_makes_input_wait() {
        let mut b = HeldBuffers::new(4096, 4096);
        b.output()[..3].copy_from_slice(b"abc");
        assert!(!b.hold(3));
        b.output()[..2].copy_from_slice(b"de");
        assert!(!b.hold(2));
        assert_eq!(b.held(), b"abcde");
        b.input_append_buf()[..2].copy_from_slice(b"xy");
        b.input_appended(2);
        b.input_consume(0);
        b.input_consume(1);
        assert!(b.has_input() && !b.can_use_input(), "output is held");
        b.sent();
        assert!(b.can_use_input());
        assert_eq!(b.input(), b"y");
        assert!(b.hold(3000), "past half the buffer, send at once");
    }

    #[test]
    fn held_output_goes_at_the_read_and_an_early_timeout_resumes() {
        use std::io::BufRead;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut r = io::BufReader::new(s);
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            // The answer comes after the armed timeout fired once.
            std::thread::sleep(Duration::from_millis(150));
            r.get_mut().write_all(b"ok\n").unwrap();
            line
        });
        let stream = connect(&[addr], None, Timeout::Connect).unwrap();
        let mut t = TcpTransport::new(stream, 4096, 4096);
        let budget = |d| NextTimeout {
            after: ureq::unversioned::transport::time::Duration::Exact(d),
            reason: Timeout::Global,
            ..NextTimeout::default()
        };
        // An earlier, shorter deadline left a short timeout armed.
        t.arm(true, Some(Duration::from_millis(50))).unwrap();
        t.buffers().output()[..2].copy_from_slice(b"he");
        t.transmit_output(2, budget(Duration::from_secs(5)))
            .unwrap();
        t.buffers().output()[..2].copy_from_slice(b"y\n");
        t.transmit_output(2, budget(Duration::from_secs(5)))
            .unwrap();
        assert!(t.await_input(budget(Duration::from_secs(5))).unwrap());
        assert_eq!(t.buffers().input(), b"ok\n");
        assert_eq!(server.join().unwrap(), "hey\n");
        assert!(
            t.read_armed.unwrap() > Duration::from_secs(4),
            "re-armed for what was left"
        );
    }
}

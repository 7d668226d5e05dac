//! Hostile servers and networks for the deadline and robustness tests: a
//! fault proxy in front of the in-process devserver (slow answers, slow
//! drip, an endless body, a server that accepts and never reads, a full
//! listen backlog), a DNS server that never answers, and the network and
//! mount namespace that DNS fault needs (loopback only). Everything listens
//! on 127.0.0.1 and stops by itself.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any fault holds a connection at most (every loop here is bounded).
const MAX_HOLD: Duration = Duration::from_secs(30);
/// The slow drip's pace: one byte this often.
pub const DRIP_EVERY: Duration = Duration::from_millis(200);

/// What the proxy does with requests.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Forward each request to the devserver (after the configured delay).
    Pass,
    /// Answer with a status line, then one header byte every 200 ms.
    DripHead,
    /// Answer with a whole head (Content-Length 1 MB), then one body byte every 200 ms.
    DripBody,
    /// Answer with a chunked body that never ends, as fast as it is read.
    EndlessBody,
    /// Accept connections and never read from them nor answer.
    NoRead,
    /// Stop accepting and fill the listen backlog, so that connects hang.
    Backlog,
}

/// What an armed proxy does when the request it waits for comes.
enum Trigger {
    /// Switch to this mode, for that request and everything after it.
    Mode(Mode),
    /// Run this, cut every connection (that request is not answered), and
    /// go on passing requests.
    Call(Box<dyn FnOnce() + Send>),
}

struct State {
    mode: Mode,
    /// In `Pass` mode, each answer is held until this long after its request.
    delay: Duration,
    /// Fire the trigger when a request's target contains the text.
    armed: Option<(String, Trigger)>,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    /// The client side of every connection accepted, to cut them on a switch.
    conns: Mutex<Vec<TcpStream>>,
    /// Connections that keep the backlog full.
    fillers: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
    requests: AtomicUsize,
}

/// A TCP proxy on 127.0.0.1 in front of an upstream HTTP server, whose
/// behaviour can be switched to a fault at any time. Stopped on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` (`host:port` or `http://host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("upstream is ip:port");
        let listener = listen_with_backlog_1();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State {
                mode: Mode::Pass,
                delay: Duration::ZERO,
                armed: None,
            }),
            conns: Mutex::new(Vec::new()),
            fillers: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fault-proxy".into())
                .spawn(move || accept_loop(listener, shared))
                .unwrap()
        };
        FaultProxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// In `Pass` mode, hold every answer until `delay` after its request came.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.state.lock().unwrap().delay = delay;
    }

    /// Switches to `mode` at once: every open connection is cut (so no
    /// keep-alive connection escapes the fault), and for `Backlog` the
    /// listen backlog is filled.
    pub fn set_mode(&self, mode: Mode) {
        {
            let mut st = self.shared.state.lock().unwrap();
            st.mode = mode;
            st.armed = None;
        }
        self.shared.cut_all();
        if mode == Mode::Backlog {
            self.shared.fill_backlog(self.addr);
        } else {
            self.shared.fillers.lock().unwrap().clear();
        }
    }

    /// Cuts every open connection without changing the mode (so the next
    /// request needs a new connection, and a name lookup).
    pub fn cut_connections(&self) {
        self.shared.cut_all();
    }

    /// Stays in `Pass` mode until a request whose target contains `on` comes;
    /// then switches to `mode` for that request and everything after it.
    pub fn arm(&self, on: &str, mode: Mode) {
        self.shared.state.lock().unwrap().armed = Some((on.to_string(), Trigger::Mode(mode)));
    }

    /// Stays in `Pass` mode until a request whose target contains `on` comes;
    /// then runs `f`, cuts every connection without answering that request,
    /// and goes on passing requests (which now need a new connection).
    pub fn arm_with(&self, on: &str, f: Box<dyn FnOnce() + Send>) {
        self.shared.state.lock().unwrap().armed = Some((on.to_string(), Trigger::Call(f)));
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cut_all();
        self.shared.fillers.lock().unwrap().clear();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

impl Shared {
    fn cut_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    fn mode(&self) -> Mode {
        self.state.lock().unwrap().mode
    }

    /// Connects until a connect no longer completes: the accept queue is full.
    fn fill_backlog(&self, addr: SocketAddr) {
        let mut fillers = self.fillers.lock().unwrap();
        for _ in 0..256 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => fillers.push(s),
                Err(_) => return,
            }
        }
        panic!("the listen backlog of the fault proxy never filled up");
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `d` in small steps; false when the proxy stopped meanwhile.
    fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
        false
    }
}

/// A listener on 127.0.0.1 whose accept queue holds a single connection, so
/// that `Backlog` fills it with two. (std listens with a backlog of 128 or
/// more, which would need hundreds of connections.)
fn listen_with_backlog_1() -> TcpListener {
    #[cfg(unix)]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor this function owns; it
        // is handed to TcpListener, which closes it.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            sa.sin_port = 0;
            let rc = libc::bind(
                fd,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "bind: {}", io::Error::last_os_error());
            assert_eq!(
                libc::listen(fd, 1),
                0,
                "listen: {}",
                io::Error::last_os_error()
            );
            TcpListener::from_raw_fd(fd)
        }
    }
    #[cfg(not(unix))]
    {
        TcpListener::bind("127.0.0.1:0").unwrap()
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopped() {
        if shared.mode() == Mode::Backlog {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                if let Ok(c) = stream.try_clone() {
                    shared.conns.lock().unwrap().push(c);
                }
                let shared = shared.clone();
                handlers.push(std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                }));
                handlers.retain(|h| !h.is_finished());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    for h in handlers {
        let _ = h.join();
    }
}

/// One HTTP/1.1 message as bytes: the head and a Content-Length body.
fn read_message(r: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut msg = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if msg.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if let Some(v) = text.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        msg.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let start = msg.len();
    msg.resize(start + content_length, 0);
    r.read_exact(&mut msg[start..])?;
    Ok(Some(msg))
}

fn serve(client: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut out = client.try_clone()?;
    if shared.mode() == Mode::NoRead {
        // Accepted, never read, never answered.
        shared.sleep(MAX_HOLD);
        return Ok(());
    }
    client.set_read_timeout(Some(MAX_HOLD))?;
    let mut reader = BufReader::new(client);
    let mut upstream: Option<(TcpStream, BufReader<TcpStream>)> = None;
    loop {
        let Some(request) = read_message(&mut reader)? else {
            return Ok(());
        };
        let arrived = Instant::now();
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let (mode, delay, fired) = {
            let mut st = shared.state.lock().unwrap();
            let line = String::from_utf8_lossy(&request[..request.len().min(512)]).into_owned();
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut fired = None;
            if st
                .armed
                .as_ref()
                .is_some_and(|(on, _)| target.contains(on.as_str()))
            {
                match st.armed.take().map(|(_, t)| t) {
                    Some(Trigger::Mode(m)) => st.mode = m,
                    Some(Trigger::Call(f)) => fired = Some(f),
                    None => {}
                }
            }
            (st.mode, st.delay, fired)
        };
        if let Some(f) = fired {
            f();
            shared.cut_all();
            return Ok(());
        }
        match mode {
            Mode::Pass => {}
            Mode::Backlog | Mode::NoRead => {
                if mode == Mode::Backlog {
                    // The request that armed the fault is cut, and every
                    // connection after it has to get past the full backlog.
                    shared.cut_all();
                    if shared.fillers.lock().unwrap().is_empty() {
                        let addr = out.local_addr()?;
                        shared.fill_backlog(addr);
                    }
                    return Ok(());
                }
                shared.sleep(MAX_HOLD);
                return Ok(());
            }
            Mode::DripHead => {
                out.write_all(b"HTTP/1.1 200 OK\r\n")?;
                while shared.sleep(DRIP_EVERY) && arrived.elapsed() < MAX_HOLD {
                    out.write_all(b"X")?;
                }
                return Ok(());
            }
            Mode::DripBody => {
                out.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.api+json\r\nContent-Length: 1000000\r\n\r\n{",
                )?;
                while shared.sleep(DRIP_EVERY) && arrived.elapsed() < MAX_HOLD {
                    out.write_all(b" ")?;
                }
                return Ok(());
            }
            Mode::EndlessBody => {
                out.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.api+json\r\nTransfer-Encoding: chunked\r\n\r\n",
                )?;
                let chunk = [b' '; 16 * 1024];
                while !shared.stopped() && arrived.elapsed() < MAX_HOLD {
                    out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                    out.write_all(&chunk)?;
                    out.write_all(b"\r\n")?;
                }
                return Ok(());
            }
        }
        if upstream.is_none() {
            let s = TcpStream::connect(shared.upstream)?;
            s.set_read_timeout(Some(MAX_HOLD))?;
            let r = BufReader::new(s.try_clone()?);
            upstream = Some((s, r));
        }
        let (up, up_reader) = upstream.as_mut().unwrap();
        up.write_all(&request)?;
        let Some(response) = read_message(up_reader)? else {
            return Ok(()); // the upstream closed (a fault of its own): so do we
        };
        let wait = (arrived + delay).saturating_duration_since(Instant::now());
        if !shared.sleep(wait) {
            return Ok(());
        }
        out.write_all(&response)?;
    }
}

/// A DNS server on 127.0.0.1:53 that reads every query and never answers.
pub struct SilentDns {
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl SilentDns {
    pub fn start() -> io::Result<SilentDns> {
        let socket = UdpSocket::bind("127.0.0.1:53")?;
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, queries) = (stop.clone(), queries.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::SeqCst) {
                    if socket.recv_from(&mut buf).is_ok() {
                        queries.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        Ok(SilentDns {
            stop,
            queries,
            thread: Some(thread),
        })
    }

    /// Queries received (and left unanswered) so far.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for SilentDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The name the namespace tests give the devserver. It resolves only
/// through the namespace's /etc/hosts while a test lists it there; else the
/// lookup goes to the silent DNS server.
pub const TEST_HOST: &str = "licensing.lic-test.example";

const INNER: &str = "LIC_TEST_IN_NETNS";
const HOSTS: &str = "LIC_TEST_NETNS_HOSTS";

/// Inside the namespace: the file bind-mounted over /etc/hosts (rewrite it
/// in place; a rename would not reach the mount).
pub fn hosts_file() -> PathBuf {
    PathBuf::from(std::env::var_os(HOSTS).expect("inside the test namespace"))
}

/// Lists (`Some(ip)`) or removes (`None`) `TEST_HOST` in the namespace's hosts file.
pub fn set_test_host(ip: Option<&str>) {
    let mut text = String::from("127.0.0.1 localhost\n");
    if let Some(ip) = ip {
        text.push_str(&format!("{ip} {TEST_HOST}\n"));
    }
    std::fs::write(hosts_file(), text).unwrap();
}

/// Runs test `name` of this test binary again, inside a new network and
/// mount namespace: only a loopback interface, /etc/resolv.conf naming
/// 127.0.0.1 as the only DNS server, /etc/hosts a file the test can rewrite.
///
/// Returns `true` in that inner run (the caller then does the work) and
/// `false` in the outer one, after the inner run passed; its output is
/// printed and returned through `inner_output`. `ignored`: the test is an
/// `#[ignore]`d helper that only runs this way. When namespaces cannot be
/// made here the test fails, saying why: it is never skipped.
pub fn in_netns(name: &str, ignored: bool, inner_output: &mut String) -> bool {
    if std::env::var_os(INNER).is_some() {
        bring_loopback_up();
        return true;
    }
    let dir = std::env::temp_dir().join(format!(
        "lic-netns-{}-{}",
        std::process::id(),
        name.replace("::", "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let resolv = dir.join("resolv.conf");
    let hosts = dir.join("hosts");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = r#"mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && shift 2 && exec "$@""#;
    let output = Command::new("unshare")
        .args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
            "lic-netns",
        ])
        .arg(&resolv)
        .arg(&hosts)
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .args(ignored.then_some("--ignored"))
        .env(INNER, "1")
        .env(HOSTS, &hosts)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = match output {
        Ok(o) => o,
        Err(e) => panic!(
            "this test needs a network namespace, but `unshare` (util-linux) cannot be run: {e}"
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    print!("{stdout}");
    eprint!("{stderr}");
    if !output.status.success() && !stdout.contains("running 1 test") {
        panic!(
            "this test needs a network and mount namespace (`unshare --net --mount`, as root or with CAP_SYS_ADMIN), and making one failed ({}): {}",
            output.status,
            stderr.trim()
        );
    }
    assert!(
        stdout.contains("1 passed"),
        "the run inside the network namespace failed ({}); its output is above",
        output.status
    );
    *inner_output = stdout;
    false
}

/// Brings up `lo` in a fresh network namespace (it starts down).
fn bring_loopback_up() {
    #[cfg(target_os = "linux")]
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS on a socket this function owns, with
    // an ifreq it zeroes and fills.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        assert_eq!(
            libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr),
            0,
            "SIOCGIFFLAGS lo: {}",
            io::Error::last_os_error()
        );
        ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        assert_eq!(
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr),
            0,
            "SIOCSIFFLAGS lo up: {}",
            io::Error::last_os_error()
        );
        libc::close(fd);
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "lic-hostile-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! The floor for rust-cluster's benchmarks: the IPC loops of bench/cases run between two (or more)
//! small Rust processes over AF_UNIX socketpairs, with no Node and no serialization involved.
//! What is left is the kernel and the framing, so these rates are what a primary could reach on
//! this machine at best.
//!
//!   floor ipc [--framing=json|adv] [--size=BYTES] [--children=N] [--batch=K] [--window=W]
//!             [--reply=echo|ack] [--duration-ms=D] [--warmup-ms=X] [--max=ROUNDS]
//!   floor fdpass [--duration-ms=D] [--warmup-ms=X] [--max=HANDOFFS]
//!
//! `ipc` is the loop of bench/lib/ipc-loop.js: a round is K frames of SIZE bytes (framing
//! included) to each of N children, one write per frame as one send() call would make; every child
//! answers each frame with the frame itself (echo) or with a small ack (one write per read); at
//! most W rounds are outstanding. `fdpass` is the hand-off of a connection in
//! round-robin: the parent sends a socket with a NODE_HANDLE-like line over the socketpair
//! (SCM_RIGHTS), closes its copy and waits for the child's ack line; the child closes the socket.
//! Each prints one JSON line.

use std::collections::HashMap;
use std::io;
use std::os::unix::io::RawFd;
use std::process::exit;
use std::time::{Duration, Instant};

fn usage(msg: &str) -> ! {
    eprintln!("floor: {msg}");
    eprintln!("usage: floor ipc|fdpass [--key=value ...]");
    exit(2);
}

struct Args {
    map: HashMap<String, String>,
}

impl Args {
    fn parse(list: &[String]) -> Args {
        let mut map = HashMap::new();
        for a in list {
            let Some(rest) = a.strip_prefix("--") else {
                usage(&format!("unexpected argument {a}"))
            };
            match rest.split_once('=') {
                Some((k, v)) => map.insert(k.to_string(), v.to_string()),
                None => map.insert(rest.to_string(), "true".to_string()),
            };
        }
        Args { map }
    }
    fn str(&self, k: &str, d: &str) -> String {
        self.map.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    fn num(&self, k: &str, d: u64) -> u64 {
        match self.map.get(k) {
            None => d,
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| usage(&format!("--{k} must be a number"))),
        }
    }
}

fn check(r: libc::c_int, what: &str) -> libc::c_int {
    if r < 0 {
        let e = io::Error::last_os_error();
        eprintln!("floor: {what}: {e}");
        exit(1);
    }
    r
}

fn socketpair() -> (RawFd, RawFd) {
    let mut fds = [0 as RawFd; 2];
    check(
        // SAFETY: socketpair writes two descriptors into `fds`, a live array of two c_ints.
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        },
        "socketpair",
    );
    (fds[0], fds[1])
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor this process owns; no memory is passed.
    unsafe {
        let fl = check(libc::fcntl(fd, libc::F_GETFL), "fcntl");
        check(
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK),
            "fcntl",
        );
    }
}

/// Forks a child that runs `f(fd)` and exits; the parent keeps `parent_fd` and gets the pid.
fn fork_child(
    parent_fd: RawFd,
    child_fd: RawFd,
    close_in_child: &[RawFd],
    f: fn(RawFd),
) -> libc::pid_t {
    // SAFETY: fork has no memory preconditions; the floor is single-threaded, so the child may run Rust code.
    let pid = check(unsafe { libc::fork() }, "fork");
    if pid == 0 {
        // SAFETY: in the freshly forked child; prctl and close take no pointers, and the descriptors are this process's.
        unsafe {
            // Never outlive the parent.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            libc::close(parent_fd);
            for &fd in close_in_child {
                libc::close(fd);
            }
        }
        f(child_fd);
        // SAFETY: _exit ends the forked child without running the parent's exit handlers, as a forked child must.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: child_fd belongs to this function and is not used after this close.
    unsafe { libc::close(child_fd) };
    pid
}

/// One write on a nonblocking descriptor, retried on EINTR: the bytes written, or None when the
/// socket is full. Any other error ends the process.
fn write_some(fd: RawFd, buf: &[u8]) -> Option<usize> {
    loop {
        // SAFETY: writes at most `buf.len()` bytes from a live slice to a descriptor this process owns.
        let w = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if w >= 0 {
            return Some(w as usize);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return None,
            _ => {
                eprintln!("floor: write: {e}");
                exit(1);
            }
        }
    }
}

fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: writes at most `buf.len()` bytes from a live slice to a descriptor this process owns.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

fn cpu_micros() -> f64 {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct, and getrusage only fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into `ru`, which lives for the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 * 1e6 + tv.tv_usec as f64;
    t(ru.ru_utime) + t(ru.ru_stime)
}

// ---------------------------------------------------------------------------------------------
// Framing: json = a line ending in '\n'; adv = a 4-byte big-endian length, then the body.

#[derive(Clone, Copy, PartialEq)]
enum Framing {
    Json,
    Adv,
}

fn make_frame(framing: Framing, size: usize) -> Vec<u8> {
    match framing {
        Framing::Json => {
            let size = size.max(2);
            let mut v = vec![b'x'; size - 1];
            v[0] = b'"';
            v[size - 2] = b'"';
            v.push(b'\n');
            v
        }
        Framing::Adv => {
            let size = size.max(5);
            let body = size - 4;
            let mut v = (body as u32).to_be_bytes().to_vec();
            v.resize(size, b'x');
            v
        }
    }
}

/// Splits a byte stream into frames; `feed` returns the complete frames' (start, end) ranges
/// relative to the bytes fed so far, keeping partial state between calls.
struct Deframer {
    framing: Framing,
    /// adv: bytes still to skip in the current body; json: unused.
    remaining: usize,
    /// adv: header bytes gathered so far.
    header: [u8; 4],
    header_len: usize,
}

impl Deframer {
    fn new(framing: Framing) -> Self {
        Deframer {
            framing,
            remaining: 0,
            header: [0; 4],
            header_len: 0,
        }
    }

    /// Counts the frames completed by `data` and calls `on_frame_end(end)` with the offset just
    /// past each frame's last byte.
    fn feed(&mut self, data: &[u8], mut on_frame_end: impl FnMut(usize)) {
        match self.framing {
            Framing::Json => {
                for (i, &b) in data.iter().enumerate() {
                    if b == b'\n' {
                        on_frame_end(i + 1);
                    }
                }
            }
            Framing::Adv => {
                let mut i = 0;
                while i < data.len() {
                    if self.remaining > 0 {
                        let take = self.remaining.min(data.len() - i);
                        self.remaining -= take;
                        i += take;
                        if self.remaining == 0 {
                            on_frame_end(i);
                        }
                        continue;
                    }
                    self.header[self.header_len] = data[i];
                    self.header_len += 1;
                    i += 1;
                    if self.header_len == 4 {
                        self.header_len = 0;
                        self.remaining = u32::from_be_bytes(self.header) as usize;
                        if self.remaining == 0 {
                            on_frame_end(i);
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ipc

struct IpcChildConf {
    framing: Framing,
    ack: bool,
}

static mut CHILD_CONF: IpcChildConf = IpcChildConf {
    framing: Framing::Json,
    ack: false,
};

/// The child: blocking reads; answers every frame (echo: the frame itself; ack: a small frame),
/// with one write per read.
fn ipc_child(fd: RawFd) {
    // SAFETY: CHILD_CONF is written once in the parent before any fork and only read afterwards; the process is single-threaded.
    let (framing, ack) = unsafe {
        let c = &*std::ptr::addr_of!(CHILD_CONF);
        (c.framing, c.ack)
    };
    let ack_frame = make_frame(framing, if framing == Framing::Json { 2 } else { 8 });
    let mut de = Deframer::new(framing);
    let mut buf = vec![0u8; 256 * 1024];
    let mut out: Vec<u8> = Vec::with_capacity(256 * 1024);
    loop {
        // SAFETY: reads at most `buf.len()` bytes into a live buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if n == 0 {
            return;
        }
        let data = &buf[..n as usize];
        if ack {
            let mut frames = 0;
            de.feed(data, |_| frames += 1);
            for _ in 0..frames {
                out.extend_from_slice(&ack_frame);
            }
        } else {
            // Echo: the frames are parsed (as a worker would) and the bytes go back in order, so
            // a frame split across reads is echoed intact across writes.
            let mut frames = 0;
            de.feed(data, |_| frames += 1);
            let _ = frames;
            out.extend_from_slice(data);
        }
        if !out.is_empty() {
            if !write_all(fd, &out) {
                return;
            }
            out.clear();
        }
    }
}

struct Peer {
    fd: RawFd,
    pid: libc::pid_t,
    out: Vec<u8>,
    out_off: usize,
    de: Deframer,
    replies: u64,
}

impl Peer {
    /// One message, one write, as a send() call of the cluster API does: written now if the
    /// socket takes it and nothing is queued, the rest queued for when it is writable.
    fn send(&mut self, frame: &[u8]) {
        let mut off = 0;
        if self.out.is_empty() {
            while off < frame.len() {
                match write_some(self.fd, &frame[off..]) {
                    Some(w) => off += w,
                    None => break,
                }
            }
        }
        self.out.extend_from_slice(&frame[off..]);
    }
}

fn ipc(a: &Args) {
    let framing = match a.str("framing", "json").as_str() {
        "json" => Framing::Json,
        "adv" | "advanced" => Framing::Adv,
        f => usage(&format!("--framing must be json or adv, got {f}")),
    };
    let size = a.num("size", 16) as usize;
    let n = a.num("children", 1).max(1) as usize;
    let batch = a.num("batch", 1).max(1);
    let window = a.num("window", 1).max(1);
    let ack = match a.str("reply", "echo").as_str() {
        "echo" => false,
        "ack" => true,
        r => usage(&format!("--reply must be echo or ack, got {r}")),
    };
    let duration = Duration::from_millis(a.num("duration-ms", 2000));
    let warmup = Duration::from_millis(a.num("warmup-ms", 200));
    let max_rounds = a.num("max", 50_000_000);
    let frame = make_frame(framing, size);

    // SAFETY: written before any child is forked, in a single-threaded process: nothing else accesses it.
    unsafe { CHILD_CONF = IpcChildConf { framing, ack } };
    let mut peers: Vec<Peer> = Vec::new();
    for _ in 0..n {
        let (p, c) = socketpair();
        let others: Vec<RawFd> = peers.iter().map(|p| p.fd).collect();
        let pid = fork_child(p, c, &others, ipc_child);
        set_nonblocking(p);
        peers.push(Peer {
            fd: p,
            pid,
            out: Vec::new(),
            out_off: 0,
            de: Deframer::new(framing),
            replies: 0,
        });
    }

    let start = Instant::now();
    let hard_limit = warmup + duration + Duration::from_secs(30);
    let mut sent: u64 = 0;
    let mut completed: u64 = 0;
    #[derive(PartialEq)]
    enum Phase {
        Warmup,
        Measure,
        Drain,
    }
    let mut phase = Phase::Warmup;
    let (mut t0, mut t1) = (start, start);
    let (mut c0, mut c1, mut r0, mut r1, mut total_replies) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut cpu0, mut cpu1) = (0f64, 0f64);
    let mut buf = vec![0u8; 256 * 1024];
    let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(n);

    loop {
        if phase != Phase::Drain {
            while sent - completed < window {
                sent += 1;
                for p in peers.iter_mut() {
                    for _ in 0..batch {
                        p.send(&frame);
                    }
                }
            }
        } else if completed == sent {
            break;
        }
        if start.elapsed() > hard_limit {
            eprintln!("floor: ipc loop did not finish in time");
            exit(1);
        }
        // Write what each peer can take now.
        for p in peers.iter_mut() {
            while p.out_off < p.out.len() {
                match write_some(p.fd, &p.out[p.out_off..]) {
                    Some(w) => p.out_off += w,
                    None => break,
                }
            }
            if p.out_off == p.out.len() {
                p.out.clear();
                p.out_off = 0;
            }
        }
        pfds.clear();
        for p in peers.iter() {
            let mut ev = libc::POLLIN;
            if !p.out.is_empty() {
                ev |= libc::POLLOUT;
            }
            pfds.push(libc::pollfd {
                fd: p.fd,
                events: ev,
                revents: 0,
            });
        }
        // SAFETY: poll reads and writes `pfds`, a live Vec whose length is passed with it.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 1000) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            check(r, "poll");
        }
        let mut progressed = false;
        for (i, pfd) in pfds.iter().enumerate() {
            if pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) == 0 {
                continue;
            }
            let p = &mut peers[i];
            loop {
                // SAFETY: reads at most `buf.len()` bytes into a live buffer.
                let got = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
                if got < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::WouldBlock {
                        break;
                    }
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    eprintln!("floor: read: {e}");
                    exit(1);
                }
                if got == 0 {
                    eprintln!("floor: a child closed its socket");
                    exit(1);
                }
                let mut frames = 0u64;
                p.de.feed(&buf[..got as usize], |_| frames += 1);
                p.replies += frames;
                total_replies += frames;
                progressed |= frames > 0;
                if (got as usize) < buf.len() {
                    break;
                }
            }
        }
        if !progressed {
            continue;
        }
        let c = peers.iter().map(|p| p.replies).min().unwrap_or(0) / batch;
        if c == completed {
            continue;
        }
        completed = c;
        let now = Instant::now();
        match phase {
            Phase::Warmup if now - start >= warmup => {
                phase = Phase::Measure;
                t0 = now;
                c0 = completed;
                r0 = total_replies;
                cpu0 = cpu_micros();
            }
            Phase::Measure if now - t0 >= duration || completed - c0 >= max_rounds => {
                phase = Phase::Drain;
                t1 = now;
                c1 = completed;
                r1 = total_replies;
                cpu1 = cpu_micros();
            }
            _ => {}
        }
    }

    for p in peers.iter() {
        // SAFETY: each descriptor belongs to its Peer and is not used after this close.
        unsafe { libc::close(p.fd) };
    }
    for p in peers.iter() {
        // SAFETY: waits for a child this process forked; a null status pointer is allowed.
        unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), 0) };
    }
    let secs = (t1 - t0).as_secs_f64();
    let rounds = c1 - c0;
    println!(
        "{{\"ok\":true,\"case\":\"floor-ipc\",\"framing\":\"{}\",\"frame_bytes\":{},\"children\":{},\"batch\":{},\"window\":{},\"reply\":\"{}\",\"rounds_per_s\":{:.3},\"replies_per_s\":{:.3},\"cpu_us_per_round\":{:.4},\"rounds\":{},\"elapsed_ms\":{:.3}}}",
        if framing == Framing::Json { "json" } else { "adv" },
        frame.len(),
        n,
        batch,
        window,
        if ack { "ack" } else { "echo" },
        rounds as f64 / secs,
        (r1 - r0) as f64 / secs,
        (cpu1 - cpu0) / rounds.max(1) as f64,
        rounds,
        secs * 1000.0
    );
}

// ---------------------------------------------------------------------------------------------
// fdpass

const ACK_LINE: &[u8] = b"{\"cmd\":\"NODE_HANDLE_ACK\"}\n";

fn send_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> bool {
    // SAFETY: the iovec and control buffer point into live buffers, the control buffer sized by CMSG_SPACE for one descriptor.
    unsafe {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut _,
            iov_len: data.len(),
        };
        let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
        let mut cbuf = vec![0u8; space];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        loop {
            let n = libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // The line is short: a stream socket takes it whole or fails.
            return n == data.len() as isize;
        }
    }
}

/// The child of fdpass: receives a line and a socket, closes the socket, answers with an ack line.
fn fdpass_child(sock: RawFd) {
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE((8 * std::mem::size_of::<RawFd>()) as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    loop {
        let n;
        // SAFETY: the iovec and control buffer point into live buffers owned here, and the zeroed msghdr is a valid value of this C struct.
        unsafe {
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            if n == 0 {
                return;
            }
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(cmsg);
                    let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                        / std::mem::size_of::<RawFd>();
                    for k in 0..count {
                        let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(k));
                        libc::close(fd);
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        // One ack per line received (the parent keeps one hand-off in flight).
        let lines = buf[..n as usize].iter().filter(|&&b| b == b'\n').count();
        for _ in 0..lines {
            if !write_all(sock, ACK_LINE) {
                return;
            }
        }
    }
}

fn fdpass(a: &Args) {
    let duration = Duration::from_millis(a.num("duration-ms", 2000));
    let warmup = Duration::from_millis(a.num("warmup-ms", 200));
    let max = a.num("max", 50_000_000);
    let (p, c) = socketpair();
    let pid = fork_child(p, c, &[], fdpass_child);

    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    let mut count = 0u64;
    let (mut t0, mut c0, mut cpu0) = (None::<Instant>, 0u64, 0f64);
    let result;
    loop {
        let line = format!(
            "{{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":{{\"cmd\":\"NODE_CLUSTER\",\"act\":\"newconn\",\"key\":\"127.0.0.1:0:4:\",\"handle\":{count},\"seq\":{count}}}}}\n"
        );
        let s = check(
            // SAFETY: socket creates a new descriptor; no memory is passed.
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) },
            "socket",
        );
        if !send_with_fd(p, line.as_bytes(), s) {
            eprintln!("floor: sendmsg failed: {}", io::Error::last_os_error());
            exit(1);
        }
        // SAFETY: `s` belongs to this loop iteration and is not used after this close (the peer holds its own copy).
        unsafe { libc::close(s) };
        // Wait for the ack line.
        loop {
            // SAFETY: reads at most `buf.len()` bytes into a live buffer.
            let n = unsafe { libc::read(p, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if n <= 0 {
                eprintln!("floor: the child went away");
                exit(1);
            }
            if buf[..n as usize].contains(&b'\n') {
                break;
            }
        }
        count += 1;
        let now = Instant::now();
        match t0 {
            None if now - start >= warmup => {
                t0 = Some(now);
                c0 = count;
                cpu0 = cpu_micros();
            }
            Some(t) if now - t >= duration || count - c0 >= max => {
                result = (now - t, count - c0, cpu_micros() - cpu0);
                break;
            }
            _ => {}
        }
        if now - start > warmup + duration + Duration::from_secs(30) {
            eprintln!("floor: fdpass loop did not finish in time");
            exit(1);
        }
    }
    // SAFETY: `p` is not used after this close; waitpid waits for the child forked above (null status allowed).
    unsafe {
        libc::close(p);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    let (elapsed, handoffs, cpu) = result;
    let secs = elapsed.as_secs_f64();
    println!(
        "{{\"ok\":true,\"case\":\"floor-fdpass\",\"handoffs_per_s\":{:.3},\"cpu_us_per_handoff\":{:.4},\"handoffs\":{},\"elapsed_ms\":{:.3}}}",
        handoffs as f64 / secs,
        cpu / handoffs.max(1) as f64,
        handoffs,
        secs * 1000.0
    );
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = argv.first() else {
        usage("missing mode")
    };
    let args = Args::parse(&argv[1..]);
    match mode.as_str() {
        "ipc" => ipc(&args),
        "fdpass" => fdpass(&args),
        m => usage(&format!("unknown mode {m}")),
    }
}

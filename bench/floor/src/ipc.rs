//! `floor ipc`: the message loop of bench/lib/ipc-loop.js between this process and N children.

use std::io;
use std::os::unix::io::RawFd;
use std::process::exit;
use std::time::{Duration, Instant};

use crate::sys::*;
use crate::{usage, Args};

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
        let read = || unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        let Some(n) = retrying(read) else { return };
        let data = &buf[..n];
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

pub(crate) fn ipc(a: &Args) {
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

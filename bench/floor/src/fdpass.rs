//! `floor fdpass`: the round-robin hand-off of a connection over a socketpair (SCM_RIGHTS).

use std::io;
use std::os::unix::io::RawFd;
use std::process::exit;
use std::time::{Duration, Instant};

use crate::sys::*;
use crate::Args;

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
            match retrying(|| libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC)) {
                Some(got) => n = got as isize,
                None => return,
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

pub(crate) fn fdpass(a: &Args) {
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

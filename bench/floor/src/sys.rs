//! The system calls the floor's loops share: socketpairs, forking a child, writes, CPU time.

use std::io;
use std::os::unix::io::RawFd;
use std::process::exit;

pub(crate) fn check(r: libc::c_int, what: &str) -> libc::c_int {
    if r < 0 {
        let e = io::Error::last_os_error();
        eprintln!("floor: {what}: {e}");
        exit(1);
    }
    r
}

pub(crate) fn socketpair() -> (RawFd, RawFd) {
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

pub(crate) fn set_nonblocking(fd: RawFd) {
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
pub(crate) fn fork_child(
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
pub(crate) fn write_some(fd: RawFd, buf: &[u8]) -> Option<usize> {
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

pub(crate) fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
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

pub(crate) fn cpu_micros() -> f64 {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct, and getrusage only fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into `ru`, which lives for the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 * 1e6 + tv.tv_usec as f64;
    t(ru.ru_utime) + t(ru.ru_stime)
}

// ---------------------------------------------------------------------------------------------
// Framing: json = a line ending in '\n'; adv = a 4-byte big-endian length, then the body.

/// Runs a read-like call until it is not interrupted: Some(bytes), or None at end of stream or on
/// an error.
pub(crate) fn retrying(mut call: impl FnMut() -> isize) -> Option<usize> {
    loop {
        let n = call();
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return if n > 0 { Some(n as usize) } else { None };
    }
}

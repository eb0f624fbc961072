//! Code that runs between fork and exec: the two forks the engine makes (a worker, and the
//! warden of `warden.rs`) and everything their children run before `execve` or `_exit`.
//!
//! A child of a multithreaded process may call only async-signal-safe functions until it execs
//! (another thread may have held the allocator's lock at the fork), so nothing here allocates,
//! locks or unwinds on the child's side: every C string, pointer array and descriptor it uses
//! was prepared by the parent before `fork`, in `spawn.rs`, `ChildPlan::new` and `fork_warden`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// What a forked worker does before exec, all of it prepared before the fork.
pub(super) struct ChildPlan<'a> {
    /// The program, its argv and its environment (built by `Program::new`).
    pub exec: Program<'a>,
    pub cwd: Option<&'a CStr>,
    /// The descriptor to install at each target number (its index).
    pub sources: &'a [RawFd],
    /// Room for the child to move `sources` through: as long as `sources`, allocated before
    /// the fork since the child may not allocate.
    pub scratch: &'a mut [RawFd],
    /// The write end of the close-on-exec error pipe.
    pub err_w: BorrowedFd<'a>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// The parent-death signal to set (0: none).
    pub death_signal: i32,
}

/// `execve`'s arguments: NUL-terminated pointer arrays into C strings that outlive `'a`.
pub(super) struct Program<'a> {
    file: &'a CStr,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl<'a> Program<'a> {
    /// Builds the pointer arrays, which borrow `args` and `env` for as long as the program
    /// lives.
    pub fn new(file: &'a CStr, args: &'a [CString], env: &'a [CString]) -> Program<'a> {
        let pointers = |strings: &'a [CString]| {
            let mut out: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
            out.push(std::ptr::null());
            out
        };
        Program {
            file,
            argv: pointers(args),
            envp: pointers(env),
        }
    }
}

/// Forks a worker that carries out `plan` and execs; returns its pid to the parent. A failure
/// in the child is reported as an errno on `plan.err_w`.
pub(super) fn fork_exec(plan: &mut ChildPlan<'_>) -> io::Result<libc::pid_t> {
    // SAFETY: getpid has no preconditions.
    let parent_pid = unsafe { libc::getpid() };
    // SAFETY: fork has no memory preconditions. The child runs only `child_exec`, which uses
    // async-signal-safe calls on data prepared above and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: we are the freshly forked child; see `child_exec`.
        unsafe { child_exec(plan, parent_pid) }
    }
    Ok(pid)
}

/// In a freshly forked child: nothing blocked, every catchable signal at its default
/// disposition except `ignored`, which are ignored. (Handlers inherited from the primary would
/// run the primary's code in the child.)
///
/// # Safety
/// Async-signal-safe calls only; meant for the child between fork and exec (or `_exit`).
unsafe fn reset_signals(ignored: &[libc::c_int]) {
    // SAFETY: an all-zero sigset_t is a valid value, which sigemptyset then makes the empty set;
    // both calls get pointers to that local set (or null for the old mask), and sigemptyset and
    // sigprocmask are async-signal-safe, as the caller's context requires.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
    for sig in 1..32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let action = if ignored.contains(&sig) {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        // SAFETY: SIG_IGN and SIG_DFL install no handler, so no code of ours runs on a signal;
        // signal is async-signal-safe.
        unsafe { libc::signal(sig, action) };
    }
}

/// The forked child: arrange descriptors, credentials, cwd and signals, then exec. On failure
/// the errno goes up the error pipe and the child exits with 127.
///
/// # Safety
/// Must only be called in the child right after `fork`; `plan` must have been prepared by the
/// parent before the fork.
unsafe fn child_exec(plan: &mut ChildPlan<'_>, parent_pid: libc::pid_t) -> ! {
    let fail = |err_w: RawFd| -> ! {
        // SAFETY: __errno_location returns this thread's errno, valid to read; write gets a
        // pointer to 4 bytes on the stack; write and _exit are async-signal-safe.
        unsafe {
            let errno = *libc::__errno_location();
            let bytes = errno.to_ne_bytes();
            libc::write(err_w, bytes.as_ptr().cast(), 4);
            libc::_exit(127)
        }
    };
    let count = plan.sources.len() as RawFd;
    // Keep the error pipe out of the way of the target numbers.
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor the plan borrows open; no memory passed.
    let err_w = unsafe { libc::fcntl(plan.err_w.as_raw_fd(), libc::F_DUPFD_CLOEXEC, count.max(3)) };
    if err_w < 0 {
        // SAFETY: _exit is async-signal-safe and ends the child without running any Rust code.
        unsafe { libc::_exit(127) };
    }

    // A clean signal state: default dispositions, nothing blocked (as libuv does for children).
    // SAFETY: we are the child between fork and exec, which is what reset_signals is for.
    unsafe { reset_signals(&[]) };

    // Move every source above the targets first, then onto its target (dup2 clears CLOEXEC).
    let high = &mut *plan.scratch;
    let n = plan.sources.len().min(high.len());
    for (slot, src) in high.iter_mut().zip(plan.sources.iter()) {
        // SAFETY: fcntl takes descriptor numbers only (a bad one gives EBADF); async-signal-safe.
        let fd = unsafe { libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, count.max(3)) };
        if fd < 0 {
            fail(err_w);
        }
        *slot = fd;
    }
    for (i, fd) in high.iter().enumerate().take(n) {
        // SAFETY: dup2 takes descriptor numbers only; async-signal-safe. The targets below
        // `count` are ours to replace: every source was moved above them first.
        if unsafe { libc::dup2(*fd, i as RawFd) } < 0 {
            fail(err_w);
        }
    }

    if let Some(cwd) = plan.cwd {
        // SAFETY: `cwd` is a NUL-terminated string the plan borrows; chdir is async-signal-safe.
        if unsafe { libc::chdir(cwd.as_ptr()) } < 0 {
            fail(err_w);
        }
    }
    if plan.uid.is_some() || plan.gid.is_some() {
        // Drop supplementary groups when changing identity; failure is not fatal (as libuv).
        // SAFETY: a count of 0 with a null list, which setgroups does not read.
        unsafe { libc::setgroups(0, std::ptr::null()) };
    }
    if let Some(gid) = plan.gid {
        // SAFETY: setgid takes a plain id and is async-signal-safe (one thread after fork).
        if unsafe { libc::setgid(gid) } < 0 {
            fail(err_w);
        }
    }
    if let Some(uid) = plan.uid {
        // SAFETY: setuid takes a plain id and is async-signal-safe (one thread after fork).
        if unsafe { libc::setuid(uid) } < 0 {
            fail(err_w);
        }
    }
    // After credential changes, which clear it.
    if plan.death_signal > 0 {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number and unused zeros; getppid has no
        // preconditions; _exit is async-signal-safe.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                plan.death_signal as libc::c_ulong,
                0,
                0,
                0,
            );
            if libc::getppid() != parent_pid {
                libc::_exit(127);
            }
        }
    }
    let exec = &plan.exec;
    // SAFETY: `file` is NUL-terminated and argv and envp are NULL-terminated arrays of pointers
    // into C strings that `Program` borrows, all prepared before the fork; execve returns only
    // on failure.
    unsafe { libc::execve(exec.file.as_ptr(), exec.argv.as_ptr(), exec.envp.as_ptr()) };
    fail(err_w)
}

/// Most worker pidfds the warden watches at once; more workers than this are not watched.
const WARDEN_CAPACITY: usize = 4096;

/// Forks the warden (see `process::warden`): a process with no memory of its own beyond what it
/// inherits, which watches `ctl` for worker pidfds and the primary's end of the socket for
/// end-of-file. Returns its pid. Call it from a thread that may fork (the engine thread).
pub(super) fn fork_warden(ctl: OwnedFd, grace_ms: i32) -> io::Result<i32> {
    // Everything the child touches is allocated here, before the fork.
    let mut slots = vec![
        libc::pollfd {
            fd: -1,
            events: 0,
            revents: 0,
        };
        WARDEN_CAPACITY + 1
    ];
    let ctl_raw = ctl.as_raw_fd();
    // SAFETY: fork has no memory preconditions. The child runs only `warden_main`, which uses
    // async-signal-safe calls on memory allocated above and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: we are the freshly forked child; see `warden_main`.
        unsafe { warden_main(ctl_raw, &mut slots, grace_ms) }
    }
    drop(ctl);
    Ok(pid)
}

fn monotonic_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill (async-signal-safe).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// The warden's whole life. Slot 0 of `slots` is the control socket; the others hold pidfds.
/// Until the control socket reaches end-of-file (the primary is gone, however it ended), it
/// takes in pidfds and drops those whose process exited. Then it gives the remaining workers
/// `grace_ms` to exit on their own (Node's worker exits when its channel closes) and kills
/// the rest with SIGKILL.
///
/// # Safety
/// Must only be called in the child right after `fork`; `slots` must have been allocated before
/// the fork. Only async-signal-safe calls are made; nothing is allocated.
unsafe fn warden_main(ctl: RawFd, slots: &mut [libc::pollfd], grace_ms: i32) -> ! {
    // Hold nothing of the primary's: stdio to /dev/null (a pipe read to its end by whoever
    // started the primary must not stay open because of us), the control socket on fd 3,
    // every other descriptor closed.
    // SAFETY: open gets a NUL-terminated literal and getrlimit a local rlimit to fill; dup2,
    // close_range, close and _exit take numbers only. All are async-signal-safe. This function
    // never returns, so no Rust object of the parent's that owns a descriptor closed here (such
    // as `fork_warden`'s `ctl`) is used or dropped in the child.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        if ctl != 3 && libc::dup2(ctl, 3) < 0 {
            libc::_exit(1);
        }
        if libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) < 0 {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
            for fd in 4..(lim.rlim_cur.min(1 << 20) as RawFd) {
                libc::close(fd);
            }
        }
    }
    let ctl: RawFd = 3;
    // Default signal dispositions, nothing blocked; the primary's terminal signals are not ours.
    // SAFETY: we are a child between fork and exit, which is what reset_signals is for.
    unsafe {
        reset_signals(&[
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGPIPE,
        ])
    };
    // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16 bytes, a static literal.
    unsafe {
        libc::prctl(
            libc::PR_SET_NAME,
            c"rc-warden".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        )
    };

    slots[0] = libc::pollfd {
        fd: ctl,
        events: libc::POLLIN,
        revents: 0,
    };
    let cap = slots.len();
    let mut n: usize = 1;
    let mut deadline: Option<i64> = None;
    loop {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d - monotonic_ms();
                if n == 1 || left <= 0 {
                    break;
                }
                left.min(i32::MAX as i64) as libc::c_int
            }
        };
        // SAFETY: poll reads and writes the first `n` entries of `slots`, which has `cap >= n`.
        let r = unsafe { libc::poll(slots.as_mut_ptr(), n as libc::nfds_t, timeout) };
        if r < 0 {
            // SAFETY: __errno_location returns this thread's errno, valid to read.
            if unsafe { *libc::__errno_location() } == libc::EINTR {
                continue;
            }
            break;
        }
        // A pidfd is readable once its process has exited.
        let mut i = 1;
        while i < n {
            if slots[i].revents != 0 {
                // SAFETY: the slot's pidfd came from the control socket and is ours to close.
                unsafe { libc::close(slots[i].fd) };
                slots[i] = slots[n - 1];
                n -= 1;
            } else {
                i += 1;
            }
        }
        if deadline.is_none() && slots[0].revents != 0 {
            loop {
                let mut byte = 0u8;
                let mut iov = libc::iovec {
                    iov_base: (&mut byte as *mut u8).cast(),
                    iov_len: 1,
                };
                // Room for one SCM_RIGHTS message with a few descriptors, suitably aligned.
                let mut control = [0u64; 16];
                // SAFETY: an all-zero msghdr is a valid empty header (null pointers, zero
                // lengths), filled in below.
                let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
                msg.msg_iov = &mut iov;
                msg.msg_iovlen = 1;
                msg.msg_control = control.as_mut_ptr().cast();
                msg.msg_controllen = std::mem::size_of_val(&control) as _;
                // SAFETY: `msg` points at `iov` (one byte in `byte`) and at `control`, all live
                // on this stack frame for the call; recvmsg is async-signal-safe.
                let got = unsafe { libc::recvmsg(ctl, &mut msg, libc::MSG_DONTWAIT) };
                if got < 0 {
                    // SAFETY: this thread's errno, valid to read.
                    let e = unsafe { *libc::__errno_location() };
                    if e == libc::EINTR {
                        continue;
                    }
                    if e == libc::EAGAIN || e == libc::EWOULDBLOCK {
                        break;
                    }
                }
                if got <= 0 {
                    // The primary is gone: start the grace period.
                    deadline = Some(monotonic_ms() + i64::from(grace_ms));
                    slots[0].fd = -1;
                    break;
                }
                // SAFETY: recvmsg filled `msg` and set msg_controllen to what it wrote into
                // `control`; CMSG_FIRSTHDR/CMSG_NXTHDR return null or a header inside that
                // buffer, so each dereference reads a header the kernel wrote. CMSG_DATA points
                // at that header's payload of `count` descriptors (cmsg_len bounds it), read
                // unaligned as the payload need not be aligned for RawFd.
                unsafe {
                    let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
                    while !cmsg.is_null() {
                        if (*cmsg).cmsg_level == libc::SOL_SOCKET
                            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
                        {
                            let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                            let header = libc::CMSG_LEN(0) as usize;
                            let count = ((*cmsg).cmsg_len as usize).saturating_sub(header)
                                / size_of::<RawFd>();
                            for k in 0..count {
                                let fd = std::ptr::read_unaligned(data.add(k));
                                if n < cap {
                                    slots[n] = libc::pollfd {
                                        fd,
                                        events: libc::POLLIN,
                                        revents: 0,
                                    };
                                    n += 1;
                                } else {
                                    libc::close(fd);
                                }
                            }
                        }
                        cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
                    }
                }
            }
        }
    }
    for slot in slots.iter().take(n).skip(1) {
        // SAFETY: pidfd_send_signal takes a pidfd we hold, a signal number and a null siginfo;
        // no memory is passed.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                slot.fd,
                libc::SIGKILL,
                0usize,
                0u32,
            )
        };
    }
    // SAFETY: _exit is async-signal-safe and ends the warden without running any Rust code.
    unsafe { libc::_exit(0) }
}

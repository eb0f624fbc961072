//! fork + execve with the file-descriptor layout Node's `child_process.fork()` produces
//! (docs/PROTOCOL.md §1): the channel socket at the index of 'ipc', pipes as AF_UNIX socketpairs,
//! 'ignore' as /dev/null, inherited descriptors by number. Optionally sets a parent-death signal
//! (the fallback when the warden cannot run). Also forks the warden (see `warden.rs`) and holds
//! its loop, which makes only async-signal-safe calls, like the child side before exec.
//!
//! The child side between fork and exec calls only async-signal-safe functions: everything it
//! needs (C strings, pointer arrays, descriptors) is prepared before `fork`.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::ipc::fdpass;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stdio {
    Pipe,
    Ignore,
    Inherit,
    /// The primary's descriptor with this number.
    Fd(i32),
    Ipc,
}

#[derive(Clone, Debug, Default)]
pub struct SpawnRequest {
    /// The program (Node's `process.execPath`).
    pub file: String,
    /// argv including argv[0].
    pub args: Vec<String>,
    /// `KEY=value` pairs in order.
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub stdio: Vec<Stdio>,
}

pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The primary's end of each 'pipe' / 'ipc' entry, by stdio index.
    pub parent_ends: Vec<Option<OwnedFd>>,
}

#[derive(Debug)]
pub struct SpawnError {
    pub errno: i32,
}

impl From<io::Error> for SpawnError {
    fn from(e: io::Error) -> Self {
        SpawnError {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

fn cstring(s: &str) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError {
        errno: libc::EINVAL,
    })
}

fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` is a descriptor this function just created (open/pipe2/pidfd_open) and that
    // nothing else owns; wrapping it transfers ownership so it is closed exactly once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Opens a pidfd for `pid` (Linux 5.3+).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; no memory is
    // passed to the kernel.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(own(ret as RawFd))
}

/// `death_signal`: the signal the child gets when the spawning thread dies (0: none).
pub fn spawn(req: &SpawnRequest, death_signal: i32) -> Result<Spawned, SpawnError> {
    let file = cstring(&req.file)?;
    let args = req
        .args
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    let env = req
        .env
        .iter()
        .map(|e| cstring(e))
        .collect::<Result<Vec<_>, _>>()?;
    let cwd = req.cwd.as_deref().map(cstring).transpose()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());

    // Descriptors for the child, by target number, and the primary's ends.
    let mut parent_ends: Vec<Option<OwnedFd>> = Vec::with_capacity(req.stdio.len());
    let mut child_owned: Vec<OwnedFd> = Vec::new();
    let mut sources: Vec<RawFd> = Vec::with_capacity(req.stdio.len());
    for (i, s) in req.stdio.iter().enumerate() {
        match s {
            Stdio::Pipe | Stdio::Ipc => {
                let (mine, theirs) = fdpass::stream_pair()?;
                sources.push(theirs.as_raw_fd());
                child_owned.push(theirs);
                parent_ends.push(Some(mine));
            }
            Stdio::Ignore => {
                let path = c"/dev/null";
                let flags = if i == 0 { libc::O_RDONLY } else { libc::O_RDWR };
                // SAFETY: `path` is a valid NUL-terminated string; open returns a new fd or -1.
                let fd = cvt(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) })?;
                let fd = own(fd);
                sources.push(fd.as_raw_fd());
                child_owned.push(fd);
                parent_ends.push(None);
            }
            Stdio::Inherit => {
                sources.push(i as RawFd);
                parent_ends.push(None);
            }
            Stdio::Fd(n) => {
                sources.push(*n);
                parent_ends.push(None);
            }
        }
    }
    let count = sources.len() as RawFd;

    let mut pipe = [0 as RawFd; 2];
    // SAFETY: `pipe` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) })?;
    let (err_r, err_w) = (own(pipe[0]), own(pipe[1]));
    let err_w_raw = err_w.as_raw_fd();
    // SAFETY: getpid has no preconditions.
    let parent_pid = unsafe { libc::getpid() };
    let uid = req.uid;
    let gid = req.gid;

    // SAFETY: fork has no memory preconditions. The child runs only `child_exec`, which uses
    // async-signal-safe calls on data prepared above and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error().into());
    }
    if pid == 0 {
        // SAFETY: we are the freshly forked child; see `child_exec`.
        unsafe {
            child_exec(ChildPlan {
                file: file.as_ptr(),
                argv: argv.as_ptr(),
                envp: envp.as_ptr(),
                cwd: cwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                sources: &sources,
                count,
                err_w: err_w_raw,
                uid,
                gid,
                death_signal,
                parent_pid,
            })
        }
    }
    drop(err_w);
    drop(child_owned);

    // exec succeeded when the close-on-exec pipe reaches end-of-file without an errno.
    let mut buf = [0u8; 4];
    let mut got = 0;
    loop {
        // SAFETY: reads at most the remaining bytes of `buf` from a descriptor we own.
        let n = unsafe { libc::read(err_r.as_raw_fd(), buf[got..].as_mut_ptr().cast(), 4 - got) };
        if n < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break;
        }
        if n == 0 {
            break;
        }
        got += n as usize;
        if got == 4 {
            break;
        }
    }
    if got == 4 {
        let errno = i32::from_ne_bytes(buf);
        let mut status = 0;
        // SAFETY: reaps the child we forked, which has exited (_exit after reporting).
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(SpawnError { errno });
    }
    let pidfd = pidfd_open(pid)?;
    Ok(Spawned {
        pid,
        pidfd,
        parent_ends,
    })
}

struct ChildPlan<'a> {
    file: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    sources: &'a [RawFd],
    count: RawFd,
    err_w: RawFd,
    uid: Option<u32>,
    gid: Option<u32>,
    death_signal: i32,
    parent_pid: libc::pid_t,
}

/// In a freshly forked child: nothing blocked, every catchable signal at its default
/// disposition except `ignored`, which are ignored. (Handlers inherited from the primary would
/// run the primary's code in the child.)
///
/// # Safety
/// Async-signal-safe calls only; meant for the child between fork and exec (or `_exit`).
unsafe fn reset_signals(ignored: &[libc::c_int]) {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    for sig in 1..32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let action = if ignored.contains(&sig) {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        libc::signal(sig, action);
    }
}

/// The forked child: arrange descriptors, credentials, cwd and signals, then exec. On failure
/// the errno goes up the error pipe and the child exits with 127.
///
/// # Safety
/// Must only be called in the child right after `fork`; every pointer in `plan` must point into
/// memory prepared by the parent before the fork.
unsafe fn child_exec(plan: ChildPlan<'_>) -> ! {
    let fail = |err_w: RawFd| -> ! {
        let errno = *libc::__errno_location();
        let bytes = errno.to_ne_bytes();
        libc::write(err_w, bytes.as_ptr().cast(), 4);
        libc::_exit(127)
    };
    // Keep the error pipe out of the way of the target numbers.
    let err_w = libc::fcntl(plan.err_w, libc::F_DUPFD_CLOEXEC, plan.count.max(3));
    if err_w < 0 {
        libc::_exit(127);
    }

    // A clean signal state: default dispositions, nothing blocked (as libuv does for children).
    reset_signals(&[]);

    // Move every source above the targets first, then onto its target (dup2 clears CLOEXEC).
    let mut high = [0 as RawFd; 64];
    let n = plan.sources.len().min(high.len());
    for (slot, src) in high.iter_mut().zip(plan.sources.iter()) {
        let fd = libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, plan.count.max(3));
        if fd < 0 {
            fail(err_w);
        }
        *slot = fd;
    }
    for (i, fd) in high.iter().enumerate().take(n) {
        if libc::dup2(*fd, i as RawFd) < 0 {
            fail(err_w);
        }
    }

    if !plan.cwd.is_null() && libc::chdir(plan.cwd) < 0 {
        fail(err_w);
    }
    if plan.uid.is_some() || plan.gid.is_some() {
        // Drop supplementary groups when changing identity; failure is not fatal (as libuv).
        libc::setgroups(0, std::ptr::null());
    }
    if let Some(gid) = plan.gid {
        if libc::setgid(gid) < 0 {
            fail(err_w);
        }
    }
    if let Some(uid) = plan.uid {
        if libc::setuid(uid) < 0 {
            fail(err_w);
        }
    }
    // After credential changes, which clear it.
    if plan.death_signal > 0 {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            plan.death_signal as libc::c_ulong,
            0,
            0,
            0,
        );
        if libc::getppid() != plan.parent_pid {
            libc::_exit(127);
        }
    }
    libc::execve(plan.file, plan.argv, plan.envp);
    fail(err_w)
}

/// Most worker pidfds the warden watches at once; more workers than this are not watched.
pub const WARDEN_CAPACITY: usize = 4096;

/// Forks the warden (see `process::warden`): a process with no memory of its own beyond what it
/// inherits, which watches `ctl` for worker pidfds and the primary's end of the socket for
/// end-of-file. Returns its pid. Call it from a thread that may fork (the engine thread).
pub fn fork_warden(ctl: OwnedFd, grace_ms: i32) -> io::Result<i32> {
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
    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
    if null >= 0 {
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
    }
    if ctl != 3 && libc::dup2(ctl, 3) < 0 {
        libc::_exit(1);
    }
    let ctl: RawFd = 3;
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
    // Default signal dispositions, nothing blocked; the primary's terminal signals are not ours.
    reset_signals(&[
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGPIPE,
    ]);
    libc::prctl(
        libc::PR_SET_NAME,
        c"rc-warden".as_ptr() as libc::c_ulong,
        0,
        0,
        0,
    );

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
        let r = libc::poll(slots.as_mut_ptr(), n as libc::nfds_t, timeout);
        if r < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break;
        }
        // A pidfd is readable once its process has exited.
        let mut i = 1;
        while i < n {
            if slots[i].revents != 0 {
                libc::close(slots[i].fd);
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
                let mut msg: libc::msghdr = std::mem::zeroed();
                msg.msg_iov = &mut iov;
                msg.msg_iovlen = 1;
                msg.msg_control = control.as_mut_ptr().cast();
                msg.msg_controllen = std::mem::size_of_val(&control) as _;
                let got = libc::recvmsg(ctl, &mut msg, libc::MSG_DONTWAIT);
                if got < 0 {
                    let e = *libc::__errno_location();
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
                let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_SOCKET
                        && (*cmsg).cmsg_type == libc::SCM_RIGHTS
                    {
                        let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                        let header = libc::CMSG_LEN(0) as usize;
                        let count =
                            ((*cmsg).cmsg_len as usize).saturating_sub(header) / size_of::<RawFd>();
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
    for slot in slots.iter().take(n).skip(1) {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            slot.fd,
            libc::SIGKILL,
            0usize,
            0u32,
        );
    }
    libc::_exit(0)
}

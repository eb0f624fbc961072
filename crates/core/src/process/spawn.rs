//! fork + execve with the file-descriptor layout Node's `child_process.fork()` produces
//! (PROTOCOL.md §1): the channel socket at the index of 'ipc', pipes as AF_UNIX socketpairs,
//! 'ignore' as /dev/null, inherited descriptors by number. Also sets a parent-death signal, so a
//! worker cannot outlive a primary that was killed.
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
    /// Signal sent to the child when the spawning thread dies (0: none).
    pub death_signal: i32,
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

pub fn spawn(req: &SpawnRequest) -> Result<Spawned, SpawnError> {
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
    let death_signal = req.death_signal;

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
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    for sig in 1..32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        libc::signal(sig, libc::SIG_DFL);
    }

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

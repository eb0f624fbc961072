//! A child's pidfd: opened with `pidfd_open` (which neither std nor nix wraps, hence the one
//! unsafe call here), readable once the process has exited, then reaped with
//! `waitid(P_PIDFD)`. Never touches SIGCHLD or other processes' children.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};

use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use tokio::io::unix::AsyncFd;

use super::signal;
use crate::ipc::fdpass::own;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitStatus {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

/// Waits until the process behind `pidfd` exits and reaps it.
pub async fn wait_exit(pidfd: &AsyncFd<OwnedFd>) -> ExitStatus {
    loop {
        match pidfd.readable().await {
            Ok(mut guard) => {
                if let Some(st) = try_reap(pidfd.get_ref()) {
                    return st;
                }
                guard.clear_ready();
            }
            Err(_) => {
                // The reactor failed; fall back to a blocking-free poll loop.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if let Some(st) = try_reap(pidfd.get_ref()) {
                    return st;
                }
            }
        }
    }
}

/// Reaps the process if it has exited.
pub fn try_reap(pidfd: &OwnedFd) -> Option<ExitStatus> {
    match waitid(
        Id::PIDFd(pidfd.as_fd()),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG,
    ) {
        Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus {
            code: Some(code),
            signal: None,
        }),
        Ok(WaitStatus::Signaled(_, sig, _)) => Some(ExitStatus {
            code: None,
            signal: Some(signal::name(sig as i32)),
        }),
        Ok(_) => None,
        // Already reaped by someone else: the exit status is lost; report a plain exit.
        Err(nix::errno::Errno::ECHILD) => Some(ExitStatus {
            code: Some(0),
            signal: None,
        }),
        Err(_) => None,
    }
}

//! Exit watching through a pidfd: readable once the process has exited, then reaped with
//! `waitid(P_PIDFD)`. Never touches SIGCHLD or other processes' children.

use std::os::fd::{AsFd, OwnedFd};

use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use tokio::io::unix::AsyncFd;

use super::signal;

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

//! The warden: no worker outlives its primary for long, however the primary ends.
//!
//! Node's worker exits by itself when its channel to the primary closes, unless it is stuck
//! (a synchronous loop never reads the channel), and then it is orphaned. A parent-death signal
//! would kill even the workers that were about to exit cleanly, skipping their 'exit'
//! listeners, on every primary exit. Instead, the engine forks one small process at its first
//! spawn and hands it a pidfd for every worker. When the primary is gone (the warden's end of
//! a socketpair reaches end-of-file: process.exit, a signal or a crash alike), the warden waits
//! up to a grace period for the workers to exit the way Node's do and then kills the ones left.
//! The fork and the warden's loop are in `after_fork.rs`, with the rest of the code that runs
//! between fork and exec.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::after_fork;
use crate::ipc::fdpass;

/// How long workers get to exit on their own once the primary is gone.
pub const GRACE_MS: i32 = 1000;

pub struct Warden {
    ctl: OwnedFd,
    #[cfg_attr(not(test), allow(dead_code))]
    pid: i32,
}

impl Warden {
    /// Forks the warden. Must run on the thread that spawns workers.
    pub fn start() -> io::Result<Warden> {
        Self::start_with(GRACE_MS)
    }

    fn start_with(grace_ms: i32) -> io::Result<Warden> {
        let (mine, theirs) = fdpass::stream_pair()?;
        let pid = after_fork::fork_warden(theirs, grace_ms)?;
        Ok(Warden { ctl: mine, pid })
    }

    /// Hands the warden a duplicate of a worker's pidfd.
    pub fn watch(&self, pidfd: BorrowedFd<'_>) -> io::Result<()> {
        fdpass::send(self.ctl.as_fd(), &[IoSlice::new(b"w")], Some(pidfd)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::child::pidfd_open;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::Pid;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;
    use std::time::{Duration, Instant};

    #[test]
    fn after_the_primary_a_worker_gets_the_grace_period_and_a_stuck_one_is_killed() {
        let warden = Warden::start_with(300).expect("warden");
        let mut quick = Command::new("sleep").arg("0.1").spawn().expect("sleep");
        let mut stuck = Command::new("sleep").arg("30").spawn().expect("sleep");
        for child in [&quick, &stuck] {
            let pidfd = pidfd_open(child.id() as i32).expect("pidfd");
            warden.watch(pidfd.as_fd()).expect("watch");
        }
        let warden_pid = Pid::from_raw(warden.pid);
        let started = Instant::now();
        // The "primary" goes away: the warden's socket reaches end-of-file.
        drop(warden);
        let quick_status = quick.wait().expect("wait");
        assert_eq!(
            quick_status.code(),
            Some(0),
            "a worker that exits in time is left alone"
        );
        let stuck_status = stuck.wait().expect("wait");
        assert_eq!(stuck_status.signal(), Some(libc::SIGKILL));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250),
            "killed only after the grace period: {took:?}"
        );
        assert!(
            took < Duration::from_secs(5),
            "killed soon after the grace period: {took:?}"
        );
        assert_eq!(
            waitpid(warden_pid, None).expect("warden exit"),
            WaitStatus::Exited(warden_pid, 0)
        );
    }

    #[test]
    fn with_every_worker_gone_the_warden_leaves_at_once() {
        let warden = Warden::start_with(10_000).expect("warden");
        let mut child = Command::new("true").spawn().expect("true");
        let pidfd = pidfd_open(child.id() as i32).expect("pidfd");
        warden.watch(pidfd.as_fd()).expect("watch");
        child.wait().expect("wait");
        let warden_pid = Pid::from_raw(warden.pid);
        let started = Instant::now();
        drop(warden);
        assert_eq!(
            waitpid(warden_pid, None).expect("warden exit"),
            WaitStatus::Exited(warden_pid, 0)
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

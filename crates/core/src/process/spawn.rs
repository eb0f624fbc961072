//! fork + execve with the file-descriptor layout Node's `child_process.fork()` produces
//! (docs/PROTOCOL.md §1): the channel socket at the index of 'ipc', pipes as AF_UNIX socketpairs,
//! 'ignore' as /dev/null, inherited descriptors by number. Optionally sets a parent-death signal
//! (the fallback when the warden cannot run).
//!
//! Everything the child needs (C strings, pointer arrays, descriptors) is prepared here, before
//! `fork`; the fork itself and the child's side up to exec are in `after_fork.rs`.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{pipe2, Pid};

use super::after_fork::{self, ChildPlan, Program};
use super::child::pidfd_open;
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

/// `death_signal`: the signal the child gets when the spawning thread dies (0: none). Any
/// number of stdio entries, as in Node.
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
                // Read-only for stdin, read-write otherwise; close-on-exec (std always sets it).
                let null = OpenOptions::new()
                    .read(true)
                    .write(i != 0)
                    .open("/dev/null")?;
                let fd = OwnedFd::from(null);
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

    let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let mut scratch = vec![0; sources.len()];
    let mut plan = ChildPlan {
        exec: Program::new(&file, &args, &env),
        cwd: cwd.as_deref(),
        sources: &sources,
        scratch: &mut scratch,
        err_w: err_w.as_fd(),
        uid: req.uid,
        gid: req.gid,
        death_signal,
    };
    let pid = after_fork::fork_exec(&mut plan)?;
    drop(plan);
    drop(err_w);
    drop(child_owned);

    // exec succeeded when the close-on-exec pipe reaches end-of-file without an errno.
    let mut buf = [0u8; 4];
    if File::from(err_r).read_exact(&mut buf).is_ok() {
        // The child reported why it failed and exited (_exit after writing): reap it.
        let _ = waitpid(Pid::from_raw(pid), None);
        return Err(SpawnError {
            errno: i32::from_ne_bytes(buf),
        });
    }
    let pidfd = pidfd_open(pid)?;
    Ok(Spawned {
        pid,
        pidfd,
        parent_ends,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::WaitStatus;

    /// `sh -c script`, with `stdio` and no environment.
    fn shell(script: &str, stdio: Vec<Stdio>) -> SpawnRequest {
        SpawnRequest {
            file: "/bin/sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            stdio,
            ..SpawnRequest::default()
        }
    }

    #[test]
    fn any_number_of_stdio_entries_reach_the_child() {
        // Node takes any number (libuv has no cap); an earlier fixed array dropped entries
        // past 64, so a channel placed after them never reached the worker.
        const N: usize = 100;
        let mut stdio = vec![Stdio::Ignore; N - 1];
        stdio.push(Stdio::Pipe);
        let spawned = spawn(&shell("test -S /proc/self/fd/99", stdio), 0).expect("spawn");
        assert_eq!(spawned.parent_ends.len(), N);
        assert!(spawned.parent_ends[N - 1].is_some());
        let pid = Pid::from_raw(spawned.pid);
        assert_eq!(
            waitpid(pid, None).expect("wait"),
            WaitStatus::Exited(pid, 0),
            "the last entry is a socket at fd 99 in the child"
        );
    }
}

//! Engine errors. The binding turns them into JS errors with Node-style `code`s.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum EngineError {
    /// A system call failed; `syscall` names it the way Node's errors do ("spawn", "write", ...).
    Sys { errno: i32, syscall: &'static str },
    /// The engine thread is gone (it never is while the process runs; defensive).
    EngineStopped,
    /// Bad input from the caller.
    Invalid(String),
}

impl EngineError {
    pub fn from_io(err: &io::Error, syscall: &'static str) -> Self {
        EngineError::Sys {
            errno: err.raw_os_error().unwrap_or(libc::EIO),
            syscall,
        }
    }
    pub fn from_nix(err: nix::Error, syscall: &'static str) -> Self {
        EngineError::Sys {
            errno: err as i32,
            syscall,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Sys { errno, syscall } => {
                write!(f, "{} {}", syscall, errno_name(*errno))
            }
            EngineError::EngineStopped => write!(f, "the rust-cluster engine has stopped"),
            EngineError::Invalid(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// The libuv error name (`code`) of an errno value, as Node reports it.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ELOOP => "ELOOP",
        libc::ENOTSUP => "ENOTSUP",
        libc::ECANCELED => "ECANCELED",
        _ => return format!("E{errno}"),
    };
    name.to_string()
}

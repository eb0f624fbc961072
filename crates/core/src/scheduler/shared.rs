//! Shared handles (SCHED_NONE for TCP and pipes, always for UDP): the primary binds once and
//! passes the bound socket to every worker, which listens and accepts by itself (§4.6).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use nix::sys::socket::SockType;

use super::listen::{self, Errno};
use super::query::{AddressType, QueryServer};

pub struct SharedHandle {
    fd: Arc<OwnedFd>,
    workers: Vec<u32>,
    udp: bool,
    /// A unix socket path this handle bound, removed when the handle closes.
    path: Option<PathBuf>,
}

impl SharedHandle {
    pub fn create(q: &QueryServer, cwd: Option<PathBuf>) -> Result<SharedHandle, Errno> {
        let address = q.address.as_deref();
        let (port, flags) = (q.port, q.flags);
        let udp = q.is_udp();
        if let Some(fd_num) = q.fd {
            let ty = if udp {
                SockType::Datagram
            } else {
                SockType::Stream
            };
            let fd = listen::adopt(fd_num, ty)?;
            return Ok(SharedHandle {
                fd: Arc::new(fd),
                workers: Vec::new(),
                udp,
                path: None,
            });
        }
        if udp {
            let udp6 = q.address_type == AddressType::Udp6;
            let port = u16::try_from(port.unwrap_or(0)).map_err(|_| libc::EINVAL)?;
            let fd = listen::udp_bind(address, port, udp6, flags)?;
            return Ok(SharedHandle {
                fd: Arc::new(fd),
                workers: Vec::new(),
                udp,
                path: None,
            });
        }
        if port == Some(-1) && q.address_type == AddressType::Pipe {
            let path = address.ok_or(libc::EINVAL)?;
            let bind_path = listen::unix_bind_path(path, cwd);
            let fd = listen::unix_bind(&bind_path)?;
            return Ok(SharedHandle {
                fd: Arc::new(fd),
                workers: Vec::new(),
                udp,
                path: Some(bind_path),
            });
        }
        let port = u16::try_from(port.unwrap_or(0)).map_err(|_| libc::EINVAL)?;
        let fd = listen::tcp_bind(address, port, flags & 1 != 0, true)?;
        Ok(SharedHandle {
            fd: Arc::new(fd),
            workers: Vec::new(),
            udp,
            path: None,
        })
    }

    pub fn kind(&self) -> &'static str {
        if self.udp {
            "dgram.Native"
        } else {
            "net.Native"
        }
    }

    pub fn fd(&self) -> Arc<OwnedFd> {
        self.fd.clone()
    }

    pub fn add(&mut self, worker: u32) {
        if !self.workers.contains(&worker) {
            self.workers.push(worker);
        }
    }

    pub fn has(&self, worker: u32) -> bool {
        self.workers.contains(&worker)
    }

    /// Returns true when that was the last worker (the handle should close).
    pub fn remove(&mut self, worker: u32) -> bool {
        let before = self.workers.len();
        self.workers.retain(|w| *w != worker);
        before != self.workers.len() && self.workers.is_empty()
    }
}

impl Drop for SharedHandle {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

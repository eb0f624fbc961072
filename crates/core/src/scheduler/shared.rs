//! Shared handles (SCHED_NONE for TCP and pipes, always for UDP): the primary binds once and
//! passes the bound socket to every worker, which listens and accepts by itself (§4.6).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use nix::sys::socket::SockType;
use serde_json::{Map, Value};

use super::listen::{self, Errno};
use super::msg_int;

pub struct SharedHandle {
    fd: Arc<OwnedFd>,
    workers: Vec<u32>,
    udp: bool,
    /// A unix socket path this handle bound, removed when the handle closes.
    path: Option<PathBuf>,
}

impl SharedHandle {
    pub fn create(
        msg: &Map<String, Value>,
        udp: bool,
        cwd: Option<PathBuf>,
    ) -> Result<SharedHandle, Errno> {
        let address = msg.get("address").and_then(Value::as_str);
        let port = msg_int(msg, "port");
        let flags = msg_int(msg, "flags").unwrap_or(0);
        let fd_num = msg_int(msg, "fd").unwrap_or(-1);
        let address_type = msg.get("addressType");
        if fd_num >= 0 {
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
            let udp6 = matches!(address_type, Some(Value::String(t)) if t == "udp6");
            let port = u16::try_from(port.unwrap_or(0)).map_err(|_| libc::EINVAL)?;
            let fd = listen::udp_bind(address, port, udp6, flags)?;
            return Ok(SharedHandle {
                fd: Arc::new(fd),
                workers: Vec::new(),
                udp,
                path: None,
            });
        }
        if port == Some(-1) && address_type.and_then(Value::as_i64) == Some(-1) {
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
        let fd = match address {
            None => listen::tcp_bind(None, port, flags & 1 != 0, true)?,
            Some(a) => listen::tcp_bind(Some(a), port, flags & 1 != 0, true)?,
        };
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

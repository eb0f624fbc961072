//! Round-robin handles (SCHED_RR, §4.5): the engine listens and accepts on its own thread and
//! hands each connection to the next idle worker; at most one hand-off per worker is in flight.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::rc::{Rc, Weak};

use nix::sys::socket::SockType;
use serde_json::Value;
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

use super::listen::{self, Errno};
use super::query::QueryServer;
use super::rotation::Rotation;
use super::{Link, Scheduler};
use crate::ipc::fdpass;

pub struct RoundRobin {
    /// The workers sharing this handle and the accepted connections waiting for one of them.
    pub rotation: Rotation,
    sockname: Option<Value>,
    accept_task: JoinHandle<()>,
    /// The listening socket, shared with the accept task; `None` when it is the primary's own
    /// descriptor (listen({fd})), which only the primary's code may end.
    own_listener: Option<Rc<AsyncFd<OwnedFd>>>,
    path: Option<PathBuf>,
}

impl RoundRobin {
    pub fn create(
        sched: &Rc<RefCell<Scheduler>>,
        link: &Rc<dyn Link>,
        q: &QueryServer,
    ) -> Result<RoundRobin, Errno> {
        let address = q.address.as_deref();
        // listen({fd}): the primary's own descriptor, which only the primary's code may end.
        let primary_fd = q.fd;
        let mut path = None;
        let fd = if let Some(n) = primary_fd {
            listen::adopt(n, SockType::Stream)?
        } else if let Some(p) = q.port.filter(|p| *p >= 0) {
            let p = u16::try_from(p).map_err(|_| libc::EINVAL)?;
            listen::tcp_bind(address, p, q.flags & 1 != 0, false)?
        } else {
            let raw = address.ok_or(libc::EINVAL)?;
            let bind_path = listen::unix_bind_path(raw, link.cwd());
            let fd = listen::unix_bind(&bind_path)?;
            path = Some(bind_path);
            fd
        };
        let cleanup = |err: Errno, path: &Option<PathBuf>| {
            if let Some(p) = path {
                let _ = std::fs::remove_file(p);
            }
            err
        };
        if let Err(err) = listen::listen(&fd, q.backlog) {
            return Err(cleanup(err, &path));
        }
        if let Some(p) = &path {
            let (readable, writable) = (q.readable_all, q.writable_all);
            if readable || writable {
                if let Err(err) = listen::unix_chmod(p, readable, writable, link.exact_pipe_mode())
                {
                    return Err(cleanup(err, &path));
                }
            }
        }
        let sockname = if path.is_some() {
            None
        } else {
            listen::sockname(&fd)
        };
        if let Some(n) = primary_fd {
            // Nonblocking is required by the accept loop; the primary's own fd shares the flag.
            let _ = nix::fcntl::fcntl(
                n as i32,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            );
        }
        let listener = Rc::new(
            fdpass::register(fd)
                .map_err(|e| cleanup(e.raw_os_error().unwrap_or(libc::EIO), &path))?,
        );
        let own_listener = primary_fd.is_none().then(|| listener.clone());
        let accept_task = tokio::task::spawn_local(accept_loop(
            Rc::downgrade(sched),
            link.clone(),
            q.key.clone(),
            listener,
        ));
        Ok(RoundRobin {
            rotation: Rotation::default(),
            sockname,
            accept_task,
            own_listener,
            path,
        })
    }

    pub fn sockname(&self) -> Option<Value> {
        self.sockname.clone()
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        self.accept_task.abort();
        // The aborted task drops its end of the listener only on a later turn: stop listening
        // now, before the queued connections are closed, so that a client that saw its
        // connection closed is refused when it connects again (as when Node closes the handle).
        if let Some(l) = self.own_listener.take() {
            let _ = nix::sys::socket::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(l.get_ref()),
                nix::sys::socket::Shutdown::Both,
            );
        }
        self.rotation.clear();
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn accept_loop(
    sched: Weak<RefCell<Scheduler>>,
    link: Rc<dyn Link>,
    key: String,
    listener: Rc<AsyncFd<OwnedFd>>,
) {
    loop {
        let mut guard = match listener.readable().await {
            Ok(g) => g,
            Err(_) => return,
        };
        loop {
            match fdpass::accept(listener.get_ref().as_fd()) {
                Ok(Some(conn)) => {
                    let Some(s) = sched.upgrade() else { return };
                    Scheduler::on_connection(&s, &link, &key, conn);
                }
                Ok(None) => {
                    guard.clear_ready();
                    break;
                }
                Err(err) => {
                    // Node ignores accept errors. Out of descriptors: back off briefly so the
                    // pending connection is retried rather than spun on.
                    guard.clear_ready();
                    if matches!(err.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    break;
                }
            }
        }
    }
}

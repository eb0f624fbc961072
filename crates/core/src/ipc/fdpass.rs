//! The only place that moves descriptors across sockets, accepts connections or wraps raw fds
//! returned by the kernel. Every fd the kernel hands over becomes an `OwnedFd` here, at once.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::cmsg_space;
use nix::errno::Errno;
use nix::sys::socket::{
    self, accept4, recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Most fds one read can carry (Node reserves control space for 64).
const MAX_FDS_PER_READ: usize = 64;

/// Takes ownership of a descriptor the kernel has just returned to this process (recvmsg
/// SCM_RIGHTS, accept4, pidfd_open, ...): the one place raw descriptors become `OwnedFd`s.
pub(crate) fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: every caller passes a descriptor the kernel just created for this process and that
    // nothing else owns yet; wrapping it transfers that ownership, so it is closed exactly once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// One `recvmsg` into `buf`. Received descriptors are appended to `fds` (close-on-exec set).
/// Returns the number of bytes read; 0 means end of stream.
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], fds: &mut VecDeque<OwnedFd>) -> io::Result<usize> {
    let mut space = cmsg_space!([RawFd; MAX_FDS_PER_READ]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match recvmsg::<()>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(m) => break m,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    };
    let bytes = msg.bytes;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            if let ControlMessageOwned::ScmRights(list) = c {
                fds.extend(list.into_iter().map(own));
            }
        }
    }
    Ok(bytes)
}

/// Writes `bufs` with one `sendmsg`; `pass` rides on these bytes as a single SCM_RIGHTS fd.
/// Never raises SIGPIPE. Returns the number of bytes written.
pub fn send(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    pass: Option<BorrowedFd<'_>>,
) -> io::Result<usize> {
    let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
    loop {
        let res = match pass {
            Some(p) => {
                let fds = [p.as_raw_fd()];
                let cmsg = [ControlMessage::ScmRights(&fds)];
                sendmsg::<()>(fd.as_raw_fd(), bufs, &cmsg, flags, None)
            }
            None => sendmsg::<()>(fd.as_raw_fd(), bufs, &[], flags, None),
        };
        match res {
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// Accepts one pending connection (close-on-exec); `Ok(None)` when none is waiting.
pub fn accept(listener: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    loop {
        match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            Ok(fd) => return Ok(Some(own(fd))),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// A close-on-exec `socketpair(AF_UNIX, SOCK_STREAM)`, as libuv makes for 'ipc' and 'pipe'.
pub fn stream_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    socket::socketpair(
        socket::AddressFamily::Unix,
        socket::SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
}

/// Bytes written to a stream socket that its peer has not read yet: SIOCOUTQ (the same request
/// number as TIOCOUTQ), which for a unix socket is the memory of the sent buffers the receiver
/// has not consumed. None if the request fails.
pub fn unread_by_peer(fd: BorrowedFd<'_>) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one c_int through the pointer, which points to `n`, alive and
    // writable for the call; `fd` is borrowed, so it stays open for the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    (r == 0).then(|| usize::try_from(n).unwrap_or(0))
}

/// A close-on-exec duplicate of a descriptor the caller does not own (e.g. a JS handle's fd).
pub fn dup_borrowed(fd: RawFd) -> io::Result<OwnedFd> {
    let new =
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(0)).map_err(io::Error::from)?;
    Ok(own(new))
}

/// Registers an owned descriptor with the current tokio reactor (engine thread only), for
/// readiness to read. Write readiness is left out on purpose: on a socket it is reported every
/// time the peer takes data, which would wake the engine once per message the worker reads.
pub fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    register_with(fd, Interest::READABLE)
}

/// Registers a duplicate of `fd` for readiness to write, for as long as the result lives: what
/// a writer waits on while the socket is full (engine thread only).
pub fn register_writable(fd: BorrowedFd<'_>) -> io::Result<AsyncFd<OwnedFd>> {
    let dup = fd.try_clone_to_owned()?;
    register_with(dup, Interest::WRITABLE)
}

/// Registers a shared descriptor for readiness to read, for as long as the result lives (the
/// primary's copy of a worker's listening socket, watched while nothing else is).
pub fn register_shared(
    fd: std::sync::Arc<OwnedFd>,
) -> io::Result<AsyncFd<std::sync::Arc<OwnedFd>>> {
    // SAFETY: the Arc keeps its descriptor open at least until the AsyncFd drops its clone, and
    // `as_raw_fd` always returns that same number, which is what `register_with_interest`
    // requires.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| e.into_parts().1)
}

/// Resolves once any of `watched` is readable (never, for none). The registrations are the
/// caller's: a watcher that wants to be woken once, not per event, drops them right after.
pub async fn any_readable<T: std::os::fd::AsRawFd>(watched: &[AsyncFd<T>]) {
    std::future::poll_fn(|cx| {
        if watched
            .iter()
            .any(|w| matches!(w.poll_read_ready(cx), std::task::Poll::Ready(_)))
        {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

fn register_with(fd: OwnedFd, interest: Interest) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: `OwnedFd` owns an open descriptor, keeps it open until the AsyncFd drops it, and
    // its `as_raw_fd` always returns that same number, which is what `register_with_interest`
    // requires.
    unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(|e| e.into_parts().1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn passes_one_fd_with_the_first_byte() {
        let (a, b) = stream_pair().expect("pair");
        let (x, _y) = stream_pair().expect("pair");
        let n = send(a.as_fd(), &[IoSlice::new(b"hello\n")], Some(x.as_fd())).expect("send");
        assert_eq!(n, 6);
        let mut buf = [0u8; 64];
        let mut fds = VecDeque::new();
        let n = recv(b.as_fd(), &mut buf, &mut fds).expect("recv");
        assert_eq!(&buf[..n], b"hello\n");
        assert_eq!(fds.len(), 1);
    }

    #[test]
    fn would_block_and_eof() {
        let (a, b) = stream_pair().expect("pair");
        let mut buf = [0u8; 8];
        let mut fds = VecDeque::new();
        let err = recv(b.as_fd(), &mut buf, &mut fds).expect_err("nothing to read");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(a);
        assert_eq!(recv(b.as_fd(), &mut buf, &mut fds).expect("eof"), 0);
    }
}

//! Creating the sockets the primary binds for workers, with libuv's options: SO_REUSEADDR on TCP,
//! IPV6_V6ONLY set explicitly, `::` with a fallback to `0.0.0.0` when no host is given.
//! Errors are positive errno values; the reply negates them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::socket::{
    self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, SockaddrIn6,
    SockaddrStorage, UnixAddr,
};
use serde_json::Value;

use crate::ipc::message::Obj;

pub type Errno = i32;

fn e(err: nix::Error) -> Errno {
    err as i32
}

fn new_socket(family: AddressFamily, ty: SockType) -> Result<OwnedFd, Errno> {
    socket::socket(
        family,
        ty,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(e)
}

fn bind_ip(fd: &OwnedFd, ip: IpAddr, port: u16) -> Result<(), Errno> {
    let raw = fd.as_raw_fd();
    match ip {
        IpAddr::V4(v4) => socket::bind(
            raw,
            &SockaddrIn::from(std::net::SocketAddrV4::new(v4, port)),
        )
        .map_err(e),
        IpAddr::V6(v6) => socket::bind(
            raw,
            &SockaddrIn6::from(std::net::SocketAddrV6::new(v6, port, 0, 0)),
        )
        .map_err(e),
    }
}

fn parse_ip(address: &str) -> Result<IpAddr, Errno> {
    address.parse::<IpAddr>().map_err(|_| libc::EINVAL)
}

/// A duplicate of the primary's own descriptor `fd` (a worker's `listen({ fd })` or dgram
/// `bind({ fd })`), if it is a socket of type `ty`. Anything else, a closed descriptor included,
/// is EINVAL, as Node's primary refuses a descriptor whose handle type does not fit.
pub fn adopt(fd: i64, ty: SockType) -> Result<OwnedFd, Errno> {
    let raw = i32::try_from(fd).map_err(|_| libc::EINVAL)?;
    let dup = crate::ipc::fdpass::dup_borrowed(raw).map_err(|_| libc::EINVAL)?;
    match socket::getsockopt(&dup, sockopt::SockType) {
        Ok(t) if t == ty => Ok(dup),
        _ => Err(libc::EINVAL),
    }
}

/// A bound (not listening) TCP socket. `defer_in_use` keeps a socket whose bind failed with
/// EADDRINUSE, unbound, as libuv does (the error surfaces when the worker listens).
pub fn tcp_bind(
    address: Option<&str>,
    port: u16,
    ipv6_only: bool,
    defer_in_use: bool,
) -> Result<OwnedFd, Errno> {
    let try_one = |ip: IpAddr, v6only: bool| -> Result<OwnedFd, Errno> {
        let family = if ip.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        let fd = new_socket(family, SockType::Stream)?;
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(e)?;
        if ip.is_ipv6() {
            socket::setsockopt(&fd, sockopt::Ipv6V6Only, &v6only).map_err(e)?;
        }
        match bind_ip(&fd, ip, port) {
            Ok(()) => Ok(fd),
            Err(libc::EADDRINUSE) if defer_in_use => Ok(fd),
            Err(err) => Err(err),
        }
    };
    match address {
        Some(a) => try_one(parse_ip(a)?, ipv6_only),
        None => try_one(IpAddr::V6(Ipv6Addr::UNSPECIFIED), ipv6_only)
            .or_else(|_| try_one(IpAddr::V4(Ipv4Addr::UNSPECIFIED), false)),
    }
}

/// Lets later sockets bind the same address as `fd` and join its SO_REUSEPORT group. Set after
/// `fd` was bound without it, so that the bind met any other socket on the address as a plain
/// bind would (EADDRINUSE even against another program's reuseport group).
pub fn join_reuseport(fd: &OwnedFd) -> Result<(), Errno> {
    socket::setsockopt(fd, sockopt::ReusePort, &true).map_err(e)
}

/// A socket of type `ty` bound to `addr` with SO_REUSEPORT: a further member of the group a
/// first socket on `addr` started (`join_reuseport`). `v6only` and `reuse_addr` as the first.
pub fn bind_reuseport(
    addr: SocketAddr,
    ty: SockType,
    v6only: bool,
    reuse_addr: bool,
) -> Result<OwnedFd, Errno> {
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = new_socket(family, ty)?;
    if reuse_addr {
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(e)?;
    }
    socket::setsockopt(&fd, sockopt::ReusePort, &true).map_err(e)?;
    if addr.is_ipv6() {
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &v6only).map_err(e)?;
    }
    bind_ip(&fd, addr.ip(), addr.port())?;
    Ok(fd)
}

/// Whether an IPv6 socket accepts IPv6 only (false for IPv4 sockets).
pub fn v6only(fd: &OwnedFd) -> bool {
    socket::getsockopt(fd, sockopt::Ipv6V6Only).unwrap_or(false)
}

pub fn listen(fd: &OwnedFd, backlog: i32) -> Result<(), Errno> {
    let backlog = Backlog::new(backlog).unwrap_or(Backlog::MAXCONN);
    socket::listen(fd, backlog).map_err(e)
}

/// The path used to bind: the shorter of the absolute path and its form relative to the
/// primary's working directory (sun_path holds about 108 bytes).
pub fn unix_bind_path(path: &str, cwd: Option<PathBuf>) -> PathBuf {
    let abs = PathBuf::from(path);
    if let Some(cwd) = cwd {
        if let Ok(rel) = abs.strip_prefix(&cwd) {
            if !rel.as_os_str().is_empty() && rel.as_os_str().len() < abs.as_os_str().len() {
                return rel.to_path_buf();
            }
        }
    }
    abs
}

pub fn unix_bind(path: &Path) -> Result<OwnedFd, Errno> {
    let fd = new_socket(AddressFamily::Unix, SockType::Stream)?;
    let addr = UnixAddr::new(path).map_err(e)?;
    socket::bind(fd.as_raw_fd(), &addr).map_err(e)?;
    Ok(fd)
}

/// Makes a unix socket file readable and/or writable by everyone (libuv's uv_pipe_chmod).
/// libuv up to 1.46 (Node 20) adds those bits to the file's mode; later versions (Node 22 on)
/// set the mode to exactly them. `exact` picks the behaviour of the Node running the primary.
pub fn unix_chmod(path: &Path, readable: bool, writable: bool, exact: bool) -> Result<(), Errno> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|err| err.raw_os_error().unwrap_or(libc::EIO))?;
    let mut mode = if exact { 0 } else { meta.permissions().mode() };
    if readable {
        mode |= 0o444;
    }
    if writable {
        mode |= 0o222;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|err| err.raw_os_error().unwrap_or(libc::EIO))
}

/// A UDP socket, bound when a port or address is given (dgram's _createSocketHandle).
pub fn udp_bind(
    address: Option<&str>,
    port: u16,
    udp6: bool,
    flags: i64,
) -> Result<OwnedFd, Errno> {
    let family = if udp6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let fd = new_socket(family, SockType::Datagram)?;
    if port != 0 || address.is_some() {
        if flags & 4 != 0 {
            socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(e)?;
        }
        let ip = match address {
            Some(a) => parse_ip(a)?,
            None if udp6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        if ip.is_ipv6() {
            socket::setsockopt(&fd, sockopt::Ipv6V6Only, &(flags & 1 != 0)).map_err(e)?;
        }
        bind_ip(&fd, ip, port)?;
    }
    Ok(fd)
}

/// The `sockname` object of a round-robin reply: `{address, family, port}`.
/// The local address of an IP socket (None for any other kind).
pub fn local_addr(fd: BorrowedFd<'_>) -> Option<SocketAddr> {
    let ss: SockaddrStorage = socket::getsockname(fd.as_raw_fd()).ok()?;
    if let Some(v4) = ss.as_sockaddr_in() {
        Some(SocketAddr::from((v4.ip(), v4.port())))
    } else {
        ss.as_sockaddr_in6()
            .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
    }
}

/// The kind of socket `fd` is, if it is one.
pub fn sock_type(fd: BorrowedFd<'_>) -> Option<SockType> {
    socket::getsockopt(&fd, sockopt::SockType).ok()
}

pub fn sockname(fd: &OwnedFd) -> Option<Value> {
    let addr = local_addr(fd.as_fd())?;
    let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
    Some(
        Obj::new()
            .with("address", addr.ip().to_string())
            .with("family", family)
            .with("port", addr.port())
            .into_value(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_is_adopted_only_as_the_kind_of_socket_it_is() {
        let udp = udp_bind(Some("127.0.0.1"), 0, false, 0).expect("udp socket");
        let raw = i64::from(udp.as_raw_fd());
        let dup = adopt(raw, SockType::Datagram).expect("a UDP socket adopted for dgram");
        assert_ne!(dup.as_raw_fd(), udp.as_raw_fd());
        assert_eq!(adopt(raw, SockType::Stream).err(), Some(libc::EINVAL));
        // A descriptor that is not open, and one out of range.
        assert_eq!(adopt(1 << 20, SockType::Stream).err(), Some(libc::EINVAL));
        assert_eq!(adopt(-1, SockType::Datagram).err(), Some(libc::EINVAL));
        assert_eq!(
            adopt(i64::MAX, SockType::Datagram).err(),
            Some(libc::EINVAL)
        );
    }
}

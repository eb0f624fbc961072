//! The two socket options of a SO_REUSEPORT group that neither nix nor libc wraps: the classic
//! BPF program that picks the group's socket for each new connection
//! (`SO_ATTACH_REUSEPORT_CBPF`, no privileges needed), and a listening socket's accept-queue
//! length (`TCP_INFO`, whose `tcpi_unacked` the kernel fills with it for a listener).
#![allow(unsafe_code)]

use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd};

/// `SO_ATTACH_REUSEPORT_CBPF` (asm-generic/socket.h; the value of x86-64 and arm64, the targets
/// this package ships for).
const SO_ATTACH_REUSEPORT_CBPF: libc::c_int = 51;

/// The kernel's limit on a classic BPF program (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

fn insn(code: u32, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// A program that returns one of `targets` (indexes into the group's sockets, in the kernel's
/// order) at random for each connection. None when there are too many targets for one program
/// (the kernel's own choice among all sockets applies then).
pub fn select_program(targets: &[u32]) -> Option<Vec<libc::sock_filter>> {
    let (last, rest) = targets.split_last()?;
    if 3 + 2 * rest.len() > MAX_INSNS {
        return None;
    }
    let ret = libc::BPF_RET | libc::BPF_K;
    if rest.is_empty() {
        return Some(vec![insn(ret, 0, 0, *last)]);
    }
    let mut prog = Vec::with_capacity(3 + 2 * rest.len());
    // A = a random 32-bit number; A %= targets.len().
    prog.push(insn(
        libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
        0,
        0,
        (libc::SKF_AD_OFF + libc::SKF_AD_RANDOM) as u32,
    ));
    prog.push(insn(
        libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K,
        0,
        0,
        targets.len() as u32,
    ));
    // if A == j return targets[j], for every j but the last, which is what falls through.
    for (j, t) in rest.iter().enumerate() {
        prog.push(insn(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            0,
            1,
            j as u32,
        ));
        prog.push(insn(ret, 0, 0, *t));
    }
    prog.push(insn(ret, 0, 0, *last));
    Some(prog)
}

/// Attaches `prog` to the reuseport group of `fd` (a listening member), replacing any program.
pub fn attach(fd: BorrowedFd<'_>, prog: &[libc::sock_filter]) -> std::io::Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as libc::c_ushort,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `prog.len()` initialised instructions that outlive the call; the
    // kernel copies the program and never writes through the pointer.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_ATTACH_REUSEPORT_CBPF,
            (&fprog as *const libc::sock_fprog).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// How many established connections wait in the accept queue of the listening TCP socket `fd`.
pub fn accept_queue(fd: BorrowedFd<'_>) -> std::io::Result<u32> {
    let mut info = MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is a writable buffer of `len` bytes; the kernel writes at most `len` bytes
    // and reports how many in `len`. All-zero bytes are a valid `tcp_info` (plain integers).
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: zero-initialised above and possibly overwritten by the kernel: initialised.
    let info = unsafe { info.assume_init() };
    Ok(info.tcpi_unacked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_return_one_of_their_targets() {
        assert!(select_program(&[]).is_none());
        let one = select_program(&[3]).expect("a program");
        assert_eq!((one.len(), one[0].k), (1, 3));
        let three = select_program(&[0, 2, 5]).expect("a program");
        assert_eq!(three.len(), 3 + 2 * 2);
        assert_eq!(three[1].k, 3, "modulo the number of targets");
        let rets: Vec<u32> = three
            .iter()
            .filter(|i| u32::from(i.code) == libc::BPF_RET | libc::BPF_K)
            .map(|i| i.k)
            .collect();
        assert_eq!(rets, vec![0, 2, 5]);
        let many: Vec<u32> = (0..3000).collect();
        assert!(select_program(&many).is_none(), "over BPF_MAXINSNS");
    }
}

//! Worker processes: spawning (socketpair on the ipc fd, env, stdio, cwd, uid/gid) and exit
//! watching through a pidfd (libuv owns SIGCHLD in a Node process, so no signal handler here).

mod after_fork;
pub mod child;
pub mod signal;
pub mod spawn;
pub mod stats;
pub mod systemd;
pub mod warden;

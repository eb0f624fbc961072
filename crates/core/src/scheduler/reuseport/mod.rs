//! SCHED_REUSEPORT: one SO_REUSEPORT socket per worker on the address the workers asked for, so
//! that the kernel spreads connections across the workers with no primary on the path. Each
//! worker gets its socket as a SCHED_NONE worker gets a shared one; the primary keeps its own
//! copy of every socket, which lets it:
//! - take a socket out of the kernel's choice (a BPF program on the group) while its worker is
//!   drained, stuck or gone;
//! - accept what waits on the socket of a worker whose event loop stopped accepting (its accept
//!   queue stayed non-empty for a whole rescue window) or that left, and hand those connections
//!   to the other workers as round-robin does (`newconn`, which a stock worker accepts for a
//!   shared handle too);
//! - close a departed worker's socket only after its queue was handed on.
//!
//! `group` mirrors the kernel's array of the group's sockets: a socket joins at the end when it
//! starts listening, and when one closes the last takes its place (`Vec::swap_remove`), which is
//! what the BPF program's return value indexes.

pub(super) mod bpf;
mod monitor;

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::socket::SockType;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::listen::{self, Errno};
use super::query::{AddressType, QueryServer};
use super::rotation::Rotation;
use super::{Handle, Link, Scheduler, SchedulerRef};
use crate::ipc::fdpass;

/// How long a departed worker's socket stays open (out of the kernel's choice) so that handshakes
/// under way when it left complete into its queue and are handed on: a few round trips.
const LINGER: Duration = Duration::from_millis(1000);
/// Most connections taken from one socket in one go.
const RESCUE_BATCH: usize = 1024;

/// Queues are sampled `STALL_SAMPLES` times a rescue window while connections arrive.
const STALL_SAMPLES: u32 = 4;

/// The stuck-worker rescue: a socket whose accept queue stayed non-empty and never shrank over a
/// whole `window` (`STALL_SAMPLES + 1` samples in a row, the first and last a window apart) is
/// treated as stuck, provided another worker is seen accepting; it is left out of the kernel's choice for `5 * window`, and is trusted
/// with rescued connections again only once it has been back for a whole window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rescue {
    pub window: Option<Duration>,
}

impl Default for Rescue {
    fn default() -> Self {
        Rescue {
            window: Some(Duration::from_millis(40)),
        }
    }
}

impl Rescue {
    /// How often queues are sampled while connections arrive.
    fn tick(&self) -> Duration {
        self.window.map_or(Duration::from_millis(20), |w| {
            (w / STALL_SAMPLES).max(Duration::from_millis(2))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In the kernel's choice.
    Active,
    /// Its worker is being drained (reload): out of the kernel's choice; the worker still takes
    /// what waits on its socket.
    Draining,
    /// Its worker stopped accepting: out of the kernel's choice, its queue taken, until `until`.
    Stuck { until: Instant },
    /// Its worker left: out of the kernel's choice, its queue taken, closed at `close_at`.
    Leaving { close_at: Instant },
}

struct Member {
    worker: u32,
    fd: Arc<OwnedFd>,
    state: State,
    /// The accept-queue length at the last sample.
    queued: u32,
    /// Samples in a row at which the queue was non-empty and had not shrunk.
    stalled: u32,
    /// Active since this long (a socket back from being stuck is on probation for a window).
    since: Instant,
    /// Active for a whole window since it last was stuck: trusted with rescued connections, and
    /// proof that some worker accepts.
    proven: bool,
}

impl Member {
    fn taken(&self) -> bool {
        matches!(self.state, State::Stuck { .. } | State::Leaving { .. })
    }
}

pub struct ReusePort {
    /// Rescued connections and the workers that may take them.
    pub rotation: Rotation,
    udp: bool,
    /// Where every member binds: the first member's address, with the port it got.
    addr: SocketAddr,
    v6only: bool,
    reuse_addr: bool,
    group: Vec<Member>,
    /// The targets of the program attached to the group (None: none attached yet).
    program: Option<Vec<u32>>,
    rescue: Rescue,
    /// Wakes the monitor when members change (TCP only).
    wake: Rc<Notify>,
    monitor: Option<JoinHandle<()>>,
}

/// What a query is served by under SCHED_REUSEPORT: IP servers the primary binds itself. Unix
/// sockets, descriptors (`listen({fd})`, sockets from systemd) and unbound UDP sockets keep the
/// other policies' handles.
pub(crate) fn serves(q: &QueryServer) -> bool {
    if q.fd.is_some() {
        return false;
    }
    match q.address_type {
        AddressType::Pipe => false,
        AddressType::Tcp => q.port.is_some_and(|p| p >= 0),
        AddressType::Udp4 | AddressType::Udp6 => q.port.unwrap_or(0) != 0 || q.address.is_some(),
    }
}

impl ReusePort {
    /// The handle and its first member, bound as the other policies bind (so their errors are
    /// this one's), then opened to the group.
    pub(crate) fn create(
        sched: &SchedulerRef,
        link: &Rc<dyn Link>,
        q: &QueryServer,
        worker: u32,
        rescue: Rescue,
    ) -> Result<ReusePort, Errno> {
        let udp = q.is_udp();
        let port = u16::try_from(q.port.unwrap_or(0)).map_err(|_| libc::EINVAL)?;
        let address = q.address.as_deref();
        let fd = if udp {
            listen::udp_bind(address, port, q.address_type == AddressType::Udp6, q.flags)?
        } else {
            listen::tcp_bind(address, port, q.flags & 1 != 0, false)?
        };
        listen::join_reuseport(&fd)?;
        if !udp {
            listen::listen(&fd, q.backlog)?;
        }
        let addr = listen::local_addr(fd.as_fd()).ok_or(libc::EINVAL)?;
        let wake = Rc::new(Notify::new());
        let monitor = (!udp).then(|| {
            tokio::task::spawn_local(monitor::run(
                Rc::downgrade(sched),
                link.clone(),
                q.key.clone(),
                wake.clone(),
            ))
        });
        let mut h = ReusePort {
            rotation: Rotation::default(),
            udp,
            addr,
            v6only: listen::v6only(&fd),
            reuse_addr: !udp || q.flags & 4 != 0,
            group: Vec::new(),
            program: None,
            rescue,
            wake,
            monitor,
        };
        h.push(worker, fd);
        Ok(h)
    }

    /// A further worker's socket on the handle's address.
    pub(crate) fn join(&mut self, worker: u32, q: &QueryServer) -> Result<(), Errno> {
        let ty = if self.udp {
            SockType::Datagram
        } else {
            SockType::Stream
        };
        let fd = listen::bind_reuseport(self.addr, ty, self.v6only, self.reuse_addr)?;
        if !self.udp {
            listen::listen(&fd, q.backlog)?;
        }
        self.push(worker, fd);
        Ok(())
    }

    fn push(&mut self, worker: u32, fd: OwnedFd) {
        self.group.push(Member {
            worker,
            fd: Arc::new(fd),
            state: State::Active,
            queued: 0,
            stalled: 0,
            since: Instant::now(),
            proven: true,
        });
        self.rotation.add(worker);
        self.reprogram();
        self.wake.notify_one();
    }

    pub fn kind(&self) -> &'static str {
        if self.udp {
            "dgram.Native"
        } else {
            "net.Native"
        }
    }

    /// The socket of `worker`, which its reply carries.
    pub fn fd_of(&self, worker: u32) -> Option<Arc<OwnedFd>> {
        self.member(worker).map(|m| m.fd.clone())
    }

    fn member(&self, worker: u32) -> Option<&Member> {
        self.group
            .iter()
            .find(|m| m.worker == worker && !matches!(m.state, State::Leaving { .. }))
    }

    fn member_mut(&mut self, worker: u32) -> Option<&mut Member> {
        self.group
            .iter_mut()
            .find(|m| m.worker == worker && !matches!(m.state, State::Leaving { .. }))
    }

    pub fn has(&self, worker: u32) -> bool {
        self.member(worker).is_some()
    }

    /// Whether `worker` may take a rescued connection.
    pub fn takes_connections(&self, worker: u32) -> bool {
        self.member(worker)
            .is_some_and(|m| m.state == State::Active && m.proven)
    }

    /// The worker left the handle. Its socket leaves the kernel's choice and lingers for what
    /// still arrives on it; returns true when it was the last worker (the handle should close).
    pub fn remove(&mut self, worker: u32, now: Instant) -> bool {
        let Some(i) = self
            .group
            .iter()
            .position(|m| m.worker == worker && !matches!(m.state, State::Leaving { .. }))
        else {
            return false;
        };
        self.rotation.remove(worker);
        if self.udp {
            // A datagram socket has nothing to hand on.
            self.close_member(i);
        } else {
            self.group[i].state = State::Leaving {
                close_at: now + LINGER,
            };
            self.reprogram();
            self.wake.notify_one();
        }
        !self
            .group
            .iter()
            .any(|m| !matches!(m.state, State::Leaving { .. }))
    }

    /// Takes `worker`'s socket out of the kernel's choice (drain): its worker keeps what waits.
    pub fn drain(&mut self, worker: u32) {
        self.rotation.unfree(worker);
        if let Some(m) = self.member_mut(worker) {
            m.state = State::Draining;
        }
        self.reprogram();
    }

    pub fn set_rescue(&mut self, rescue: Rescue) {
        self.rescue = rescue;
        self.wake.notify_one();
    }

    fn close_member(&mut self, i: usize) {
        // The kernel moves its last socket into the closed one's place, as swap_remove does.
        self.group.swap_remove(i);
        self.reprogram();
    }

    /// Points the group's program at the sockets in the kernel's choice: the active ones, or,
    /// with none, every one still serving a worker (a stuck worker is better than none).
    fn reprogram(&mut self) {
        if self.udp {
            return;
        }
        let pick = |f: &dyn Fn(&Member) -> bool| -> Vec<u32> {
            (0..self.group.len() as u32)
                .filter(|i| f(&self.group[*i as usize]))
                .collect()
        };
        let mut targets = pick(&|m| m.state == State::Active);
        if targets.is_empty() {
            targets = pick(&|m| !matches!(m.state, State::Leaving { .. }));
        }
        // Until a socket first leaves the kernel's choice no program is needed; after that one
        // stays attached (choosing among all sockets when all are back), which needs nothing of
        // the kernel beyond SO_ATTACH_REUSEPORT_CBPF.
        let everyone = targets.len() == self.group.len();
        if (everyone && self.program.is_none()) || self.program.as_ref() == Some(&targets) {
            return;
        }
        let (Some(first), Some(prog)) = (self.group.first(), bpf::select_program(&targets)) else {
            return;
        };
        // When the kernel refuses, the program it has stays: the queues of the sockets it should
        // leave out are still taken by the monitor.
        if bpf::attach(first.fd.as_fd(), &prog).is_ok() {
            self.program = Some(targets);
        }
    }
}

impl Drop for ReusePort {
    fn drop(&mut self) {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
        self.rotation.clear();
    }
}

/// What one sample of the queues found.
pub(super) enum Tick {
    /// Connections arrive, or sockets are being emptied: keep sampling.
    Busy,
    /// Every queue is empty and no socket is out of the kernel's choice but drained ones.
    Quiet,
    /// The handle is gone.
    Gone,
}

/// Samples every member's accept queue of the handle `key`: marks the stuck, brings the rested
/// back, closes the departed whose time came, and hands on what waits on the sockets taken.
pub(super) fn tick(this: &SchedulerRef, link: &Rc<dyn Link>, key: &str, now: Instant) -> Tick {
    let (conns, back, quiet) = {
        let mut me = this.borrow_mut();
        let Some(Handle::ReusePort(h)) = me.handles.get_mut(key) else {
            return Tick::Gone;
        };
        let window = h.rescue.window;
        let mut changed = false;
        let mut back = Vec::new();
        for m in h.group.iter_mut() {
            let q = bpf::accept_queue(m.fd.as_fd()).unwrap_or(0);
            m.stalled = if q > 0 && q >= m.queued {
                m.stalled + 1
            } else {
                0
            };
            m.queued = q;
            match m.state {
                State::Stuck { until } if now >= until => {
                    m.state = State::Active;
                    m.since = now;
                    m.proven = false;
                    m.stalled = 0;
                    changed = true;
                }
                State::Active if !m.proven && window.is_some_and(|w| now - m.since >= w) => {
                    m.proven = true;
                    back.push(m.worker);
                }
                _ => {}
            }
        }
        let is_stuck = |m: &Member| {
            window.is_some()
                && m.stalled > STALL_SAMPLES
                && matches!(m.state, State::Active | State::Draining)
        };
        // Rescue only when another worker is seen accepting: one that could still be stuck
        // itself (back on probation) does not count.
        let healthy = h
            .group
            .iter()
            .any(|m| m.state == State::Active && m.proven && !is_stuck(m));
        let rest = window.unwrap_or_default() * 5;
        let mut stuck = Vec::new();
        if healthy {
            for (i, m) in h.group.iter_mut().enumerate() {
                if !is_stuck(m) {
                    continue;
                }
                stuck.push(i);
                if m.state == State::Active {
                    m.state = State::Stuck { until: now + rest };
                    changed = true;
                }
                m.stalled = 0;
                h.rotation.unfree(m.worker);
            }
        }
        // Take what waits on the sockets out of the kernel's choice.
        let mut conns = Vec::new();
        for (i, m) in h.group.iter_mut().enumerate() {
            let take = m.taken() || stuck.contains(&i);
            if take && m.queued > 0 {
                take_queue(m, &mut conns);
            }
        }
        // Close departed sockets whose time came, emptied once more just before.
        while let Some(i) = h
            .group
            .iter()
            .position(|m| matches!(m.state, State::Leaving { close_at } if now >= close_at))
        {
            take_queue(&mut h.group[i], &mut conns);
            h.close_member(i);
        }
        if changed {
            h.reprogram();
        }
        let quiet = h
            .group
            .iter()
            .all(|m| m.queued == 0 && matches!(m.state, State::Active | State::Draining));
        (conns, back, quiet)
    };
    if !conns.is_empty() {
        Scheduler::requeue(this, link, key, conns);
    }
    for w in back {
        Scheduler::handoff(this, link, key, w);
    }
    if quiet {
        Tick::Quiet
    } else {
        Tick::Busy
    }
}

/// Accepts what waits on `m`'s socket (at most a batch), which then counts as empty.
fn take_queue(m: &mut Member, into: &mut Vec<Arc<OwnedFd>>) {
    for _ in 0..RESCUE_BATCH {
        match fdpass::accept(m.fd.as_fd()) {
            Ok(Some(c)) => into.push(Arc::new(c)),
            Ok(None) | Err(_) => break,
        }
    }
    m.queued = 0;
}

/// Takes at once what waits on the sockets out of the kernel's choice (a worker just left).
pub(super) fn take_now(this: &SchedulerRef, link: &Rc<dyn Link>, key: &str) {
    let conns = {
        let mut me = this.borrow_mut();
        let Some(Handle::ReusePort(h)) = me.handles.get_mut(key) else {
            return;
        };
        let mut conns = Vec::new();
        for m in h.group.iter_mut().filter(|m| m.taken()) {
            take_queue(m, &mut conns);
        }
        conns
    };
    if !conns.is_empty() {
        Scheduler::requeue(this, link, key, conns);
    }
}

/// The sockets the monitor waits on while quiet, and whether it needs to sample at all.
pub(super) fn watch_list(this: &SchedulerRef, key: &str) -> Option<(Vec<Arc<OwnedFd>>, bool)> {
    let me = this.borrow();
    let Some(Handle::ReusePort(h)) = me.handles.get(key) else {
        return None;
    };
    let busy = h.group.iter().any(Member::taken);
    let fds = if h.rescue.window.is_some() {
        h.group.iter().map(|m| m.fd.clone()).collect()
    } else {
        Vec::new()
    };
    Some((fds, busy))
}

pub(super) fn tick_of(this: &SchedulerRef, key: &str) -> Option<Duration> {
    match this.borrow().handles.get(key) {
        Some(Handle::ReusePort(h)) => Some(h.rescue.tick()),
        _ => None,
    }
}

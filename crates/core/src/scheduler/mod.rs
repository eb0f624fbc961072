//! Server sharing (docs/PROTOCOL.md §4.3-4.10): answering `queryServer`, round-robin distribution of
//! accepted connections, shared handles (SCHED_NONE and UDP), and one socket per worker in a
//! SO_REUSEPORT group (SCHED_REUSEPORT).

pub mod listen;
mod query;
pub mod reuseport;
mod rotation;
pub mod round_robin;
pub mod shared;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::ipc::message::Obj;
use query::{AddressType, QueryServer};
use reuseport::{Rescue, ReusePort};
use rotation::Rotation;
use round_robin::RoundRobin;
use shared::SharedHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `cluster.SCHED_NONE` (1): workers accept on a shared socket.
    None,
    /// `cluster.SCHED_RR` (2): the engine accepts and hands connections out in turn.
    RoundRobin,
    /// `cluster.SCHED_REUSEPORT` (3): one SO_REUSEPORT socket per worker, the kernel spreads
    /// connections, the engine rescues what a stuck or departed worker's socket holds.
    ReusePort,
}

/// How the scheduler reaches workers; implemented by the cluster layer.
pub trait Link {
    /// Sends a NODE_CLUSTER message (`seq` is appended), wrapped in a NODE_HANDLE envelope of
    /// type `envelope` with `fd` when given. Returns the seq used, or None when the worker's
    /// channel is closed (nothing is sent and no seq is used).
    fn send_cluster(
        &self,
        worker: u32,
        msg: Obj,
        envelope: Option<&str>,
        fd: Option<Arc<OwnedFd>>,
    ) -> Option<u64>;
    /// The primary's working directory, for unix socket paths.
    fn cwd(&self) -> Option<std::path::PathBuf>;
    /// Whether `readableAll`/`writableAll` set a unix socket's mode exactly (newer libuv).
    fn exact_pipe_mode(&self) -> bool;
    /// A connection was handed to `worker` (counted for its stats).
    fn handed_off(&self, _worker: u32) {}
    /// `worker`, being drained, has answered every connection handed to it (see `drain`).
    fn drained(&self, _worker: u32) {}
}

pub(crate) enum Handle {
    Rr(RoundRobin),
    Shared(SharedHandle),
    ReusePort(ReusePort),
}

impl Handle {
    /// The connections the engine hands out on this handle to `worker`, if it takes them now
    /// (a reuseport worker that is stuck, drained or on probation does not).
    fn rotation_for(&mut self, worker: u32) -> Option<&mut Rotation> {
        match self {
            Handle::Rr(h) => Some(&mut h.rotation),
            Handle::ReusePort(h) if h.takes_connections(worker) => Some(&mut h.rotation),
            Handle::ReusePort(_) | Handle::Shared(_) => None,
        }
    }

    /// The connections the engine hands out on this handle, and the workers taking them.
    fn rotation_mut(&mut self) -> Option<&mut Rotation> {
        match self {
            Handle::Rr(h) => Some(&mut h.rotation),
            Handle::ReusePort(h) => Some(&mut h.rotation),
            Handle::Shared(_) => None,
        }
    }

    fn has(&self, worker: u32) -> bool {
        match self {
            Handle::Rr(h) => h.rotation.has(worker),
            Handle::Shared(h) => h.has(worker),
            Handle::ReusePort(h) => h.has(worker),
        }
    }
}

/// A connection handed to a worker and not yet answered.
struct InFlight {
    key: String,
    conn: Arc<OwnedFd>,
}

pub struct Scheduler {
    policy: Policy,
    handles: HashMap<String, Handle>,
    /// The first truthy `data` seen per key, echoed in every reply (TLS ticket keys).
    data: HashMap<String, Value>,
    in_flight: HashMap<(u32, u64), InFlight>,
    /// Workers taken out of rotation (`drain`): they get no new connection on any handle.
    draining: HashSet<u32>,
    /// Drained workers whose answers to connections already handed to them are awaited.
    settling: HashSet<u32>,
    /// Listening sockets the primary inherited (systemd socket activation), by local address:
    /// a worker's listen() on a matching address is served from one instead of a new bind.
    inherited: Vec<Inherited>,
    /// SCHED_REUSEPORT's stuck-worker rescue.
    rescue: Rescue,
}

/// A socket passed to the primary by its parent (LISTEN_FDS); the process owns the descriptor
/// for its whole life, so it is used by number and never closed here.
#[derive(Clone, Copy, Debug)]
struct Inherited {
    fd: i32,
    addr: std::net::SocketAddr,
    ty: nix::sys::socket::SockType,
}

pub type SchedulerRef = Rc<RefCell<Scheduler>>;

impl Scheduler {
    pub fn new() -> SchedulerRef {
        Rc::new(RefCell::new(Scheduler {
            policy: Policy::RoundRobin,
            handles: HashMap::new(),
            data: HashMap::new(),
            in_flight: HashMap::new(),
            draining: HashSet::new(),
            settling: HashSet::new(),
            inherited: Vec::new(),
            rescue: Rescue::default(),
        }))
    }

    pub fn set_policy(&mut self, p: Policy) {
        self.policy = p;
    }

    /// The rescue window of SCHED_REUSEPORT (None: a stuck worker's queue is left to it).
    pub fn set_rescue(&mut self, window: Option<std::time::Duration>) {
        self.rescue = Rescue { window };
        for h in self.handles.values_mut() {
            if let Handle::ReusePort(r) = h {
                r.set_rescue(self.rescue);
            }
        }
    }

    /// Takes the listening sockets the primary inherited (descriptor numbers); what is not an IP
    /// socket is ignored.
    pub fn set_inherited(&mut self, fds: &[i32]) {
        self.inherited = fds
            .iter()
            .filter_map(|&fd| {
                // Looked at through a duplicate, closed again at once.
                let dup = crate::ipc::fdpass::dup_borrowed(fd).ok()?;
                Some(Inherited {
                    fd,
                    addr: listen::local_addr(dup.as_fd())?,
                    ty: listen::sock_type(dup.as_fd())?,
                })
            })
            .collect();
    }

    /// The inherited socket that serves a query for `address:port`: the same port and kind, and
    /// the same address unless either side is unspecified (all addresses).
    fn inherited_for(&self, q: &QueryServer) -> Option<i64> {
        if q.fd.is_some() {
            return None;
        }
        let port = q.port.filter(|p| *p > 0)?;
        let ty = match q.address_type {
            AddressType::Tcp => nix::sys::socket::SockType::Stream,
            AddressType::Udp4 | AddressType::Udp6 => nix::sys::socket::SockType::Datagram,
            AddressType::Pipe => return None,
        };
        let wanted: Option<std::net::IpAddr> = q.address.as_deref().and_then(|a| a.parse().ok());
        self.inherited
            .iter()
            .find(|i| {
                i.ty == ty
                    && i64::from(i.addr.port()) == port
                    && (i.addr.ip().is_unspecified()
                        || wanted.is_none_or(|w| w.is_unspecified() || w == i.addr.ip()))
            })
            .map(|i| i64::from(i.fd))
    }

    /// Answers a worker's `queryServer`.
    pub fn query_server(
        this: &SchedulerRef,
        link: &Rc<dyn Link>,
        worker: u32,
        msg: &Map<String, Value>,
    ) {
        let mut q = QueryServer::parse(msg);
        let mut me = this.borrow_mut();
        if let Some(fd) = me.inherited_for(&q) {
            q.fd = Some(fd);
        }
        let key = q.key.as_str();
        if let Some(d) = &q.data {
            me.data.entry(q.key.clone()).or_insert_with(|| d.clone());
        }
        let data = me.data.get(key).cloned().unwrap_or(Value::Null);
        let reply = |errno: Value| {
            Obj::cluster()
                .with("errno", errno)
                .with("key", key)
                .with("ack", q.ack.clone())
                .with("data", data.clone())
        };

        if me.policy == Policy::ReusePort && reuseport::serves(&q) {
            let joined = match me.handles.get_mut(key) {
                Some(Handle::ReusePort(h)) => h.join(worker, &q),
                Some(_) => return,
                None => {
                    let rescue = me.rescue;
                    ReusePort::create(this, link, &q, worker, rescue).map(|h| {
                        me.handles.insert(q.key.clone(), Handle::ReusePort(h));
                    })
                }
            };
            let Some(Handle::ReusePort(h)) = me.handles.get(key) else {
                // Its first member failed: the error below is the reply.
                me.data.remove(key);
                drop(me);
                let errno = joined.err().unwrap_or(libc::EINVAL);
                link.send_cluster(worker, reply(Value::from(-errno)), None, None);
                return;
            };
            let sent = match joined {
                Ok(()) => h.fd_of(worker).map(|fd| (h.kind(), fd)),
                Err(errno) => {
                    drop(me);
                    link.send_cluster(worker, reply(Value::from(-errno)), None, None);
                    return;
                }
            };
            drop(me);
            if let Some((kind, fd)) = sent {
                link.send_cluster(worker, reply(Value::from(0)), Some(kind), Some(fd));
                // Free for rescued connections from now on.
                Scheduler::handoff(this, link, key, worker);
            }
            return;
        }

        if me.policy == Policy::None || q.is_udp() {
            if !me.handles.contains_key(key) {
                match SharedHandle::create(&q, link.cwd()) {
                    Ok(h) => {
                        me.handles.insert(q.key.clone(), Handle::Shared(h));
                    }
                    Err(errno) => {
                        me.data.remove(key);
                        drop(me);
                        link.send_cluster(worker, reply(Value::from(-errno)), None, None);
                        return;
                    }
                }
            }
            let Some(Handle::Shared(h)) = me.handles.get_mut(key) else {
                // The key is held by a round-robin handle (policy changed): should not happen.
                return;
            };
            h.add(worker);
            let fd = h.fd();
            let kind = h.kind();
            drop(me);
            link.send_cluster(worker, reply(Value::from(0)), Some(kind), Some(fd));
            return;
        }

        if !me.handles.contains_key(key) {
            match RoundRobin::create(this, link, &q) {
                Ok(h) => {
                    me.handles.insert(q.key.clone(), Handle::Rr(h));
                }
                Err(errno) => {
                    me.data.remove(key);
                    drop(me);
                    link.send_cluster(worker, reply(Value::from(-errno)), None, None);
                    return;
                }
            }
        }
        let Some(Handle::Rr(h)) = me.handles.get_mut(key) else {
            return;
        };
        h.rotation.add(worker);
        let mut r = reply(Value::Null);
        if let Some(s) = h.sockname() {
            r = r.with("sockname", s);
        }
        drop(me);
        link.send_cluster(worker, r, None, None);
        Scheduler::handoff(this, link, key, worker);
    }

    /// Offers the next queued connection of `key` to `worker`, or marks the worker free.
    pub(crate) fn handoff(this: &SchedulerRef, link: &Rc<dyn Link>, key: &str, worker: u32) {
        let conn = {
            let mut me = this.borrow_mut();
            if me.draining.contains(&worker) {
                return;
            }
            let Some(conn) = me
                .handles
                .get_mut(key)
                .and_then(|h| h.rotation_for(worker))
                .and_then(|r| r.take_for(worker))
            else {
                return;
            };
            conn
        };
        let msg = Obj::cluster().with("act", "newconn").with("key", key);
        if let Some(seq) = link.send_cluster(worker, msg, Some("net.Native"), Some(conn.clone())) {
            link.handed_off(worker);
            this.borrow_mut().in_flight.insert(
                (worker, seq),
                InFlight {
                    key: key.to_string(),
                    conn,
                },
            );
            return;
        }
        // The worker's channel is gone: keep the connection for someone else and take the
        // worker off this handle (which closes the handle if it was the last one).
        if let Some(r) = this
            .borrow_mut()
            .handles
            .get_mut(key)
            .and_then(Handle::rotation_mut)
        {
            r.requeue_front(conn);
        }
        Scheduler::remove_from(this, link, worker, key);
    }

    /// A new connection accepted on a round-robin handle.
    pub(crate) fn on_connection(
        this: &SchedulerRef,
        link: &Rc<dyn Link>,
        key: &str,
        conn: OwnedFd,
    ) {
        Scheduler::requeue(this, link, key, [Arc::new(conn)]);
    }

    /// Queues connections on the round-robin handle of `key` and hands them out to free
    /// workers, oldest first, one each; the rest wait for a worker to be done. With the handle
    /// gone, the connections close.
    fn requeue(
        this: &SchedulerRef,
        link: &Rc<dyn Link>,
        key: &str,
        conns: impl IntoIterator<Item = Arc<OwnedFd>>,
    ) {
        let free = {
            let mut me = this.borrow_mut();
            let Some(h) = me.handles.get_mut(key).and_then(Handle::rotation_mut) else {
                return;
            };
            for c in conns {
                h.enqueue(c);
            }
            h.pop_free_for_queued()
        };
        for w in free {
            Scheduler::handoff(this, link, key, w);
        }
    }

    /// Whether a connection handed to `worker` waits for its answer.
    pub fn awaits_answer_from(&self, worker: u32) -> bool {
        self.in_flight.keys().any(|(w, _)| *w == worker)
    }

    /// A reply (`ack`) from a worker; returns false if it answered nothing of the scheduler's.
    pub fn on_reply(
        this: &SchedulerRef,
        link: &Rc<dyn Link>,
        worker: u32,
        ack: u64,
        msg: &Map<String, Value>,
    ) -> bool {
        let Some(InFlight { key, conn }) = this.borrow_mut().in_flight.remove(&(worker, ack))
        else {
            return false;
        };
        Scheduler::settle(this, link, worker);
        let accepted = matches!(msg.get("accepted"), Some(v) if !matches!(v, Value::Null | Value::Bool(false)));
        if accepted {
            // Our copy of the connection closes as the last Arc goes away.
            drop(conn);
        } else {
            Scheduler::requeue(this, link, &key, [conn]);
        }
        Scheduler::handoff(this, link, &key, worker);
        true
    }

    /// A worker closed one server (`act: 'close'`).
    pub fn close(this: &SchedulerRef, link: &Rc<dyn Link>, worker: u32, key: &str) {
        Scheduler::remove_from(this, link, worker, key);
    }

    fn remove_from(this: &SchedulerRef, link: &Rc<dyn Link>, worker: u32, key: &str) {
        let mut me = this.borrow_mut();
        let (last, reuseport) = match me.handles.get_mut(key) {
            Some(Handle::Rr(h)) => (h.rotation.remove(worker), false),
            Some(Handle::Shared(h)) => (h.remove(worker), false),
            Some(Handle::ReusePort(h)) => (h.remove(worker, std::time::Instant::now()), true),
            None => return,
        };
        // Connections in flight to this worker on this key go back to the queue.
        let mine: Vec<(u32, u64)> = me
            .in_flight
            .iter()
            .filter(|(k, f)| k.0 == worker && f.key == key)
            .map(|(k, _)| *k)
            .collect();
        let mut back = Vec::new();
        for k in mine {
            if let Some(f) = me.in_flight.remove(&k) {
                back.push(f.conn);
            }
        }
        if last {
            if let Some(h) = me.handles.remove(key) {
                drop(h);
            }
            me.data.remove(key);
            drop(me);
            Scheduler::settle(this, link, worker);
            return;
        }
        drop(me);
        Scheduler::settle(this, link, worker);
        Scheduler::requeue(this, link, key, back);
        if reuseport {
            // What already waits on the departed worker's socket goes to the others now.
            reuseport::take_now(this, link, key);
        }
    }

    /// Reports a drained worker once nothing handed to it waits for its answer.
    fn settle(this: &SchedulerRef, link: &Rc<dyn Link>, worker: u32) {
        let done = {
            let mut me = this.borrow_mut();
            let waiting = me.in_flight.keys().any(|(w, _)| *w == worker);
            !waiting && me.settling.remove(&worker)
        };
        if done {
            link.drained(worker);
        }
    }

    /// Takes `worker` out of rotation on every round-robin handle: it gets no new connection
    /// (what it was handed stays with it), and connections wait for the other workers. It stays
    /// on the handles, so they keep listening while a replacement joins. `Link::drained` follows
    /// once the worker has answered every connection already on its way to it.
    pub fn drain(this: &SchedulerRef, link: &Rc<dyn Link>, worker: u32) {
        {
            let mut me = this.borrow_mut();
            me.draining.insert(worker);
            me.settling.insert(worker);
            for h in me.handles.values_mut() {
                match h {
                    Handle::Rr(r) => r.rotation.unfree(worker),
                    Handle::ReusePort(r) => r.drain(worker),
                    Handle::Shared(_) => {}
                }
            }
        }
        Scheduler::settle(this, link, worker);
    }

    /// The worker left (disconnect or exit): remove it from every handle.
    pub fn remove_worker(this: &SchedulerRef, link: &Rc<dyn Link>, worker: u32) {
        let keys: Vec<String> = {
            let me = this.borrow();
            me.handles
                .iter()
                .filter(|(_, h)| h.has(worker))
                .map(|(k, _)| k.clone())
                .collect()
        };
        for k in keys {
            Scheduler::remove_from(this, link, worker, &k);
        }
        // In-flight connections on handles the worker had already left.
        let stale: Vec<(u32, u64)> = this
            .borrow()
            .in_flight
            .keys()
            .filter(|k| k.0 == worker)
            .copied()
            .collect();
        for k in stale {
            let f = this.borrow_mut().in_flight.remove(&k);
            if let Some(f) = f {
                Scheduler::requeue(this, link, &f.key, [f.conn]);
            }
        }
        Scheduler::settle(this, link, worker);
        this.borrow_mut().draining.remove(&worker);
    }
}

//! The scheduler through its `Link` seam: a `FakeLink` records what would go to each worker,
//! while the sockets are real (loopback TCP, unix, UDP) and the accept loop runs on a
//! current-thread runtime, as on the engine thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{Handle, Link, Policy, Scheduler, SchedulerRef};
use crate::ipc::message::Obj;

mod distribution;
mod replies;
mod reuseport;

/// One message the scheduler sent.
struct Sent {
    worker: u32,
    seq: u64,
    /// The message as it would be framed (before the channel appends `seq`).
    text: String,
    msg: Value,
    envelope: Option<String>,
    /// The descriptor sent, without keeping it open: the primary's copy is the scheduler's.
    fd: Option<Weak<OwnedFd>>,
    /// For a connection, the client's address (its peer).
    peer: Option<SocketAddr>,
}

#[derive(Default)]
struct FakeLink {
    sent: RefCell<Vec<Sent>>,
    seqs: RefCell<HashMap<u32, u64>>,
    /// Workers whose channel is closed: sends to them fail.
    closed: RefCell<Vec<u32>>,
    /// `Link::drained` reports, in order.
    drained: RefCell<Vec<u32>>,
}

impl Link for FakeLink {
    fn send_cluster(
        &self,
        worker: u32,
        msg: Obj,
        envelope: Option<&str>,
        fd: Option<Arc<OwnedFd>>,
    ) -> Option<u64> {
        if self.closed.borrow().contains(&worker) {
            return None;
        }
        let mut seqs = self.seqs.borrow_mut();
        let seq = seqs.entry(worker).or_insert(0);
        *seq += 1;
        let msg = msg.into_value();
        let peer = fd.as_ref().and_then(|fd| {
            let dup = fd.try_clone().ok()?;
            TcpStream::from(dup).peer_addr().ok()
        });
        self.sent.borrow_mut().push(Sent {
            worker,
            seq: *seq,
            text: serde_json::to_string(&msg).expect("serializable"),
            msg,
            envelope: envelope.map(str::to_string),
            fd: fd.as_ref().map(Arc::downgrade),
            peer,
        });
        Some(*seq)
    }
    fn cwd(&self) -> Option<PathBuf> {
        None
    }
    fn exact_pipe_mode(&self) -> bool {
        false
    }
    fn drained(&self, worker: u32) {
        self.drained.borrow_mut().push(worker);
    }
}

impl FakeLink {
    fn count(&self) -> usize {
        self.sent.borrow().len()
    }
    /// The `i`th message sent, as framed text.
    fn text(&self, i: usize) -> String {
        self.sent.borrow()[i].text.clone()
    }
    /// Who got which connection, from the `from`th message on: (worker, client address).
    fn handed(&self, from: usize) -> Vec<(u32, SocketAddr)> {
        self.newconns(from)
            .iter()
            .map(|(w, _, p)| (*w, *p))
            .collect()
    }
    /// The `newconn`s sent from the `from`th message on: (worker, seq, client address).
    fn newconns(&self, from: usize) -> Vec<(u32, u64, SocketAddr)> {
        self.sent.borrow()[from..]
            .iter()
            .filter(|s| s.msg["act"] == "newconn")
            .map(|s| (s.worker, s.seq, s.peer.expect("a connection")))
            .collect()
    }
}

struct Fixture {
    sched: SchedulerRef,
    fake: Rc<FakeLink>,
    link: Rc<dyn Link>,
}

impl Fixture {
    fn new(policy: Policy) -> Fixture {
        let sched = Scheduler::new();
        sched.borrow_mut().set_policy(policy);
        let fake = Rc::new(FakeLink::default());
        let link: Rc<dyn Link> = fake.clone();
        Fixture { sched, fake, link }
    }

    /// Sends a worker's queryServer; returns the index of the scheduler's reply.
    /// A round-robin fixture whose `workers` share one TCP server on a port of its choosing:
    /// the fixture, the server's address, and the count of messages sent so far.
    fn round_robin(workers: &[u32]) -> (Fixture, SocketAddr, usize) {
        let f = Fixture::new(Policy::RoundRobin);
        let mut addr = None;
        for &w in workers {
            let r = f.query(w, tcp_query(0, 0, 1));
            addr.get_or_insert_with(|| sockname(&f.fake, r));
        }
        let start = f.fake.count();
        (f, addr.expect("at least one worker"), start)
    }

    fn query(&self, worker: u32, msg: Value) -> usize {
        let Value::Object(map) = msg else {
            panic!("a query is an object")
        };
        let before = self.fake.count();
        Scheduler::query_server(&self.sched, &self.link, worker, &map);
        assert!(self.fake.count() > before, "queryServer is answered");
        let sent = self.fake.sent.borrow();
        assert_eq!(sent[before].worker, worker);
        before
    }

    /// A worker's answer to the `newconn` it got with `seq`.
    fn answer(&self, worker: u32, seq: u64, accepted: bool) {
        let map = object(json!({
            "cmd": "NODE_CLUSTER", "ack": seq, "accepted": accepted, "seq": 100 + seq
        }));
        assert!(Scheduler::on_reply(
            &self.sched,
            &self.link,
            worker,
            seq,
            &map
        ));
    }

    fn remove_worker(&self, worker: u32) {
        Scheduler::remove_worker(&self.sched, &self.link, worker);
    }

    fn close(&self, worker: u32, key: &str) {
        Scheduler::close(&self.sched, &self.link, worker, key);
    }

    /// Connects a client and waits for the scheduler to hand the connection out (or, with no
    /// worker free, to have accepted and queued it).
    async fn connect(&self, addr: SocketAddr, handed: bool) -> TcpStream {
        let before = self.fake.newconns(0).len();
        let queued = self.queued();
        let client = TcpStream::connect(addr).expect("connect");
        if handed {
            let fake = self.fake.clone();
            until("a newconn", move || fake.newconns(0).len() > before).await;
        } else {
            until("a queued connection", || self.queued() > queued).await;
            assert_eq!(self.fake.newconns(0).len(), before, "no worker free");
        }
        client
    }

    /// The connections waiting in the round-robin handles.
    fn queued(&self) -> usize {
        let me = self.sched.borrow();
        me.handles
            .values()
            .map(|h| match h {
                Handle::Rr(r) => r.rotation.queued(),
                Handle::ReusePort(r) => r.rotation.queued(),
                Handle::Shared(_) => 0,
            })
            .sum()
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// What `server.listen(0, '127.0.0.1')` sends (with `index` and `seq`).
fn tcp_query(index: u32, port: u16, seq: u64) -> Value {
    json!({
        "cmd": "NODE_CLUSTER", "act": "queryServer", "index": index, "data": null,
        "address": "127.0.0.1", "port": port, "addressType": 4, "flags": 0, "backlog": 0,
        "seq": seq
    })
}

fn run<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tokio::task::LocalSet::new().block_on(&rt, f)
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Gives the accept loop time to act on anything pending.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

/// The address a round-robin reply reports.
fn sockname(fake: &FakeLink, reply: usize) -> SocketAddr {
    let sent = fake.sent.borrow();
    let s = &sent[reply].msg["sockname"];
    let ip = s["address"].as_str().expect("address");
    let port = s["port"].as_u64().expect("port");
    format!("{ip}:{port}").parse().expect("an address")
}

fn local(c: &TcpStream) -> SocketAddr {
    c.local_addr().expect("local address")
}

/// Whether the server side of `c` was closed (EOF or reset) rather than still open.
fn closed_by_server(c: &mut TcpStream) -> bool {
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut b = [0u8; 1];
    match c.read(&mut b) {
        Ok(0) => true,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
        _ => false,
    }
}

fn unique_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rc-sched-{}-{name}.sock", std::process::id()))
}

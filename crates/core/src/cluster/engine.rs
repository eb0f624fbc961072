//! The engine's shared state: what the host's thread and the engine thread both reach (`Shared`:
//! the channels, the event queue, the batch), the engine thread's own (`Core`), and how the
//! scheduler reaches workers (`CoreLink`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::os::fd::{OwnedFd, RawFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::mpsc;

use super::event::{Credit, Event};
use super::host::ReadSide;
use crate::error::EngineError;
use crate::ipc::advanced;
use crate::ipc::channel::{Channel, Completion, Origin};
use crate::ipc::frame::Mode;
use crate::ipc::message::{handle_envelope, json_frame, Obj};
use crate::process::spawn::SpawnRequest;
use crate::process::warden::Warden;
use crate::scheduler::{Link, Policy, SchedulerRef};

/// What `spawn` hands back: the pid and the primary's ends of the stdio pipes (by index; the
/// caller owns these descriptors).
#[derive(Debug)]
pub struct SpawnResult {
    pub pid: i32,
    pub stdio: Vec<Option<RawFd>>,
}

pub(super) enum Command {
    Spawn {
        id: u32,
        req: SpawnRequest,
        channel: ChannelOptions,
        reply: std::sync::mpsc::Sender<Result<SpawnResult, EngineError>>,
    },
    Detach {
        id: u32,
    },
    SetPolicy(Policy),
    /// SCHED_REUSEPORT's rescue window (`Cluster::set_rescue_window`).
    SetRescue(Option<std::time::Duration>),
    /// Listening sockets inherited from systemd (`Cluster::inherit_listeners`).
    Inherit {
        fds: Vec<i32>,
    },
    /// Stop handing worker `id` new connections (`Cluster::drain`); `done` once applied.
    Drain {
        id: u32,
        done: std::sync::mpsc::Sender<()>,
    },
}

/// How a worker's channel is read.
#[derive(Clone, Copy, Debug)]
pub struct ChannelOptions {
    pub mode: Mode,
    /// Largest frame accepted from the worker before it is disconnected as hostile.
    pub max_frame: usize,
}

/// A live worker process, from its spawn to its exit: what `Cluster::stats` reports beside the
/// figures of /proc.
pub(crate) struct ProcEntry {
    pub pid: i32,
    pub started: std::time::Instant,
    /// Connections handed to it by round-robin so far.
    pub handed: u64,
}

pub(crate) struct ChannelEntry {
    pub channel: Arc<Channel>,
    pub mode: Mode,
    /// The worker's reader and whose turn it is to read (cluster/host.rs).
    pub side: Arc<ReadSide>,
}

/// Whose turn it is to read a worker's channel (cluster/host.rs has the why).
pub(crate) struct ReadTurn {
    mode: AtomicU8,
    /// Wakes the worker's task: reading is the engine's again.
    pub(super) taken_back: tokio::sync::Notify,
    /// Host reads so far (the watchdog tells a blocked host from an idle one by it).
    pub(super) host_reads: AtomicU64,
}

/// The engine's worker task reads the channel.
const ENGINE: u8 = 0;
/// The engine offered reading to the host, which has not started its poll yet.
const OFFERED: u8 = 1;
/// The host's poll reads the channel.
const HOST: u8 = 2;

impl ReadTurn {
    pub(super) fn new() -> ReadTurn {
        ReadTurn {
            mode: AtomicU8::new(ENGINE),
            taken_back: tokio::sync::Notify::new(),
            host_reads: AtomicU64::new(0),
        }
    }

    pub(super) fn engine_reads(&self) -> bool {
        self.mode.load(Ordering::Acquire) == ENGINE
    }

    pub(super) fn is_host(&self) -> bool {
        self.mode.load(Ordering::Acquire) == HOST
    }

    /// Reading is the engine's from now on; its task is woken to read.
    pub(super) fn take_back(&self) {
        if self.mode.swap(ENGINE, Ordering::AcqRel) != ENGINE {
            self.taken_back.notify_one();
        }
    }

    /// The engine offers reading to the host (it must be reading itself).
    fn offer(&self) -> bool {
        self.mode
            .compare_exchange(ENGINE, OFFERED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The host accepts an offer; false if the engine took it back meanwhile.
    pub(super) fn accept(&self) -> bool {
        self.mode
            .compare_exchange(OFFERED, HOST, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Reading channels on the host's thread: whether the host can, and what changed for its polls.
#[derive(Default)]
pub(crate) struct HostPolls {
    pub(super) enabled: AtomicBool,
    /// Workers whose reading was offered to the host, and workers whose channel is gone.
    pub(super) changes: Mutex<(Vec<u32>, Vec<u32>)>,
}

/// What waits for the host: the events, and the claims on the workers' backlogs for the
/// messages among them (released when the host takes them).
#[derive(Default)]
pub(super) struct Queue {
    pub(super) events: Vec<Event>,
    pub(super) credits: Vec<Credit>,
}

pub(crate) struct Shared {
    pub(super) cmd: mpsc::UnboundedSender<Command>,
    pub(crate) channels: Mutex<HashMap<u32, ChannelEntry>>,
    pub(super) events: Mutex<Queue>,
    pub(super) scheduled: AtomicBool,
    pub(super) wake: Box<dyn Fn() + Send + Sync>,
    /// The primary's NODE_CLUSTER sequence number, shared by all workers (§4.1).
    pub(super) seq: AtomicU64,
    pub(super) exact_pipe_mode: AtomicBool,
    /// Workers whose every internal message is also reported (`Event::Internal`): JS listens for
    /// `internalMessage` on their process object.
    pub(super) watched: Mutex<HashSet<u32>>,
    /// A batch is open (`Cluster::begin_batch`): small user sends are corked.
    pub(super) batching: AtomicBool,
    /// Workers whose channel holds corked frames.
    pub(super) corked: Mutex<Vec<u32>>,
    /// Live worker processes by id.
    pub(crate) procs: Mutex<HashMap<u32, ProcEntry>>,
    /// The resident memory limit in bytes (0: none), and the wake-up of its watch when set.
    pub(super) memory_limit: AtomicU64,
    pub(super) memory_wake: tokio::sync::Notify,
    /// Reading channels on the host's thread (cluster/host.rs).
    pub(super) host: HostPolls,
    /// Wakes the host-read watchdog when a channel is offered to the host.
    pub(super) watchdog_wake: tokio::sync::Notify,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn push(&self, ev: Event) {
        self.push_all(std::iter::once(ev));
    }

    pub(crate) fn push_all(&self, evs: impl IntoIterator<Item = Event>) {
        self.push_read(evs, None);
    }

    /// Reports sends to worker `id` that finished or failed after they had to wait.
    pub(crate) fn push_send_done(&self, id: u32, done: Vec<Completion>) {
        self.push_all(done.into_iter().map(|c| Event::SendDone {
            id,
            token: c.token,
            error: c.error,
        }));
    }

    /// Like `push_read`, without the wake-up: for the host's own reads, which it delivers at once
    /// (`Cluster::drain_events` right after `HostReader::read`).
    pub(crate) fn push_read_quiet(&self, evs: Vec<Event>, credit: Option<Credit>) {
        let mut q = lock(&self.events);
        q.events.extend(evs);
        q.credits.extend(credit);
    }

    /// `push_all` for what one read of a worker's channel gave: `credit` counts its messages
    /// against the worker's backlog until the host takes them.
    pub(crate) fn push_read(&self, evs: impl IntoIterator<Item = Event>, credit: Option<Credit>) {
        let mut q = lock(&self.events);
        let before = q.events.len();
        q.events.extend(evs);
        let added = q.events.len() > before;
        q.credits.extend(credit);
        drop(q);
        if added && !self.scheduled.swap(true, Ordering::AcqRel) {
            (self.wake)();
        }
    }

    /// Whether JS wants this worker's internal messages (see `Cluster::watch_internal`).
    pub(crate) fn watched(&self, id: u32) -> bool {
        lock(&self.watched).contains(&id)
    }

    pub(crate) fn watch(&self, id: u32, on: bool) {
        let mut w = lock(&self.watched);
        if on {
            w.insert(id);
        } else {
            w.remove(&id);
        }
    }

    /// Offers reading worker `id`'s channel to the host: it starts its poll when it next takes
    /// events (woken now if nothing else would wake it).
    pub(super) fn offer_host(&self, id: u32, turn: &ReadTurn) -> bool {
        if !self.host.enabled.load(Ordering::Acquire) || !turn.offer() {
            return false;
        }
        lock(&self.host.changes).0.push(id);
        self.watchdog_wake.notify_one();
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            (self.wake)();
        }
        true
    }

    /// Worker `id`'s channel is gone: the host closes its poll.
    pub(super) fn end_host(&self, id: u32) {
        if !self.host.enabled.load(Ordering::Acquire) {
            return;
        }
        lock(&self.host.changes).1.push(id);
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            (self.wake)();
        }
    }

    /// The engine waits for worker `id`'s answer: it reads that channel itself until then.
    pub(super) fn engine_reads(&self, id: u32) {
        if let Some(e) = lock(&self.channels).get(&id) {
            e.side.turn.take_back();
        }
    }

    pub(super) fn entry(&self, id: u32) -> Option<(Arc<Channel>, Mode)> {
        lock(&self.channels)
            .get(&id)
            .map(|e| (e.channel.clone(), e.mode))
    }

    /// Sends a NODE_CLUSTER message from any thread; None when the channel is closed.
    pub(crate) fn send_cluster(
        &self,
        id: u32,
        msg: Obj,
        envelope: Option<&str>,
        fd: Option<Arc<OwnedFd>>,
    ) -> Option<u64> {
        self.send_cluster_in(id, msg, envelope, fd, Origin::Engine)
    }

    /// Like `send_cluster`, from `origin` (`Origin::Js` for a message JS sends in its own
    /// order; see `Channel::send`).
    pub(crate) fn send_cluster_in(
        &self,
        id: u32,
        msg: Obj,
        envelope: Option<&str>,
        fd: Option<Arc<OwnedFd>>,
        origin: Origin,
    ) -> Option<u64> {
        let (ch, mode) = self.entry(id)?;
        if ch.is_closed() {
            return None;
        }
        let seq = self.seq.fetch_add(1, Ordering::AcqRel);
        let mut v = msg.with("seq", seq).into_value();
        if let Some(kind) = envelope {
            v = handle_envelope(kind, v);
        }
        let bytes = encode(mode, &v);
        let awaits_answer = fd.is_some();
        let sent = ch
            .send(Cow::Owned(bytes), fd, None, origin)
            .ok()
            .map(|_| seq);
        if awaits_answer && sent.is_some() {
            self.engine_reads(id);
        }
        sent
    }
}

pub(crate) fn encode(mode: Mode, v: &Value) -> Vec<u8> {
    match mode {
        Mode::Json => json_frame(v),
        Mode::Advanced => advanced::encode_frame(v),
    }
}

/// Engine-thread state.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    pub(crate) sched: SchedulerRef,
    /// Workers whose `exitedAfterDisconnect` is set: their `queryServer`s are ignored.
    pub(crate) detached: RefCell<std::collections::HashSet<u32>>,
    /// How the scheduler reaches workers.
    pub(crate) link: Rc<dyn Link>,
    /// Kills workers left running after the primary is gone (started at the first spawn).
    pub(super) warden: RefCell<WardenState>,
}

pub(super) enum WardenState {
    NotStarted,
    Running(Warden),
    /// The warden could not be started or went away: workers get a parent-death signal instead.
    Unavailable,
}

pub(super) struct CoreLink {
    pub(super) shared: Arc<Shared>,
}

impl Link for CoreLink {
    fn send_cluster(
        &self,
        worker: u32,
        msg: Obj,
        envelope: Option<&str>,
        fd: Option<Arc<OwnedFd>>,
    ) -> Option<u64> {
        self.shared.send_cluster(worker, msg, envelope, fd)
    }
    fn cwd(&self) -> Option<PathBuf> {
        std::env::current_dir().ok()
    }
    fn drained(&self, worker: u32) {
        self.shared.push(Event::Drained { id: worker });
    }
    fn handed_off(&self, worker: u32) {
        if let Some(p) = lock(&self.shared.procs).get_mut(&worker) {
            p.handed += 1;
        }
    }
    fn exact_pipe_mode(&self) -> bool {
        self.shared.exact_pipe_mode.load(Ordering::Acquire)
    }
}

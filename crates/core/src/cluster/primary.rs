//! The engine's public face (`Cluster`) and its thread.
//!
//! `Cluster` is used from the host's (JS) thread. Sends go straight to the worker's channel from
//! the calling thread (no thread hop); everything stateful (spawning, the worker table, server
//! sharing, reading channels, watching exits) runs on one engine thread with a single-threaded
//! tokio runtime. Events go back through a queue and a wake-up callback, so one wake-up can carry
//! many events.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::mpsc;

use super::event::{Credit, Event};
use super::worker;
use crate::error::EngineError;
use crate::ipc::channel::{Channel, Payload, SendFailure, SendStatus};
use crate::ipc::frame::Mode;
use crate::ipc::message::{handle_envelope, json_frame, Obj};
use crate::ipc::{advanced, fdpass};
use crate::process::spawn::{self, SpawnRequest, Stdio};
use crate::process::warden::Warden;
use crate::scheduler::{Link, Policy, Scheduler, SchedulerRef};

/// What `spawn` hands back: the pid and the primary's ends of the stdio pipes (by index; the
/// caller owns these descriptors).
#[derive(Debug)]
pub struct SpawnResult {
    pub pid: i32,
    pub stdio: Vec<Option<RawFd>>,
}

enum Command {
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
}

/// How a worker's channel is read.
#[derive(Clone, Copy, Debug)]
pub struct ChannelOptions {
    pub mode: Mode,
    /// Largest frame accepted from the worker before it is disconnected as hostile.
    pub max_frame: usize,
}

pub(crate) struct ChannelEntry {
    pub channel: Arc<Channel>,
    pub mode: Mode,
}

/// What waits for the host: the events, and the claims on the workers' backlogs for the
/// messages among them (released when the host takes them).
#[derive(Default)]
struct Queue {
    events: Vec<Event>,
    credits: Vec<Credit>,
}

pub(crate) struct Shared {
    cmd: mpsc::UnboundedSender<Command>,
    pub(crate) channels: Mutex<HashMap<u32, ChannelEntry>>,
    events: Mutex<Queue>,
    scheduled: AtomicBool,
    wake: Box<dyn Fn() + Send + Sync>,
    /// The primary's NODE_CLUSTER sequence number, shared by all workers (§4.1).
    seq: AtomicU64,
    exact_pipe_mode: AtomicBool,
    /// Workers whose every internal message is also reported (`Event::Internal`): JS listens for
    /// `internalMessage` on their process object.
    watched: Mutex<HashSet<u32>>,
    /// A batch is open (`Cluster::begin_batch`): small user sends are corked.
    batching: AtomicBool,
    /// Workers whose channel holds corked frames.
    corked: Mutex<Vec<u32>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn push(&self, ev: Event) {
        self.push_all(std::iter::once(ev));
    }

    pub(crate) fn push_all(&self, evs: impl IntoIterator<Item = Event>) {
        self.push_read(evs, None);
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

    fn entry(&self, id: u32) -> Option<(Arc<Channel>, Mode)> {
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
        self.send_cluster_in(id, msg, envelope, fd, false)
    }

    /// Like `send_cluster`; `in_place` for a message JS sends in its own order (see
    /// `Channel::send_reporting`).
    pub(crate) fn send_cluster_in(
        &self,
        id: u32,
        msg: Obj,
        envelope: Option<&str>,
        fd: Option<Arc<OwnedFd>>,
        in_place: bool,
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
        ch.send_reporting(Payload::Vec(bytes), fd, None, false, false, in_place)
            .ok()
            .map(|_| seq)
    }
}

pub(crate) fn encode(mode: Mode, v: &Value) -> Vec<u8> {
    match mode {
        Mode::Json => json_frame(v),
        Mode::Advanced => advanced::encode_frame(v),
    }
}

/// Handle to the engine. Cheap to clone; the engine thread lives while any clone does.
#[derive(Clone)]
pub struct Cluster {
    shared: Arc<Shared>,
}

impl Cluster {
    /// Starts the engine thread. `wake` is called (from any thread) when events are waiting and
    /// none were waiting before; the host then calls `drain_events`.
    pub fn start(wake: Box<dyn Fn() + Send + Sync>) -> Result<Cluster, EngineError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            cmd: tx,
            channels: Mutex::new(HashMap::new()),
            events: Mutex::new(Queue::default()),
            scheduled: AtomicBool::new(false),
            wake,
            seq: AtomicU64::new(0),
            exact_pipe_mode: AtomicBool::new(false),
            watched: Mutex::new(HashSet::new()),
            batching: AtomicBool::new(false),
            corked: Mutex::new(Vec::new()),
        });
        let for_thread = shared.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("rust-cluster".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(EngineError::from_io(&e, "engine")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, engine_main(for_thread, rx));
            })
            .map_err(|e| EngineError::from_io(&e, "engine"))?;
        ready_rx.recv().map_err(|_| EngineError::EngineStopped)??;
        Ok(Cluster { shared })
    }

    /// Spawns worker `id` (blocks until the exec succeeded or failed). The spawn runs on the
    /// engine thread, which lives as long as the process: a parent-death signal (the fallback when
    /// the warden cannot run) is tied to the thread that forked.
    pub fn spawn(
        &self,
        id: u32,
        req: SpawnRequest,
        channel: ChannelOptions,
    ) -> Result<SpawnResult, EngineError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.shared
            .cmd
            .send(Command::Spawn {
                id,
                req,
                channel,
                reply: tx,
            })
            .map_err(|_| EngineError::EngineStopped)?;
        rx.recv().map_err(|_| EngineError::EngineStopped)?
    }

    /// Sends one already-framed user message, optionally with a descriptor of the caller's (the
    /// engine sends a duplicate; the caller keeps its own). `token` asks for a `SendDone` event
    /// if the send has to wait.
    pub fn send(
        &self,
        id: u32,
        frame: &[u8],
        fd: Option<RawFd>,
        token: Option<u64>,
    ) -> Result<SendStatus, SendFailure> {
        let (ch, _) = self.shared.entry(id).ok_or(SendFailure::Closed)?;
        let cork = self.shared.batching.load(Ordering::Acquire);
        let fd = match fd {
            Some(raw) => match fdpass::dup_borrowed(raw) {
                Ok(owned) => Some(Arc::new(owned)),
                Err(e) => {
                    // Nothing goes (a handle with no descriptor yet fails with EBADF, as Node's
                    // write does). A place this message was to fill is given up, so what waits
                    // behind it is not held back for good.
                    ch.unreserve(false);
                    return Err(SendFailure::Errno(e.raw_os_error().unwrap_or(libc::EBADF)));
                }
            },
            None => None,
        };
        let report = fd.is_some();
        let status = ch.send_reporting(Payload::Slice(frame), fd, token, report, cork, true)?;
        if matches!(status, SendStatus::Corked) {
            let mut corked = lock(&self.shared.corked);
            if !corked.contains(&id) {
                corked.push(id);
            }
        }
        Ok(status)
    }

    /// From now until `end_batch`, small user messages wait to be written together: the host
    /// opens a batch while it dispatches a batch of events, so the replies the batch provokes
    /// leave in one `sendmsg` per worker instead of one each.
    pub fn begin_batch(&self) {
        self.shared.batching.store(true, Ordering::Release);
    }

    /// Ends the batch and writes what it held.
    pub fn end_batch(&self) {
        self.shared.batching.store(false, Ordering::Release);
        self.flush();
    }

    /// Writes what the batch holds now, without ending it (before a signal or an exit).
    pub fn flush(&self) {
        let ids = std::mem::take(&mut *lock(&self.shared.corked));
        for id in ids {
            if let Some((ch, _)) = self.shared.entry(id) {
                ch.uncork();
            }
        }
    }

    /// JS keeps back a message to worker `id` (behind a handle awaiting its answer): reserve
    /// its place among what the engine sends meanwhile.
    pub fn reserve(&self, id: u32) {
        if let Some((ch, _)) = self.shared.entry(id) {
            ch.reserve();
        }
    }

    /// JS will not send a message it reserved a place for: the first place (a refused handle
    /// it does not send again) or with `last` the last one (a kept message it dropped).
    pub fn unreserve(&self, id: u32, last: bool) {
        if let Some((ch, _)) = self.shared.entry(id) {
            ch.unreserve(last);
        }
    }

    /// The descriptor number of the primary's end of worker `id`'s channel, while it is open
    /// (what `worker.process.channel.fd` shows; the engine keeps owning it).
    pub fn channel_fd(&self, id: u32) -> Option<i32> {
        let (ch, _) = self.shared.entry(id)?;
        if ch.is_closed() {
            return None;
        }
        Some(std::os::fd::AsRawFd::as_raw_fd(&ch.fd()))
    }

    /// The primary's `worker.disconnect()`: sends `{act:'disconnect'}` (in order with earlier
    /// sends from this thread), then stops sharing servers with the worker. The channel stays
    /// open until the worker closes it.
    pub fn disconnect_worker(&self, id: u32) -> bool {
        let sent = self
            .shared
            .send_cluster_in(
                id,
                Obj::cluster().with("act", "disconnect"),
                None,
                None,
                true,
            )
            .is_some();
        let _ = self.shared.cmd.send(Command::Detach { id });
        sent
    }

    /// `worker.process.disconnect()`: closes the channel from the primary's side.
    pub fn close_channel(&self, id: u32) {
        if let Some((ch, _)) = self.shared.entry(id) {
            let failed = ch.close();
            self.shared
                .push_all(failed.into_iter().map(|c| Event::SendDone {
                    id,
                    token: c.token,
                    error: c.error,
                }));
        }
    }

    /// Reports (or stops reporting) every internal message the worker sends, as
    /// `Event::Internal`, for `internalMessage` listeners; by default only the `NODE_SOCKET_*`
    /// ones JS takes part in are reported.
    pub fn watch_internal(&self, id: u32, on: bool) {
        self.shared.watch(id, on);
    }

    /// Follow newer libuv for `readableAll`/`writableAll` socket file modes (see
    /// `scheduler::listen::unix_chmod`).
    pub fn set_exact_pipe_mode(&self, exact: bool) {
        self.shared.exact_pipe_mode.store(exact, Ordering::Release);
    }

    pub fn set_policy(&self, p: Policy) {
        let _ = self.shared.cmd.send(Command::SetPolicy(p));
    }

    /// Every event waiting, oldest first; the host calls it when woken. The messages now belong
    /// to the host, so the workers' readers may go on. Consecutive runs of one worker (from
    /// separate reads) are joined here when the later one is at most `JOIN_MAX` bytes: that
    /// saves the host a call per small run, and copying a large one would cost more than the
    /// call.
    pub fn drain_events(&self) -> Vec<Event> {
        self.shared.scheduled.store(false, Ordering::Release);
        let Queue { events, credits } = std::mem::take(&mut *lock(&self.shared.events));
        drop(credits);
        join_runs(events)
    }
}

/// Largest run joined to the one before it (see `Cluster::drain_events`).
const JOIN_MAX: usize = 4096;

fn join_runs(events: Vec<Event>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    for ev in events {
        let ev = match (out.last_mut(), ev) {
            (
                Some(Event::Messages { id, run }),
                Event::Messages {
                    id: next,
                    run: more,
                },
            ) if *id == next && more.len() <= JOIN_MAX => match run.append(more) {
                Ok(()) => continue,
                Err(more) => Event::Messages {
                    id: next,
                    run: more,
                },
            },
            (_, ev) => ev,
        };
        out.push(ev);
    }
    out
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
    warden: RefCell<WardenState>,
}

enum WardenState {
    NotStarted,
    Running(Warden),
    /// The warden could not be started or went away: workers get a parent-death signal instead.
    Unavailable,
}

struct CoreLink {
    shared: Arc<Shared>,
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
    fn exact_pipe_mode(&self) -> bool {
        self.shared.exact_pipe_mode.load(Ordering::Acquire)
    }
}

async fn engine_main(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Command>) {
    let core = Rc::new(Core {
        shared: shared.clone(),
        sched: Scheduler::new(),
        detached: RefCell::new(Default::default()),
        link: Rc::new(CoreLink {
            shared: shared.clone(),
        }),
        warden: RefCell::new(WardenState::NotStarted),
    });
    let link = core.link.clone();
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::Spawn {
                id,
                req,
                channel,
                reply,
            } => {
                let _ = reply.send(spawn_worker(&core, id, req, channel));
            }
            Command::Detach { id } => {
                core.detached.borrow_mut().insert(id);
                Scheduler::remove_worker(&core.sched, &link, id);
            }
            Command::SetPolicy(p) => core.sched.borrow_mut().set_policy(p),
        }
    }
}

fn spawn_worker(
    core: &Rc<Core>,
    id: u32,
    req: SpawnRequest,
    options: ChannelOptions,
) -> Result<SpawnResult, EngineError> {
    let mode = options.mode;
    let ipc_index = req.stdio.iter().position(|s| *s == Stdio::Ipc);
    let mut warden = core.warden.borrow_mut();
    if matches!(*warden, WardenState::NotStarted) {
        *warden = match Warden::start() {
            Ok(w) => WardenState::Running(w),
            Err(_) => WardenState::Unavailable,
        };
    }
    // The warden ends orphans; without it, a worker gets SIGKILL when the primary is gone.
    let death_signal = match *warden {
        WardenState::Running(_) => 0,
        _ => libc::SIGKILL,
    };
    let spawned = spawn::spawn(&req, death_signal).map_err(|e| EngineError::Sys {
        errno: e.errno,
        syscall: "spawn",
    })?;
    if let WardenState::Running(w) = &*warden {
        if w.watch(spawned.pidfd.as_fd()).is_err() {
            *warden = WardenState::Unavailable;
        }
    }
    drop(warden);
    let mut stdio = Vec::with_capacity(spawned.parent_ends.len());
    let mut ipc = None;
    for (i, end) in spawned.parent_ends.into_iter().enumerate() {
        if Some(i) == ipc_index {
            ipc = end;
            stdio.push(None);
        } else {
            stdio.push(end.map(IntoRawFd::into_raw_fd));
        }
    }
    let ipc = ipc.ok_or_else(|| EngineError::Invalid("stdio has no 'ipc' entry".into()))?;
    nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&ipc),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| EngineError::from_nix(e, "spawn"))?;
    let channel = Channel::new(ipc).map_err(|e| EngineError::from_io(&e, "spawn"))?;
    let pidfd = crate::ipc::fdpass::register(spawned.pidfd)
        .map_err(|e| EngineError::from_io(&e, "spawn"))?;
    lock(&core.shared.channels).insert(
        id,
        ChannelEntry {
            channel: channel.clone(),
            mode,
        },
    );
    tokio::task::spawn_local(worker::run(core.clone(), id, channel, options, pidfd));
    Ok(SpawnResult {
        pid: spawned.pid,
        stdio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::event::Backlog;

    fn run(id: u32, text: &str) -> Event {
        Event::Messages {
            id,
            run: crate::cluster::event::Payload::Json(text.into()),
        }
    }

    fn texts(events: &[Event]) -> Vec<(u32, String)> {
        events
            .iter()
            .map(|e| match e {
                Event::Messages {
                    id,
                    run: crate::cluster::event::Payload::Json(t),
                } => (*id, t.clone()),
                other => (other.worker(), "<event>".into()),
            })
            .collect()
    }

    #[test]
    fn drained_runs_of_one_worker_are_joined_up_to_the_limit_and_their_credits_released() {
        let cluster = Cluster::start(Box::new(|| {})).expect("engine");
        let backlog = Arc::new(Backlog::default());
        let mut credit = backlog.claim();
        credit.grow(10);
        let big = "x".repeat(JOIN_MAX + 1);
        cluster.shared.push_read(
            [
                run(1, "a"),
                run(1, "b"),
                run(2, "c"),
                run(2, &big),
                Event::Online { id: 2 },
                run(2, "d"),
                run(1, "e"),
            ],
            Some(credit),
        );
        assert!(backlog.waiting() > 0);
        let drained = cluster.drain_events();
        assert_eq!(
            backlog.waiting(),
            0,
            "the host has the messages: the reader may go on"
        );
        assert_eq!(
            texts(&drained),
            vec![
                (1, "a\nb".to_string()),
                (2, "c".to_string()),
                (2, big),
                (2, "<event>".to_string()),
                (2, "d".to_string()),
                (1, "e".to_string()),
            ]
        );
        assert!(cluster.drain_events().is_empty());
    }
}

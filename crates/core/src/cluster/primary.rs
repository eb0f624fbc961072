//! The engine's public face: `Cluster`, the handle the host holds.
//!
//! `Cluster` is used from the host's (JS) thread. Sends go straight to the worker's channel from
//! the calling thread (no thread hop); everything stateful (spawning, the worker table, server
//! sharing, reading channels, watching exits) runs on one engine thread with a single-threaded
//! tokio runtime. Events go back through a queue and a wake-up callback, so one wake-up can carry
//! many events.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::engine::{lock, ChannelOptions, Command, HostPolls, Queue, Shared, SpawnResult};
use super::event::Event;
use super::host::HostReader;
use super::thread::engine_main;
use crate::error::EngineError;
use crate::ipc::channel::{Cork, Origin, SendFailure, SendStatus};
use crate::ipc::fdpass;
use crate::ipc::message::Obj;
use crate::process::spawn::SpawnRequest;
use crate::process::stats;
use crate::scheduler::Policy;

/// The CPUs this process may run on (its affinity mask and cgroup quota), at least 1.
static CPUS: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

/// How a user send waits: not at all outside a batch; inside one, a burst's first two frames
/// go at once to a worker that has read everything (`Cork::LeadWhenCaughtUp`) while each worker
/// (`workers` of them have a channel) can have one of the `cpus` to itself beside the primary's
/// thread. Such a worker, waiting for a message, starts on them while the rest of the burst
/// gathers (the echo rows with 10 sends went from 0.90-0.95x to 1.0x the built-in). With more
/// workers than that, a worker woken early takes a CPU from the others and the batches they
/// would have answered together shrink: with every worker treated so the broadcast row fell
/// from 2.1x to 0.95x.
fn cork_for(batching: bool, workers: usize, cpus: usize) -> Cork {
    if !batching {
        Cork::Off
    } else if workers < cpus {
        Cork::LeadWhenCaughtUp
    } else {
        Cork::On
    }
}

/// What `Cluster::stats` reports of one worker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkerStats {
    pub pid: i32,
    /// Since the spawn.
    pub uptime_ms: f64,
    pub user_us: u64,
    pub system_us: u64,
    pub rss_bytes: u64,
    /// Connections handed to it by round-robin.
    pub connections: u64,
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
            procs: Mutex::new(HashMap::new()),
            memory_limit: AtomicU64::new(0),
            memory_wake: tokio::sync::Notify::new(),
            host: HostPolls::default(),
            watchdog_wake: tokio::sync::Notify::new(),
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

    /// The host can poll channels on its own thread (it calls `host_read` when one is readable):
    /// from now on the engine offers it reading a worker's channel whenever it has no reason to
    /// read it itself.
    pub fn enable_host_reads(&self) {
        self.shared.host.enabled.store(true, Ordering::Release);
    }

    /// What changed for the host's polls since it last asked: workers whose reading it now has
    /// (offers it accepted here; an offer the engine took back meanwhile is left out), and
    /// workers whose channel is gone.
    pub fn host_changes(&self) -> (Vec<u32>, Vec<u32>) {
        let (offered, ended) = std::mem::take(&mut *lock(&self.shared.host.changes));
        let channels = lock(&self.shared.channels);
        let accepted = offered
            .into_iter()
            .filter(|id| {
                channels
                    .get(id)
                    .is_some_and(|e| !e.channel.is_closed() && e.side.turn.accept())
            })
            .collect();
        (accepted, ended)
    }

    /// What the host's poll of worker `id`'s channel reads with, made once per poll.
    pub fn host_reader(&self, id: u32) -> Option<HostReader> {
        let (side, channel) = {
            let channels = lock(&self.shared.channels);
            let e = channels.get(&id)?;
            (e.side.clone(), e.channel.clone())
        };
        Some(HostReader::new(side, channel, self.shared.clone()))
    }

    /// The host cannot poll worker `id`'s channel after all: the engine reads it.
    pub fn host_declines(&self, id: u32) {
        self.shared.engine_reads(id);
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
        let (ch, workers) = {
            let channels = lock(&self.shared.channels);
            let e = channels.get(&id).ok_or(SendFailure::Closed)?;
            (e.channel.clone(), channels.len())
        };
        let cork = cork_for(self.shared.batching.load(Ordering::Acquire), workers, *CPUS);
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
        let with_handle = fd.is_some();
        let status = ch.send(Cow::Borrowed(frame), fd, token, Origin::Js { cork })?;
        if with_handle {
            // Its ACK is awaited: the engine reads this channel until then.
            self.shared.engine_reads(id);
        }
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
    /// leave in one `sendmsg` per worker instead of one each (two for a worker that waits and
    /// can have a CPU to itself: see `cork_for`).
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
                Origin::Js { cork: Cork::Off },
            )
            .is_some();
        let _ = self.shared.cmd.send(Command::Detach { id });
        sent
    }

    /// Takes worker `id` out of rotation: no round-robin handle hands it a new connection once
    /// this returns (the first step of a reload or shutdown; Node has no equivalent).
    /// `Event::Drained` follows once it has answered the connections already on their way.
    pub fn drain(&self, id: u32) {
        let (done, applied) = std::sync::mpsc::channel();
        if self.shared.cmd.send(Command::Drain { id, done }).is_ok() {
            let _ = applied.recv();
        }
    }

    /// Listening sockets the primary inherited (systemd's LISTEN_FDS): a worker's listen() on a
    /// matching address (same port and kind; the same address unless one side is unspecified)
    /// is served from one of them instead of a new bind, under either policy. The descriptors
    /// stay the process's; the engine listens on duplicates and never closes them.
    pub fn inherit_listeners(&self, fds: Vec<i32>) {
        let _ = self.shared.cmd.send(Command::Inherit { fds });
    }

    /// Worker `id`'s figures while its process lives: /proc's, read now, and the engine's own.
    pub fn stats(&self, id: u32) -> Option<WorkerStats> {
        let (pid, started, handed) = {
            let procs = lock(&self.shared.procs);
            let p = procs.get(&id)?;
            (p.pid, p.started, p.handed)
        };
        let s = stats::read(pid).unwrap_or(stats::ProcStats {
            user_us: 0,
            system_us: 0,
            rss_bytes: 0,
        });
        Some(WorkerStats {
            pid,
            uptime_ms: started.elapsed().as_secs_f64() * 1000.0,
            user_us: s.user_us,
            system_us: s.system_us,
            rss_bytes: s.rss_bytes,
            connections: handed,
        })
    }

    /// Reports a worker whose resident memory stays above `bytes` (`Event::MemoryLimit`);
    /// 0 turns the watch off.
    pub fn set_memory_limit(&self, bytes: u64) {
        self.shared.memory_limit.store(bytes, Ordering::Release);
        self.shared.memory_wake.notify_one();
    }

    /// `worker.process.disconnect()`: closes the channel from the primary's side.
    pub fn close_channel(&self, id: u32) {
        if let Some((ch, _)) = self.shared.entry(id) {
            self.shared.push_send_done(id, ch.close());
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

    /// SCHED_REUSEPORT's rescue window: how long a worker's socket may hold connections it does
    /// not accept before the engine hands them to the others (None: never).
    pub fn set_rescue_window(&self, window: Option<std::time::Duration>) {
        let _ = self.shared.cmd.send(Command::SetRescue(window));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::event::Backlog;

    #[test]
    fn a_first_frame_goes_at_once_only_while_workers_can_have_a_cpu_each() {
        assert_eq!(cork_for(false, 1, 8), Cork::Off);
        assert_eq!(cork_for(true, 1, 2), Cork::LeadWhenCaughtUp);
        assert_eq!(cork_for(true, 7, 8), Cork::LeadWhenCaughtUp);
        assert_eq!(cork_for(true, 2, 2), Cork::On);
        assert_eq!(cork_for(true, 8, 2), Cork::On);
        assert_eq!(cork_for(true, 1, 1), Cork::On);
    }

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

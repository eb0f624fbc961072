//! One task per worker on the engine thread: it reads the worker's channel (`reader`, whose
//! internal messages `dispatch` acts on) and watches the process exit. `disconnect` is reported
//! before `exit` whenever both are ready (docs/PROTOCOL.md §5.3).

use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use tokio::io::unix::AsyncFd;

use super::engine::{lock, Core};
use super::event::Event;
use super::host::ReadSide;
use super::reader::ReadOutcome;
use crate::ipc::channel::Channel;
use crate::process::child::{self, ExitStatus};
use crate::scheduler::Scheduler;

/// Reading from a worker pauses while this many bytes of its messages wait for JS.
const BACKLOG_LIMIT: usize = 16 * 1024 * 1024;

/// The state of one worker's task.
struct WorkerTask {
    id: u32,
    core: Rc<Core>,
    channel: Arc<Channel>,
    pidfd: AsyncFd<OwnedFd>,
    /// The reader, shared with the host's poll (cluster/host.rs).
    side: Arc<ReadSide>,
    /// The channel's readiness, registered while the engine reads it (not while the host does,
    /// or the engine thread would still be woken by every message).
    reading: Option<AsyncFd<OwnedFd>>,
    /// The channel has not reached end-of-stream.
    channel_open: bool,
    exited: bool,
    /// The exit, held back until the worker's descriptors are closed (Node has released them
    /// when it emits 'exit'), unless the channel outlives the process.
    exit: Option<ExitStatus>,
}

pub(crate) async fn run(
    core: Rc<Core>,
    id: u32,
    channel: Arc<Channel>,
    pidfd: AsyncFd<OwnedFd>,
    side: Arc<ReadSide>,
) {
    let shared = core.shared.clone();
    let writer = tokio::task::spawn_local(
        channel
            .clone()
            .run_writer(move |done| shared.push_send_done(id, done)),
    );
    let task = WorkerTask {
        id,
        core,
        channel,
        pidfd,
        side,
        reading: None,
        channel_open: true,
        exited: false,
        exit: None,
    };
    task.run(writer).await;
}

impl WorkerTask {
    async fn run(mut self, writer: tokio::task::JoinHandle<()>) {
        let backlog = lock(&self.side.reader).backlog.clone();
        let side = self.side.clone();
        let turn = &side.turn;
        while self.channel_open || !self.exited {
            if self.channel_open && backlog.waiting() > BACKLOG_LIMIT {
                tokio::select! {
                    _ = backlog.wait_below(BACKLOG_LIMIT) => {}
                    // Keep watching the exit meanwhile; the channel is read once JS caught up.
                    status = child::wait_exit(&self.pidfd), if !self.exited => {
                        // What the worker wrote before dying is bounded by the socket buffer.
                        backlog.wait_below(0).await;
                        self.on_exit(status);
                    }
                }
                continue;
            }
            let engine_reads = turn.engine_reads();
            if engine_reads && self.channel_open && self.reading.is_none() {
                match self.channel.watch_readable() {
                    Ok(r) => self.reading = Some(r),
                    Err(_) => {
                        self.on_disconnect();
                        continue;
                    }
                }
            }
            let watched = self.reading.as_ref();
            tokio::select! {
                ready = async {
                    match watched {
                        Some(w) => w.readable().await,
                        None => std::future::pending().await,
                    }
                }, if self.channel_open && engine_reads && watched.is_some() => {
                    match ready {
                        Ok(mut guard) => {
                            let outcome = lock(&self.side.reader).read(&self.core, &self.channel, false);
                            match outcome {
                                ReadOutcome::Drained => {
                                    guard.clear_ready();
                                    drop(guard);
                                    self.offer_to_host();
                                }
                                ReadOutcome::MoreLater => {
                                    drop(guard);
                                    tokio::task::yield_now().await;
                                }
                                ReadOutcome::Eof => {
                                    drop(guard);
                                    self.on_disconnect();
                                }
                            }
                        }
                        Err(_) => self.on_disconnect(),
                    }
                }
                // The host left something to handle, or the engine needs to read again: what
                // the host left comes first. Watched in either mode: the host may hand back
                // between the engine's offer and this select.
                _ = turn.taken_back.notified(), if self.channel_open => {
                    turn.take_back();
                    if let ReadOutcome::Eof = self.read(false) {
                        self.on_disconnect();
                    }
                }
                status = child::wait_exit(&self.pidfd), if !self.exited => self.on_exit(status),
            }
        }
        self.finish(writer).await;
    }

    /// The process is gone, so its end of the channel is closed: read what it wrote before
    /// dying and report the disconnect first. The exit waits to be reported until the
    /// descriptors are closed, or is reported at once if the channel stays open (another process
    /// holds its end).
    fn on_exit(&mut self, status: ExitStatus) {
        self.exited = true;
        self.side.turn.take_back();
        while self.channel_open {
            match self.read(true) {
                ReadOutcome::MoreLater => continue,
                ReadOutcome::Eof => self.on_disconnect(),
                ReadOutcome::Drained => break,
            }
        }
        if self.channel_open {
            push_exit(&self.core, self.id, status);
        } else {
            self.exit = Some(status);
        }
    }

    fn read(&mut self, to_eof: bool) -> ReadOutcome {
        lock(&self.side.reader).read(&self.core, &self.channel, to_eof)
    }

    /// With the socket drained and nothing awaited from the worker, the host may read it.
    fn offer_to_host(&mut self) {
        let awaited =
            self.core.sched.borrow().awaits_answer_from(self.id) || self.channel.awaiting_ack();
        if self.exited || awaited || !lock(&self.side.reader).settled() {
            return;
        }
        if self.core.shared.offer_host(self.id, &self.side.turn) {
            // Deregistered, so the host's reading does not wake this thread.
            self.reading = None;
        }
    }

    /// End-of-stream: fail what waits to be written, take the worker out of server sharing and
    /// report the disconnect.
    fn on_disconnect(&mut self) {
        self.side.turn.take_back();
        self.channel_open = false;
        let (core, id) = (&self.core, self.id);
        core.shared.push_send_done(id, self.channel.close());
        Scheduler::remove_worker(&core.sched, &core.link, id);
        core.shared.push(Event::Disconnect { id });
    }

    /// Both ends are done: forget the worker and close its descriptors, then report the exit.
    async fn finish(self, writer: tokio::task::JoinHandle<()>) {
        let WorkerTask {
            id,
            core,
            channel,
            pidfd,
            exit,
            ..
        } = self;
        core.shared.end_host(id);
        channel.close();
        core.shared
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        core.detached.borrow_mut().remove(&id);
        core.shared.watch(id, false);
        writer.abort();
        let _ = writer.await;
        drop(channel);
        drop(pidfd);
        if let Some(status) = exit {
            push_exit(&core, id, status);
        }
    }
}

fn push_exit(core: &Rc<Core>, id: u32, status: ExitStatus) {
    lock(&core.shared.procs).remove(&id);
    core.shared.push(Event::Exit {
        id,
        code: status.code,
        signal: status.signal,
    });
    Scheduler::remove_worker(&core.sched, &core.link, id);
}

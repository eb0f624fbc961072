//! The duplex IPC channel to one worker: its socket, and Node's send queue (docs/PROTOCOL.md
//! §3.4, the rules in `queue.rs`): after a message that carries a descriptor is written,
//! everything else waits until the peer answers `NODE_HANDLE_ACK` or `NODE_HANDLE_NACK`.
//!
//! The sender of a user handle (JS) keeps the messages sent after it until the answer, as Node
//! does, to convert their handles then. So that the engine's own messages keep their place among
//! them, JS reserves a place in this queue for each message it keeps (`reserve`) and fills the
//! places in order when it sends them; a place not yet filled holds back everything after it.
//!
//! Writes are attempted at once from whichever thread sends (the JS thread for user messages,
//! the engine thread for internal ones), exactly like libuv's try-write; whatever the socket does
//! not take is queued and finished by the writer task on the engine thread. Reading is done by
//! the worker's task (see `cluster::worker`), which owns the receive side.

use std::borrow::Cow;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

use super::fdpass;

mod queue;

pub use queue::{Completion, Cork, Origin, SendFailure, SendStatus};
use queue::{Flush, SendQueue, Sink};

/// How soon a full socket is tried again when its write readiness cannot be watched.
const RETRY_WITHOUT_WATCH: std::time::Duration = std::time::Duration::from_millis(1);

/// The channel's socket as the queue's sink: non-blocking `sendmsg`, descriptors as SCM_RIGHTS.
struct Socket<'a>(BorrowedFd<'a>);

impl Sink for Socket<'_> {
    fn write(&mut self, bufs: &[IoSlice<'_>], fd: Option<BorrowedFd<'_>>) -> io::Result<usize> {
        fdpass::send(self.0, bufs, fd)
    }

    fn peer_caught_up(&self) -> bool {
        fdpass::unread_by_peer(self.0) == Some(0)
    }
}

pub struct Channel {
    /// The socket. Readiness to read is watched through `watch_readable`, only while the engine
    /// reads it (the host's thread may read it instead: cluster/host.rs).
    fd: OwnedFd,
    queue: Mutex<SendQueue>,
    writer_wake: Notify,
}

impl Channel {
    /// Wraps the primary's end of a channel socket. Must be called on the engine's runtime.
    pub fn new(fd: OwnedFd) -> io::Result<Arc<Channel>> {
        Ok(Arc::new(Channel {
            fd,
            queue: Mutex::new(SendQueue::default()),
            writer_wake: Notify::new(),
        }))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Registers a duplicate of the socket for readiness to read, for as long as the result
    /// lives (engine thread only).
    pub fn watch_readable(&self) -> io::Result<AsyncFd<OwnedFd>> {
        fdpass::register(self.fd.try_clone()?)
    }

    fn lock(&self) -> MutexGuard<'_, SendQueue> {
        // A panic while holding this lock would be a bug; keep working with the data regardless.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the queue with the socket as its sink, then wakes the writer if `f` left it
    /// work. Writes are tried at once from the calling thread, like libuv's try-write.
    fn with<R>(&self, f: impl FnOnce(&mut SendQueue, &mut Socket<'_>) -> R) -> R {
        let mut q = self.lock();
        let r = f(&mut q, &mut Socket(self.fd()));
        let wake = q.take_wake();
        drop(q);
        if wake {
            self.writer_wake.notify_one();
        }
        r
    }

    pub fn is_closed(&self) -> bool {
        self.lock().is_closed()
    }

    /// Sends one complete frame (see `SendQueue::send`): optionally with one descriptor on its
    /// first byte, and a `token` that asks for a completion if it has to wait.
    pub fn send(
        &self,
        payload: Cow<'_, [u8]>,
        fd: Option<Arc<OwnedFd>>,
        token: Option<u64>,
        origin: Origin,
    ) -> Result<SendStatus, SendFailure> {
        self.with(|q, sink| q.send(sink, payload, fd, token, origin))
    }

    /// Writes the frames corked by `send`; what the socket does not take now is left to the
    /// writer task.
    pub fn uncork(&self) {
        self.with(|q, sink| q.uncork(sink))
    }

    /// Sends NODE_HANDLE_ACK or NACK, ahead of what a sent handle holds back.
    pub fn send_control(&self, bytes: Vec<u8>) {
        self.with(|q, sink| q.send_control(sink, bytes))
    }

    /// The peer answered NODE_HANDLE_ACK or NACK (see `SendQueue::handle_answered`).
    pub fn handle_answered(&self, nack: bool) -> bool {
        self.with(|q, _| q.handle_answered(nack))
    }

    /// Reserves a place at the end of the queue for a message JS keeps back for now.
    pub fn reserve(&self) {
        self.with(|q, sink| q.reserve(sink))
    }

    /// Gives up the first reserved place (or with `last`, the last one).
    pub fn unreserve(&self, last: bool) {
        self.with(|q, _| q.unreserve(last))
    }

    /// True while a sent descriptor waits for the peer's ACK.
    pub fn awaiting_ack(&self) -> bool {
        self.lock().awaiting_ack()
    }

    /// Bytes accepted by `send` but not yet written.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.lock().queued_bytes()
    }

    /// Closes the channel for writing and reading. Queued sends are returned as failed; the
    /// reader then sees end-of-stream. Idempotent.
    pub fn close(&self) -> Vec<Completion> {
        self.with(|q, sink| {
            let (failed, first) = q.close(sink);
            if first {
                let _ = nix::sys::socket::shutdown(
                    self.fd.as_raw_fd(),
                    nix::sys::socket::Shutdown::Both,
                );
            }
            failed
        })
    }

    /// Finishes queued writes whenever the socket can take them. Runs on the engine thread until
    /// the channel closes; `report` receives completions of sends that carried a token.
    pub async fn run_writer(self: Arc<Self>, mut report: impl FnMut(Vec<Completion>)) {
        loop {
            self.writer_wake.notified().await;
            // Write readiness is watched only while the socket is full (see fdpass::register).
            let mut room: Option<AsyncFd<OwnedFd>> = None;
            loop {
                let mut done = Vec::new();
                let outcome = {
                    let mut q = self.lock();
                    if q.is_closed() {
                        let failed = q.fail(SendFailure::Closed);
                        drop(q);
                        report(failed);
                        return;
                    }
                    match q.flush(&mut Socket(self.fd()), &mut done) {
                        Flush::Failed(errno) => {
                            done.extend(q.fail(SendFailure::Errno(errno)));
                            Flush::Failed(errno)
                        }
                        other => other,
                    }
                };
                if !done.is_empty() {
                    report(done);
                }
                match outcome {
                    Flush::Idle => break,
                    Flush::WouldBlock => {
                        if room.is_none() {
                            room = fdpass::register_writable(self.fd()).ok();
                        }
                        match room.as_ref() {
                            Some(watch) => match watch.writable().await {
                                Ok(mut guard) => guard.clear_ready(),
                                Err(_) => return,
                            },
                            // Out of descriptors for the watch: try again shortly instead.
                            None => tokio::time::sleep(RETRY_WITHOUT_WATCH).await,
                        }
                    }
                    Flush::Failed(_) => {
                        // A broken channel: close it so the reader reports the disconnect.
                        self.close();
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

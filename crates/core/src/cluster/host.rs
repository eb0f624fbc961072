//! Reading a worker's channel on the host's (JavaScript) thread while that thread is free, so a
//! message from a worker wakes one thread, as in Node, instead of the engine's and then the
//! host's. The engine still owns the protocol and takes reading back whenever it is needed:
//! - the host reads only user messages: at the first internal message (an ACK, `queryServer`,
//!   `listening`, a handle), at end-of-stream or at a malformed frame, it stops and leaves what
//!   it read from there on to the worker's task, which handles it in wire order and reads on;
//! - the engine reads whenever it waits for a worker's answer (a connection or handle it sent),
//!   so round-robin distribution never depends on the host's thread;
//! - the engine's watchdog takes reading back from a host whose thread is blocked (a channel
//!   still readable `WATCHDOG_TICK` after it became readable, with no host read between), so
//!   that internal messages are handled during a block as before, and a worker's flood is read
//!   and bounded by the backlog limit as before;
//! - the engine offers reading to the host only once its own read drained the socket with
//!   nothing awaited; the host starts its poll when it next takes events, unless the engine took
//!   the offer back meanwhile.
//!
//! Events are pushed to the shared queue while the reader is locked, so a worker's events keep
//! wire order whichever thread read them.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::engine::{lock, ReadTurn, Shared};
use super::reader::Reader;
use crate::ipc::channel::Channel;
use tokio::io::unix::AsyncFd;

/// How often the watchdog looks at channels the host reads.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// A worker's reader, used by whichever thread's turn it is (kept in its `ChannelEntry`).
pub(crate) struct ReadSide {
    pub(super) reader: Mutex<Reader>,
    pub(super) turn: ReadTurn,
}

/// What the host's poll does after a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRead {
    /// Keep polling.
    Continue,
    /// Stop polling: reading is the engine's (until it offers it again).
    Stop,
}

/// The host's end of one worker's channel: what its poll reads with (`Cluster::host_reader`).
pub struct HostReader {
    side: Arc<ReadSide>,
    channel: Arc<Channel>,
    shared: Arc<Shared>,
}

impl HostReader {
    pub(super) fn new(side: Arc<ReadSide>, channel: Arc<Channel>, shared: Arc<Shared>) -> Self {
        HostReader {
            side,
            channel,
            shared,
        }
    }

    /// A duplicate of the channel's descriptor, for the host's poll to watch.
    pub fn watch_fd(&self) -> std::io::Result<OwnedFd> {
        self.channel.fd().try_clone_to_owned()
    }

    /// One turn of the host's poll: reads what the channel holds, if reading is still the
    /// host's. The events wait for the host's `Cluster::drain_events`, which it calls next
    /// (nothing else wakes it for them).
    pub fn read(&self) -> HostRead {
        self.side.host_read(&self.shared, &self.channel)
    }
}

impl ReadSide {
    fn host_read(&self, shared: &Shared, channel: &Arc<Channel>) -> HostRead {
        if !self.turn.is_host() {
            return HostRead::Stop;
        }
        // The engine holds the reader only while it reads, which it does not while reading is
        // the host's but for the moment it takes reading back.
        let Ok(mut reader) = self.reader.try_lock() else {
            return HostRead::Continue;
        };
        self.turn.host_reads.fetch_add(1, Ordering::AcqRel);
        let handed_back = reader.read_host(shared, channel, || self.turn.is_host());
        drop(reader);
        if handed_back {
            self.turn.take_back();
            return HostRead::Stop;
        }
        if self.turn.is_host() {
            HostRead::Continue
        } else {
            HostRead::Stop
        }
    }
}

/// The engine thread's watchdog: takes reading back from a host that stopped reading. It
/// waits on the readiness of the channels the host reads (registered for that one wait, so a
/// busy channel does not wake the engine per message), then gives the host `WATCHDOG_TICK` to
/// read: a channel still readable with no host read since is taken back. An idle primary is
/// not woken by it at all.
pub(super) async fn watchdog(shared: Arc<Shared>) {
    loop {
        let hosted: Vec<(u32, Arc<ReadSide>, Arc<Channel>)> = lock(&shared.channels)
            .iter()
            .filter(|(_, e)| !e.side.turn.engine_reads())
            .map(|(id, e)| (*id, e.side.clone(), e.channel.clone()))
            .collect();
        if hosted.is_empty() {
            shared.watchdog_wake.notified().await;
            continue;
        }
        {
            let watched: Vec<AsyncFd<OwnedFd>> = hosted
                .iter()
                .filter_map(|(_, _, c)| c.watch_readable().ok())
                .collect();
            tokio::select! {
                _ = crate::ipc::fdpass::any_readable(&watched) => {}
                // Another channel was offered to the host: watch it too.
                _ = shared.watchdog_wake.notified() => continue,
            }
        }
        let reads: HashMap<u32, u64> = hosted
            .iter()
            .map(|(id, side, _)| (*id, side.turn.host_reads.load(Ordering::Acquire)))
            .collect();
        tokio::time::sleep(WATCHDOG_TICK).await;
        for (id, side, channel) in hosted {
            let turn = &side.turn;
            let unread = readable_now(&channel)
                && reads.get(&id) == Some(&turn.host_reads.load(Ordering::Acquire));
            if unread && !turn.engine_reads() {
                turn.take_back();
            }
        }
    }
}

/// Whether the channel has something to read right now (no waiting).
fn readable_now(channel: &Channel) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(channel.fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
}

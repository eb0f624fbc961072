//! What the engine reports to its host (the N-API binding), in order, per worker.

use std::borrow::Cow;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Notify;

use crate::ipc::channel::SendFailure;
use crate::ipc::message::UserBody;

#[derive(Debug)]
pub enum Payload {
    /// The message's JSON text, for `JSON.parse`: json mode, and advanced-mode messages of
    /// plain data (see `ipc::v8json`).
    Json(String),
    /// advanced mode: the frame as on the wire: a 4-byte big-endian length, then the V8
    /// serializer bytes (their header included) for `v8.Deserializer`.
    Advanced(Vec<u8>),
}

/// The longest json run joined from several messages. JS receives a run as one string, and V8
/// places a string over 128 KiB (its largest regular heap object) in large-object space: a
/// fresh mapping per string, every page of it faulted in by the copy. With runs of whole reads
/// (up to 2 MiB), page faults took about a tenth of the primary's CPU in the 16 KiB pipelined
/// row; runs this size stay in the young generation. A single longer message still makes its
/// own run, as it makes one string in Node.
pub const JSON_RUN_MAX: usize = 64 * 1024;

impl Payload {
    pub fn len(&self) -> usize {
        match self {
            Payload::Json(s) => s.len(),
            Payload::Advanced(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a run with its first message. A message still in the read buffer is copied into
    /// a run of `room` bytes' capacity (what the rest of that read can add), so the run does
    /// not grow by reallocation; an owned one becomes the run as it is.
    pub fn start(first: UserBody<'_>, room: usize) -> Payload {
        match first {
            UserBody::Json(Cow::Owned(t)) => Payload::Json(t),
            UserBody::Json(Cow::Borrowed(t)) => {
                let mut run = String::with_capacity(room.min(JSON_RUN_MAX).max(t.len()));
                run.push_str(t);
                Payload::Json(run)
            }
            UserBody::Advanced(Cow::Owned(b)) => Payload::Advanced(b),
            UserBody::Advanced(Cow::Borrowed(b)) => {
                let mut run = Vec::with_capacity(room.max(b.len()));
                run.extend_from_slice(b);
                Payload::Advanced(run)
            }
        }
    }

    /// Appends `next` to a run of messages of the same kind, as on the wire (json texts one per
    /// line, advanced frames back to back); false if the kinds differ, or if a json run would
    /// grow past `JSON_RUN_MAX`.
    pub fn extend(&mut self, next: &UserBody<'_>) -> bool {
        match (self, next) {
            (Payload::Json(run), UserBody::Json(t)) => {
                if run.len() + 1 + t.len() > JSON_RUN_MAX {
                    return false;
                }
                run.push('\n');
                run.push_str(t);
            }
            (Payload::Advanced(run), UserBody::Advanced(b)) => run.extend_from_slice(b),
            _ => return false,
        }
        true
    }

    /// Gives back the capacity `start` reserved for messages that did not join the run (an
    /// internal message ended it), so a run handed to JS holds no large unused allocation.
    pub fn trim(&mut self) {
        const SLACK: usize = 4096;
        match self {
            Payload::Json(t) if t.capacity() > t.len() + SLACK => t.shrink_to_fit(),
            Payload::Advanced(b) if b.capacity() > b.len() + SLACK => b.shrink_to_fit(),
            _ => {}
        }
    }

    /// `extend` with a run: appends `next` if the kinds match, otherwise hands it back.
    pub fn append(&mut self, next: Payload) -> Result<(), Payload> {
        let joined = match &next {
            Payload::Json(t) => self.extend(&UserBody::Json(Cow::Borrowed(t))),
            Payload::Advanced(b) => self.extend(&UserBody::Advanced(Cow::Borrowed(b))),
        };
        if joined {
            Ok(())
        } else {
            Err(next)
        }
    }
}

/// A descriptor that arrived with a user message (`NODE_HANDLE` envelope).
#[derive(Debug)]
pub struct PassedHandle {
    pub fd: OwnedFd,
    /// The envelope's `type`: net.Socket, net.Server, dgram.Socket, net.Native, dgram.Native.
    pub kind: String,
    /// The envelope's `key` (net.Socket from a server), if any.
    pub key: Option<String>,
    /// The envelope's `dgramType` (udp4 / udp6), if any.
    pub dgram_type: Option<String>,
    /// The whole envelope as JSON, while JS listens for `internalMessage` (Node emits it there,
    /// with the raw handle, before the message it carries).
    pub envelope: Option<String>,
}

#[derive(Debug)]
pub enum Event {
    /// `{act: 'online'}`.
    Online { id: u32 },
    /// `{act: 'listening'}`, with the four fields of it that Node's primary reports (each as the
    /// worker sent it; `None` where it is absent).
    Listening {
        id: u32,
        address_type: Option<Value>,
        address: Option<Value>,
        port: Option<Value>,
        fd: Option<Value>,
    },
    /// `{act: 'exitedAfterDisconnect'}` (already acknowledged by the engine).
    ExitedAfterDisconnect { id: u32 },
    /// Consecutive user messages without handles from one worker, joined as `Payload::append`
    /// does: the host receives one buffer and one event for a burst.
    Messages { id: u32, run: Payload },
    /// A user message with a handle.
    Message {
        id: u32,
        payload: Payload,
        handle: PassedHandle,
    },
    /// The channel closed (EOF, reset, or closed by the primary).
    Disconnect { id: u32 },
    /// The process exited and was reaped.
    Exit {
        id: u32,
        code: Option<i32>,
        signal: Option<String>,
    },
    /// The worker sent something that is not the protocol (`reason` says what); its channel
    /// was closed. The host words the error (ERR_IPC_MALFORMED_MESSAGE).
    Malformed { id: u32, reason: String },
    /// An internal message JS takes part in (`NODE_SOCKET_*`: connection counts and close
    /// notifications for sockets passed between the processes), or any internal message of a
    /// worker JS watches (`Cluster::watch_internal`) but a handle's envelope, which comes with
    /// its message (`PassedHandle::envelope`), as JSON.
    Internal { id: u32, message: String },
    /// The worker answered a handle sent by `Cluster::send` (NACK: it got no descriptor).
    HandleAnswered { id: u32, nack: bool },
    /// A queued user send finished or failed.
    SendDone {
        id: u32,
        token: u64,
        error: Option<SendFailure>,
    },
    /// The worker's resident memory was above the limit (`Cluster::set_memory_limit`) on two
    /// reads in a row, a second apart; reported once per worker.
    MemoryLimit { id: u32, rss: u64 },
    /// The worker, drained (`Cluster::drain`), has answered every connection handed to it.
    Drained { id: u32 },
}

impl Event {
    /// The worker the event is about.
    pub fn worker(&self) -> u32 {
        match self {
            Event::Online { id }
            | Event::Listening { id, .. }
            | Event::ExitedAfterDisconnect { id }
            | Event::Messages { id, .. }
            | Event::Message { id, .. }
            | Event::Disconnect { id }
            | Event::Exit { id, .. }
            | Event::Malformed { id, .. }
            | Event::Internal { id, .. }
            | Event::HandleAnswered { id, .. }
            | Event::SendDone { id, .. }
            | Event::MemoryLimit { id, .. }
            | Event::Drained { id } => *id,
        }
    }
}

/// Bytes of one worker's messages that wait for the host. The worker's reader stops reading
/// (leaving back-pressure to the socket and the worker) while too much is waiting, so a worker
/// that floods the primary cannot grow its memory without bound.
#[derive(Debug, Default)]
pub struct Backlog {
    bytes: AtomicUsize,
    drained: Notify,
}

/// A claim on a worker's backlog for the messages of one read, released when the host takes
/// them (`Cluster::drain_events`).
#[derive(Debug)]
pub struct Credit {
    backlog: Arc<Backlog>,
    bytes: usize,
}

/// Per-message bookkeeping cost, so floods of tiny messages are bounded too.
const MESSAGE_OVERHEAD: usize = 64;

impl Backlog {
    /// A claim of nothing yet, grown by each message (`Credit::grow`).
    pub fn claim(self: &Arc<Self>) -> Credit {
        Credit {
            backlog: self.clone(),
            bytes: 0,
        }
    }

    pub fn waiting(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// Waits until at most `limit` bytes are waiting.
    pub async fn wait_below(&self, limit: usize) {
        loop {
            let notified = self.drained.notified();
            if self.waiting() <= limit {
                return;
            }
            notified.await;
        }
    }
}

impl Credit {
    /// Extends the claim by one more message of `payload_len` bytes.
    pub fn grow(&mut self, payload_len: usize) {
        let bytes = payload_len + MESSAGE_OVERHEAD;
        self.backlog.bytes.fetch_add(bytes, Ordering::AcqRel);
        self.bytes += bytes;
    }
}

impl Credit {
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        self.backlog.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        self.backlog.drained.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_as_on_the_wire_and_refuse_the_other_kind() {
        let mut json = Payload::Json("1".into());
        assert!(json.append(Payload::Json("{\"a\":2}".into())).is_ok());
        assert!(matches!(&json, Payload::Json(t) if t == "1\n{\"a\":2}"));
        assert!(json.append(Payload::Advanced(vec![0, 0, 0, 1, 9])).is_err());

        let mut adv = Payload::Advanced(vec![0, 0, 0, 1, 7]);
        assert!(adv
            .append(Payload::Advanced(vec![0, 0, 0, 2, 8, 9]))
            .is_ok());
        assert!(matches!(&adv, Payload::Advanced(b) if b == &[0, 0, 0, 1, 7, 0, 0, 0, 2, 8, 9]));
    }

    #[test]
    fn a_run_is_copied_once_into_room_reserved_for_its_read() {
        let read: Vec<u8> = (0..3u8).flat_map(|i| [0, 0, 0, 2, 0xff, i]).collect();
        let frames: Vec<&[u8]> = read.chunks(6).collect();
        let mut run = Payload::start(UserBody::Advanced(Cow::Borrowed(frames[0])), read.len());
        let Payload::Advanced(b) = &run else {
            panic!("advanced run expected")
        };
        let (ptr, cap) = (b.as_ptr(), b.capacity());
        assert_eq!(cap, read.len());
        for f in &frames[1..] {
            assert!(run.extend(&UserBody::Advanced(Cow::Borrowed(f))));
        }
        let Payload::Advanced(b) = &run else {
            panic!("advanced run expected")
        };
        assert_eq!(b, &read, "the run is the wire bytes");
        assert_eq!((b.as_ptr(), b.capacity()), (ptr, cap), "no reallocation");

        // An owned frame (completed from held bytes) becomes the run without a copy.
        let owned = String::from("\"held\"");
        let ptr = owned.as_ptr();
        let run = Payload::start(UserBody::Json(Cow::Owned(owned)), 100);
        assert!(matches!(&run, Payload::Json(t) if t.as_ptr() == ptr));
    }

    #[test]
    fn a_json_run_stops_short_of_json_run_max() {
        let text = "x".repeat(16 * 1024);
        let mut run = Payload::start(UserBody::Json(Cow::Borrowed(&text)), 1 << 20);
        let mut runs = 1;
        for _ in 0..9 {
            if !run.extend(&UserBody::Json(Cow::Borrowed(&text))) {
                assert!(run.len() <= JSON_RUN_MAX);
                run = Payload::start(UserBody::Json(Cow::Borrowed(&text)), 1 << 20);
                runs += 1;
            }
        }
        // 10 texts of 16 KiB: three to a run (a fourth and its newlines pass 64 KiB).
        assert_eq!(runs, 4);
        // A message longer than the limit is a run of its own.
        let long = "y".repeat(JSON_RUN_MAX + 1);
        let mut run = Payload::start(UserBody::Json(Cow::Borrowed(&long)), 0);
        assert_eq!(run.len(), JSON_RUN_MAX + 1);
        assert!(!run.extend(&UserBody::Json(Cow::Borrowed("1"))));
        // Advanced runs are handed over without a copy and have no limit.
        let frame = vec![0u8; 40 * 1024];
        let mut adv = Payload::start(UserBody::Advanced(Cow::Borrowed(&frame)), 0);
        assert!(adv.extend(&UserBody::Advanced(Cow::Borrowed(&frame))));
    }

    #[test]
    fn trim_gives_back_large_unused_room_only() {
        let mut run = Payload::start(UserBody::Json(Cow::Borrowed("1")), 64 * 1024);
        run.trim();
        assert!(matches!(&run, Payload::Json(t) if t.capacity() < 4096 && t == "1"));
        let mut run = Payload::start(UserBody::Json(Cow::Borrowed("1")), 1000);
        run.trim();
        assert!(matches!(&run, Payload::Json(t) if t.capacity() >= 1000));
    }

    #[test]
    fn a_grown_credit_returns_every_message_when_dropped() {
        let backlog = Arc::new(Backlog::default());
        let mut credit = backlog.claim();
        credit.grow(10);
        credit.grow(20);
        assert_eq!(backlog.waiting(), 30 + 2 * MESSAGE_OVERHEAD);
        drop(credit);
        assert_eq!(backlog.waiting(), 0);
    }
}

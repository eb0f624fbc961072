//! The send queue's ordering rules (docs/PROTOCOL.md §3.4), with no socket: everything it writes
//! goes through a [`Sink`], so the rules can be driven by tests and fuzzers as well as by the
//! channel.
//!
//! - Frames leave in the order they were sent.
//! - After a frame that carries a descriptor is complete, only control frames (ACK/NACK) leave
//!   until the peer answers.
//! - A reserved place holds back everything after it until it is filled or given up.
//! - A control frame goes ahead of waiting frames but never into a frame already partly written.
//! - `queued_bytes` is exactly the bytes accepted and not yet written.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

/// Most frames gathered into one write.
const MAX_IOV: usize = 64;

/// A corked queue holds at most this many unwritten bytes before it writes.
pub(crate) const CORK_MAX_BYTES: usize = 64 * 1024;

/// Where the queue's bytes go: a socket for the channel, a buffer in tests.
pub(crate) trait Sink {
    /// Writes a prefix of `bufs` (with `fd` attached to its first byte), returning how many
    /// bytes were taken, or `WouldBlock` when none can be now. Like `sendmsg`, never `Ok(0)`
    /// for bytes it could take later.
    fn write(&mut self, bufs: &[IoSlice<'_>], fd: Option<BorrowedFd<'_>>) -> io::Result<usize>;

    /// Whether the peer has read everything written so far, so may be waiting for more.
    fn peer_caught_up(&self) -> bool;
}

/// Who sends a frame, which decides how it is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The engine's own message: it goes at the end of the queue.
    Engine,
    /// A message from JS, in JS's own order: it fills the first place JS reserved, if any, and
    /// the peer's answer to its handle is reported. `cork` says whether a small frame without a
    /// descriptor or token may wait for `uncork` (see [`SendQueue::send`]).
    Js { cork: Cork },
}

/// Whether a send from JS may wait, corked, for `uncork`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cork {
    /// It is written now.
    Off,
    /// It gathers with the frames corked before and after it.
    On,
    /// As `On`, except that when a burst's second frame joins the cork and the peer has read
    /// everything written so far, the two are written now: the peer may be idle, waiting, and
    /// can start on them while the frames after them gather (as Nagle's rule sends the first
    /// small segment at once). Asked once per batch, at a burst's second frame only.
    LeadWhenCaughtUp,
}

/// A queued send that finished (`error: None`) or was dropped because the channel failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub token: u64,
    pub error: Option<SendFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The channel closed before the bytes were written.
    Closed,
    /// The write failed with this errno.
    Errno(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Every byte was handed to the kernel before `send` returned.
    Written,
    /// The frame joined the batch's cork: it waits for the sender's `uncork`, unless the cork
    /// went early (`Cork::LeadWhenCaughtUp`). Either way the sender must uncork before it
    /// yields.
    Corked,
    /// Some or all bytes wait in the queue. `behind_handle` is the message's position among those
    /// held back by an unacknowledged handle (1 for the first), when that is why it waits.
    Queued {
        queued_bytes: usize,
        behind_handle: Option<usize>,
    },
}

/// The outcome of one pass of writing.
pub(crate) enum Flush {
    /// Nothing more can go now (empty, or waiting for an answer or a place).
    Idle,
    /// The sink is full.
    WouldBlock,
    /// The write failed with this errno.
    Failed(i32),
}

struct OutFrame {
    data: Vec<u8>,
    offset: usize,
    /// The descriptor still to be attached (to the first byte only).
    fd: Option<Arc<OwnedFd>>,
    /// The frame carried a descriptor: once complete, the queue waits for the peer's ACK.
    needs_ack: bool,
    /// NODE_HANDLE_ACK / NACK: written even while a sent handle awaits its own ACK.
    control: bool,
    /// The peer's answer to this frame's handle is reported to the sender (JS sends).
    report_answer: bool,
    token: Option<u64>,
    /// A place reserved for a message the sender keeps for now (see `reserve`): no data yet,
    /// and nothing after it is written.
    reserved: bool,
}

impl OutFrame {
    fn data(data: Vec<u8>) -> OutFrame {
        OutFrame {
            data,
            offset: 0,
            fd: None,
            needs_ack: false,
            control: false,
            report_answer: false,
            token: None,
            reserved: false,
        }
    }

    fn control(data: Vec<u8>) -> OutFrame {
        OutFrame {
            control: true,
            ..OutFrame::data(data)
        }
    }

    fn reserved_place() -> OutFrame {
        OutFrame {
            reserved: true,
            ..OutFrame::data(Vec::new())
        }
    }
}

/// One channel's unwritten frames and the state that orders them.
#[derive(Default)]
pub(crate) struct SendQueue {
    queue: VecDeque<OutFrame>,
    awaiting_ack: bool,
    closed: bool,
    queued_bytes: usize,
    held_behind_handle: usize,
    /// The handle awaiting its answer came from a send that wants the answer reported.
    answer_wanted: bool,
    /// The queue is one frame that gathers the corked sends, unwritten, until `uncork`; nothing
    /// was tried on the sink for it yet.
    corked: bool,
    /// Frames in the open cork.
    cork_frames: usize,
    /// Whether this batch has asked the sink if the peer caught up (`Cork::LeadWhenCaughtUp`).
    lead_asked: bool,
    /// The buffer of the last frame written in full, kept for the next cork.
    spare: Vec<u8>,
    /// Places reserved in `queue` and not filled yet: counted so that a send need not search
    /// the queue for one while there is none.
    reserved: usize,
    /// Backlog was left for the writer, or a place went: the writer should look again.
    wake: bool,
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EPIPE)
}

impl SendQueue {
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// True while a sent descriptor waits for the peer's ACK.
    pub fn awaiting_ack(&self) -> bool {
        self.awaiting_ack
    }

    /// Frames in the open cork, and whether this batch asked about the peer.
    #[cfg(test)]
    pub fn cork_state(&self) -> (usize, bool) {
        (self.cork_frames, self.lead_asked)
    }

    /// Bytes accepted but not yet written.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether the writer should run since the last call (and clears it).
    pub fn take_wake(&mut self) -> bool {
        std::mem::take(&mut self.wake)
    }

    /// Whether a frame of `len` bytes may wait for `uncork` instead of being written now.
    fn can_cork(&self, len: usize) -> bool {
        let open = if self.corked {
            self.queue.len() == 1
        } else {
            self.queue.is_empty()
        };
        open && !self.awaiting_ack
            && self.held_behind_handle == 0
            && self.queued_bytes + len <= CORK_MAX_BYTES
    }

    /// Sends one complete frame, optionally with one descriptor on its first byte; what the sink
    /// does not take now is queued for `flush`. A `token` asks for a [`Completion`] if it waits.
    ///
    /// From [`Origin::Js`], the frame fills the first place reserved with `reserve`, if any, and
    /// `handle_answered` tells whether this frame's handle was the one answered. With a `cork`, a
    /// small frame without a descriptor and without a token may wait, unwritten, appended to the
    /// cork buffer, until `uncork` (or any other write) writes it together with the frames corked
    /// after it: one write for a burst, and no allocation once a buffer has been recycled. It is
    /// reported `Corked`; the caller promises to uncork before it yields.
    pub fn send(
        &mut self,
        sink: &mut impl Sink,
        payload: Cow<'_, [u8]>,
        fd: Option<Arc<OwnedFd>>,
        token: Option<u64>,
        origin: Origin,
    ) -> Result<SendStatus, SendFailure> {
        if self.closed {
            return Err(SendFailure::Closed);
        }
        let (from_js, cork) = match origin {
            Origin::Engine => (false, Cork::Off),
            Origin::Js { cork } => (true, cork),
        };
        // Where the frame goes: into the first reserved place when it fills one, else at the end.
        let place = if from_js && self.reserved > 0 {
            self.queue.iter().position(|f| f.reserved)
        } else {
            None
        };
        let bytes: &[u8] = &payload;
        let corkable = cork != Cork::Off
            && place.is_none()
            && fd.is_none()
            && token.is_none()
            && !bytes.is_empty();
        if self.corked && !(corkable && self.can_cork(bytes.len())) {
            // This frame can't join the cork: write what the cork holds first, in order.
            self.flush_corked(sink);
        }
        if corkable && self.can_cork(bytes.len()) {
            self.queued_bytes += bytes.len();
            if let (true, Some(cork)) = (self.corked, self.queue.back_mut()) {
                cork.data.extend_from_slice(bytes);
            } else {
                let mut data = std::mem::take(&mut self.spare);
                data.extend_from_slice(bytes);
                self.corked = true;
                self.queue.push_back(OutFrame::data(data));
            }
            self.cork_frames += 1;
            // A burst's second frame asks, once per batch, whether the peer has read
            // everything: if so it may be idle, waiting, and the two go now so that it starts
            // on them while the rest gathers. (A lone frame is written at the batch's end
            // anyway, so it costs no question.)
            if cork == Cork::LeadWhenCaughtUp && self.cork_frames == 2 && !self.lead_asked {
                self.lead_asked = true;
                if sink.peer_caught_up() {
                    self.flush_corked(sink);
                }
            }
            return Ok(SendStatus::Corked);
        }
        let mut written = 0;
        let mut fd_sent = false;
        let at_head = place.map_or(self.queue.is_empty(), |at| at == 0);
        if at_head && !self.awaiting_ack {
            let pass = fd.as_deref().map(|f| f.as_fd());
            match sink.write(&[IoSlice::new(bytes)], pass) {
                Ok(n) => {
                    written = n;
                    fd_sent = fd.is_some() && n > 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.take_place(place);
                    return Err(SendFailure::Errno(errno(&e)));
                }
            }
            if written == bytes.len() && !bytes.is_empty() {
                self.take_place(place);
                if fd.is_some() {
                    self.awaiting_ack = true;
                    self.answer_wanted = from_js;
                }
                return Ok(SendStatus::Written);
            }
        }
        let held = place.is_none() && (self.awaiting_ack || self.held_behind_handle > 0);
        let behind_handle = if held {
            self.held_behind_handle += 1;
            Some(self.held_behind_handle)
        } else {
            None
        };
        // The frame keeps its written part, so that `offset` tells a started frame (which
        // nothing may go into) from one not yet started.
        let data = payload.into_owned();
        self.queued_bytes += data.len() - written;
        let needs_ack = fd.is_some();
        let frame = OutFrame {
            offset: written,
            fd: if fd_sent { None } else { fd },
            needs_ack,
            report_answer: needs_ack && from_js,
            token,
            ..OutFrame::data(data)
        };
        match place {
            Some(at) => {
                self.queue[at] = frame;
                self.reserved -= 1;
            }
            None => self.queue.push_back(frame),
        }
        self.wake = true;
        Ok(SendStatus::Queued {
            queued_bytes: self.queued_bytes,
            behind_handle,
        })
    }

    /// Writes the frames corked by `send`; what the sink does not take now is left to `flush`.
    /// It ends the batch: the next one may ask about the peer again.
    pub fn uncork(&mut self, sink: &mut impl Sink) {
        self.lead_asked = false;
        if self.corked && !self.closed {
            self.flush_corked(sink);
        }
    }

    /// Writes the cork (while it waits it is the whole queue and carries no completion token);
    /// a remainder becomes backlog for the writer.
    fn flush_corked(&mut self, sink: &mut impl Sink) {
        let mut done = Vec::new();
        if !matches!(self.flush(sink, &mut done), Flush::Idle) {
            self.wake = true;
        }
    }

    /// Sends NODE_HANDLE_ACK or NACK. Like Node, these skip the messages held back by an
    /// unacknowledged handle (otherwise two peers passing handles at once would deadlock), but
    /// never split a frame that is already partly written.
    pub fn send_control(&mut self, sink: &mut impl Sink, bytes: Vec<u8>) {
        if self.closed {
            return;
        }
        if self.corked {
            // Corked frames count as written for their sender: they go first.
            self.flush_corked(sink);
        }
        if self.queue.is_empty() {
            match sink.write(&[IoSlice::new(&bytes)], None) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) => {
                    self.queued_bytes += bytes.len() - n;
                    let frame = OutFrame {
                        offset: n,
                        ..OutFrame::control(bytes)
                    };
                    self.queue.push_back(frame);
                    self.wake = true;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        let at = self.after_started();
        self.queued_bytes += bytes.len();
        self.queue.insert(at, OutFrame::control(bytes));
        self.wake = true;
    }

    /// The peer answered NODE_HANDLE_ACK or NODE_HANDLE_NACK: release the queue. Returns true
    /// when the answered handle came from JS; after a NACK of such a handle, a place is reserved
    /// ahead of everything queued for JS to send it again (or to give the place up with
    /// `unreserve`), as Node sends a refused handle again first.
    pub fn handle_answered(&mut self, nack: bool) -> bool {
        let was_awaiting = self.awaiting_ack;
        self.awaiting_ack = false;
        self.held_behind_handle = 0;
        let wanted = was_awaiting && std::mem::take(&mut self.answer_wanted);
        if wanted && nack && !self.closed {
            let at = self.after_started();
            self.queue.insert(at, OutFrame::reserved_place());
            self.reserved += 1;
        }
        self.wake = true;
        wanted
    }

    /// The reserved place at `place` goes (its frame was written at once or failed, or the
    /// sender gave it up), and what waited behind it may follow.
    fn take_place(&mut self, place: Option<usize>) {
        if let Some(at) = place {
            self.queue.remove(at);
            self.reserved -= 1;
            self.wake = true;
        }
    }

    /// The first queue position that may go before the rest: after a partly written head and any
    /// control frames queued earlier.
    fn after_started(&self) -> usize {
        let q = &self.queue;
        let mut at = 0;
        while at < q.len() && (q[at].control || (at == 0 && q[0].offset > 0)) {
            at += 1;
        }
        at
    }

    /// Reserves a place at the end of the queue for a message JS keeps back for now (behind a
    /// handle awaiting its answer); its next send fills the first one.
    pub fn reserve(&mut self, sink: &mut impl Sink) {
        if self.closed {
            return;
        }
        if self.corked {
            self.flush_corked(sink);
        }
        self.queue.push_back(OutFrame::reserved_place());
        self.reserved += 1;
    }

    /// Gives up the first reserved place (or with `last`, the last one), letting what waits
    /// behind it go.
    pub fn unreserve(&mut self, last: bool) {
        let at = if last {
            self.queue.iter().rposition(|f| f.reserved)
        } else {
            self.queue.iter().position(|f| f.reserved)
        };
        self.take_place(at);
    }

    /// Closes the queue: what is corked is written first (it was reported written), then the
    /// rest is returned as failed. Returns whether this call closed it.
    pub fn close(&mut self, sink: &mut impl Sink) -> (Vec<Completion>, bool) {
        if self.corked && !self.closed {
            let mut done = Vec::new();
            let _ = self.flush(sink, &mut done);
        }
        let failed = self.fail(SendFailure::Closed);
        let first = !self.closed;
        self.closed = true;
        self.wake = true;
        (failed, first)
    }

    /// Drops everything queued, returning the failed sends that asked for a completion.
    pub fn fail(&mut self, why: SendFailure) -> Vec<Completion> {
        self.queued_bytes = 0;
        self.corked = false;
        self.cork_frames = 0;
        self.held_behind_handle = 0;
        self.reserved = 0;
        self.queue
            .drain(..)
            .filter_map(|f| {
                f.token.map(|token| Completion {
                    token,
                    error: Some(why),
                })
            })
            .collect()
    }

    /// Writes what may go now; completions of frames written in full go to `done`.
    pub fn flush(&mut self, sink: &mut impl Sink, done: &mut Vec<Completion>) -> Flush {
        // Whoever flushes takes the cork along; what stays queued is plain backlog.
        self.corked = false;
        self.cork_frames = 0;
        loop {
            match self.queue.front() {
                None => return Flush::Idle,
                Some(head) if head.reserved || (self.awaiting_ack && !head.control) => {
                    return Flush::Idle
                }
                Some(_) => {}
            }
            let res = {
                let head = &self.queue[0];
                if let Some(pass) = head.fd.as_deref() {
                    let bytes = &head.data[head.offset..];
                    sink.write(&[IoSlice::new(bytes)], Some(pass.as_fd()))
                } else {
                    let q = &self.queue;
                    let mut iov = Vec::with_capacity(MAX_IOV.min(q.len()));
                    for (i, f) in q.iter().enumerate() {
                        let stop = i > 0
                            && (f.fd.is_some()
                                || f.reserved
                                || q[i - 1].needs_ack
                                || (self.awaiting_ack && !f.control));
                        if iov.len() == MAX_IOV || stop {
                            break;
                        }
                        iov.push(IoSlice::new(&f.data[f.offset..]));
                    }
                    sink.write(&iov, None)
                }
            };
            let n = match res {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::WouldBlock,
                Err(e) => return Flush::Failed(errno(&e)),
            };
            self.consume(n, done);
        }
    }

    /// `n` bytes from the head of the queue were written.
    fn consume(&mut self, mut n: usize, done: &mut Vec<Completion>) {
        if n > 0 {
            if let Some(head) = self.queue.front_mut() {
                head.fd = None;
            }
        }
        while n > 0 {
            let Some(head) = self.queue.front_mut() else {
                break;
            };
            let rest = head.data.len() - head.offset;
            if n < rest {
                head.offset += n;
                self.queued_bytes -= n;
                break;
            }
            n -= rest;
            self.queued_bytes -= rest;
            if let Some(mut f) = self.queue.pop_front() {
                if let Some(token) = f.token {
                    done.push(Completion { token, error: None });
                }
                if self.spare.capacity() == 0 && f.data.capacity() <= 2 * CORK_MAX_BYTES {
                    f.data.clear();
                    self.spare = std::mem::take(&mut f.data);
                }
                if f.needs_ack {
                    self.awaiting_ack = true;
                    self.answer_wanted = f.report_answer;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;

//! Reading one worker's channel (docs/PROTOCOL.md §3.1-3.3): descriptors and bytes from the
//! socket, frames from the decoder, and each frame classified as a user message (joined into the
//! run this read builds) or an internal one (handed to `dispatch`). A malformed frame poisons
//! the reader: the worker is disconnected and the rest of its stream discarded.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::engine::{ChannelOptions, Core, Shared};
use super::event::{Backlog, Credit, Event, Payload};
use crate::ipc::channel::Channel;
use crate::ipc::fdpass;
use crate::ipc::frame::{Decoder, Mode};
use crate::ipc::message::{classify_advanced, classify_json, Incoming, UserBody};

/// Reads per wake-up before yielding to other workers (Node reads up to 32 per loop turn).
const READS_PER_TURN: usize = 32;
const READ_BUF: usize = 64 * 1024;
/// Descriptors received without a NODE_HANDLE message to claim them: more is hostile.
const MAX_UNCLAIMED_FDS: usize = 64;

pub(super) struct Reader {
    pub(super) id: u32,
    pub(super) mode: Mode,
    decoder: Decoder,
    /// Descriptors received and not yet claimed by a NODE_HANDLE message.
    pub(super) fds: VecDeque<OwnedFd>,
    buf: Vec<u8>,
    /// Set after a malformed frame: the rest of the stream is discarded until EOF.
    poisoned: bool,
    pub(super) backlog: Arc<Backlog>,
    /// The claim on the backlog for the messages of the read under way.
    credit: Option<Credit>,
    /// What the host read and left to the engine, in wire order (see cluster/host.rs).
    handover: VecDeque<Handover>,
    /// The host read end-of-stream.
    host_eof: bool,
}

/// What a read does with each whole frame: the reader, the frame, the room the frames after it
/// can add to a run, and the read's events.
type FrameFn<'f> = dyn FnMut(&mut Reader, Cow<'_, [u8]>, usize, &mut Vec<Event>) + 'f;

/// A frame the host read and the engine handles.
enum Handover {
    /// An internal message, already parsed.
    Internal(Map<String, Value>),
    /// A frame after it, not classified yet.
    Frame(Vec<u8>),
}

pub(super) enum ReadOutcome {
    /// The socket is empty for now.
    Drained,
    /// More may be waiting: yield to the other workers, then read again.
    MoreLater,
    Eof,
}

impl Reader {
    pub(super) fn new(id: u32, options: &ChannelOptions) -> Reader {
        Reader {
            id,
            mode: options.mode,
            decoder: Decoder::new(options.mode, options.max_frame),
            fds: VecDeque::new(),
            buf: vec![0u8; READ_BUF],
            poisoned: false,
            backlog: Arc::new(Backlog::default()),
            credit: None,
            handover: VecDeque::new(),
            host_eof: false,
        }
    }

    /// Whether the host left nothing for the engine to handle.
    pub(super) fn settled(&self) -> bool {
        self.handover.is_empty() && !self.host_eof && !self.poisoned
    }

    /// Handles what the host read and left to the engine (internal messages and what followed
    /// them), in wire order. Returns the host's end-of-stream, if it read one.
    fn take_handover(
        &mut self,
        core: &Rc<Core>,
        channel: &Arc<Channel>,
        events: &mut Vec<Event>,
    ) -> bool {
        while let Some(h) = self.handover.pop_front() {
            if self.poisoned {
                self.handover.clear();
                break;
            }
            match h {
                Handover::Internal(map) => {
                    let report = self.report(core, &map);
                    self.internal(core, channel, map, report, events);
                }
                Handover::Frame(bytes) => {
                    let room = bytes.len() + 1;
                    self.frame(core, channel, Cow::Owned(bytes), room, events);
                }
            }
        }
        std::mem::take(&mut self.host_eof)
    }

    /// The host's read (cluster/host.rs): user messages become events here; at the first
    /// internal message, malformed frame or end-of-stream it stops and leaves the rest to the
    /// engine. `still_host` says whether reading is still the host's between reads. Returns
    /// true when it left something to the engine (which must take reading back).
    pub(super) fn read_host(
        &mut self,
        shared: &Shared,
        channel: &Arc<Channel>,
        still_host: impl Fn() -> bool,
    ) -> bool {
        let mut events = Vec::new();
        for _ in 0..READS_PER_TURN {
            if !self.settled() || !still_host() {
                break;
            }
            let step = self.recv_once(channel, false, &mut events, &mut |r, f, room, events| {
                if !r.settled() {
                    // Past what the engine must handle: the rest is its, in order.
                    r.handover.push_back(Handover::Frame(f.into_owned()));
                    return;
                }
                match r.classify(f) {
                    Ok(Incoming::User(body)) => r.user(body, room, events),
                    Ok(Incoming::Internal(map)) => r.handover.push_back(Handover::Internal(map)),
                    Err(e) => r.malformed(channel, e.to_string(), events),
                }
            });
            match step {
                ReadOutcome::MoreLater => {}
                ReadOutcome::Drained => break,
                ReadOutcome::Eof => self.host_eof = true,
            }
        }
        let credit = self.finish(&mut events);
        shared.push_read_quiet(events, credit);
        !self.settled()
    }

    /// One `recv`: what it carried is decoded and each whole frame given to `each` (with the
    /// room the frames after it can add to a run), until the reader is poisoned. `MoreLater`:
    /// the socket may hold more.
    fn recv_once(
        &mut self,
        channel: &Arc<Channel>,
        to_eof: bool,
        events: &mut Vec<Event>,
        each: &mut FrameFn<'_>,
    ) -> ReadOutcome {
        let fds_before = self.fds.len();
        match fdpass::recv(channel.fd(), &mut self.buf, &mut self.fds) {
            Ok(0) => ReadOutcome::Eof,
            Ok(n) => {
                // A short read drained the socket (a stream read only stops early at a
                // segment that carried descriptors), so no second read to see EAGAIN.
                let drained = !to_eof && n < self.buf.len() && self.fds.len() == fds_before;
                if self.poisoned {
                    self.fds.clear();
                    return ReadOutcome::MoreLater;
                }
                if self.fds.len() > MAX_UNCLAIMED_FDS {
                    self.malformed(channel, format!("more than {MAX_UNCLAIMED_FDS} descriptors without NODE_HANDLE messages"), events);
                    return ReadOutcome::MoreLater;
                }
                // The frames borrow the read buffer; it is put back once they are used.
                let buf = std::mem::take(&mut self.buf);
                let mut frames = Vec::new();
                let res = self.decoder.push(&buf[..n], &mut frames);
                // What the frames still to come can add to a run (each json text gains a
                // newline in it).
                let mut room: usize = frames.iter().map(|f| f.len() + 1).sum();
                for f in frames {
                    if self.poisoned {
                        break;
                    }
                    let this = f.len() + 1;
                    each(self, f, room, events);
                    room -= this;
                }
                self.buf = buf;
                if let Err(e) = res {
                    self.malformed(channel, e.to_string(), events);
                }
                if drained {
                    ReadOutcome::Drained
                } else {
                    ReadOutcome::MoreLater
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ReadOutcome::Drained,
            Err(_) => ReadOutcome::Eof,
        }
    }

    /// The read's runs trimmed to size, and its claim on the backlog.
    fn finish(&mut self, events: &mut [Event]) -> Option<Credit> {
        for ev in events.iter_mut() {
            if let Event::Messages { run, .. } = ev {
                run.trim();
            }
        }
        self.credit.take().filter(|c| !c.is_empty())
    }

    fn classify<'a>(
        &self,
        frame: Cow<'a, [u8]>,
    ) -> Result<Incoming<'a>, crate::ipc::message::MessageError> {
        match self.mode {
            Mode::Json => classify_json(frame),
            Mode::Advanced => classify_advanced(frame),
        }
    }

    /// Reads what the channel holds. `to_eof` (the worker has exited) keeps reading until
    /// end-of-stream instead of stopping at the first short read.
    pub(super) fn read(
        &mut self,
        core: &Rc<Core>,
        channel: &Arc<Channel>,
        to_eof: bool,
    ) -> ReadOutcome {
        let mut events = Vec::new();
        let mut outcome = ReadOutcome::MoreLater;
        if self.take_handover(core, channel, &mut events) {
            let credit = self.finish(&mut events);
            core.shared.push_read(events, credit);
            return ReadOutcome::Eof;
        }
        for _ in 0..READS_PER_TURN {
            outcome = self.recv_once(channel, to_eof, &mut events, &mut |r, f, room, events| {
                r.frame(core, channel, f, room, events)
            });
            if !matches!(outcome, ReadOutcome::MoreLater) {
                break;
            }
        }
        let credit = self.finish(&mut events);
        core.shared.push_read(events, credit);
        outcome
    }

    /// Counts a message the read hands to the host against the worker's backlog.
    pub(super) fn claim(&mut self, payload_len: usize) {
        let backlog = &self.backlog;
        self.credit
            .get_or_insert_with(|| backlog.claim())
            .grow(payload_len);
    }

    pub(super) fn malformed(
        &mut self,
        channel: &Arc<Channel>,
        why: String,
        events: &mut Vec<Event>,
    ) {
        if self.poisoned {
            return;
        }
        self.poisoned = true;
        self.fds.clear();
        events.push(Event::Malformed {
            id: self.id,
            reason: why,
        });
        channel.close();
    }

    fn frame(
        &mut self,
        core: &Rc<Core>,
        channel: &Arc<Channel>,
        frame: Cow<'_, [u8]>,
        room: usize,
        events: &mut Vec<Event>,
    ) {
        match self.classify(frame) {
            Ok(Incoming::User(body)) => self.user(body, room, events),
            Ok(Incoming::Internal(map)) => {
                let report = self.report(core, &map);
                self.internal(core, channel, map, report, events);
            }
            Err(e) => self.malformed(channel, e.to_string(), events),
        }
    }

    /// A user message: joins the run this read is building, if the previous event is one.
    fn user(&mut self, body: UserBody<'_>, room: usize, events: &mut Vec<Event>) {
        self.claim(body.len());
        if let Some(Event::Messages { run, .. }) = events.last_mut() {
            if run.extend(&body) {
                return;
            }
        }
        events.push(Event::Messages {
            id: self.id,
            run: Payload::start(body, room),
        });
    }
}

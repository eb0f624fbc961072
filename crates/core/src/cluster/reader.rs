//! Reading one worker's channel (docs/PROTOCOL.md §3.1-3.3): descriptors and bytes from the
//! socket, frames from the decoder, and each frame classified as a user message (joined into the
//! run this read builds) or an internal one (handed to `dispatch`). A malformed frame poisons
//! the reader: the worker is disconnected and the rest of its stream discarded.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use super::engine::{ChannelOptions, Core};
use super::event::{Backlog, Credit, Event, Payload};
use crate::ipc::channel::Channel;
use crate::ipc::fdpass;
use crate::ipc::frame::{Decoder, Mode};
use crate::ipc::message::{classify_advanced, classify_json, Incoming};

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
        for _ in 0..READS_PER_TURN {
            let fds_before = self.fds.len();
            match fdpass::recv(channel.fd(), &mut self.buf, &mut self.fds) {
                Ok(0) => {
                    outcome = ReadOutcome::Eof;
                    break;
                }
                Ok(n) => {
                    // A short read drained the socket (a stream read only stops early at a
                    // segment that carried descriptors), so no second read to see EAGAIN.
                    let drained = !to_eof && n < self.buf.len() && self.fds.len() == fds_before;
                    if self.poisoned {
                        self.fds.clear();
                        continue;
                    }
                    if self.fds.len() > MAX_UNCLAIMED_FDS {
                        self.malformed(channel, format!("more than {MAX_UNCLAIMED_FDS} descriptors without NODE_HANDLE messages"), &mut events);
                        continue;
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
                        self.frame(core, channel, f, room, &mut events);
                        room -= this;
                    }
                    self.buf = buf;
                    if let Err(e) = res {
                        self.malformed(channel, e.to_string(), &mut events);
                    }
                    if drained {
                        outcome = ReadOutcome::Drained;
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    outcome = ReadOutcome::Drained;
                    break;
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                    outcome = ReadOutcome::Eof;
                    break;
                }
                Err(_) => {
                    outcome = ReadOutcome::Eof;
                    break;
                }
            }
        }
        for ev in &mut events {
            if let Event::Messages { run, .. } = ev {
                run.trim();
            }
        }
        let credit = self.credit.take().filter(|c| !c.is_empty());
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
        let incoming = match self.mode {
            Mode::Json => classify_json(frame),
            Mode::Advanced => classify_advanced(frame),
        };
        match incoming {
            Ok(Incoming::User(body)) => {
                self.claim(body.len());
                // Join the run this read is building, if the previous event is one.
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
            Ok(Incoming::Internal(map)) => {
                let report = self.report(core, &map);
                self.internal(core, channel, map, report, events);
            }
            Err(e) => self.malformed(channel, e.to_string(), events),
        }
    }
}

//! One task per worker on the engine thread: reads and decodes its channel, answers internal
//! messages, reports user messages, and watches the process exit. `disconnect` is reported
//! before `exit` whenever both are ready (docs/PROTOCOL.md §5.3).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::io::unix::AsyncFd;

use super::engine::{encode, ChannelOptions, Core};
use super::event::{Backlog, Credit, Event, PassedHandle, Payload};
use crate::ipc::channel::Channel;
use crate::ipc::fdpass;
use crate::ipc::frame::{memchr, Decoder, Mode};
use crate::ipc::message::{classify_json, is_internal_cmd, Incoming, MessageError, Obj, UserBody};
use crate::ipc::{advanced, v8json};
use crate::process::child;
use crate::scheduler::Scheduler;

/// Reads per wake-up before yielding to other workers (Node reads up to 32 per loop turn).
const READS_PER_TURN: usize = 32;
const READ_BUF: usize = 64 * 1024;
/// Reading from a worker pauses while this many bytes of its messages wait for JS.
const BACKLOG_LIMIT: usize = 16 * 1024 * 1024;
/// Descriptors received without a NODE_HANDLE message to claim them: more is hostile.
const MAX_UNCLAIMED_FDS: usize = 64;

struct Reader {
    id: u32,
    mode: Mode,
    decoder: Decoder,
    fds: VecDeque<OwnedFd>,
    buf: Vec<u8>,
    /// Set after a malformed frame: the rest of the stream is discarded until EOF.
    poisoned: bool,
    backlog: Arc<Backlog>,
    /// The claim on the backlog for the messages of the read under way.
    credit: Option<Credit>,
}

enum ReadOutcome {
    Drained,
    MoreLater,
    Eof,
}

pub(crate) async fn run(
    core: Rc<Core>,
    id: u32,
    channel: Arc<Channel>,
    options: ChannelOptions,
    pidfd: AsyncFd<OwnedFd>,
) {
    let mode = options.mode;
    let shared = core.shared.clone();
    let writer = tokio::task::spawn_local(channel.clone().run_writer(move |done| {
        shared.push_all(done.into_iter().map(|c| Event::SendDone {
            id,
            token: c.token,
            error: c.error,
        }));
    }));
    let mut reader = Reader {
        id,
        mode,
        decoder: Decoder::new(mode, options.max_frame),
        fds: VecDeque::new(),
        buf: vec![0u8; READ_BUF],
        poisoned: false,
        backlog: Arc::new(Backlog::default()),
        credit: None,
    };
    let backlog = reader.backlog.clone();
    let mut open = true;
    let mut exited = false;
    // The exit, held back until the worker's descriptors are closed (Node has released them
    // when it emits 'exit'), unless the channel outlives the process.
    let mut exit_status = None;
    while open || !exited {
        if open && backlog.waiting() > BACKLOG_LIMIT {
            tokio::select! {
                _ = backlog.wait_below(BACKLOG_LIMIT) => {}
                // Keep watching the exit meanwhile; the channel is read once JS caught up.
                status = child::wait_exit(&pidfd), if !exited => {
                    exited = true;
                    // What the worker wrote before dying is bounded by the socket buffer.
                    backlog.wait_below(0).await;
                    exit_status = report_exit(&core, id, status, &mut open, &mut reader, &channel);
                }
            }
            continue;
        }
        tokio::select! {
            ready = channel.io().readable(), if open => {
                match ready {
                    Ok(mut guard) => match reader.read(&core, &channel, false) {
                        ReadOutcome::Drained => guard.clear_ready(),
                        ReadOutcome::MoreLater => {
                            drop(guard);
                            tokio::task::yield_now().await;
                        }
                        ReadOutcome::Eof => {
                            open = false;
                            on_disconnect(&core, id, &channel);
                        }
                    },
                    Err(_) => {
                        open = false;
                        on_disconnect(&core, id, &channel);
                    }
                }
            }
            status = child::wait_exit(&pidfd), if !exited => {
                exited = true;
                exit_status = report_exit(&core, id, status, &mut open, &mut reader, &channel);
            }
        }
    }
    // Both ends are done: forget the worker and close its descriptors, then report the exit.
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
    if let Some(status) = exit_status {
        push_exit(&core, id, status);
    }
}

fn push_exit(core: &Rc<Core>, id: u32, status: child::ExitStatus) {
    core.shared.push(Event::Exit {
        id,
        code: status.code,
        signal: status.signal,
    });
    Scheduler::remove_worker(&core.sched, &core.link, id);
}

/// The process is gone, so its end of the channel is closed: read what it wrote before dying
/// and report the disconnect first. The exit is returned to be reported once the descriptors
/// are closed, or reported at once if the channel stays open (another process holds its end).
fn report_exit(
    core: &Rc<Core>,
    id: u32,
    status: child::ExitStatus,
    open: &mut bool,
    reader: &mut Reader,
    channel: &Arc<Channel>,
) -> Option<child::ExitStatus> {
    if *open {
        loop {
            match reader.read(core, channel, true) {
                ReadOutcome::MoreLater => continue,
                ReadOutcome::Eof => {
                    *open = false;
                    on_disconnect(core, id, channel);
                    break;
                }
                ReadOutcome::Drained => break,
            }
        }
    }
    if *open {
        push_exit(core, id, status);
        return None;
    }
    Some(status)
}

fn on_disconnect(core: &Rc<Core>, id: u32, channel: &Arc<Channel>) {
    let failed = channel.close();
    core.shared
        .push_all(failed.into_iter().map(|c| Event::SendDone {
            id,
            token: c.token,
            error: c.error,
        }));
    Scheduler::remove_worker(&core.sched, &core.link, id);
    core.shared.push(Event::Disconnect { id });
}

impl Reader {
    /// Reads what the channel holds. `to_eof` (the worker has exited) keeps reading until
    /// end-of-stream instead of stopping at the first short read.
    fn read(&mut self, core: &Rc<Core>, channel: &Arc<Channel>, to_eof: bool) -> ReadOutcome {
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
    fn claim(&mut self, payload_len: usize) {
        let backlog = &self.backlog;
        self.credit
            .get_or_insert_with(|| backlog.claim())
            .grow(payload_len);
    }

    fn malformed(&mut self, channel: &Arc<Channel>, why: String, events: &mut Vec<Event>) {
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

    /// The internal message as JSON when JS listens for `internalMessage` on this worker.
    fn report(&self, core: &Rc<Core>, map: &Map<String, Value>) -> Option<String> {
        core.shared
            .watched(self.id)
            .then(|| serde_json::to_string(map).unwrap_or_else(|_| "{}".into()))
    }

    /// Acts on an internal message. `report` (see `report`) is handed to JS at Node's moment:
    /// after what the primary's own listeners do with the message, and for a NODE_HANDLE
    /// envelope with the message it carries (Node emits the envelope with the raw handle, before
    /// the converted handle's message).
    fn internal(
        &mut self,
        core: &Rc<Core>,
        channel: &Arc<Channel>,
        map: Map<String, Value>,
        report: Option<String>,
        events: &mut Vec<Event>,
    ) {
        let id = self.id;
        let reported = |events: &mut Vec<Event>, report: Option<String>| {
            if let Some(message) = report {
                events.push(Event::Internal { id, message });
            }
        };
        let cmd = map.get("cmd").and_then(Value::as_str).unwrap_or("");
        match cmd {
            "NODE_HANDLE_ACK" | "NODE_HANDLE_NACK" => {
                // Release the send queue; tell JS when the handle was one it sent.
                let nack = cmd == "NODE_HANDLE_NACK";
                let sent_by_user = channel.handle_answered(nack);
                if sent_by_user {
                    events.push(Event::HandleAnswered { id: self.id, nack });
                }
            }
            "NODE_HANDLE" => {
                let Some(fd) = self.fds.pop_front() else {
                    reported(events, report);
                    let nack = Obj::new().with("cmd", "NODE_HANDLE_NACK").into_value();
                    channel.send_control(encode(self.mode, &nack));
                    return;
                };
                let ack = Obj::new().with("cmd", "NODE_HANDLE_ACK").into_value();
                channel.send_control(encode(self.mode, &ack));
                let mut map = map;
                let inner = map.remove("msg").unwrap_or(Value::Null);
                let inner_internal = matches!(&inner, Value::Object(m) if matches!(m.get("cmd"), Some(Value::String(c)) if is_internal_cmd(c)));
                if inner_internal {
                    // A primary never receives cluster messages with descriptors; drop it.
                    drop(fd);
                    reported(events, report);
                    if let Value::Object(m) = inner {
                        let inner_report = self.report(core, &m);
                        self.internal(core, channel, m, inner_report, events);
                    }
                    return;
                }
                let payload = match self.mode {
                    Mode::Json => Payload::Json(
                        serde_json::to_string(&inner).unwrap_or_else(|_| "null".into()),
                    ),
                    Mode::Advanced => Payload::Advanced(advanced::encode_frame(&inner)),
                };
                let handle = PassedHandle {
                    fd,
                    kind: map
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    key: map.get("key").and_then(Value::as_str).map(str::to_string),
                    dgram_type: map
                        .get("dgramType")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    envelope: report,
                };
                self.claim(payload.len());
                events.push(Event::Message {
                    id: self.id,
                    payload,
                    handle,
                });
                return;
            }
            // JS takes part in these (connection counts of passed sockets): always reported.
            c if c.starts_with("NODE_SOCKET_") => {
                let message = report
                    .unwrap_or_else(|| serde_json::to_string(&map).unwrap_or_else(|_| "{}".into()));
                events.push(Event::Internal { id, message });
                return;
            }
            "NODE_CLUSTER" => self.cluster(core, map, events),
            _ => {}
        }
        reported(events, report);
    }

    fn cluster(&mut self, core: &Rc<Core>, map: Map<String, Value>, events: &mut Vec<Event>) {
        let id = self.id;
        let link = &core.link;
        if let Some(ack) = map.get("ack").and_then(Value::as_u64) {
            // Route replies before anything else; flush what is pending so event order holds.
            if Scheduler::on_reply(&core.sched, link, id, ack, &map) {
                return;
            }
        }
        match map.get("act").and_then(Value::as_str) {
            Some("online") => events.push(Event::Online { id }),
            Some("queryServer") if !core.detached.borrow().contains(&id) => {
                Scheduler::query_server(&core.sched, link, id, &map);
            }
            Some("listening") => {
                let mut map = map;
                events.push(Event::Listening {
                    id,
                    address_type: map.remove("addressType"),
                    address: map.remove("address"),
                    port: map.remove("port"),
                    fd: map.remove("fd"),
                })
            }
            Some("close") => {
                if let Some(key) = map.get("key").and_then(Value::as_str) {
                    Scheduler::close(&core.sched, link, id, key);
                }
            }
            Some("exitedAfterDisconnect") => {
                core.detached.borrow_mut().insert(id);
                let seq = map.get("seq").cloned().unwrap_or(Value::Null);
                core.shared
                    .send_cluster(id, Obj::cluster().with("ack", seq), None, None);
                events.push(Event::ExitedAfterDisconnect { id });
            }
            _ => {}
        }
    }
}

/// Whether `hay` contains `NODE_`. Runs on every advanced frame, so it only compares where
/// `memchr` (eight bytes at a time) finds an `N`.
fn mentions_node(hay: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = memchr(b'N', &hay[from..]) {
        if hay[from + i..].starts_with(b"NODE_") {
            return true;
        }
        from += i + 1;
    }
    false
}

/// Whether the value in a V8 body (its header checked) may be a plain object: only one can carry
/// the `cmd` of an internal message. A string, array or number at the top is a user message
/// without scanning its bytes for `NODE_`. Padding (0x00) may precede the tag; serializer
/// versions other than 15 are left to the scan.
fn top_level_object(body: &[u8]) -> bool {
    match body {
        [0xff, 15, rest @ ..] => rest.iter().find(|&&b| b != 0) == Some(&b'o'),
        _ => true,
    }
}

/// Advanced-mode classification: only frames mentioning `NODE_` are decoded here. `frame` has
/// its length prefix (the decoder keeps it). A user message of plain data goes on as JSON text
/// (see `v8json`), anything else as the V8 bytes.
fn classify_advanced(frame: Cow<'_, [u8]>) -> Result<Incoming<'_>, MessageError> {
    let body = frame.get(4..).unwrap_or_default();
    advanced::check_header(body).map_err(|e| MessageError::InvalidAdvanced(e.to_string()))?;
    if top_level_object(body) && mentions_node(body) {
        if let Ok(Some(Value::Object(map))) = advanced::decode(body) {
            if matches!(map.get("cmd"), Some(Value::String(c)) if is_internal_cmd(c)) {
                return Ok(Incoming::Internal(map));
            }
        }
    }
    if let Some(text) = v8json::to_json(body) {
        return Ok(Incoming::User(UserBody::Json(Cow::Owned(text))));
    }
    Ok(Incoming::User(UserBody::Advanced(frame)))
}

#[cfg(test)]
mod tests {
    use super::{mentions_node, top_level_object};

    #[test]
    fn only_an_object_at_the_top_is_scanned() {
        // Bytes from Node 20's v8.serialize.
        assert!(top_level_object(&[0xff, 0x0f, b'o', b'{', 0]));
        assert!(top_level_object(&[0xff, 0x0f, 0, 0, b'o', b'{', 0]));
        assert!(!top_level_object(&[
            0xff, 0x0f, b'"', 5, b'N', b'O', b'D', b'E', b'_'
        ]));
        assert!(!top_level_object(&[0xff, 0x0f, b'A', 0, b'$', 0, 0]));
        assert!(!top_level_object(&[0xff, 0x0f, b'I', 2]));
        assert!(!top_level_object(&[0xff, 0x0f]));
        assert!(top_level_object(&[0xff, 0x0d, b'"', 1, b'x']));
    }

    #[test]
    fn finds_node_prefix_anywhere() {
        assert!(!mentions_node(b""));
        assert!(!mentions_node(b"NODE"));
        assert!(mentions_node(b"NODE_"));
        for len in 0..40 {
            for at in 0..=len {
                let mut v = vec![b'N'; len + 5];
                v[at..at + 5].copy_from_slice(b"NODE_");
                assert!(mentions_node(&v), "len {len} at {at}");
                let mut w = vec![b'x'; len + 5];
                w[at..at + 5].copy_from_slice(b"NODEx");
                assert!(!mentions_node(&w), "len {len} at {at}");
            }
        }
        let mut big = vec![b'N'; 70_000];
        assert!(!mentions_node(&big));
        big[69_990..69_995].copy_from_slice(b"NODE_");
        assert!(mentions_node(&big));
    }
}

//! The duplex IPC channel to one worker, with Node's send queue (docs/PROTOCOL.md §3.4): after a
//! message that carries a descriptor is written, everything else waits until the peer answers
//! `NODE_HANDLE_ACK` or `NODE_HANDLE_NACK`.
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

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

use super::fdpass;

/// Most frames gathered into one `sendmsg`.
const MAX_IOV: usize = 64;

/// How soon a full socket is tried again when its write readiness cannot be watched.
const RETRY_WITHOUT_WATCH: std::time::Duration = std::time::Duration::from_millis(1);

/// A corked channel holds at most this many unwritten bytes before it writes.
const CORK_MAX_BYTES: usize = 64 * 1024;

/// Bytes to write: borrowed (copied only if they must wait) or owned.
pub enum Payload<'a> {
    Slice(&'a [u8]),
    Vec(Vec<u8>),
}

struct OutFrame {
    data: Vec<u8>,
    offset: usize,
    /// The descriptor still to be attached (to the first byte only).
    fd: Option<Arc<OwnedFd>>,
    /// The frame carried a descriptor: once complete, the channel waits for the peer's ACK.
    needs_ack: bool,
    /// NODE_HANDLE_ACK / NACK: written even while a sent handle awaits its own ACK.
    control: bool,
    /// The peer's answer to this frame's handle is reported to the sender (user sends).
    report_answer: bool,
    token: Option<u64>,
    /// A place reserved for a message the sender keeps for now (see `reserve`): no data yet,
    /// and nothing after it is written.
    reserved: bool,
}

impl OutFrame {
    fn reserved_place() -> OutFrame {
        OutFrame {
            data: Vec::new(),
            offset: 0,
            fd: None,
            needs_ack: false,
            control: false,
            report_answer: false,
            token: None,
            reserved: true,
        }
    }
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
    /// The frame waits, unwritten, for the sender's `uncork` (see `send_reporting`).
    Corked,
    /// Some or all bytes wait in the queue. `behind_handle` is the message's position among those
    /// held back by an unacknowledged handle (1 for the first), when that is why it waits.
    Queued {
        queued_bytes: usize,
        behind_handle: Option<usize>,
    },
}

#[derive(Default)]
struct WriteState {
    queue: VecDeque<OutFrame>,
    awaiting_ack: bool,
    closed: bool,
    queued_bytes: usize,
    held_behind_handle: usize,
    /// The handle awaiting its answer came from a send that wants the answer reported.
    answer_wanted: bool,
    /// The queue is one frame that gathers the corked sends, unwritten, until `uncork`; nothing
    /// was tried on the socket for it yet.
    corked: bool,
    /// The buffer of the last frame written in full, kept for the next cork.
    spare: Vec<u8>,
    /// Places reserved in `queue` and not filled yet: counted so that a send need not search
    /// the queue for one while there is none.
    reserved: usize,
}

impl WriteState {
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
}

pub struct Channel {
    io: AsyncFd<OwnedFd>,
    state: Mutex<WriteState>,
    writer_wake: Notify,
}

enum Flush {
    Idle,
    WouldBlock,
    Failed(i32),
}

impl Channel {
    /// Wraps the primary's end of a channel socket. Must be called on the engine's runtime.
    pub fn new(fd: OwnedFd) -> io::Result<Arc<Channel>> {
        Ok(Arc::new(Channel {
            io: fdpass::register(fd)?,
            state: Mutex::new(WriteState::default()),
            writer_wake: Notify::new(),
        }))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }

    pub fn io(&self) -> &AsyncFd<OwnedFd> {
        &self.io
    }

    fn lock(&self) -> MutexGuard<'_, WriteState> {
        // A panic while holding this lock would be a bug; keep working with the data regardless.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Sends one complete frame, optionally with one descriptor on its first byte (the tests'
    /// shorthand for `send_reporting` with no reporting, cork or place).
    #[cfg(test)]
    pub fn send(
        &self,
        payload: Payload<'_>,
        fd: Option<Arc<OwnedFd>>,
        token: Option<u64>,
    ) -> Result<SendStatus, SendFailure> {
        self.send_reporting(payload, fd, token, false, false, false)
    }

    /// Like `send`; with `report`, `handle_answered` tells whether this frame's handle was the
    /// one answered (so the sender can close or retransmit its handle as Node does).
    ///
    /// With `cork`, a small frame without a descriptor and without a completion token may wait,
    /// unwritten, appended to the cork buffer, until the caller's `uncork` (or any other write
    /// on this channel) writes it together with the frames corked after it: one `sendmsg` for a
    /// burst, and no allocation once a buffer has been recycled. It is reported `Corked`; the
    /// caller promises to uncork before it yields.
    ///
    /// With `in_place`, the frame is the sender's next message in its own order: it fills the
    /// first place reserved with `reserve`, if any.
    pub fn send_reporting(
        &self,
        payload: Payload<'_>,
        fd: Option<Arc<OwnedFd>>,
        token: Option<u64>,
        report: bool,
        cork: bool,
        in_place: bool,
    ) -> Result<SendStatus, SendFailure> {
        let mut st = self.lock();
        if st.closed {
            return Err(SendFailure::Closed);
        }
        // Where the frame goes: into the first reserved place when it fills one, else at the end.
        let place = if in_place && st.reserved > 0 {
            st.queue.iter().position(|f| f.reserved)
        } else {
            None
        };
        let bytes: &[u8] = match &payload {
            Payload::Slice(s) => s,
            Payload::Vec(v) => v,
        };
        let corkable =
            cork && place.is_none() && fd.is_none() && token.is_none() && !bytes.is_empty();
        if st.corked && !(corkable && st.can_cork(bytes.len())) {
            // This frame can't join the cork: write what the cork holds first, in order.
            self.flush_corked(&mut st);
        }
        if corkable && st.can_cork(bytes.len()) {
            st.queued_bytes += bytes.len();
            if let (true, Some(cork)) = (st.corked, st.queue.back_mut()) {
                cork.data.extend_from_slice(bytes);
            } else {
                let mut data = std::mem::take(&mut st.spare);
                data.extend_from_slice(bytes);
                st.corked = true;
                st.queue.push_back(OutFrame {
                    data,
                    offset: 0,
                    fd: None,
                    needs_ack: false,
                    control: false,
                    report_answer: false,
                    token: None,
                    reserved: false,
                });
            }
            return Ok(SendStatus::Corked);
        }
        let mut written = 0;
        let mut fd_sent = false;
        let at_head = place.map_or(st.queue.is_empty(), |at| at == 0);
        if at_head && !st.awaiting_ack {
            let pass = fd.as_deref().map(|f| f.as_fd());
            match fdpass::send(self.fd(), &[IoSlice::new(bytes)], pass) {
                Ok(n) => {
                    written = n;
                    fd_sent = fd.is_some() && n > 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.take_place(&mut st, place);
                    return Err(SendFailure::Errno(e.raw_os_error().unwrap_or(libc::EPIPE)));
                }
            }
            if written == bytes.len() && !bytes.is_empty() {
                self.take_place(&mut st, place);
                if fd.is_some() {
                    st.awaiting_ack = true;
                    st.answer_wanted = report;
                }
                return Ok(SendStatus::Written);
            }
        }
        let held = place.is_none() && (st.awaiting_ack || st.held_behind_handle > 0);
        let behind_handle = if held {
            st.held_behind_handle += 1;
            Some(st.held_behind_handle)
        } else {
            None
        };
        let data = match payload {
            Payload::Slice(s) => s[written..].to_vec(),
            Payload::Vec(v) => {
                if written == 0 {
                    v
                } else {
                    v[written..].to_vec()
                }
            }
        };
        let needs_ack = fd.is_some();
        let report_answer = needs_ack && report;
        let remaining = data.len();
        st.queued_bytes += remaining;
        let frame = OutFrame {
            data,
            offset: 0,
            fd: if fd_sent { None } else { fd },
            needs_ack,
            control: false,
            report_answer,
            token,
            reserved: false,
        };
        match place {
            Some(at) => {
                st.queue[at] = frame;
                st.reserved -= 1;
            }
            None => st.queue.push_back(frame),
        }
        let queued_bytes = st.queued_bytes;
        drop(st);
        self.writer_wake.notify_one();
        Ok(SendStatus::Queued {
            queued_bytes,
            behind_handle,
        })
    }

    /// Writes the frames corked by `send_reporting`; what the socket does not take now is left
    /// to the writer task.
    pub fn uncork(&self) {
        let mut st = self.lock();
        if st.corked && !st.closed {
            self.flush_corked(&mut st);
        }
    }

    /// Writes the cork (while it waits it is the whole queue and carries no completion token);
    /// a remainder becomes backlog for the writer task.
    fn flush_corked(&self, st: &mut WriteState) {
        let mut done = Vec::new();
        if !matches!(self.flush(st, &mut done), Flush::Idle) {
            self.writer_wake.notify_one();
        }
    }

    /// Sends NODE_HANDLE_ACK or NACK. Like Node, these skip the messages held back by an
    /// unacknowledged handle (otherwise two peers passing handles at once would deadlock), but
    /// never split a frame that is already partly written.
    pub fn send_control(&self, bytes: Vec<u8>) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        if st.corked {
            // Corked frames count as written for their sender: they go first.
            self.flush_corked(&mut st);
        }
        if st.queue.is_empty() {
            match fdpass::send(self.fd(), &[IoSlice::new(&bytes)], None) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) => {
                    st.queued_bytes += bytes.len() - n;
                    st.queue.push_back(OutFrame {
                        data: bytes[n..].to_vec(),
                        offset: 0,
                        fd: None,
                        needs_ack: false,
                        control: true,
                        report_answer: false,
                        token: None,
                        reserved: false,
                    });
                    drop(st);
                    self.writer_wake.notify_one();
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        let at = Self::after_started(&st);
        st.queued_bytes += bytes.len();
        st.queue.insert(
            at,
            OutFrame {
                data: bytes,
                offset: 0,
                fd: None,
                needs_ack: false,
                control: true,
                report_answer: false,
                token: None,
                reserved: false,
            },
        );
        drop(st);
        self.writer_wake.notify_one();
    }

    /// The peer answered NODE_HANDLE_ACK or NODE_HANDLE_NACK: release the queue. Returns true
    /// when the answered handle came from a send made with `report`; after a NACK of such a
    /// handle, a place is reserved ahead of everything queued for the sender to send it again
    /// (or to give the place up with `unreserve`), as Node sends a refused handle again first.
    pub fn handle_answered(&self, nack: bool) -> bool {
        let mut st = self.lock();
        let was_awaiting = st.awaiting_ack;
        st.awaiting_ack = false;
        st.held_behind_handle = 0;
        let wanted = was_awaiting && std::mem::take(&mut st.answer_wanted);
        if wanted && nack && !st.closed {
            let at = Self::after_started(&st);
            st.queue.insert(at, OutFrame::reserved_place());
            st.reserved += 1;
        }
        drop(st);
        self.writer_wake.notify_one();
        wanted
    }

    /// The reserved place at `place` goes (its frame was written at once or failed, or the
    /// sender gave it up), and what waited behind it may follow.
    fn take_place(&self, st: &mut WriteState, place: Option<usize>) {
        if let Some(at) = place {
            st.queue.remove(at);
            st.reserved -= 1;
            self.writer_wake.notify_one();
        }
    }

    /// The first queue position that may go before the rest: after a partly written head and any
    /// control frames queued earlier.
    fn after_started(st: &WriteState) -> usize {
        let mut at = 0;
        while at < st.queue.len() && (st.queue[at].control || (at == 0 && st.queue[0].offset > 0)) {
            at += 1;
        }
        at
    }

    /// Reserves a place at the end of the queue for a message the sender keeps back for now
    /// (behind a handle awaiting its answer); its next send made `in_place` fills the first one.
    pub fn reserve(&self) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        if st.corked {
            self.flush_corked(&mut st);
        }
        st.queue.push_back(OutFrame::reserved_place());
        st.reserved += 1;
    }

    /// Gives up the first reserved place (or with `last`, the last one), letting what waits
    /// behind it go.
    pub fn unreserve(&self, last: bool) {
        let mut st = self.lock();
        let at = if last {
            st.queue.iter().rposition(|f| f.reserved)
        } else {
            st.queue.iter().position(|f| f.reserved)
        };
        self.take_place(&mut st, at);
    }

    /// True while a sent descriptor waits for the peer's ACK.
    #[cfg(test)]
    pub fn awaiting_ack(&self) -> bool {
        self.lock().awaiting_ack
    }

    /// Bytes accepted by `send` but not yet written.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.lock().queued_bytes
    }

    /// Closes the channel for writing and reading. Queued sends are returned as failed; the
    /// reader then sees end-of-stream. Idempotent.
    pub fn close(&self) -> Vec<Completion> {
        let mut st = self.lock();
        if st.corked && !st.closed {
            // Corked frames were reported written: give them to the socket before it closes.
            let mut done = Vec::new();
            let _ = self.flush(&mut st, &mut done);
        }
        let failed = Self::fail_queue(&mut st, SendFailure::Closed);
        if !st.closed {
            st.closed = true;
            let _ = nix::sys::socket::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(self.io.get_ref()),
                nix::sys::socket::Shutdown::Both,
            );
        }
        drop(st);
        self.writer_wake.notify_one();
        failed
    }

    fn fail_queue(st: &mut WriteState, why: SendFailure) -> Vec<Completion> {
        st.queued_bytes = 0;
        st.corked = false;
        st.held_behind_handle = 0;
        st.reserved = 0;
        st.queue
            .drain(..)
            .filter_map(|f| {
                f.token.map(|token| Completion {
                    token,
                    error: Some(why),
                })
            })
            .collect()
    }

    fn flush(&self, st: &mut WriteState, done: &mut Vec<Completion>) -> Flush {
        // Whoever flushes takes the cork along; what stays queued is plain backlog.
        st.corked = false;
        loop {
            match st.queue.front() {
                None => return Flush::Idle,
                Some(head) if head.reserved || (st.awaiting_ack && !head.control) => {
                    return Flush::Idle
                }
                Some(_) => {}
            }
            let res = {
                let head = &st.queue[0];
                if let Some(pass) = head.fd.as_deref() {
                    let bytes = &head.data[head.offset..];
                    fdpass::send(self.fd(), &[IoSlice::new(bytes)], Some(pass.as_fd()))
                } else {
                    let mut iov = Vec::with_capacity(MAX_IOV.min(st.queue.len()));
                    for (i, f) in st.queue.iter().enumerate() {
                        let stop = i > 0
                            && (f.fd.is_some()
                                || f.reserved
                                || st.queue[i - 1].needs_ack
                                || (st.awaiting_ack && !f.control));
                        if iov.len() == MAX_IOV || stop {
                            break;
                        }
                        iov.push(IoSlice::new(&f.data[f.offset..]));
                    }
                    fdpass::send(self.fd(), &iov, None)
                }
            };
            let mut n = match res {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::WouldBlock,
                Err(e) => return Flush::Failed(e.raw_os_error().unwrap_or(libc::EPIPE)),
            };
            if n > 0 {
                if let Some(head) = st.queue.front_mut() {
                    head.fd = None;
                }
            }
            while n > 0 {
                let Some(head) = st.queue.front_mut() else {
                    break;
                };
                let rest = head.data.len() - head.offset;
                if n < rest {
                    head.offset += n;
                    st.queued_bytes -= n;
                    break;
                }
                n -= rest;
                st.queued_bytes -= rest;
                if let Some(mut f) = st.queue.pop_front() {
                    if let Some(token) = f.token {
                        done.push(Completion { token, error: None });
                    }
                    if st.spare.capacity() == 0 && f.data.capacity() <= 2 * CORK_MAX_BYTES {
                        f.data.clear();
                        st.spare = std::mem::take(&mut f.data);
                    }
                    if f.needs_ack {
                        st.awaiting_ack = true;
                        st.answer_wanted = f.report_answer;
                        break;
                    }
                }
            }
        }
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
                    let mut st = self.lock();
                    if st.closed {
                        let failed = Self::fail_queue(&mut st, SendFailure::Closed);
                        drop(st);
                        report(failed);
                        return;
                    }
                    match self.flush(&mut st, &mut done) {
                        Flush::Failed(errno) => {
                            done.extend(Self::fail_queue(&mut st, SendFailure::Errno(errno)));
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
mod tests {
    use super::*;
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn read_all(fd: BorrowedFd<'_>, fds: &mut VecDeque<OwnedFd>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            match fdpass::recv(fd, &mut buf, fds) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return out,
            }
        }
    }

    /// How many of this process's descriptors refer to the same open socket as `fd`.
    fn descriptors_of(fd: BorrowedFd<'_>) -> usize {
        use std::os::fd::AsRawFd;
        let link = |n: &str| std::fs::read_link(format!("/proc/self/fd/{n}")).ok();
        let Some(target) = link(&fd.as_raw_fd().to_string()) else {
            return 0;
        };
        let entries = std::fs::read_dir("/proc/self/fd").expect("fd dir");
        entries
            .filter_map(|e| e.ok())
            .filter(|e| link(&e.file_name().to_string_lossy()).as_ref() == Some(&target))
            .count()
    }

    /// A channel over a fresh socketpair with its writer task running (inside a runtime), and
    /// the peer's end.
    fn channel_with_writer() -> (Arc<Channel>, OwnedFd) {
        let (mine, peer) = fdpass::stream_pair().expect("pair");
        let ch = Channel::new(mine).expect("channel");
        tokio::spawn(ch.clone().run_writer(|_| {}));
        (ch, peer)
    }

    fn cork(ch: &Channel, bytes: &[u8]) -> Result<SendStatus, SendFailure> {
        ch.send_reporting(Payload::Slice(bytes), None, None, false, true, false)
    }

    #[test]
    fn corked_frames_wait_for_uncork_and_keep_their_order() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let mut fds = VecDeque::new();
            assert_eq!(cork(&ch, b"1\n"), Ok(SendStatus::Corked));
            assert_eq!(cork(&ch, b"2\n"), Ok(SendStatus::Corked));
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"".to_vec());
            ch.uncork();
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"1\n2\n".to_vec());

            // A send that can't be corked (it wants a completion) writes the cork first.
            assert_eq!(cork(&ch, b"3\n"), Ok(SendStatus::Corked));
            let st = ch.send(Payload::Slice(b"4\n"), None, Some(7));
            assert_eq!(st, Ok(SendStatus::Written));
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"3\n4\n".to_vec());

            // So does an ACK from the engine.
            assert_eq!(cork(&ch, b"5\n"), Ok(SendStatus::Corked));
            ch.send_control(b"ack\n".to_vec());
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"5\nack\n".to_vec());

            // A full cork is written before the next frame joins a new one.
            let frames: Vec<Vec<u8>> = (0..=CORK_MAX_BYTES / 1024)
                .map(|i| {
                    let mut f = format!("{i:05}").into_bytes();
                    f.resize(1023, b'.');
                    f.push(b'\n');
                    f
                })
                .collect();
            for f in &frames {
                assert_eq!(cork(&ch, f), Ok(SendStatus::Corked));
            }
            let (last, full) = frames.split_last().expect("frames");
            assert_eq!(read_all(peer.as_fd(), &mut fds), full.concat());
            ch.uncork();
            assert_eq!(read_all(peer.as_fd(), &mut fds), last.clone());

            // Closing writes what is corked before the end of the stream.
            assert_eq!(cork(&ch, b"bye\n"), Ok(SendStatus::Corked));
            assert!(ch.close().is_empty());
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"bye\n".to_vec());
        });
    }

    #[test]
    fn frames_with_handles_or_tokens_or_too_big_are_never_corked() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let mut fds = VecDeque::new();
            let st = ch.send_reporting(Payload::Slice(b"t\n"), None, Some(1), false, true, false);
            assert_eq!(st, Ok(SendStatus::Written));
            let big = vec![b'x'; CORK_MAX_BYTES + 1];
            let st = ch.send_reporting(Payload::Slice(&big), None, None, false, true, false);
            assert!(matches!(
                st,
                Ok(SendStatus::Written | SendStatus::Queued { .. })
            ));
            let (x, _y) = fdpass::stream_pair().expect("pair");
            tokio::time::sleep(Duration::from_millis(20)).await;
            let got = read_all(peer.as_fd(), &mut fds);
            assert_eq!(got.len(), 2 + big.len());
            let st = ch.send_reporting(
                Payload::Slice(b"h\n"),
                Some(Arc::new(x)),
                None,
                true,
                true,
                false,
            );
            assert_eq!(st, Ok(SendStatus::Written));
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"h\n".to_vec());
            assert_eq!(fds.len(), 1);
            // Behind an unanswered handle nothing is corked: it waits for the ACK as in Node.
            let st = cork(&ch, b"after\n");
            assert!(matches!(
                st,
                Ok(SendStatus::Queued {
                    behind_handle: Some(1),
                    ..
                })
            ));
        });
    }

    #[test]
    fn messages_after_a_handle_wait_for_the_ack() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let (x, _y) = fdpass::stream_pair().expect("pair");
            let st = ch.send(
                Payload::Slice(b"{\"cmd\":\"NODE_HANDLE\"}\n"),
                Some(Arc::new(x)),
                None,
            );
            assert_eq!(st, Ok(SendStatus::Written));
            let st1 = ch
                .send(Payload::Slice(b"1\n"), None, Some(1))
                .expect("queued");
            let st2 = ch
                .send(Payload::Slice(b"2\n"), None, Some(2))
                .expect("queued");
            assert!(matches!(
                st1,
                SendStatus::Queued {
                    behind_handle: Some(1),
                    ..
                }
            ));
            assert!(matches!(
                st2,
                SendStatus::Queued {
                    behind_handle: Some(2),
                    ..
                }
            ));
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut fds = VecDeque::new();
            assert_eq!(
                read_all(peer.as_fd(), &mut fds),
                b"{\"cmd\":\"NODE_HANDLE\"}\n".to_vec()
            );
            assert_eq!(fds.len(), 1);
            ch.handle_answered(false);
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"1\n2\n".to_vec());
            assert!(!ch.awaiting_ack());
        });
    }

    /// A user handle (sent with `report`), written at once; returns a descriptor to pass.
    fn user_handle_sent(ch: &Channel) -> Arc<OwnedFd> {
        let (x, _y) = fdpass::stream_pair().expect("pair");
        let fd = Arc::new(x);
        let st = ch.send_reporting(
            Payload::Slice(b"h\n"),
            Some(fd.clone()),
            None,
            true,
            false,
            true,
        );
        assert_eq!(st, Ok(SendStatus::Written));
        fd
    }

    fn user_send(ch: &Channel, bytes: &[u8]) -> Result<SendStatus, SendFailure> {
        ch.send_reporting(Payload::Slice(bytes), None, None, false, false, true)
    }

    async fn read_soon(peer: &OwnedFd, fds: &mut VecDeque<OwnedFd>) -> Vec<u8> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        read_all(peer.as_fd(), fds)
    }

    /// A user handle is written; then a place is reserved, the engine queues a frame, and again.
    /// Returns the handle's descriptor.
    async fn two_kept_behind_a_handle(
        ch: &Channel,
        peer: &OwnedFd,
        fds: &mut VecDeque<OwnedFd>,
    ) -> Arc<OwnedFd> {
        let fd = user_handle_sent(ch);
        for engine in [&b"engine 1\n"[..], b"engine 2\n"] {
            ch.reserve();
            ch.send(Payload::Slice(engine), None, None).expect("queued");
        }
        assert_eq!(read_soon(peer, fds).await, b"h\n".to_vec());
        fd
    }

    #[test]
    fn kept_messages_keep_their_place_among_the_engines_own() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let mut fds = VecDeque::new();
            two_kept_behind_a_handle(&ch, &peer, &mut fds).await;
            // Answered: the first place is not filled yet, so nothing moves.
            assert!(ch.handle_answered(false));
            assert_eq!(read_soon(&peer, &mut fds).await, b"".to_vec());
            // The first kept message is at the head: written at once, by the sender.
            assert_eq!(user_send(&ch, b"user 1\n"), Ok(SendStatus::Written));
            assert_eq!(user_send(&ch, b"user 2\n").map(|_| ()), Ok(()));
            assert_eq!(
                read_soon(&peer, &mut fds).await,
                b"user 1\nengine 1\nuser 2\nengine 2\n".to_vec()
            );
            // No place left: a user send goes at the end again, and the engine's right after.
            assert_eq!(user_send(&ch, b"user 3\n"), Ok(SendStatus::Written));
            assert_eq!(read_soon(&peer, &mut fds).await, b"user 3\n".to_vec());
        });
    }

    #[test]
    fn a_refused_handle_goes_again_before_what_waited_for_it() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let mut fds = VecDeque::new();
            let fd = two_kept_behind_a_handle(&ch, &peer, &mut fds).await;
            assert_eq!(fds.len(), 1);
            // NACK: a place ahead of everything is kept for the handle sent again.
            assert!(ch.handle_answered(true));
            assert_eq!(read_soon(&peer, &mut fds).await, b"".to_vec());
            let st = ch.send_reporting(Payload::Slice(b"h\n"), Some(fd), None, true, false, true);
            assert_eq!(st, Ok(SendStatus::Written));
            assert_eq!(read_soon(&peer, &mut fds).await, b"h\n".to_vec());
            assert_eq!(fds.len(), 2);
            assert!(ch.handle_answered(false));
            for user in [&b"user 1\n"[..], b"user 2\n"] {
                assert_eq!(user_send(&ch, user).map(|_| ()), Ok(()));
            }
            assert_eq!(
                read_soon(&peer, &mut fds).await,
                b"user 1\nengine 1\nuser 2\nengine 2\n".to_vec()
            );
        });
    }

    #[test]
    fn places_given_up_let_what_waited_go() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let mut fds = VecDeque::new();
            two_kept_behind_a_handle(&ch, &peer, &mut fds).await;
            // A NACK the sender does not answer by sending again: it gives the front place up.
            assert!(ch.handle_answered(true));
            ch.unreserve(false);
            assert_eq!(read_soon(&peer, &mut fds).await, b"".to_vec());
            // The last kept message is dropped: its place (the last) goes, the first stays.
            ch.unreserve(true);
            assert_eq!(read_soon(&peer, &mut fds).await, b"".to_vec());
            assert_eq!(user_send(&ch, b"user 1\n"), Ok(SendStatus::Written));
            assert_eq!(
                read_soon(&peer, &mut fds).await,
                b"user 1\nengine 1\nengine 2\n".to_vec()
            );
        });
    }

    #[test]
    fn a_second_handle_waits_for_the_first_ack() {
        rt().block_on(async {
            let (ch, peer) = channel_with_writer();
            let (a, _a2) = fdpass::stream_pair().expect("pair");
            let (b, _b2) = fdpass::stream_pair().expect("pair");
            ch.send(Payload::Slice(b"A\n"), Some(Arc::new(a)), None)
                .expect("send");
            ch.send(Payload::Slice(b"B\n"), Some(Arc::new(b)), None)
                .expect("send");
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut fds = VecDeque::new();
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"A\n".to_vec());
            ch.handle_answered(false);
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(read_all(peer.as_fd(), &mut fds), b"B\n".to_vec());
            assert_eq!(fds.len(), 2, "one fd per message");
            assert!(ch.awaiting_ack());
        });
    }

    #[test]
    fn large_message_is_finished_by_the_writer_and_close_fails_the_rest() {
        rt().block_on(async {
            let (mine, peer) = fdpass::stream_pair().expect("pair");
            let ch = Channel::new(mine).expect("channel");
            let done = Arc::new(Mutex::new(Vec::new()));
            let d2 = done.clone();
            tokio::spawn(
                ch.clone()
                    .run_writer(move |c| d2.lock().expect("lock").extend(c)),
            );
            let big = vec![b'x'; 4 << 20];
            let st = ch.send(Payload::Vec(big), None, Some(7)).expect("send");
            assert!(matches!(
                st,
                SendStatus::Queued {
                    behind_handle: None,
                    ..
                }
            ));
            let reader = std::thread::spawn(move || {
                let mut total = 0;
                let mut fds = VecDeque::new();
                let mut buf = vec![0u8; 65536];
                while total < (4 << 20) {
                    match fdpass::recv(peer.as_fd(), &mut buf, &mut fds) {
                        Ok(0) => break,
                        Ok(n) => total += n,
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
                total
            });
            for _ in 0..500 {
                if !done.lock().expect("lock").is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(reader.join().expect("reader"), 4 << 20);
            assert_eq!(
                done.lock().expect("lock").as_slice(),
                &[Completion {
                    token: 7,
                    error: None
                }]
            );
            assert_eq!(ch.queued_bytes(), 0);
            // The duplicate watched for write readiness while the socket was full is gone once
            // the writer is idle: only the channel's own descriptor refers to the socket.
            let mut count = usize::MAX;
            for _ in 0..200 {
                count = descriptors_of(ch.fd());
                if count == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(count, 1);
            ch.close();
            assert_eq!(
                ch.send(Payload::Slice(b"x\n"), None, None),
                Err(SendFailure::Closed)
            );
        });
    }
}

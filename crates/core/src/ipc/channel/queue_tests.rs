//! A property test of the queue's rules: random sequences of sends (the engine's and JS's, with
//! and without descriptors, tokens and cork), uncork, control frames, handle answers, reserved
//! places given and given up, writer passes, and a sink that takes a random number of bytes at a
//! time. After every step the bytes on the wire are checked against a model that knows only the
//! rules, not how the queue keeps them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;

use super::*;

/// splitmix64: a fixed sequence per seed, so a failure names the seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A sink that takes at most `room` bytes before it would block, keeping what it took and the
/// offsets at which descriptors arrived.
struct Wire {
    out: Vec<u8>,
    fds: Vec<usize>,
    room: usize,
    /// What `peer_caught_up` answers: whether the peer has read everything (drawn per send).
    caught_up: bool,
}

impl Sink for Wire {
    fn write(&mut self, bufs: &[IoSlice<'_>], fd: Option<BorrowedFd<'_>>) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Ok(0);
        }
        if self.room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let start = self.out.len();
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(self.room - n);
            self.out.extend_from_slice(&b[..take]);
            n += take;
            if n == self.room {
                break;
            }
        }
        if fd.is_some() {
            self.fds.push(start);
        }
        self.room -= n;
        Ok(n)
    }

    fn peer_caught_up(&self) -> bool {
        self.caught_up
    }
}

/// Frames on the wire are self-delimiting, so a frame split by another shows up as garbage:
/// kind (`D` data, `C` control), id, body length, and a body of the id's low byte.
const HEADER: usize = 9;

fn frame(kind: u8, id: u32, body: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(HEADER + body);
    f.push(kind);
    f.extend_from_slice(&id.to_le_bytes());
    f.extend_from_slice(&(body as u32).to_le_bytes());
    f.resize(HEADER + body, id as u8);
    f
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    Frame(u32),
    Place,
}

struct Info {
    fd: bool,
    from_js: bool,
}

struct Model {
    rng: Rng,
    q: SendQueue,
    wire: Wire,
    handle: Arc<OwnedFd>,
    next_id: u32,
    frames: HashMap<u32, Info>,
    /// Data frames and reserved places not yet written in full, in the order they must leave.
    pending: VecDeque<Slot>,
    controls: HashSet<u32>,
    accepted: usize,
    /// A handle's frame is on the wire and unanswered; whether its answer is reported.
    awaiting: Option<bool>,
    /// Sends held back by the unanswered handle since the last answer.
    held: usize,
    /// How far the wire has been checked (whole frames).
    parsed: usize,
    fds_seen: usize,
    /// Tokens of queued sends, and the completions received.
    tokens: HashSet<u64>,
    completed: HashMap<u64, Option<SendFailure>>,
    /// The writer task: woken (a pending notify) and running (not yet back to waiting).
    permit: bool,
    running: bool,
    closed: bool,
    log: Vec<String>,
}

impl Model {
    fn new(seed: u64) -> Model {
        let handle = File::open("/dev/null").expect("/dev/null");
        Model {
            rng: Rng(seed),
            q: SendQueue::default(),
            wire: Wire {
                out: Vec::new(),
                fds: Vec::new(),
                room: usize::MAX,
                caught_up: false,
            },
            handle: Arc::new(OwnedFd::from(handle)),
            next_id: 0,
            frames: HashMap::new(),
            pending: VecDeque::new(),
            controls: HashSet::new(),
            accepted: 0,
            awaiting: None,
            held: 0,
            parsed: 0,
            fds_seen: 0,
            tokens: HashSet::new(),
            completed: HashMap::new(),
            permit: false,
            running: false,
            closed: false,
            log: Vec::new(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        let tail: Vec<&String> = self.log.iter().rev().take(12).rev().collect();
        panic!("{what}\nlast steps: {tail:#?}");
    }

    fn check(&mut self, ok: bool, what: &str) {
        if !ok {
            self.fail(what);
        }
    }

    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn body_len(&mut self) -> usize {
        if self.rng.chance(8) {
            1000 + self.rng.below(80_000) as usize
        } else {
            self.rng.below(200) as usize
        }
    }

    /// Reads the wire from where it was left: each whole frame must be the next one the rules
    /// allow. Returns the kind of a frame only partly written, if any.
    fn read_wire(&mut self) -> Option<u8> {
        loop {
            let rest = &self.wire.out[self.parsed..];
            if rest.is_empty() {
                return None;
            }
            if rest.len() < HEADER {
                return Some(rest[0]);
            }
            let kind = rest[0];
            let id = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]);
            let body = u32::from_le_bytes([rest[5], rest[6], rest[7], rest[8]]) as usize;
            if rest.len() < HEADER + body {
                return Some(kind);
            }
            let whole = rest[HEADER..HEADER + body].iter().all(|&b| b == id as u8);
            self.check(whole, &format!("frame {id} was split by another"));
            let start = self.parsed;
            self.parsed += HEADER + body;
            let fd_here = self.wire.fds.get(self.fds_seen) == Some(&start);
            match kind {
                b'C' => {
                    let known = self.controls.remove(&id);
                    self.check(known, &format!("control frame {id} unknown or twice"));
                    self.check(!fd_here, "a descriptor arrived on a control frame");
                }
                b'D' => {
                    let next = self.pending.front().copied();
                    self.check(
                        next == Some(Slot::Frame(id)),
                        &format!("data frame {id} on the wire, but next is {next:?}"),
                    );
                    self.check(
                        self.awaiting.is_none(),
                        &format!("frame {id} went before the handle was answered"),
                    );
                    self.pending.pop_front();
                    let (fd, from_js) = match self.frames.get(&id) {
                        Some(info) => (info.fd, info.from_js),
                        None => self.fail(&format!("frame {id} never sent")),
                    };
                    self.check(fd == fd_here, &format!("frame {id}: descriptor misplaced"));
                    if fd {
                        self.fds_seen += 1;
                        self.awaiting = Some(from_js);
                    }
                }
                other => self.fail(&format!("garbage on the wire: kind {other}")),
            }
        }
    }

    /// The invariants that hold between any two steps.
    fn check_state(&mut self) {
        let partial = self.read_wire();
        if partial == Some(b'D') {
            self.check(self.awaiting.is_none(), "a frame started before the answer");
        }
        let extra_fd =
            self.wire.fds.len() > self.fds_seen && self.wire.fds[self.fds_seen] < self.parsed;
        self.check(!extra_fd, "a descriptor arrived inside a frame");
        if !self.closed {
            let unwritten = self.accepted - self.wire.out.len();
            let counted = self.q.queued_bytes();
            self.check(
                counted == unwritten,
                &format!("queued_bytes {counted}, but {unwritten} unwritten"),
            );
            let awaiting = self.q.awaiting_ack();
            self.check(
                awaiting == self.awaiting.is_some(),
                "awaiting_ack disagrees",
            );
        }
        if self.q.take_wake() {
            self.permit = true;
        }
    }

    fn first_place(&self) -> Option<usize> {
        self.pending.iter().position(|s| *s == Slot::Place)
    }

    fn send(&mut self) {
        let id = self.id();
        let len = self.body_len();
        let from_js = self.rng.chance(60);
        let cork = match (from_js, self.rng.below(3)) {
            (false, _) | (true, 0) => Cork::Off,
            (true, 1) => Cork::On,
            _ => Cork::LeadWhenCaughtUp,
        };
        let fd = self.rng.chance(15).then(|| self.handle.clone());
        let token = self.rng.chance(30).then_some(u64::from(id));
        let origin = if from_js {
            Origin::Js { cork }
        } else {
            Origin::Engine
        };
        let bytes = frame(b'D', id, len);
        let total = bytes.len();
        let payload = if self.rng.chance(50) {
            Cow::Owned(bytes)
        } else {
            Cow::Borrowed(&bytes[..])
        };
        self.log.push(format!(
            "send {id} ({total} B) {origin:?} fd={} token={token:?}",
            fd.is_some()
        ));
        let has_fd = fd.is_some();
        let awaiting_before = self.awaiting.is_some();
        self.wire.caught_up = self.rng.chance(25);
        let (frames_before, asked_before) = self.q.cork_state();
        let res = self.q.send(&mut self.wire, payload, fd, token, origin);
        if self.closed {
            self.check(
                res == Err(SendFailure::Closed),
                "a send after close was taken",
            );
            return;
        }
        let Ok(status) = res else {
            self.fail(&format!("send failed: {res:?}"));
        };
        self.accepted += total;
        self.frames.insert(
            id,
            Info {
                fd: has_fd,
                from_js,
            },
        );
        let filled = if from_js { self.first_place() } else { None };
        match filled {
            Some(at) => self.pending[at] = Slot::Frame(id),
            None => self.pending.push_back(Slot::Frame(id)),
        }
        self.check_state();
        let still_pending = self.pending.contains(&Slot::Frame(id));
        match status {
            SendStatus::Written => {
                self.check(
                    !still_pending,
                    &format!("{id} reported written, not on the wire"),
                );
            }
            SendStatus::Corked => {
                self.check(
                    cork != Cork::Off && !has_fd && token.is_none(),
                    "corked what may not be",
                );
                // A burst's second frame, a peer that has read everything, and no question
                // asked in this batch yet: the two frames go now.
                let lead = cork == Cork::LeadWhenCaughtUp
                    && frames_before == 1
                    && !asked_before
                    && self.wire.caught_up;
                let (frames_after, _) = self.q.cork_state();
                if frames_after == 0 {
                    // The cork was written (what the wire did not take is plain backlog now).
                    self.check(lead, "a corked frame was written with no caught-up peer");
                } else {
                    self.check(
                        !(lead && frames_after == 2),
                        "kept a burst's second frame for a peer that had read everything",
                    );
                    let untouched = self.pending.back() == Some(&Slot::Frame(id))
                        && self.accepted - self.wire.out.len() >= total;
                    self.check(untouched, &format!("corked {id} was partly written"));
                }
            }
            SendStatus::Queued {
                queued_bytes,
                behind_handle,
            } => {
                let counted = self.q.queued_bytes();
                self.check(queued_bytes == counted, "Queued reports a stale byte count");
                let expect = if filled.is_none() && (awaiting_before || self.held > 0) {
                    self.held += 1;
                    Some(self.held)
                } else {
                    None
                };
                self.check(
                    behind_handle == expect,
                    &format!("{id}: behind_handle {behind_handle:?}, expected {expect:?}"),
                );
                if let Some(t) = token {
                    self.tokens.insert(t);
                }
            }
        }
    }

    fn control(&mut self) {
        let id = self.id();
        let bytes = frame(b'C', id, self.rng.below(40) as usize);
        self.log.push(format!("control {id}"));
        if !self.closed {
            self.accepted += bytes.len();
            self.controls.insert(id);
        }
        self.q.send_control(&mut self.wire, bytes);
    }

    fn answer(&mut self, nack: bool) {
        let Some(wanted) = self.awaiting else {
            return;
        };
        self.log.push(format!("answer nack={nack}"));
        let reported = self.q.handle_answered(nack);
        self.check(
            reported == wanted,
            "handle_answered misreports whose handle it was",
        );
        self.awaiting = None;
        self.held = 0;
        if wanted && nack {
            // Ahead of everything not yet started.
            let started = self.read_wire() == Some(b'D');
            self.pending.insert(usize::from(started), Slot::Place);
        }
    }

    fn reserve(&mut self) {
        self.log.push("reserve".into());
        if !self.closed {
            self.pending.push_back(Slot::Place);
        }
        self.q.reserve(&mut self.wire);
    }

    fn unreserve(&mut self, last: bool) {
        self.log.push(format!("unreserve last={last}"));
        let at = if last {
            self.pending.iter().rposition(|s| *s == Slot::Place)
        } else {
            self.first_place()
        };
        if let Some(at) = at {
            self.pending.remove(at);
        }
        self.q.unreserve(last);
    }

    /// One pass of the writer task, if it was woken.
    fn writer(&mut self) {
        if !self.running && std::mem::take(&mut self.permit) {
            self.running = true;
        }
        if !self.running {
            return;
        }
        self.log.push(format!("writer (room {})", self.wire.room));
        let mut done = Vec::new();
        match self.q.flush(&mut self.wire, &mut done) {
            Flush::Idle => self.running = false,
            Flush::WouldBlock => {}
            Flush::Failed(e) => self.fail(&format!("the sink never fails, got errno {e}")),
        }
        self.read_wire();
        for c in done {
            self.complete(c);
        }
    }

    fn complete(&mut self, c: Completion) {
        let known = self.tokens.contains(&c.token);
        self.check(
            known,
            &format!("completion for {} that was not queued", c.token),
        );
        let first = self.completed.insert(c.token, c.error).is_none();
        self.check(first, &format!("{} completed twice", c.token));
        if c.error.is_none() {
            let id = c.token as u32;
            let gone = !self.pending.contains(&Slot::Frame(id));
            self.check(gone, &format!("{id} completed before it was written"));
        }
    }

    fn close(&mut self) {
        self.log.push("close".into());
        let (failed, first) = self.q.close(&mut self.wire);
        self.check(first, "the first close did not say so");
        self.closed = true;
        self.check_state();
        for c in failed {
            self.check(
                c.error == Some(SendFailure::Closed),
                "failed for another reason",
            );
            self.complete(c);
        }
        self.check(self.q.queued_bytes() == 0, "bytes left after close");
        let (again, first) = self.q.close(&mut self.wire);
        self.check(again.is_empty() && !first, "a second close did something");
        let unanswered = self.tokens.iter().any(|t| !self.completed.contains_key(t));
        self.check(!unanswered, "a queued send was neither written nor failed");
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=39 => self.send(),
            40..=44 => self.q.uncork(&mut self.wire),
            45..=51 => self.control(),
            52..=59 => {
                let nack = self.rng.chance(40);
                self.answer(nack);
            }
            60..=65 => self.reserve(),
            66..=69 => {
                let last = self.rng.chance(50);
                self.unreserve(last);
            }
            70..=89 => self.writer(),
            _ => {
                self.wire.room = match self.rng.below(4) {
                    0 => 0,
                    1 => self.rng.below(20) as usize,
                    2 => self.rng.below(5000) as usize,
                    _ => usize::MAX,
                };
            }
        }
        self.check_state();
    }

    /// The peer reads everything and answers every handle; JS gives up its places. Then all
    /// that was accepted must be on the wire, in order, and every token answered.
    fn drain(&mut self) {
        self.wire.room = usize::MAX;
        self.log.push("drain".into());
        for _ in 0..10_000 {
            self.q.uncork(&mut self.wire);
            self.check_state();
            if self.awaiting.is_some() {
                self.answer(false);
                self.check_state();
            }
            if self.first_place().is_some() {
                self.unreserve(false);
                self.check_state();
            }
            self.writer();
            self.check_state();
            let idle = !self.running && !self.permit && self.awaiting.is_none();
            if idle && self.first_place().is_none() {
                break;
            }
        }
        self.check(self.pending.is_empty(), "frames never written");
        self.check(self.controls.is_empty(), "control frames never written");
        self.check(
            self.parsed == self.wire.out.len(),
            "a frame left half written",
        );
        self.check(
            self.fds_seen == self.wire.fds.len(),
            "descriptors unaccounted for",
        );
        let missing = self
            .tokens
            .iter()
            .any(|t| self.completed.get(t) != Some(&None));
        self.check(!missing, "a queued send never completed");
    }
}

#[test]
fn random_operations_keep_the_rules() {
    for seed in 0..400u64 {
        let mut m = Model::new(seed);
        let steps = 50 + m.rng.below(400);
        let close_at = m.rng.chance(15).then(|| m.rng.below(steps));
        for i in 0..steps {
            if close_at == Some(i) {
                m.close();
                break;
            }
            m.step();
        }
        if !m.closed {
            m.drain();
        }
    }
}

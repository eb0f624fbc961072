//! The channel over a real socketpair: corking, the handle ACK queue, reserved places, and the
//! writer task finishing what the socket did not take.

use super::queue::CORK_MAX_BYTES;
use super::*;
use std::collections::VecDeque;
use std::time::Duration;

/// The engine's own send: the tests' shorthand.
impl Channel {
    fn send_engine(
        &self,
        payload: Cow<'_, [u8]>,
        fd: Option<Arc<OwnedFd>>,
        token: Option<u64>,
    ) -> Result<SendStatus, SendFailure> {
        self.send(payload, fd, token, Origin::Engine)
    }
}

fn s(bytes: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(bytes)
}

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

/// A small send from JS with no descriptor or token, in a batch corked `how`.
fn js_send(ch: &Channel, bytes: &[u8], how: Cork) -> Result<SendStatus, SendFailure> {
    ch.send(s(bytes), None, None, Origin::Js { cork: how })
}

fn cork(ch: &Channel, bytes: &[u8]) -> Result<SendStatus, SendFailure> {
    js_send(ch, bytes, Cork::On)
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
        let st = ch.send_engine(s(b"4\n"), None, Some(7));
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

fn lead(ch: &Channel, bytes: &[u8]) -> Result<SendStatus, SendFailure> {
    js_send(ch, bytes, Cork::LeadWhenCaughtUp)
}

#[test]
fn a_caught_up_peer_gets_a_bursts_first_two_frames_at_once() {
    rt().block_on(async {
        let (ch, peer) = channel_with_writer();
        let mut fds = VecDeque::new();
        // The peer has read everything: the second frame of the burst takes the first along.
        assert_eq!(lead(&ch, b"1\n"), Ok(SendStatus::Corked));
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"".to_vec());
        assert_eq!(lead(&ch, b"2\n"), Ok(SendStatus::Corked));
        // The rest of the burst gathers, even though the peer reads meanwhile: one question
        // per batch.
        assert_eq!(lead(&ch, b"3\n"), Ok(SendStatus::Corked));
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"1\n2\n".to_vec());
        assert_eq!(lead(&ch, b"4\n"), Ok(SendStatus::Corked));
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"".to_vec());
        ch.uncork();
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"3\n4\n".to_vec());

        // A lone frame waits for the batch's end.
        assert_eq!(lead(&ch, b"5\n"), Ok(SendStatus::Corked));
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"".to_vec());
        ch.uncork();
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"5\n".to_vec());

        // A peer that has not read what it was sent gets the whole burst in one write.
        assert_eq!(
            ch.send_engine(s(b"unread\n"), None, None),
            Ok(SendStatus::Written)
        );
        for f in [&b"6\n"[..], b"7\n", b"8\n"] {
            assert_eq!(lead(&ch, f), Ok(SendStatus::Corked));
        }
        let mut buf = [0u8; 64];
        let n = fdpass::recv(peer.as_fd(), &mut buf, &mut fds).expect("recv");
        assert_eq!(
            &buf[..n],
            b"unread\n",
            "nothing of the burst before the batch's end"
        );
        ch.uncork();
        assert_eq!(read_all(peer.as_fd(), &mut fds), b"6\n7\n8\n".to_vec());
    });
}

#[test]
fn frames_with_handles_or_tokens_or_too_big_are_never_corked() {
    rt().block_on(async {
        let (ch, peer) = channel_with_writer();
        let mut fds = VecDeque::new();
        let st = ch.send(s(b"t\n"), None, Some(1), Origin::Js { cork: Cork::On });
        assert_eq!(st, Ok(SendStatus::Written));
        let big = vec![b'x'; CORK_MAX_BYTES + 1];
        let st = ch.send(s(&big), None, None, Origin::Js { cork: Cork::On });
        assert!(matches!(
            st,
            Ok(SendStatus::Written | SendStatus::Queued { .. })
        ));
        let (x, _y) = fdpass::stream_pair().expect("pair");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let got = read_all(peer.as_fd(), &mut fds);
        assert_eq!(got.len(), 2 + big.len());
        let st = ch.send(
            s(b"h\n"),
            Some(Arc::new(x)),
            None,
            Origin::Js { cork: Cork::On },
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
        let st = ch.send_engine(s(b"{\"cmd\":\"NODE_HANDLE\"}\n"), Some(Arc::new(x)), None);
        assert_eq!(st, Ok(SendStatus::Written));
        let st1 = ch.send_engine(s(b"1\n"), None, Some(1)).expect("queued");
        let st2 = ch.send_engine(s(b"2\n"), None, Some(2)).expect("queued");
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
    let st = ch.send(
        s(b"h\n"),
        Some(fd.clone()),
        None,
        Origin::Js { cork: Cork::Off },
    );
    assert_eq!(st, Ok(SendStatus::Written));
    fd
}

fn user_send(ch: &Channel, bytes: &[u8]) -> Result<SendStatus, SendFailure> {
    ch.send(s(bytes), None, None, Origin::Js { cork: Cork::Off })
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
        ch.send_engine(s(engine), None, None).expect("queued");
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
        let st = ch.send(s(b"h\n"), Some(fd), None, Origin::Js { cork: Cork::Off });
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
        ch.send_engine(s(b"A\n"), Some(Arc::new(a)), None)
            .expect("send");
        ch.send_engine(s(b"B\n"), Some(Arc::new(b)), None)
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
        let st = ch
            .send_engine(Cow::Owned(big), None, Some(7))
            .expect("send");
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
            ch.send_engine(s(b"x\n"), None, None),
            Err(SendFailure::Closed)
        );
    });
}

//! SCHED_REUSEPORT: one socket per worker, the kernel's choice among them (the BPF program
//! follows the mirror of the group's order, across a socket closing), and the connections taken
//! from a departed or stuck worker's socket. Ticks are driven by hand with a chosen `now`; the
//! tests never await, so the handle's own monitor task never runs.

use std::os::fd::AsFd;

use super::*;
use crate::scheduler::reuseport::{self, bpf};

const KEY: &str = "127.0.0.1:0:4:undefined:0";

/// Each worker's socket, from its reply (the scheduler holds them).
fn member_fds(f: &Fixture, workers: &[u32]) -> Vec<Weak<OwnedFd>> {
    workers
        .iter()
        .map(|w| {
            let sent = f.fake.sent.borrow();
            let s = sent
                .iter()
                .find(|s| s.worker == *w && s.msg["errno"] == 0)
                .expect("a reply with a socket");
            assert_eq!(s.envelope.as_deref(), Some("net.Native"));
            s.fd.clone().expect("the worker's socket")
        })
        .collect()
}

fn queued(fd: &Weak<OwnedFd>) -> u32 {
    let fd = fd.upgrade().expect("open");
    bpf::accept_queue(fd.as_fd()).expect("TCP_INFO")
}

/// Accepts (and closes) what waits on every socket still open.
fn empty(fds: &[Weak<OwnedFd>]) {
    for fd in fds.iter().filter_map(Weak::upgrade) {
        while let Ok(Some(c)) = crate::ipc::fdpass::accept(fd.as_fd()) {
            drop(c);
        }
    }
}

fn clients(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect()
}

fn setup(workers: &[u32], rescue: Option<Duration>) -> (Fixture, SocketAddr, Vec<Weak<OwnedFd>>) {
    let f = Fixture::new(Policy::ReusePort);
    f.sched.borrow_mut().set_rescue(rescue);
    for &w in workers {
        f.query(w, tcp_query(0, 0, 1));
    }
    let fds = member_fds(&f, workers);
    let first = fds[0].upgrade().expect("open");
    let addr = TcpListener::from(first.try_clone().expect("dup"))
        .local_addr()
        .expect("bound");
    (f, addr, fds)
}

#[test]
fn each_worker_gets_its_own_socket_and_the_kernel_spreads_connections() {
    run(async {
        let (f, addr, fds) = setup(&[1, 2, 3], None);
        let raw: Vec<i32> = fds
            .iter()
            .map(|w| w.upgrade().expect("open").as_raw_fd())
            .collect();
        assert_eq!(
            raw.iter().collect::<std::collections::HashSet<_>>().len(),
            3
        );
        for (i, fd) in fds.iter().enumerate().skip(1) {
            let l = TcpListener::from(fd.upgrade().expect("open").try_clone().expect("dup"));
            assert_eq!(
                l.local_addr().expect("bound"),
                addr,
                "member {i} on the same port"
            );
        }
        let _c = clients(addr, 60);
        for fd in &fds {
            assert!(queued(fd) > 0, "every socket gets some of 60 connections");
        }
        assert_eq!(f.fake.newconns(0).len(), 0, "no primary on the path");
    });
}

#[test]
fn the_kernels_choice_leaves_out_drained_and_departed_sockets_across_a_close() {
    run(async {
        let (f, addr, fds) = setup(&[1, 2, 3], None);

        // Drained: no new connection reaches worker 2's socket.
        Scheduler::drain(&f.sched, &f.link, 2);
        let _a = clients(addr, 40);
        assert_eq!(queued(&fds[1]), 0);
        assert!(queued(&fds[0]) > 0 && queued(&fds[2]) > 0);

        // Worker 1 closes its server: what waits on its socket goes to the one worker that
        // takes connections (3; 2 is drained), and new ones reach worker 3's socket only.
        let waiting = queued(&fds[0]) as usize;
        empty(&fds[1..]);
        f.close(1, KEY);
        assert_eq!(queued(&fds[0]), 0, "taken at once");
        let handed = f.fake.newconns(0);
        assert_eq!(
            handed.len(),
            1,
            "one at a time: the next waits for the answer"
        );
        assert!(handed.iter().all(|(w, _, _)| *w == 3));
        assert_eq!(f.queued(), waiting - 1);
        let _b = clients(addr, 20);
        assert_eq!((queued(&fds[0]), queued(&fds[1])), (0, 0));
        assert_eq!(queued(&fds[2]), 20);

        // Past its linger, worker 1's socket closes: the kernel moves its last socket
        // (worker 3's) into its place, and the program must follow.
        let later = Instant::now() + Duration::from_secs(5);
        assert!(matches!(
            reuseport::tick(&f.sched, &f.link, KEY, later),
            reuseport::Tick::Quiet | reuseport::Tick::Busy
        ));
        assert!(fds[0].upgrade().is_none(), "closed");
        empty(&fds);
        let _c = clients(addr, 20);
        assert_eq!((queued(&fds[1]), queued(&fds[2])), (0, 20));
    });
}

#[test]
fn a_stuck_sockets_queue_goes_to_the_worker_that_accepts() {
    run(async {
        let window = Duration::from_millis(40);
        let (f, addr, fds) = setup(&[1, 2], Some(window));
        let _a = clients(addr, 30);
        let stuck = queued(&fds[0]);
        assert!(stuck > 0);
        // Worker 2 accepts everything; worker 1 nothing, for a whole window of samples.
        let t0 = Instant::now();
        let step = window / 4;
        for i in 0..4 {
            empty(&fds[1..]);
            reuseport::tick(&f.sched, &f.link, KEY, t0 + step * i);
            assert_eq!(f.fake.newconns(0).len(), 0, "not yet stuck at sample {i}");
        }
        empty(&fds[1..]);
        reuseport::tick(&f.sched, &f.link, KEY, t0 + step * 4);
        assert_eq!(queued(&fds[0]), 0, "taken");
        let handed = f.fake.newconns(0);
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].0, 2);
        assert_eq!(f.queued() as u32, stuck - 1);

        // Out of the kernel's choice while it rests.
        let _b = clients(addr, 20);
        assert_eq!((queued(&fds[0]), queued(&fds[1])), (0, 20));
        empty(&fds);

        // Back after 5 windows, on probation: in the kernel's choice again.
        reuseport::tick(&f.sched, &f.link, KEY, t0 + step * 4 + window * 5);
        let _c = clients(addr, 40);
        assert!(queued(&fds[0]) > 0 && queued(&fds[1]) > 0);
    });
}

#[test]
fn with_no_worker_accepting_nothing_is_taken() {
    run(async {
        let window = Duration::from_millis(40);
        let (f, addr, fds) = setup(&[1, 2], Some(window));
        let _a = clients(addr, 30);
        let t0 = Instant::now();
        for i in 0..8 {
            reuseport::tick(&f.sched, &f.link, KEY, t0 + window / 4 * i);
        }
        assert_eq!(f.fake.newconns(0).len(), 0);
        assert_eq!(queued(&fds[0]) + queued(&fds[1]), 30);
    });
}

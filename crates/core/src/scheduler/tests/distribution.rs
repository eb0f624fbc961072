//! Round-robin distribution (§4.5): the order of hand-offs, refusals, workers leaving.

use super::*;

#[test]
fn idle_workers_take_connections_in_turn() {
    run(async {
        let (f, addr, start) = Fixture::round_robin(&[1, 2, 3]);

        // Free in the order they joined: 1, 2, 3.
        let a = f.connect(addr, true).await;
        let b = f.connect(addr, true).await;
        let c = f.connect(addr, true).await;
        let got = f.fake.newconns(start);
        assert_eq!(
            f.fake.handed(start),
            [(1, local(&a)), (2, local(&b)), (3, local(&c))]
        );

        // Everyone busy: the next one waits, and goes to the first to answer.
        let d = f.connect(addr, false).await;
        f.answer(2, got[1].1, true);
        assert_eq!(f.fake.handed(start + 3), [(2, local(&d))]);

        // 3 then 1 answer with nothing queued: they become free in that order.
        f.answer(3, got[2].1, true);
        f.answer(1, got[0].1, true);
        let mark = f.fake.count();
        let e = f.connect(addr, true).await;
        let g = f.connect(addr, true).await;
        assert_eq!(f.fake.handed(mark), [(3, local(&e)), (1, local(&g))]);

        // A worker joining while a connection waits is offered it right after its reply.
        let h = f.connect(addr, false).await;
        let r4 = f.query(4, tcp_query(0, 0, 1));
        assert_eq!(f.fake.handed(r4), [(4, local(&h))]);
    });
}

#[test]
fn an_accepted_connection_closes_the_primarys_copy() {
    run(async {
        let f = Fixture::new(Policy::RoundRobin);
        let r = f.query(1, tcp_query(0, 0, 1));
        let addr = sockname(&f.fake, r);
        let _c = f.connect(addr, true).await;
        let sent_fd = {
            let sent = f.fake.sent.borrow();
            sent.last().and_then(|s| s.fd.clone()).expect("fd")
        };
        let (_, seq, _) = f.fake.newconns(0)[0];
        assert!(sent_fd.upgrade().is_some(), "held while in flight");
        f.answer(1, seq, true);
        assert!(sent_fd.upgrade().is_none(), "closed once the worker has it");
        // An ack that answers nothing of the scheduler's is not its business.
        let map = object(json!({"cmd": "NODE_CLUSTER", "ack": seq}));
        assert!(!Scheduler::on_reply(&f.sched, &f.link, 1, seq, &map));
    });
}

#[test]
fn a_refused_connection_goes_to_the_next_free_worker() {
    run(async {
        let (f, addr, start) = Fixture::round_robin(&[1, 2, 3]);
        let a = f.connect(addr, true).await;
        let (w, seq, peer) = f.fake.newconns(start)[0];
        assert_eq!((w, peer), (1, local(&a)));

        // 1 refuses (at maxConnections): 2, the first free, gets the same connection.
        f.answer(1, seq, false);
        assert_eq!(f.fake.handed(start + 1), [(2, local(&a))]);

        // 1 is free again, behind 3.
        let mark = f.fake.count();
        let b = f.connect(addr, true).await;
        let c = f.connect(addr, true).await;
        assert_eq!(f.fake.handed(mark), [(3, local(&b)), (1, local(&c))]);

        // With nobody else free, a refusal comes back to the same worker, as in Node.
        let (_, seq2, _) = f.fake.newconns(start + 1)[0];
        let mark = f.fake.count();
        f.answer(2, seq2, false);
        assert_eq!(f.fake.handed(mark), [(2, local(&a))]);
    });
}

#[test]
fn a_leaving_workers_connections_in_flight_reach_another_worker() {
    run(async {
        let (f, addr, start) = Fixture::round_robin(&[1, 2]);
        let a = f.connect(addr, true).await;
        let b = f.connect(addr, true).await;
        let got = f.fake.newconns(start);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1].0, 2);

        // 1 exits with `a` unanswered: nobody is free, so `a` waits for 2.
        let mark = f.fake.count();
        f.remove_worker(1);
        assert!(f.fake.newconns(mark).is_empty());
        assert_eq!(f.queued(), 1);
        f.answer(2, got[1].1, true);
        assert_eq!(f.fake.handed(mark), [(2, local(&a))]);

        // A worker joins and is free; 2 closes its server with `a` in flight: `a` goes at once
        // to the free worker.
        f.query(3, tcp_query(0, 0, 1));
        let mark = f.fake.count();
        f.close(2, "127.0.0.1:0:4:undefined:0");
        assert_eq!(f.fake.handed(mark), [(3, local(&a))]);
        drop(b);
    });
}

#[test]
fn a_worker_whose_channel_is_gone_is_passed_over() {
    run(async {
        let (f, addr, start) = Fixture::round_robin(&[1, 2]);
        f.fake.closed.borrow_mut().push(1);
        let a = f.connect(addr, true).await;
        assert_eq!(f.fake.handed(start), [(2, local(&a))]);
        // 1 was taken off the handle: the next one waits for 2, and 2 is the last worker.
        let _b = f.connect(addr, false).await;
        f.remove_worker(2);
        assert!(TcpStream::connect(addr).is_err(), "the handle is closed");
    });
}

#[test]
fn the_last_worker_leaving_closes_the_handle() {
    run(async {
        let (f, addr, start) = Fixture::round_robin(&[1, 2]);
        let _a = f.connect(addr, true).await;
        let _b = f.connect(addr, true).await;
        let mut c = f.connect(addr, false).await;
        let in_flight: Vec<Weak<OwnedFd>> = f.fake.sent.borrow()[start..]
            .iter()
            .filter_map(|s| s.fd.clone())
            .collect();
        assert_eq!(in_flight.len(), 2);

        f.remove_worker(1);
        // `a` went back to the queue; with 2 still there, the handle lives.
        let mut d = f.connect(addr, false).await;
        assert_eq!(f.queued(), 3);
        f.remove_worker(2);
        assert!(
            TcpStream::connect(addr).is_err(),
            "the listening socket is closed"
        );
        assert!(closed_by_server(&mut c), "a queued connection is closed");
        assert!(closed_by_server(&mut d));
        for w in in_flight {
            assert!(w.upgrade().is_none(), "the primary's copies are closed");
        }
        let mark = f.fake.count();
        settle().await;
        assert_eq!(f.fake.count(), mark, "nothing more is sent");
    });
}

#[test]
fn a_drained_worker_gets_no_new_connection_but_keeps_the_handle_open() {
    run(async {
        let (f, addr, start) = Fixture::round_robin(&[1, 2]);
        // 1 is busy with a connection when it is drained; 2 is free.
        let a = f.connect(addr, true).await;
        let (_, seq, _) = f.fake.newconns(start)[0];
        Scheduler::drain(&f.sched, &f.link, 1);
        assert!(
            f.fake.drained.borrow().is_empty(),
            "1 has a connection to answer"
        );
        let mark = f.fake.count();
        let b = f.connect(addr, true).await;
        assert_eq!(f.fake.handed(mark), [(2, local(&b))]);
        // 1 answers: it is reported drained, and does not become free again; the next
        // connection waits for 2.
        f.answer(1, seq, true);
        assert_eq!(*f.fake.drained.borrow(), [1]);
        let mark = f.fake.count();
        let c = f.connect(addr, false).await;
        assert!(f.fake.handed(mark).is_empty());
        let (_, seq_b, _) = f.fake.newconns(start + 1)[0];
        f.answer(2, seq_b, true);
        assert_eq!(f.fake.handed(mark), [(2, local(&c))]);
        // With 2 gone, 1 alone is on the handle: the handle keeps listening, and connections
        // (c, which 2 had not answered, and a new one) wait rather than go to 1.
        f.remove_worker(2);
        let mark = f.fake.count();
        let _waiting = f.connect(addr, false).await;
        assert_eq!(f.queued(), 2);
        assert!(f.fake.handed(mark).is_empty());
        drop(a);
    });
}

#[test]
fn an_inherited_listener_serves_the_matching_listen_and_outlives_its_workers() {
    use std::os::fd::AsRawFd;
    run(async {
        // What systemd would pass: a socket already listening (its backlog holds a client
        // that connected before any worker asked).
        let inherited = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = inherited.local_addr().expect("addr").port();
        let early = TcpStream::connect(("127.0.0.1", port)).expect("connect early");
        let f = Fixture::new(Policy::RoundRobin);
        f.sched
            .borrow_mut()
            .set_inherited(&[inherited.as_raw_fd(), -1]);
        let r = f.query(1, tcp_query(0, port, 1));
        assert_eq!(sockname(&f.fake, r).port(), port);
        until("the early client is handed over", || {
            f.fake.newconns(0).len() == 1
        })
        .await;
        assert_eq!(f.fake.handed(0), [(1, local(&early))]);
        // The last worker leaving does not end the inherited socket: it still listens.
        f.remove_worker(1);
        let later = std::net::TcpStream::connect(("127.0.0.1", port));
        assert!(later.is_ok(), "the inherited socket still accepts");
        let r = f.query(2, tcp_query(0, port, 2));
        assert_eq!(sockname(&f.fake, r).port(), port);
        // Another port is bound as usual.
        let r = f.query(3, tcp_query(1, 0, 3));
        assert_ne!(sockname(&f.fake, r).port(), port);
    });
}

//! The replies to queryServer (§4.3-4.6, §4.8): their bytes, errors, shared handles, `data`.

use super::*;

#[test]
fn round_robin_replies_are_nodes_bytes() {
    run(async {
        let f = Fixture::new(Policy::RoundRobin);
        let r1 = f.query(1, tcp_query(0, 0, 1));
        let addr = sockname(&f.fake, r1);
        let port = addr.port();
        assert_eq!(
            f.fake.text(r1),
            format!(
                r#"{{"cmd":"NODE_CLUSTER","errno":null,"key":"127.0.0.1:0:4:undefined:0","ack":1,"data":null,"sockname":{{"address":"127.0.0.1","family":"IPv4","port":{port}}}}}"#
            )
        );
        // A second worker shares the key, hence the socket: same port, its own ack.
        let r2 = f.query(2, tcp_query(0, 0, 7));
        assert_eq!(
            f.fake.text(r2),
            format!(
                r#"{{"cmd":"NODE_CLUSTER","errno":null,"key":"127.0.0.1:0:4:undefined:0","ack":7,"data":null,"sockname":{{"address":"127.0.0.1","family":"IPv4","port":{port}}}}}"#
            )
        );
        for s in f.fake.sent.borrow().iter() {
            assert!(
                s.envelope.is_none() && s.fd.is_none(),
                "RR replies carry no fd"
            );
        }
        // A second server in the same worker: index 1, a new key and another port.
        let r3 = f.query(1, tcp_query(1, 0, 2));
        assert_ne!(sockname(&f.fake, r3).port(), port);
        assert!(f
            .fake
            .text(r3)
            .contains(r#""key":"127.0.0.1:0:4:undefined:1""#));

        // The port is really listening; the connection goes to the first free worker.
        let _c = f.connect(addr, true).await;
        {
            let sent = f.fake.sent.borrow();
            let last = sent.last().expect("newconn");
            assert_eq!(last.worker, 1);
            assert_eq!(
                last.text,
                r#"{"cmd":"NODE_CLUSTER","act":"newconn","key":"127.0.0.1:0:4:undefined:0"}"#
            );
            assert_eq!(last.envelope.as_deref(), Some("net.Native"));
        }

        // A unix socket: absolute path in the key, no sockname; the file goes with the handle.
        let path = unique_path("rr");
        let _ = std::fs::remove_file(&path);
        let p = path.to_str().expect("utf-8 path");
        let r = f.query(
            3,
            json!({
                "cmd": "NODE_CLUSTER", "act": "queryServer", "index": 0, "data": null,
                "address": p, "port": -1, "addressType": -1, "backlog": 0, "seq": 3
            }),
        );
        assert_eq!(
            f.fake.text(r),
            format!(
                r#"{{"cmd":"NODE_CLUSTER","errno":null,"key":"{p}:-1:-1:undefined:0","ack":3,"data":null}}"#
            )
        );
        assert!(path.exists());
        f.remove_worker(3);
        assert!(!path.exists(), "the socket file is removed with the handle");
    });
}

#[test]
fn errors_are_negative_errnos_and_the_key_is_tried_again() {
    run(async {
        let f = Fixture::new(Policy::RoundRobin);
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let r = f.query(1, tcp_query(0, port, 4));
        assert_eq!(
            f.fake.text(r),
            format!(
                r#"{{"cmd":"NODE_CLUSTER","errno":-98,"key":"127.0.0.1:{port}:4:undefined:0","ack":4,"data":null}}"#
            )
        );
        assert!(f.fake.sent.borrow()[r].envelope.is_none());
        // The key left the table: once the port is free, the same query succeeds.
        drop(taken);
        let r = f.query(1, tcp_query(0, port, 5));
        assert_eq!(sockname(&f.fake, r).port(), port);

        // A unix path in a directory that does not exist; and no seq: ack null.
        let r = f.query(
            2,
            json!({
                "cmd": "NODE_CLUSTER", "act": "queryServer", "index": 0, "data": null,
                "address": "/nonexistent-rc-dir/a.sock", "port": -1, "addressType": -1
            }),
        );
        assert_eq!(
            f.fake.text(r),
            r#"{"cmd":"NODE_CLUSTER","errno":-2,"key":"/nonexistent-rc-dir/a.sock:-1:-1:undefined:0","ack":null,"data":null}"#
        );
    });
}

#[test]
fn shared_handles_and_udp_carry_the_bound_socket() {
    run(async {
        let f = Fixture::new(Policy::None);
        let r1 = f.query(1, tcp_query(0, 0, 1));
        let r2 = f.query(2, tcp_query(0, 0, 2));
        for (r, ack) in [(r1, 1), (r2, 2)] {
            assert_eq!(
                f.fake.text(r),
                format!(
                    r#"{{"cmd":"NODE_CLUSTER","errno":0,"key":"127.0.0.1:0:4:undefined:0","ack":{ack},"data":null}}"#
                )
            );
        }
        let fd = {
            let sent = f.fake.sent.borrow();
            assert_eq!(sent[r1].envelope.as_deref(), Some("net.Native"));
            let a = sent[r1].fd.as_ref().and_then(Weak::upgrade).expect("fd");
            let b = sent[r2].fd.as_ref().and_then(Weak::upgrade).expect("fd");
            assert_eq!(
                a.as_raw_fd(),
                b.as_raw_fd(),
                "every worker gets the same socket"
            );
            Arc::downgrade(&a)
        };
        // The last worker leaving closes the primary's copy.
        f.remove_worker(1);
        assert!(fd.upgrade().is_some());
        f.close(2, "127.0.0.1:0:4:undefined:0");
        assert!(fd.upgrade().is_none(), "the shared socket is closed");

        // UDP is shared whatever the policy.
        let f = Fixture::new(Policy::RoundRobin);
        let r = f.query(
            1,
            json!({
                "cmd": "NODE_CLUSTER", "act": "queryServer", "index": 0, "data": null,
                "address": "127.0.0.1", "port": 0, "addressType": "udp4", "fd": -1,
                "flags": 0, "seq": 9
            }),
        );
        assert_eq!(
            f.fake.text(r),
            r#"{"cmd":"NODE_CLUSTER","errno":0,"key":"127.0.0.1:0:udp4:-1:0","ack":9,"data":null}"#
        );
        let sent = f.fake.sent.borrow();
        assert_eq!(sent[r].envelope.as_deref(), Some("dgram.Native"));
        assert!(sent[r].fd.as_ref().and_then(Weak::upgrade).is_some());
    });
}

#[test]
fn data_is_echoed_to_every_worker_of_a_key() {
    let keys = json!({"ticketKeys": "ab".repeat(48)});
    let with_data = |q: Value, data: &Value| {
        let mut m = object(q);
        m.insert("data".into(), data.clone());
        Value::Object(m)
    };
    let data_of = |f: &Fixture, r: usize| f.fake.sent.borrow()[r].msg["data"].clone();
    run(async {
        let f = Fixture::new(Policy::RoundRobin);
        let r1 = f.query(1, with_data(tcp_query(0, 0, 1), &keys));
        assert_eq!(data_of(&f, r1), keys);
        assert!(f.fake.text(r1).contains(&format!(
            r#""ack":1,"data":{{"ticketKeys":"{}"}},"sockname""#,
            "ab".repeat(48)
        )));
        // A worker without data, or with other keys, gets the first worker's.
        let r2 = f.query(2, tcp_query(0, 0, 1));
        assert_eq!(data_of(&f, r2), keys);
        let r3 = f.query(
            3,
            with_data(tcp_query(0, 0, 1), &json!({"ticketKeys": "cd"})),
        );
        assert_eq!(data_of(&f, r3), keys);
        // Another key has its own.
        let r4 = f.query(1, tcp_query(1, 0, 2));
        assert_eq!(data_of(&f, r4), Value::Null);
        // Falsy data is not kept (and echoed as null): the first truthy one is.
        let r5 = f.query(1, with_data(tcp_query(2, 0, 3), &json!("")));
        assert_eq!(data_of(&f, r5), Value::Null);
        let r6 = f.query(2, with_data(tcp_query(2, 0, 3), &keys));
        assert_eq!(data_of(&f, r6), keys);
        // Once every worker has left, the key's data is forgotten.
        for w in 1..=3 {
            f.remove_worker(w);
        }
        let r7 = f.query(1, tcp_query(0, 0, 9));
        assert_eq!(data_of(&f, r7), Value::Null);

        // Error replies carry it too, and shared handles echo it alike.
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let r = f.query(1, with_data(tcp_query(0, port, 5), &keys));
        assert!(f.fake.text(r).contains(r#""errno":-98"#));
        assert_eq!(data_of(&f, r), keys);

        let f = Fixture::new(Policy::None);
        let r1 = f.query(1, with_data(tcp_query(0, 0, 1), &keys));
        let r2 = f.query(2, tcp_query(0, 0, 1));
        assert_eq!(data_of(&f, r1), keys);
        assert_eq!(data_of(&f, r2), keys);
        assert_eq!(
            f.fake.sent.borrow()[r2].envelope.as_deref(),
            Some("net.Native")
        );
    });
}

//! The floor for rust-cluster's benchmarks: the IPC loops of bench/cases run between two (or more)
//! small Rust processes over AF_UNIX socketpairs, with no Node and no serialization involved.
//! What is left is the kernel and the framing, so these rates are what a primary could reach on
//! this machine at best.
//!
//!   floor ipc [--framing=json|adv] [--size=BYTES] [--children=N] [--batch=K] [--window=W]
//!             [--reply=echo|ack] [--duration-ms=D] [--warmup-ms=X] [--max=ROUNDS]
//!   floor fdpass [--duration-ms=D] [--warmup-ms=X] [--max=HANDOFFS]
//!
//! `ipc` is the loop of bench/lib/ipc-loop.js: a round is K frames of SIZE bytes (framing
//! included) to each of N children, one write per frame as one send() call would make; every child
//! answers each frame with the frame itself (echo) or with a small ack (one write per read); at
//! most W rounds are outstanding. `fdpass` is the hand-off of a connection in
//! round-robin: the parent sends a socket with a NODE_HANDLE-like line over the socketpair
//! (SCM_RIGHTS), closes its copy and waits for the child's ack line; the child closes the socket.
//! Each prints one JSON line.

mod fdpass;
mod ipc;
mod sys;

use std::collections::HashMap;
use std::process::exit;

pub(crate) fn usage(msg: &str) -> ! {
    eprintln!("floor: {msg}");
    eprintln!("usage: floor ipc|fdpass [--key=value ...]");
    exit(2);
}

pub(crate) struct Args {
    map: HashMap<String, String>,
}

impl Args {
    fn parse(list: &[String]) -> Args {
        let mut map = HashMap::new();
        for a in list {
            let Some(rest) = a.strip_prefix("--") else {
                usage(&format!("unexpected argument {a}"))
            };
            match rest.split_once('=') {
                Some((k, v)) => map.insert(k.to_string(), v.to_string()),
                None => map.insert(rest.to_string(), "true".to_string()),
            };
        }
        Args { map }
    }
    pub(crate) fn str(&self, k: &str, d: &str) -> String {
        self.map.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    pub(crate) fn num(&self, k: &str, d: u64) -> u64 {
        match self.map.get(k) {
            None => d,
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| usage(&format!("--{k} must be a number"))),
        }
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = argv.first() else {
        usage("missing mode")
    };
    let args = Args::parse(&argv[1..]);
    match mode.as_str() {
        "ipc" => ipc::ipc(&args),
        "fdpass" => fdpass::fdpass(&args),
        m => usage(&format!("unknown mode {m}")),
    }
}

//! The memory limit (`Cluster::set_memory_limit`): once a second, on the engine thread, each
//! worker's resident memory is read from /proc; a worker above the limit on two reads in a row
//! is reported once (`Event::MemoryLimit`), for the host to replace it. With no limit set the
//! task sleeps until one is, so the default costs nothing.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::engine::{lock, Shared};
use super::event::Event;
use crate::process::stats;

const PERIOD: Duration = Duration::from_secs(1);

pub(super) async fn watch(shared: Arc<Shared>) {
    // Workers above the limit at the last read, and those already reported.
    let mut over: HashSet<u32> = HashSet::new();
    let mut reported: HashSet<u32> = HashSet::new();
    loop {
        let limit = shared.memory_limit.load(Ordering::Acquire);
        if limit == 0 {
            over.clear();
            shared.memory_wake.notified().await;
            continue;
        }
        tokio::time::sleep(PERIOD).await;
        let pids: HashMap<u32, i32> = lock(&shared.procs)
            .iter()
            .map(|(id, p)| (*id, p.pid))
            .collect();
        over.retain(|id| pids.contains_key(id));
        reported.retain(|id| pids.contains_key(id));
        for (id, pid) in pids {
            let Ok(s) = stats::read(pid) else { continue };
            if s.rss_bytes <= limit {
                over.remove(&id);
                continue;
            }
            if !over.insert(id) && reported.insert(id) {
                shared.push(Event::MemoryLimit {
                    id,
                    rss: s.rss_bytes,
                });
            }
        }
    }
}

//! The turn-taking both engine-accepted kinds of connection use: the ones a round-robin handle
//! accepts, and the ones a reuseport handle rescues from a worker's socket. Each worker takes one
//! connection at a time (the next waits for its answer); connections queue while none is free.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::Arc;

#[derive(Default)]
pub struct Rotation {
    /// Workers that share the handle, in the order they joined.
    all: Vec<u32>,
    /// Idle workers, oldest first.
    free: VecDeque<u32>,
    /// Connections not yet handed out.
    queue: VecDeque<Arc<OwnedFd>>,
}

impl Rotation {
    pub fn add(&mut self, worker: u32) {
        if !self.all.contains(&worker) {
            self.all.push(worker);
        }
    }

    pub fn has(&self, worker: u32) -> bool {
        self.all.contains(&worker)
    }

    /// The next connection for `worker`; with none queued the worker becomes free.
    pub fn take_for(&mut self, worker: u32) -> Option<Arc<OwnedFd>> {
        if !self.all.contains(&worker) {
            return None;
        }
        match self.queue.pop_front() {
            Some(c) => Some(c),
            None => {
                if !self.free.contains(&worker) {
                    self.free.push_back(worker);
                }
                None
            }
        }
    }

    pub fn enqueue(&mut self, conn: Arc<OwnedFd>) {
        self.queue.push_back(conn);
    }

    pub fn requeue_front(&mut self, conn: Arc<OwnedFd>) {
        self.queue.push_front(conn);
    }

    /// How many connections wait for a worker.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Takes free workers, oldest first, one for each queued connection.
    pub fn pop_free_for_queued(&mut self) -> Vec<u32> {
        let n = self.queue.len().min(self.free.len());
        self.free.drain(..n).collect()
    }

    /// The worker is no longer free to take a connection (drained, or its loop is stuck).
    pub fn unfree(&mut self, worker: u32) {
        self.free.retain(|w| *w != worker);
    }

    /// Removes a worker; returns true when it was the last one.
    pub fn remove(&mut self, worker: u32) -> bool {
        if !self.all.contains(&worker) {
            return false;
        }
        self.all.retain(|w| *w != worker);
        self.free.retain(|w| *w != worker);
        self.all.is_empty()
    }

    /// Closes every queued connection.
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

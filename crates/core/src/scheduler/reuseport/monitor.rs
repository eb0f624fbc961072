//! The task that watches a reuseport handle's sockets. While every queue is empty it sleeps on
//! the sockets' readiness (one wake-up when a connection waits somewhere, then the registration
//! is dropped, so the kernel does not wake the engine per connection); from then on it samples
//! every queue once a tick, and goes back to sleep after a second of quiet. An idle primary is
//! woken by nothing, and a busy one a few tens of times a second, whatever the connection rate.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio::time::MissedTickBehavior;

use super::Tick;
use crate::ipc::fdpass;
use crate::scheduler::{Link, Scheduler};

/// Quiet sampling for this long sends the monitor back to sleep on readiness.
const QUIET_FOR: Duration = Duration::from_secs(1);

pub(super) async fn run(
    sched: Weak<RefCell<Scheduler>>,
    link: Rc<dyn Link>,
    key: String,
    wake: Rc<Notify>,
) {
    loop {
        let Some(s) = sched.upgrade() else { return };
        let Some((fds, busy)) = super::watch_list(&s, &key) else {
            return;
        };
        drop(s);
        if !busy {
            // Registered only for this wait: dropped (deregistered) before sampling starts.
            let watched: Vec<AsyncFd<Arc<OwnedFd>>> = fds
                .into_iter()
                .filter_map(|fd| fdpass::register_shared(fd).ok())
                .collect();
            tokio::select! {
                _ = fdpass::any_readable(&watched) => {}
                // Members changed: watch the new list (or start sampling for a departed one).
                _ = wake.notified() => continue,
            }
        }
        let Some(s) = sched.upgrade() else { return };
        let Some(period) = super::tick_of(&s, &key) else {
            return;
        };
        drop(s);
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut quiet_since: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = wake.notified() => {}
            }
            let Some(s) = sched.upgrade() else { return };
            let now = Instant::now();
            match super::tick(&s, &link, &key, now) {
                Tick::Gone => return,
                Tick::Busy => quiet_since = None,
                Tick::Quiet => {
                    let since = *quiet_since.get_or_insert(now);
                    if now.duration_since(since) >= QUIET_FOR {
                        break;
                    }
                }
            }
            // A changed rescue window changes the period.
            if super::tick_of(&s, &key) != Some(period) {
                break;
            }
        }
    }
}

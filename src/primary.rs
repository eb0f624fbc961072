//! The `Engine` class JS holds: one per process. Events reach JS through one unreferenced
//! ThreadsafeFunction: the engine's wake-up queues a call that carries no data, and the call,
//! on the JS thread, takes every event waiting and passes them to JS at once.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsBuffer, JsFunction};
use napi_derive::napi;

use rust_cluster_core::{Cluster, EngineError, Policy, SendFailure, SendStatus};

use crate::convert::{events_to_js, spawn_request, SpawnInfo, SpawnOptions, StatsInfo};
use crate::error::to_napi;
use crate::uv::Polls;
use std::sync::{Arc, OnceLock};

/// `send` results, as numbers so the hot path allocates nothing, exported to JS by these names
/// (lib/channel.js reads them): written (or corked into the batch); the channel is closed; at
/// or below SEND_ERRNO_BASE, the write failed with errno SEND_ERRNO_BASE - result; at or above
/// 0, queued behind earlier writes, the value being the bytes now queued.
#[napi]
pub const SEND_WRITTEN: i64 = -1;
#[napi]
pub const SEND_CLOSED: i64 = -4;
#[napi]
pub const SEND_ERRNO_BASE: i64 = -1000;
/// Queued behind a handle the engine sent (a round-robin connection) that awaits its answer:
/// as the first message there, or further behind it. Node's `send()` returns true for the first
/// and false for the others.
#[napi]
pub const SEND_HELD_FIRST: i64 = -2;
#[napi]
pub const SEND_HELD_MORE: i64 = -3;

#[napi]
pub struct Engine {
    cluster: Cluster,
    tsfn: ThreadsafeFunction<(), ErrorStrategy::Fatal>,
    referenced: bool,
}

#[napi]
impl Engine {
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, on_events: JsFunction) -> Result<Self> {
        // The call that hands events to JS exists before the engine does (the engine's wake-up
        // makes that call), so it finds the engine here once started.
        let started: Arc<OnceLock<Cluster>> = Arc::new(OnceLock::new());
        let source = started.clone();
        // Channels are read on this thread while it is free (src/uv.rs), unless disabled.
        let host_reads = std::env::var_os("RUST_CLUSTER_HOST_READS").is_none_or(|v| v != "0");
        let polls = host_reads.then(|| Polls::new(&env, &on_events)).flatten();
        let enable = polls.is_some();

        let mut tsfn: ThreadsafeFunction<(), ErrorStrategy::Fatal> = on_events
            .create_threadsafe_function(0, move |ctx: ThreadSafeCallContext<()>| {
                // Every event waiting, as the call's one argument (a conversion error surfaces
                // as an uncaught exception, as a throw from the callback would).
                let events = source.get().map(Cluster::drain_events).unwrap_or_default();
                if let (Some(cluster), Some(polls)) = (source.get(), polls.as_ref()) {
                    polls.apply(cluster);
                }
                Ok(vec![events_to_js(&ctx.env, events)?])
            })?;
        tsfn.unref(&env)?;
        let caller = tsfn.clone();
        let cluster = Cluster::start(Box::new(move || {
            caller.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }))
        .map_err(to_napi)?;
        // The engine has not pushed an event yet that could not wait for this: its first ones
        // follow the first spawn.
        let _ = started.set(cluster.clone());
        if enable {
            cluster.enable_host_reads();
        }
        Ok(Engine {
            cluster,
            tsfn,
            referenced: false,
        })
    }

    /// Spawns a worker; returns `{pid}` or `{errno}`.
    #[napi(catch_unwind)]
    pub fn spawn(&self, options: SpawnOptions) -> Result<SpawnInfo> {
        let id = options.id;
        let (req, channel) = spawn_request(options)?;
        match self.cluster.spawn(id, req, channel) {
            Ok(r) => Ok(SpawnInfo {
                pid: Some(r.pid),
                errno: None,
                stdio: r.stdio,
            }),
            Err(EngineError::Sys { errno, .. }) => Ok(SpawnInfo {
                pid: None,
                errno: Some(errno),
                stdio: Vec::new(),
            }),
            Err(e) => Err(to_napi(e)),
        }
    }

    /// Writes one framed user message (with `fd` as its handle, duplicated by the engine).
    #[napi(catch_unwind)]
    pub fn send(&self, id: u32, frame: JsBuffer, fd: Option<i32>, token: Option<f64>) -> i64 {
        // A JsBuffer is read in place for this call only (no reference to create and release).
        let Ok(frame) = frame.into_value() else {
            return SEND_ERRNO_BASE - 22; // not a Buffer (lib/ always passes one)
        };
        match self.cluster.send(id, &frame, fd, token.map(|t| t as u64)) {
            Ok(SendStatus::Written | SendStatus::Corked) => SEND_WRITTEN,
            Ok(SendStatus::Queued {
                behind_handle: Some(1),
                ..
            }) => SEND_HELD_FIRST,
            Ok(SendStatus::Queued {
                behind_handle: Some(_),
                ..
            }) => SEND_HELD_MORE,
            Ok(SendStatus::Queued { queued_bytes, .. }) => queued_bytes as i64,
            Err(SendFailure::Closed) => SEND_CLOSED,
            Err(SendFailure::Errno(e)) => SEND_ERRNO_BASE - i64::from(e),
        }
    }

    /// Opens a batch: until `uncork`, small user messages wait to be written together (JS opens
    /// one while it dispatches a batch of events).
    #[napi(catch_unwind)]
    pub fn cork(&self) {
        self.cluster.begin_batch();
    }

    /// JS keeps a message to worker `id` back behind a handle awaiting its answer: its place
    /// among the engine's own messages to that worker is kept until JS sends it.
    #[napi(catch_unwind)]
    pub fn reserve(&self, id: u32) {
        self.cluster.reserve(id);
    }

    /// JS gives up the first place it reserved (it does not send a refused handle again), or
    /// with `last` the last one (a kept message it dropped).
    #[napi(catch_unwind)]
    pub fn unreserve(&self, id: u32, last: bool) {
        self.cluster.unreserve(id, last);
    }

    /// The descriptor number of worker `id`'s channel (the engine owns it), or -1 once closed.
    #[napi(catch_unwind)]
    pub fn channel_fd(&self, id: u32) -> i32 {
        self.cluster.channel_fd(id).unwrap_or(-1)
    }

    /// Ends the batch and writes what it held.
    #[napi(catch_unwind)]
    pub fn uncork(&self) {
        self.cluster.end_batch();
    }

    /// Writes what the batch holds now, without ending it (before a signal or an exit).
    #[napi(catch_unwind)]
    pub fn flush(&self) {
        self.cluster.flush();
    }

    /// The primary's `worker.disconnect()`; false when the channel was already closed.
    #[napi(catch_unwind)]
    pub fn disconnect(&self, id: u32) -> bool {
        self.cluster.disconnect_worker(id)
    }

    /// systemd's sd_notify: sends `state` to the notification socket `socket` (the value of
    /// NOTIFY_SOCKET, which the caller takes out of the environment its workers inherit).
    #[napi(catch_unwind)]
    pub fn sd_notify(socket: String, state: String) -> Result<()> {
        rust_cluster_core::systemd::notify_to(&socket, &state)
            .map_err(|e| Error::from_reason(format!("sd_notify to {socket}: {e}")))
    }

    /// Listening sockets inherited from systemd (LISTEN_FDS), served to matching listen()s.
    #[napi(catch_unwind)]
    pub fn inherit_listeners(&self, fds: Vec<i32>) {
        self.cluster.inherit_listeners(fds)
    }

    /// Takes worker `id` out of round-robin rotation (reload, shutdown).
    #[napi(catch_unwind)]
    pub fn drain(&self, id: u32) {
        self.cluster.drain(id)
    }

    /// `worker.stats()`: null once the process has exited.
    #[napi(catch_unwind)]
    pub fn stats(&self, id: u32) -> Option<StatsInfo> {
        self.cluster.stats(id).map(StatsInfo::from)
    }

    /// The resident memory limit in bytes for the `memoryLimit` event; 0 turns it off.
    #[napi(catch_unwind)]
    pub fn set_memory_limit(&self, bytes: f64) {
        self.cluster.set_memory_limit(bytes.max(0.0) as u64)
    }

    /// `worker.process.disconnect()`: closes the channel.
    #[napi(catch_unwind)]
    pub fn close(&self, id: u32) {
        self.cluster.close_channel(id)
    }

    /// Whether every internal message of this worker is reported (`internalMessage` listeners).
    #[napi(catch_unwind)]
    pub fn watch_internal(&self, id: u32, on: bool) {
        self.cluster.watch_internal(id, on)
    }

    /// Unix socket modes for readableAll/writableAll as the running Node's libuv sets them.
    #[napi(catch_unwind)]
    pub fn set_exact_pipe_mode(&self, exact: bool) {
        self.cluster.set_exact_pipe_mode(exact)
    }

    /// The scheduling policy by its `cluster.SCHED_*` number: 2 round-robin, 3 one SO_REUSEPORT
    /// socket per worker; anything else shares handles (SCHED_NONE).
    #[napi(catch_unwind)]
    pub fn set_policy(&self, policy: u32) {
        self.cluster.set_policy(match policy {
            2 => Policy::RoundRobin,
            3 => Policy::ReusePort,
            _ => Policy::None,
        })
    }

    /// SCHED_REUSEPORT's rescue window in milliseconds (0: never rescue a stuck worker's queue).
    #[napi(catch_unwind)]
    pub fn set_rescue_window(&self, ms: u32) {
        self.cluster
            .set_rescue_window((ms > 0).then(|| std::time::Duration::from_millis(u64::from(ms))))
    }

    /// Keeps the Node event loop alive (while workers live) or lets it exit.
    #[napi(catch_unwind)]
    pub fn set_ref(&mut self, env: Env, on: bool) -> Result<()> {
        if on != self.referenced {
            if on {
                self.tsfn.refer(&env)?;
            } else {
                self.tsfn.unref(&env)?;
            }
            self.referenced = on;
        }
        Ok(())
    }
}

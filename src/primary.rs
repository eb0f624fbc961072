//! The `Engine` class JS holds: one per process. Events reach JS through one unreferenced
//! ThreadsafeFunction: the engine's wake-up queues a call that carries no data, and the call,
//! on the JS thread, takes every event waiting and passes them to JS at once.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsBuffer, JsFunction};
use napi_derive::napi;

use rust_cluster_core::ipc::channel::{SendFailure, SendStatus};
use rust_cluster_core::{Cluster, EngineError, Policy};

use crate::convert::{events_to_js, spawn_request, SpawnInfo, SpawnOptions};
use crate::error::to_napi;
use once_cell::sync::OnceCell;
use std::sync::Arc;

/// `send` results, as numbers so the hot path allocates nothing:
/// -1 written at once; -2 queued as the first message behind an unacknowledged handle;
/// -3 queued further behind it; -4 channel closed; <= -1000: write failed with errno -(r+1000);
/// >= 0: queued behind earlier writes, value = bytes now queued.
const SENT: i64 = -1;
const HELD_FIRST: i64 = -2;
const HELD_MORE: i64 = -3;
const CLOSED: i64 = -4;

#[napi]
pub struct Engine {
    cluster: Cluster,
    tsfn: ThreadsafeFunction<(), ErrorStrategy::Fatal>,
    referenced: bool,
    /// Workers whose channel holds corked frames (see `cork`); only the JS thread touches it.
    corked: std::cell::RefCell<Vec<u32>>,
    corking: std::cell::Cell<bool>,
}

#[napi]
impl Engine {
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, on_events: JsFunction) -> Result<Self> {
        // The call that hands events to JS exists before the engine does (the engine's wake-up
        // makes that call), so it finds the engine here once started.
        let started: Arc<OnceCell<Cluster>> = Arc::new(OnceCell::new());
        let source = started.clone();
        let mut tsfn: ThreadsafeFunction<(), ErrorStrategy::Fatal> = on_events
            .create_threadsafe_function(0, move |ctx: ThreadSafeCallContext<()>| {
                // Every event waiting, as the call's one argument (a conversion error surfaces
                // as an uncaught exception, as a throw from the callback would).
                let events = source.get().map(Cluster::drain_events).unwrap_or_default();
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
        Ok(Engine {
            cluster,
            tsfn,
            referenced: false,
            corked: Default::default(),
            corking: Default::default(),
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
            return -1000 - 22; // EINVAL: not a Buffer (lib/process.js always passes one)
        };
        let cork = self.corking.get();
        let res = self
            .cluster
            .send(id, &frame, fd, token.map(|t| t as u64), cork);
        match res {
            Ok(SendStatus::Written) => SENT,
            Ok(SendStatus::Corked) => {
                let mut corked = self.corked.borrow_mut();
                if !corked.contains(&id) {
                    corked.push(id);
                }
                SENT
            }
            Ok(SendStatus::Queued {
                behind_handle: Some(1),
                ..
            }) => HELD_FIRST,
            Ok(SendStatus::Queued {
                behind_handle: Some(_),
                ..
            }) => HELD_MORE,
            Ok(SendStatus::Queued { queued_bytes, .. }) => queued_bytes as i64,
            Err(SendFailure::Closed) => CLOSED,
            Err(SendFailure::Errno(e)) => -1000 - i64::from(e),
        }
    }

    /// From now until `uncork`, small user messages wait to be written together: JS corks while
    /// it dispatches a batch of events, so the replies a batch provokes leave in one `sendmsg`
    /// per worker instead of one each.
    #[napi(catch_unwind)]
    pub fn cork(&self) {
        self.corking.set(true);
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

    /// Ends `cork` and writes what it held.
    #[napi(catch_unwind)]
    pub fn uncork(&self) {
        self.corking.set(false);
        self.flush();
    }

    /// Writes what is corked now, without ending the cork (before a signal or an exit).
    #[napi(catch_unwind)]
    pub fn flush(&self) {
        let ids = std::mem::take(&mut *self.corked.borrow_mut());
        for id in ids {
            self.cluster.uncork(id);
        }
    }

    /// The primary's `worker.disconnect()`; false when the channel was already closed.
    #[napi(catch_unwind)]
    pub fn disconnect(&self, id: u32) -> bool {
        self.cluster.disconnect_worker(id)
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

    /// Round-robin distribution (SCHED_RR), or shared handles (SCHED_NONE).
    #[napi(catch_unwind)]
    pub fn set_round_robin(&self, round_robin: bool) {
        self.cluster.set_policy(if round_robin {
            Policy::RoundRobin
        } else {
            Policy::None
        })
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

//! Polling workers' channels on the JavaScript thread's libuv loop (see the engine's
//! cluster/host.rs): a readable channel is read on this thread, so a worker's message wakes only
//! it. libuv's `uv_poll_*` functions are exported by the node binary that loads this addon; the
//! loop comes from N-API (`napi_get_uv_event_loop`). This is the binding's only `unsafe` code.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, OwnedFd};

use napi::{sys, Env, JsFunction, NapiRaw};
use rust_cluster_core::{Cluster, HostRead, HostReader};

use crate::convert::events_to_js;

/// `UV_POLL` of libuv's `uv_handle_type`, and `UV_READABLE` of `uv_poll_event`.
const UV_POLL: c_int = 8;
const UV_READABLE: c_int = 1;

type PollCb = extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCb = extern "C" fn(handle: *mut c_void);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: CloseCb);
    fn uv_unref(handle: *mut c_void);
}

/// One worker's poll. The uv_poll_t lives in `handle` (its first field, `data`, points back at
/// this struct); both are freed in the close callback, once libuv is done with the handle.
struct Poll {
    handle: Box<[u64]>,
    /// The polls' shared state and how events reach JS from here (lives as long as the process).
    host: &'static Host,
    cluster: Cluster,
    /// The channel's reader, looked up once here rather than at every readable event.
    reader: HostReader,
    id: u32,
    /// The duplicate of the channel's descriptor that libuv polls; closed as soon as the poll
    /// is, so that the worker's descriptors are all gone when JS sees its exit.
    fd: Option<OwnedFd>,
    active: bool,
    /// `uv_close` was called: libuv's functions must not touch the handle any more.
    closing: bool,
}

/// The JS thread's polls, for the event callback (`apply`).
pub struct Polls {
    host: &'static Host,
}

/// The polls of the JS thread by worker id, and the JS event callback, called from a poll like
/// Node calls into JS from libuv (`napi_make_callback`: microtasks and `process.nextTick`
/// callbacks run when it returns), with the events the read produced, so that they reach JS in
/// the same turn of the loop. Only the JS thread touches it.
struct Host {
    lp: *mut c_void,
    polls: RefCell<HashMap<u32, *mut Poll>>,
    env: sys::napi_env,
    func: sys::napi_ref,
    context: sys::napi_async_context,
}

// SAFETY: a `Host` is made on the JS thread and used only there: from the event callback,
// which N-API runs on that thread, and from libuv's poll callbacks on that thread's loop. The
// callback's closure is what needs `Send` (and so `&Host: Send`), but it never runs elsewhere.
unsafe impl Sync for Host {}

impl Polls {
    /// The JS thread's loop, or None when N-API does not give it (then the engine reads every
    /// channel itself, as it always can).
    pub fn new(env: &Env, on_events: &JsFunction) -> Option<Polls> {
        let raw = env.raw();
        let mut lp: *mut sys::uv_loop_s = std::ptr::null_mut();
        let mut func: sys::napi_ref = std::ptr::null_mut();
        let mut context: sys::napi_async_context = std::ptr::null_mut();
        let mut name: sys::napi_value = std::ptr::null_mut();
        let label = "rust-cluster:channel";
        // SAFETY: `raw` is the live environment of this (the JS) thread; every out-pointer is a
        // valid place for its result; `on_events` is a live function value of this env, and
        // the reference made to it keeps it alive for the process's life.
        let ok = unsafe {
            sys::napi_get_uv_event_loop(raw, &mut lp) == sys::Status::napi_ok
                && !lp.is_null()
                && sys::napi_create_reference(raw, on_events.raw(), 1, &mut func)
                    == sys::Status::napi_ok
                && sys::napi_create_string_utf8(raw, label.as_ptr().cast(), label.len(), &mut name)
                    == sys::Status::napi_ok
                && sys::napi_async_init(raw, std::ptr::null_mut(), name, &mut context)
                    == sys::Status::napi_ok
        };
        if !ok {
            return None;
        }
        // One per process (one Engine): leaked on purpose, as the polls refer to it until exit.
        let host: &'static Host = Box::leak(Box::new(Host {
            lp: lp.cast(),
            polls: RefCell::new(HashMap::new()),
            env: raw,
            func,
            context,
        }));
        Some(Polls { host })
    }

    /// Starts the polls of channels the engine offered, closes those of channels gone.
    pub fn apply(&self, cluster: &Cluster) {
        self.host.apply(cluster);
    }
}

impl Host {
    fn apply(&'static self, cluster: &Cluster) {
        let (offered, ended) = cluster.host_changes();
        let mut polls = self.polls.borrow_mut();
        for id in ended {
            if let Some(p) = polls.remove(&id) {
                close(p);
            }
        }
        for id in offered {
            let p = match polls.get(&id) {
                Some(p) => *p,
                None => match self.open(cluster, id) {
                    Some(p) => {
                        polls.insert(id, p);
                        p
                    }
                    None => {
                        cluster.host_declines(id);
                        continue;
                    }
                },
            };
            // SAFETY: `p` is a live Poll of this map (freed only after `close`), used on the JS
            // thread.
            let poll = unsafe { &mut *p };
            if !poll.active {
                // SAFETY: the handle was initialised by uv_poll_init on this loop.
                if unsafe { uv_poll_start(handle_ptr(poll), UV_READABLE, on_poll) } == 0 {
                    poll.active = true;
                } else {
                    cluster.host_declines(id);
                }
            }
        }
    }

    /// A poll of worker `id`'s channel, made at its first offer and kept until the channel is
    /// gone (later offers only start it again).
    fn open(&'static self, cluster: &Cluster, id: u32) -> Option<*mut Poll> {
        let reader = cluster.host_reader(id)?;
        let fd = reader.watch_fd().ok()?;
        // SAFETY: uv_handle_size only reads its argument.
        let size = unsafe { uv_handle_size(UV_POLL) };
        let words = size.div_ceil(8).max(1);
        let poll = Box::new(Poll {
            handle: vec![0u64; words].into_boxed_slice(),
            host: self,
            cluster: cluster.clone(),
            reader,
            id,
            fd: Some(fd),
            active: false,
            closing: false,
        });
        let p = Box::into_raw(poll);
        // SAFETY: `p` was just allocated; the handle storage is `size` bytes or more, 8-aligned,
        // and zeroed; uv_poll_init initialises it for this loop (the JS thread's, where we are).
        let ok = unsafe {
            let h = handle_ptr(&mut *p);
            let raw = (*p).fd.as_ref().map_or(-1, AsRawFd::as_raw_fd);
            if uv_poll_init(self.lp, h, raw) == 0 {
                // uv_handle_t's first field is `void* data`.
                *(h as *mut *mut Poll) = p;
                // The loop's liveness is the refs lib/primary.js holds, as for the event
                // callback: a poll keeps nothing alive.
                uv_unref(h);
                true
            } else {
                false
            }
        };
        if !ok {
            // SAFETY: never handed to libuv: freed here, once.
            drop(unsafe { Box::from_raw(p) });
            return None;
        }
        Some(p)
    }
}

fn handle_ptr(poll: &mut Poll) -> *mut c_void {
    poll.handle.as_mut_ptr().cast()
}

/// Stops and closes a poll, and its descriptor at once (libuv has stopped watching it once
/// uv_poll_stop returns); its memory is freed in the close callback.
fn close(p: *mut Poll) {
    // SAFETY: `p` is live and was initialised with uv_poll_init, and is closed only once (it
    // leaves the map here); after uv_close libuv calls `on_close` exactly once, which frees it.
    unsafe {
        let poll = &mut *p;
        let h = handle_ptr(poll);
        uv_poll_stop(h);
        poll.fd = None;
        poll.closing = true;
        uv_close(h, on_close);
    }
}

extern "C" fn on_close(handle: *mut c_void) {
    // SAFETY: `data` was set to the Poll that owns this handle, and libuv is done with it.
    unsafe {
        let p = *(handle as *mut *mut Poll);
        drop(Box::from_raw(p));
    }
}

extern "C" fn on_poll(handle: *mut c_void, status: c_int, _events: c_int) {
    // SAFETY: `data` points at the live Poll owning this handle (freed only after uv_close,
    // which stops this callback); libuv runs it on the JS thread, the only one touching it.
    let poll = unsafe { &mut **(handle as *mut *mut Poll) };
    let read = if status < 0 {
        None
    } else {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll.reader.read())).ok()
    };
    if read.is_some() {
        poll.host.deliver(&poll.cluster);
    }
    // Delivering may have closed this very poll (its worker's channel ended).
    if poll.closing || read == Some(HostRead::Continue) {
        return;
    }
    poll.active = false;
    // SAFETY: an initialised, active poll handle of this loop.
    unsafe { uv_poll_stop(handle) };
    if read.is_none() {
        // A poll error (or a bug): the engine reads this channel from now on.
        poll.cluster.host_declines(poll.id);
    }
}

impl Host {
    /// Calls the JS event callback with every event waiting, if any. The polls are brought up
    /// to date after the events are taken and before JS sees them, as in the event callback: a
    /// worker's channel is reported gone before its exit, so its poll's duplicate of the
    /// channel is closed when JS sees the exit.
    fn deliver(&'static self, cluster: &Cluster) {
        let events = cluster.drain_events();
        self.apply(cluster);
        if events.is_empty() {
            return;
        }
        let env = self.env;
        let mut scope: sys::napi_handle_scope = std::ptr::null_mut();
        // SAFETY: called on the JS thread from a libuv callback (no JS on the stack), with the
        // env this was made for; the scope is closed below, whatever happens in between.
        if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
            return;
        }
        // SAFETY: `env` is this thread's live environment.
        let js_env = unsafe { Env::from_raw(env) };
        if let Ok(array) = events_to_js(&js_env, events) {
            let mut func: sys::napi_value = std::ptr::null_mut();
            let mut recv: sys::napi_value = std::ptr::null_mut();
            let mut result: sys::napi_value = std::ptr::null_mut();
            // SAFETY: the reference is alive (never deleted); `array` is a live value of this
            // scope; out-pointers are valid.
            unsafe {
                if sys::napi_get_reference_value(env, self.func, &mut func) == sys::Status::napi_ok
                    // napi_make_callback wants an object as `this`.
                    && sys::napi_get_global(env, &mut recv) == sys::Status::napi_ok
                {
                    let argv = [array.raw()];
                    let status = sys::napi_make_callback(
                        env,
                        self.context,
                        recv,
                        func,
                        1,
                        argv.as_ptr(),
                        &mut result,
                    );
                    if status == sys::Status::napi_pending_exception {
                        // A throw from the callback: an uncaught exception, as from the
                        // ThreadsafeFunction's call.
                        let mut err: sys::napi_value = std::ptr::null_mut();
                        if sys::napi_get_and_clear_last_exception(env, &mut err)
                            == sys::Status::napi_ok
                        {
                            sys::napi_fatal_exception(env, err);
                        }
                    }
                }
            }
        }
        // SAFETY: the scope opened above.
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }
}

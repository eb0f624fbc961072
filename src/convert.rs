//! JS <-> engine values: spawn options in, events out.

use napi::bindgen_prelude::*;
use napi::{Env, JsObject, JsUnknown};
use napi_derive::napi;
use std::os::fd::IntoRawFd;

use rust_cluster_core::{
    ChannelOptions, Event, Mode, Payload, SendFailure, SpawnRequest, Stdio, WorkerStats,
};

/// What `Engine.spawn` takes; lib/process.js builds it the way child_process.fork would.
#[napi(object)]
pub struct SpawnOptions {
    pub id: u32,
    pub file: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// One entry per child fd: "pipe", "ignore", "inherit", "ipc" or a number (the primary's fd).
    pub stdio: Vec<Either<String, i32>>,
    pub serialization: String,
    /// The largest message accepted from the worker (`maxMessageBytes`).
    pub max_frame: f64,
}

#[napi(object)]
pub struct SpawnInfo {
    pub pid: Option<i32>,
    /// Positive errno when the spawn failed.
    pub errno: Option<i32>,
    /// The primary's ends of the stdio pipes by index (null elsewhere); JS owns them.
    pub stdio: Vec<Option<i32>>,
}

/// `worker.stats()`'s figures: times in microseconds and milliseconds, sizes in bytes.
#[napi(object)]
pub struct StatsInfo {
    pub pid: i32,
    pub uptime: f64,
    pub user: f64,
    pub system: f64,
    pub rss: f64,
    pub connections: f64,
}

impl From<WorkerStats> for StatsInfo {
    fn from(s: WorkerStats) -> StatsInfo {
        StatsInfo {
            pid: s.pid,
            uptime: s.uptime_ms,
            user: s.user_us as f64,
            system: s.system_us as f64,
            rss: s.rss_bytes as f64,
            connections: s.connections as f64,
        }
    }
}

pub fn spawn_request(o: SpawnOptions) -> Result<(SpawnRequest, ChannelOptions)> {
    let mut stdio = Vec::with_capacity(o.stdio.len());
    for s in o.stdio {
        stdio.push(match s {
            Either::A(s) => match s.as_str() {
                "pipe" | "overlapped" => Stdio::Pipe,
                "ignore" => Stdio::Ignore,
                "inherit" => Stdio::Inherit,
                "ipc" => Stdio::Ipc,
                other => {
                    return Err(Error::from_reason(format!(
                        "unsupported stdio entry {other:?}"
                    )))
                }
            },
            Either::B(fd) => Stdio::Fd(fd),
        });
    }
    let mode = if o.serialization == "advanced" {
        Mode::Advanced
    } else {
        Mode::Json
    };
    if !(o.max_frame.is_finite() && o.max_frame >= 1.0) {
        return Err(Error::from_reason("maxFrame must be a positive number"));
    }
    Ok((
        SpawnRequest {
            file: o.file,
            args: o.args,
            env: o.env,
            cwd: o.cwd,
            uid: o.uid,
            gid: o.gid,
            stdio,
        },
        ChannelOptions {
            mode,
            max_frame: o.max_frame as usize,
        },
    ))
}

fn failure_value(env: &Env, obj: &mut JsObject, f: SendFailure) -> Result<()> {
    match f {
        SendFailure::Closed => obj.set_named_property("error", env.create_string("closed")?),
        SendFailure::Errno(e) => obj.set_named_property("error", env.create_int32(e)?),
    }
}

/// The kinds of entries in the array JS receives (see `events_to_js`), exported to JS by these
/// names (lib/events.js reads them from the binding).
#[napi]
pub const EVENT_JSON_RUN: u32 = 0;
#[napi]
pub const EVENT_ADVANCED_RUN: u32 = 1;
#[napi]
pub const EVENT_OBJECT: u32 = 2;

/// The array being filled: (kind, worker id, value) triples. Indexed elements and small integers
/// only, so a batch costs no property-name lookups.
struct Out {
    array: JsObject,
    len: u32,
}

impl Out {
    fn push(&mut self, env: &Env, kind: u32, id: u32, value: JsUnknown) -> Result<()> {
        self.array.set_element(self.len, env.create_uint32(kind)?)?;
        self.array
            .set_element(self.len + 1, env.create_uint32(id)?)?;
        self.array.set_element(self.len + 2, value)?;
        self.len += 3;
        Ok(())
    }

    fn push_run(&mut self, env: &Env, id: u32, run: Payload) -> Result<()> {
        match run {
            Payload::Json(text) => {
                let v = env.create_string_from_std(text)?.into_unknown();
                self.push(env, EVENT_JSON_RUN, id, v)
            }
            Payload::Advanced(data) => {
                let v = env.create_buffer_with_data(data)?.into_raw().into_unknown();
                self.push(env, EVENT_ADVANCED_RUN, id, v)
            }
        }
    }
}

/// Events as JS receives them: a flat array of (kind, worker id, value) triples, oldest first.
/// EVENT_JSON_RUN: a run of json messages from one worker, value = their texts joined by
/// newlines; EVENT_ADVANCED_RUN: a run of advanced messages, value = a Buffer of the frames (each
/// with its 4-byte length) back to back; EVENT_OBJECT: any other event, value = an object with
/// its `type`. (The engine joined the runs; this only converts.)
pub fn events_to_js(env: &Env, events: Vec<Event>) -> Result<JsObject> {
    let mut out = Out {
        array: env.create_empty_array()?,
        len: 0,
    };
    for ev in events {
        match ev {
            Event::Messages { id, run } => out.push_run(env, id, run)?,
            other => {
                let id = other.worker();
                let v = event_to_js(env, other)?.into_unknown();
                out.push(env, EVENT_OBJECT, id, v)?;
            }
        }
    }
    Ok(out.array)
}

/// Any other event (user messages with a handle, lifecycle, internal, send results).
fn event_to_js(env: &Env, ev: Event) -> Result<JsObject> {
    let mut o = env.create_object()?;
    let set_id = |o: &mut JsObject, t: &str, id: u32| -> Result<()> {
        o.set_named_property("type", env.create_string(t)?)?;
        o.set_named_property("id", env.create_uint32(id)?)
    };
    match ev {
        Event::Online { id } => set_id(&mut o, "online", id)?,
        Event::Listening {
            id,
            address_type,
            address,
            port,
            fd,
        } => {
            set_id(&mut o, "listening", id)?;
            // Each as the worker sent it; an absent one stays absent (undefined in JS).
            for (name, value) in [
                ("addressType", address_type),
                ("address", address),
                ("port", port),
                ("fd", fd),
            ] {
                if let Some(v) = value {
                    o.set_named_property(name, env.to_js_value(&v)?)?;
                }
            }
        }
        Event::ExitedAfterDisconnect { id } => set_id(&mut o, "exitedAfterDisconnect", id)?,
        // events_to_js sends runs through `Out::push_run`; they never come here.
        Event::Messages { .. } => {
            return Err(Error::from_reason("a message run reached event_to_js"));
        }
        Event::Message {
            id,
            payload,
            handle,
        } => {
            set_id(&mut o, "message", id)?;
            match payload {
                Payload::Json(text) => {
                    o.set_named_property("text", env.create_string_from_std(text)?)?
                }
                Payload::Advanced(bytes) => {
                    o.set_named_property("data", env.create_buffer_with_data(bytes)?.into_raw())?
                }
            }
            o.set_named_property("fd", env.create_int32(handle.fd.into_raw_fd())?)?;
            o.set_named_property("handleType", env.create_string_from_std(handle.kind)?)?;
            if let Some(k) = handle.key {
                o.set_named_property("key", env.create_string_from_std(k)?)?;
            }
            if let Some(d) = handle.dgram_type {
                o.set_named_property("dgramType", env.create_string_from_std(d)?)?;
            }
            if let Some(e) = handle.envelope {
                o.set_named_property("envelope", env.create_string_from_std(e)?)?;
            }
        }
        Event::Disconnect { id } => set_id(&mut o, "disconnect", id)?,
        Event::Exit { id, code, signal } => {
            set_id(&mut o, "exit", id)?;
            match code {
                Some(c) => o.set_named_property("code", env.create_int32(c)?)?,
                None => o.set_named_property("code", env.get_null()?)?,
            }
            match signal {
                Some(s) => o.set_named_property("signal", env.create_string_from_std(s)?)?,
                None => o.set_named_property("signal", env.get_null()?)?,
            }
        }
        Event::Malformed { id, reason } => {
            set_id(&mut o, "malformed", id)?;
            o.set_named_property("reason", env.create_string_from_std(reason)?)?;
        }
        Event::Internal { id, message } => {
            set_id(&mut o, "internal", id)?;
            o.set_named_property("message", env.create_string_from_std(message)?)?;
        }
        Event::HandleAnswered { id, nack } => {
            set_id(&mut o, "handleAnswered", id)?;
            o.set_named_property("nack", env.get_boolean(nack)?)?;
        }
        Event::SendDone { id, token, error } => {
            set_id(&mut o, "sendDone", id)?;
            o.set_named_property("token", env.create_double(token as f64)?)?;
            if let Some(f) = error {
                failure_value(env, &mut o, f)?;
            }
        }
        Event::Drained { id } => set_id(&mut o, "drained", id)?,
        Event::MemoryLimit { id, rss } => {
            set_id(&mut o, "memoryLimit", id)?;
            o.set_named_property("rss", env.create_double(rss as f64)?)?;
        }
    }
    Ok(o)
}
